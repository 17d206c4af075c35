"""The secrets scan itself (secrets_scan.py, run by ctest as integration/secrets_never_leak): it finds
a secret planted in a log, a problem+json body or a /metrics scrape, in any of the forms it may be
written in, names the file and line, fails on an empty ledger, and passes clean evidence."""

import contextlib
import io
import os
import shutil
import tempfile
import unittest
import urllib.parse

import secrets_scan

SECRET = "whsec_Zm9vYmFyK2Jhei9xdXV4PT0="


class SecretsScanTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="secrets-scan.")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.write("secrets.ledger", "webhook_secret\t%s\nshort\tabc\n" % SECRET)
        self.write("logs/box/louped-0.log", '{"level":"info","msg":"request","path":"/api/v1/webhooks"}\n')
        self.write("problems/1.jsonl", '{"status":404,"detail":"webhook not found"}\n')
        self.write("metrics/box-0.txt", "loupe_http_requests_total 3\n")

    def write(self, rel, text, mode="w"):
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, mode) as f:
            f.write(text)

    def scan(self):
        out = io.StringIO()
        old = os.environ.get("LOUPE_TEST_EVIDENCE_DIR")
        os.environ["LOUPE_TEST_EVIDENCE_DIR"] = self.root
        try:
            with contextlib.redirect_stdout(out):
                rc = secrets_scan.main()
        finally:
            if old is None:
                del os.environ["LOUPE_TEST_EVIDENCE_DIR"]
            else:
                os.environ["LOUPE_TEST_EVIDENCE_DIR"] = old
        return rc, out.getvalue()

    def test_clean_evidence_passes(self):
        rc, out = self.scan()
        self.assertEqual(rc, 0, out)
        self.assertIn("checked 1 secrets", out)  # the short one is no secret
        self.assertIn("against 3 lines in 3 files", out)

    def test_a_planted_secret_is_found_in_every_place_and_form(self):
        for rel, text in (("logs/box/loupe-worker-0.log", "signing with %s\n" % SECRET),
                          ("problems/2.jsonl", '{"detail":"bad secret %s"}\n' % SECRET.replace("/", "\\/")),
                          ("metrics/box-1.txt", 'x{url="%s"} 1\n' % urllib.parse.quote(SECRET, safe=""))):
            with self.subTest(rel=rel):
                self.write(rel, "first line\n" + text)
                rc, out = self.scan()
                self.assertEqual(rc, 1, out)
                self.assertIn("LEAK: %s:2: webhook_secret" % rel, out)
                os.unlink(os.path.join(self.root, rel))

    def test_an_empty_ledger_fails(self):
        self.write("secrets.ledger", "")
        rc, out = self.scan()
        self.assertEqual(rc, 1, out)
        self.assertIn("ledger is empty", out)


if __name__ == "__main__":
    unittest.main()
