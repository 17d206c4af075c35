#!/bin/sh
# Installs s3rver, pinned by package-lock.json next to this script, into the
# directory $1 (in the build tree) for the S3 integration test.
# Skips (tests/skip.sh) when node or npm is missing or the registry cannot be reached.
set -u
src=$(cd "$(dirname "$0")" && pwd)
dest=${1:?usage: s3rver-install.sh DEST_DIR}
js="$dest/node_modules/s3rver/bin/s3rver.js"

if ! command -v node >/dev/null 2>&1; then
  exec "$src/../../skip.sh" "node is not installed: the S3 tests cannot run (apt-get install nodejs npm)"
fi
if [ -f "$js" ] && cmp -s "$src/package-lock.json" "$dest/package-lock.json"; then
  echo "s3rver already installed in $dest"
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  exec "$src/../../skip.sh" "npm is not installed: the S3 tests cannot run (apt-get install npm)"
fi
mkdir -p "$dest" && cp "$src/package.json" "$src/package-lock.json" "$dest/" || exit 1
if ! (cd "$dest" && npm ci --no-audit --no-fund --loglevel=error); then
  exec "$src/../../skip.sh" "npm ci of s3rver failed (is the npm registry reachable?): the S3 tests cannot run"
fi
[ -f "$js" ] || { echo "s3rver.js missing after npm ci"; exit 1; }
echo "s3rver installed in $dest"
