"""`make install` (`cmake --install` into a DESTDIR under /usr): the files land where the
GNU layout says, the units and the config file name the installed paths, and the installed
louped — started from that tree with the installed config file — migrates, answers /readyz 200
and serves the installed web UI."""

import glob
import os
import re
import tempfile
import unittest

import install_testlib as it
import loupe_harness as lh

lh.require_services()
it.require_build()


def read(path):
    with open(path, "rb") as f:
        return f.read()


class InstallTest(lh.LoupeTestCase):
    def setUp(self):
        super().setUp()
        tmp = tempfile.TemporaryDirectory(prefix="loupe-install-")
        self.addCleanup(tmp.cleanup)
        self.dest = tmp.name
        self.files = it.install_tree(self.dest)

    def test_file_list(self):
        files = set(self.files)
        for f in ("usr/bin/louped", "usr/bin/loupe-worker", "usr/bin/loupe-decoder", "usr/bin/loupe",
                  "usr/lib/systemd/system/louped.service", "usr/lib/systemd/system/loupe-worker@.service",
                  "usr/lib/systemd/system/loupe-migrate.service", "usr/lib/systemd/system/loupe-workers.target",
                  "etc/loupe/loupe.conf", "usr/share/loupe/web/index.html",
                  "usr/share/doc/loupe/OPERATIONS.md", "usr/share/doc/loupe/CONFIG.md",
                  "usr/share/doc/loupe/LICENSE", "usr/share/doc/loupe/README.md"):
            self.assertIn(f, files)
        for b in ("louped", "loupe-worker", "loupe-decoder", "loupe"):
            self.assertTrue(os.access(os.path.join(self.dest, "usr/bin", b), os.X_OK), b)
        migrations = sorted(os.path.basename(p) for p in glob.glob(os.path.join(lh.SOURCE_DIR, "migrations/*.sql")))
        self.assertTrue(migrations)
        self.assertEqual(sorted(f[len("usr/share/loupe/migrations/"):] for f in files
                                if f.startswith("usr/share/loupe/migrations/")), migrations)
        # Every asset of the built UI, byte for byte.
        dist = os.path.join(lh.SOURCE_DIR, "web", "dist")
        for f in it.tree_files(dist):
            self.assertEqual(read(os.path.join(self.dest, "usr/share/loupe/web", f)), read(os.path.join(dist, f)), f)
        # Nothing outside the two roots a package may own, and no build or test leftovers.
        self.assertEqual(sorted({f.split("/")[0] for f in files}), ["etc", "usr"])
        self.assertFalse([f for f in files if re.search(r"(^|/)(CMakeFiles|node_modules)/|\.o$|_test$", f)])

    def test_paths_name_the_installation(self):
        conf = read(os.path.join(self.dest, "etc/loupe/loupe.conf")).decode()
        self.assertRegex(conf, r"(?m)^web_dir = /usr/share/loupe/web$")
        unit = read(os.path.join(self.dest, it.UNITS_DIR, "louped.service")).decode()
        self.assertRegex(unit, r"(?m)^ExecStart=/usr/bin/louped --config /etc/loupe/loupe.conf serve$")
        for f in self.files:  # every placeholder of the templates is filled
            if f.startswith(("etc/", it.UNITS_DIR)):
                self.assertNotRegex(read(os.path.join(self.dest, f)).decode(), r"@[A-Z_]+@", f)

    def test_config_is_never_overwritten(self):
        path = os.path.join(self.dest, "etc/loupe/loupe.conf")
        with open(path, "a") as f:
            f.write("http_port = 9999\n")
        it.install_tree(self.dest)
        self.assertIn(b"http_port = 9999\n", read(path))

    def test_installed_daemon_serves(self):
        # The installed config, with each installed path moved under the DESTDIR (the only
        # difference from a real installation); db_url, amqp_url and storage come from the
        # test's environment, which wins over the file.
        conf = read(os.path.join(self.dest, "etc/loupe/loupe.conf")).decode()
        conf = re.sub(r"(?m)^(\w+ = )(/usr/\S*)$", lambda m: m.group(1) + self.dest + m.group(2), conf)
        conf_path = os.path.join(self.sandbox.work_dir, "loupe.conf")
        with open(conf_path, "w") as f:
            f.write(conf)
        binary = os.path.join(self.dest, "usr/bin/louped")
        d = self.sandbox.start_louped({"web_dir": None}, args=("--config", conf_path, "serve"), binary=binary)
        c = d.client(openapi_check=False)
        # /readyz needs the database and the broker: the connections take a moment.
        lh.wait_until(lambda: c.get("/readyz").status == 200, timeout=15, message="/readyz to answer 200")
        index = c.get("/")
        self.assertEqual(index.status, 200)
        self.assertEqual(index.body, read(os.path.join(self.dest, "usr/share/loupe/web/index.html")))
        self.assertIn(b"<div id=", index.body)


if __name__ == "__main__":
    unittest.main()
