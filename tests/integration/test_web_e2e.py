"""The web UI in a real headless Chromium: sign in (wrong password, then right), stay signed
in across a reload, sign out. Drives tests/e2e/signin.spec.mjs (playwright-core) against a
real louped serving the built UI. Skips when the UI is not built or Chromium is missing."""

import os
import shutil
import subprocess
import unittest

import loupe_harness as lh

lh.require_services()

SOURCE = os.environ.get("LOUPE_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
DIST = os.path.join(SOURCE, "web", "dist")
E2E = os.path.join(SOURCE, "tests", "e2e")


class WebSignInTest(lh.LoupeTestCase):
    def test_sign_in_and_out(self):
        if not os.path.exists(os.path.join(DIST, "index.html")):
            lh.skip("web UI not built (make web)")
        if not shutil.which("node") or not os.path.exists("/usr/bin/chromium"):
            lh.skip("node or chromium missing")
        if not os.path.isdir(os.path.join(E2E, "node_modules", "playwright-core")):
            proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=E2E, capture_output=True, text=True,
                                  timeout=300)
            if proc.returncode != 0:
                lh.skip("cannot install playwright-core: " + proc.stderr[-500:])
        boot = self.bootstrap(team="Vision Lab", email="ada@example.com", password="correct horse battery")
        d = self.start_louped(settings={"web_dir": DIST})
        env = dict(os.environ, LOUPE_E2E_URL="http://127.0.0.1:%d" % d.port, LOUPE_E2E_EMAIL=boot["email"],
                   LOUPE_E2E_PASSWORD=boot["password"], LOUPE_E2E_TEAM=boot["team"])
        proc = subprocess.run(["node", "signin.spec.mjs"], cwd=E2E, env=env, capture_output=True, text=True,
                              timeout=180)
        if proc.returncode == 77:
            lh.skip(proc.stdout[-500:] + proc.stderr[-500:])
        self.assertEqual(proc.returncode, 0, proc.stdout[-4000:] + proc.stderr[-4000:])


if __name__ == "__main__":
    unittest.main()
