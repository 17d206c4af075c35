#!/bin/sh
# install-tree.sh BUILD_DIR DEST — the files of the runtime image: `cmake --install` of a
# configured and built tree (with web/dist built) into DEST under /usr/local, stripped, without
# the systemd units (a container has no systemd). docker/Dockerfile's build stage runs it to fill
# /out, which the runtime stage copies to /; tests/package/test_docker.py runs it on the build
# tree and checks the result, so both hold the same tree.
set -eu
if [ $# -ne 2 ]; then
    echo "usage: install-tree.sh BUILD_DIR DEST" >&2
    exit 2
fi
build=$1
dest=$2
DESTDIR="$dest" cmake --install "$build" --prefix /usr/local --strip
rm -rf "$dest/usr/local/lib/systemd"
