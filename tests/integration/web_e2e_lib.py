"""Shared by the browser tests: what they need (the built UI, node, Chromium, tests/e2e's npm
packages) and where their screenshots go (under the build directory)."""

import os
import shutil
import subprocess

import loupe_harness as lh

SOURCE = os.environ.get("LOUPE_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
DIST = os.path.join(SOURCE, "web", "dist")
E2E = os.path.join(SOURCE, "tests", "e2e")
PACKAGES = ("playwright-core", "axe-core")


def require_browser_test():
    """Skips the calling test unless the UI is built and node, Chromium and the npm packages are there
    (installed here with `npm ci` when missing)."""
    if not os.path.exists(os.path.join(DIST, "index.html")):
        lh.skip("web UI not built (make web)")
    if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
        lh.skip("node or chromium missing")
    if not all(os.path.isdir(os.path.join(E2E, "node_modules", p)) for p in PACKAGES):
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=E2E, capture_output=True, text=True,
                              timeout=300)
        if proc.returncode != 0:
            lh.skip("cannot install the browser test's packages: " + proc.stderr[-500:])


def artifacts_dir(name):
    """build/<preset>/e2e-screenshots/<name> when the suite runs from a build directory, else a
    folder in the current directory."""
    work = os.environ.get("LOUPE_TEST_WORK_DIR")
    base = os.path.dirname(os.path.abspath(work)) if work else os.getcwd()
    path = os.path.join(base, "e2e-screenshots", name)
    os.makedirs(path, exist_ok=True)
    return path


def run_spec(tc, spec, env, timeout=600):
    """Runs tests/e2e/<spec> with env added; a skip (77) skips, anything else but 0 fails tc."""
    proc = subprocess.run(["node", spec], cwd=E2E, env=dict(os.environ, **env), capture_output=True, text=True,
                          timeout=timeout * lh.TIMEOUT_SCALE)
    if proc.returncode == 77:
        lh.skip(proc.stdout[-500:] + proc.stderr[-500:])
    tc.assertEqual(proc.returncode, 0, proc.stdout[-6000:] + proc.stderr[-4000:])
    return proc.stdout
