"""What the install, systemd and package tests share: `cmake --install` of the build tree into a
DESTDIR, and systemd-analyze run on the units of such a tree (offline: no systemd needs to run).

Environment: LOUPE_BUILD_DIR (the CMake build tree; default <source>/build/dev)."""

import os
import re
import shutil
import subprocess

import loupe_harness as lh

BUILD_DIR = os.environ.get("LOUPE_BUILD_DIR") or os.path.join(lh.SOURCE_DIR, "build", "dev")
PREFIX = "/usr"
UNITS_DIR = "usr/lib/systemd/system"
# The units a tree of ours holds; the worker's template is checked through an instance.
SERVICES = ("louped.service", "loupe-worker@1.service", "loupe-migrate.service")
EXPOSURE_MAX = 2.0
HOST_UNITS = "/lib/systemd/system"


def require_build():
    if not os.path.isfile(os.path.join(BUILD_DIR, "cmake_install.cmake")):
        lh.skip_file("%s is not a configured build tree (make build)" % BUILD_DIR)


def install_tree(destdir, prefix=PREFIX):
    """Installs the build tree into DESTDIR `destdir` under `prefix` (`cmake --install`).
    Returns the installed files as sorted paths relative to destdir."""
    env = dict(os.environ, DESTDIR=destdir)
    proc = subprocess.run(["cmake", "--install", BUILD_DIR, "--prefix", prefix], env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError("cmake --install failed:\n%s%s" % (proc.stdout, proc.stderr))
    return tree_files(destdir)


def tree_files(root):
    out = []
    for d, _, files in os.walk(root):
        out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(out)


def require_systemd_analyze():
    if shutil.which("systemd-analyze") is None or not os.path.isdir(HOST_UNITS):
        lh.skip_file("systemd-analyze or %s is missing (the Debian package systemd; make deps)" % HOST_UNITS)


def add_host_units(root):
    """Copies the system's own units (sysinit.target, network-online.target, …) into the tree,
    so that `systemd-analyze verify --root` resolves the dependencies of ours."""
    shutil.copytree(HOST_UNITS, os.path.join(root, "lib", "systemd", "system"), symlinks=True,
                    dirs_exist_ok=True)


def analyze(*args):
    return subprocess.run(["systemd-analyze"] + list(args), capture_output=True, text=True, timeout=120)


def exposure(root, unit):
    """(score, output) of `systemd-analyze security --offline=true` for `unit` in the tree `root`;
    the score is systemd's overall exposure level, 0.0 (locked down) to 10.0."""
    proc = analyze("security", "--offline=true", "--root=" + root, "--no-pager", unit)
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", proc.stdout + proc.stderr)
    if not m:
        raise AssertionError("no exposure level for %s:\n%s%s" % (unit, proc.stdout, proc.stderr))
    return float(m.group(1)), proc.stdout + proc.stderr
