"""The web UI in a real headless Chromium: sign in (wrong password, then right), stay signed
in across a reload, sign out. Drives tests/e2e/signin.spec.mjs (playwright-core) against a
real louped serving the built UI. Skips when the UI is not built or Chromium is missing."""

import unittest

import loupe_harness as lh
import web_e2e_lib as we

lh.require_services()


class WebSignInTest(lh.LoupeTestCase):
    def test_sign_in_and_out(self):
        we.require_browser_test()
        boot = self.bootstrap(team="Vision Lab", email="ada@example.com", password="correct horse battery")
        d = self.start_louped(settings={"web_dir": we.DIST})
        we.run_spec(self, "signin.spec.mjs", {"LOUPE_E2E_URL": "http://127.0.0.1:%d" % d.port,
                                              "LOUPE_E2E_EMAIL": boot["email"], "LOUPE_E2E_PASSWORD": boot["password"],
                                              "LOUPE_E2E_TEAM": boot["team"]}, timeout=180)


if __name__ == "__main__":
    unittest.main()
