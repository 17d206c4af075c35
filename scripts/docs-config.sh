#!/bin/sh
# Writes docs/CONFIG.md from the settings table: scripts/docs-config.sh LOUPED [OUTPUT]
# (OUTPUT defaults to standard output).
set -e
louped=$1
out=${2:-/dev/stdout}
{
cat <<'HEAD'
# Configuration

Every setting can be given, in increasing order of precedence, as a default, in a config file
(`louped -c FILE`, one `name = value` per line, `#` comments, values may be quoted), as an
environment variable `LOUPE_<NAME>`, or on the command line (`--set name=value`). `loupe-worker`
reads the same settings. Sizes accept `k`, `M`, `G`, `T` suffixes (powers of 1024); durations accept
`ms`, `s`, `m`, `h`, `d`. Bad values stop start-up with a message naming the setting and its source.
A setting that no longer exists stops start-up too, except the retired ones below, which are
ignored with a warning so that an older configuration file still starts: `signin_tracked_keys`
(sign-in failures are counted in PostgreSQL now, see docs/SECURITY.md).

This table is generated from `include/loupe/core/config.def` by `make docs-config`
(`scripts/docs-config.sh`, which runs `louped config --markdown`); a test fails when it is out of date.

HEAD
"$louped" config --markdown
} > "$out"
