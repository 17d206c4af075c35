#!/bin/sh
# Installs standardwebhooks, pinned by package-lock.json next to this script, into the directory $1
# (in the build tree) for the webhook integration tests. Skips (tests/skip.sh) when node or npm is
# missing or the registry cannot be reached.
set -u
src=$(cd "$(dirname "$0")" && pwd)
dest=${1:?usage: install.sh DEST_DIR}
mod="$dest/node_modules/standardwebhooks/package.json"

if ! command -v node >/dev/null 2>&1; then
  exec "$src/../../skip.sh" "node is not installed: webhook deliveries cannot be verified (apt-get install nodejs npm)"
fi
if [ -f "$mod" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  cp "$src/verify.cjs" "$dest/" && echo "standardwebhooks already installed in $dest"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  exec "$src/../../skip.sh" "npm is not installed: webhook deliveries cannot be verified (apt-get install npm)"
fi
mkdir -p "$dest" && cp "$src/package.json" "$src/package-lock.json" "$src/verify.cjs" "$dest/" || exit 1
if ! (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error); then
  exec "$src/../../skip.sh" "npm ci of standardwebhooks failed (is the npm registry reachable?)"
fi
[ -f "$mod" ] || { echo "standardwebhooks missing after npm ci"; exit 1; }
echo "standardwebhooks installed in $dest"
