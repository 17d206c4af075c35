#!/usr/bin/env bash
# deps.sh — the Debian 12 packages Loupe needs to build, test, run, benchmark and fuzz.
#
#   deps.sh check     list the missing packages (exit 1 when some are missing)
#   deps.sh install   install the missing ones (apt-get; through sudo when not root)
#   deps.sh list      print the full list
#
# Checking uses one dpkg-query call, so `make deps` is instant when everything is present.
# Node.js and npm (for the web UI) are used as found on the machine; Debian's `nodejs` and
# `npm` packages are installed only when no `npm` command exists.
set -euo pipefail

PACKAGES=(
    # C toolchain and libraries
    build-essential pkg-config cmake
    libmicrohttpd-dev libjansson-dev libpq-dev libcurl4-openssl-dev libssl-dev libargon2-dev
    libvips-dev libopenslide-dev libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev librabbitmq-dev
    libcmocka-dev zlib1g-dev libdeflate-dev libexpat1-dev libnifti2-dev libjpeg62-turbo-dev
    # services and tools the daemon, the workers and the tests run
    postgresql pgbouncer rabbitmq-server ffmpeg libvips-tools python3 procps iproute2 util-linux ca-certificates
    curl jq
    # medical volumes: DICOM conversion, and the Python packages the orientation tests compare with
    dcm2niix dcmtk python3-nibabel python3-pydicom
    # install and packaging checks: systemd-analyze (units), dpkg-shlibdeps and file (cpack -G DEB),
    # the compose-file schema and a validator for it (docker/compose.yaml)
    systemd dpkg-dev file passwd python3-yaml python3-jsonschema docker-compose
    # the load balancer of the cluster tests and benchmark (tests/cluster, bench/cluster_bench.sh)
    haproxy
    # browser tests, fuzzing, benchmarks
    chromium clang libclang-rt-14-dev wrk hyperfine imagemagick
    # promtool, which checks docs/prometheus/loupe-rules.yml and a real /metrics scrape. On a
    # host with systemd the package also enables and starts a Prometheus server on port 9090;
    # nothing here uses that port (`systemctl disable --now prometheus` if unwanted).
    prometheus
)

missing_packages() {
    local installed
    installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null \
        | awk '$2 == "installed" { print $1 }') || true
    local p
    for p in "${PACKAGES[@]}"; do
        grep -qx -- "$p" <<<"$installed" || echo "$p"
    done
    if ! command -v npm >/dev/null 2>&1; then
        command -v node >/dev/null 2>&1 || echo nodejs
        echo npm
    fi
}

as_root() {
    if [[ $(id -u) == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "deps.sh: not root and no sudo; run as root: $*" >&2
        exit 1
    fi
}

cmd=${1:-install}
case "$cmd" in
    list)
        printf '%s\n' "${PACKAGES[@]}" ;;
    check)
        missing=$(missing_packages)
        if [[ -n "$missing" ]]; then
            echo "missing packages:" $missing
            exit 1
        fi
        echo "all packages present" ;;
    install)
        mapfile -t missing < <(missing_packages)
        if [[ ${#missing[@]} -eq 0 ]]; then
            exit 0
        fi
        echo "deps.sh: installing ${missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
        ;;
    *)
        echo "usage: deps.sh check|install|list" >&2
        exit 2 ;;
esac
