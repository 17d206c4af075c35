"""The Debian package: `cpack -G DEB` builds it from the build tree, its control data is checked
(name, dependencies from dpkg-shlibdeps, the conffile, the maintainer scripts), and a real
`dpkg -i` installs it into a private root with its own administrative directory (dpkg --root,
the maintainer scripts run with DPKG_ROOT set): the files land, the postinst creates the loupe
system user and its state directory and starts nothing; a second install keeps an edited
config file; a purge removes the files and /etc/loupe and keeps the data."""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

import install_testlib as it
import loupe_harness as lh

it.require_build()
for tool in ("cpack", "dpkg", "dpkg-deb", "dpkg-shlibdeps", "useradd"):
    if shutil.which(tool) is None:
        lh.skip_file("%s is missing (dpkg-dev, passwd: make deps)" % tool)


def run(argv, **kw):
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600, **kw)
    if proc.returncode != 0:
        raise AssertionError("%s exited with %d:\n%s%s" % (" ".join(argv), proc.returncode, proc.stdout, proc.stderr))
    return proc.stdout


def control_field(control, name):
    m = re.search(r"(?m)^%s: (.*)$" % name, control)
    return m.group(1) if m else None


class DebPackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="loupe-deb-")
        out = os.path.join(cls.tmp.name, "out")
        run(["cpack", "--config", os.path.join(it.BUILD_DIR, "CPackConfig.cmake"), "-G", "DEB", "-B", out])
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(out, debs[0])
        sys.stderr.write("built %s (%d bytes)\n" % (debs[0], os.path.getsize(cls.deb)))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def new_root(self):
        """An empty tree for dpkg: its own status database and the account files of a bare system."""
        root = tempfile.mkdtemp(prefix="root-", dir=self.tmp.name)
        for d in ("etc", "var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"):
            os.makedirs(os.path.join(root, d))
        for name, text in (("var/lib/dpkg/status", ""), ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
                           ("etc/group", "root:x:0:\n"), ("etc/shadow", "root:*:19000:0:99999:7:::\n"),
                           ("etc/gshadow", "root:*::\n")):
            with open(os.path.join(root, name), "w") as f:
                f.write(text)
        return root

    def dpkg(self, root, *args):
        # A systemctl that records its calls: the maintainer scripts must not start anything.
        bindir = os.path.join(self.tmp.name, "fake-bin")
        os.makedirs(bindir, exist_ok=True)
        self.systemctl_log = os.path.join(self.tmp.name, "systemctl.log")
        with open(os.path.join(bindir, "systemctl"), "w") as f:
            f.write('#!/bin/sh\necho "$@" >> "%s"\n' % self.systemctl_log)
        os.chmod(os.path.join(bindir, "systemctl"), 0o755)
        env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"))
        # The private root has no libraries installed: the dependencies are checked against this
        # machine below (test_dependencies), not in the root.
        argv = ["dpkg", "--root=" + root, "--force-script-chrootless", "--force-depends"]
        if os.geteuid() != 0:
            argv.append("--force-not-root")
        return run(argv + list(args), env=env)

    def test_control(self):
        control = run(["dpkg-deb", "--field", self.deb])
        self.assertEqual(control_field(control, "Package"), "loupe")
        self.assertTrue(control_field(control, "Maintainer"))
        depends = control_field(control, "Depends")
        for lib in ("libmicrohttpd12", "libjansson4", "libpq5", "librabbitmq4", "libvips42", "libavformat59",
                    "libcurl4", "libssl3", "libc6", "passwd"):
            self.assertRegex(depends, r"(^|, )%s( |,|$)" % lib)
        info = os.path.join(self.tmp.name, "control")
        run(["dpkg-deb", "--control", self.deb, info])
        with open(os.path.join(info, "conffiles")) as f:
            self.assertEqual(f.read().split(), ["/etc/loupe/loupe.conf"])
        for script in ("postinst", "prerm", "postrm"):
            mode = os.stat(os.path.join(info, script)).st_mode
            self.assertTrue(mode & stat.S_IXUSR, script)
            run(["sh", "-n", os.path.join(info, script)])

    def test_dependencies(self):
        # Every dependency dpkg-shlibdeps found is a package this (Debian 12) machine has, so
        # the package installs here with apt without pulling anything unexpected.
        depends = control_field(run(["dpkg-deb", "--field", self.deb]), "Depends")
        names = [d.strip().split()[0] for d in depends.split(",")]
        status = run(["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\\n"] + names)
        installed = {ln.split()[0] for ln in status.splitlines() if ln.endswith(" installed")}
        self.assertEqual(sorted(set(names) - installed), [])

    def test_install_upgrade_purge(self):
        root = self.new_root()
        self.dpkg(root, "-i", self.deb)
        self.assertIn("Status: install ok installed", self.dpkg(root, "-s", "loupe"))
        for f in ("usr/bin/louped", "usr/bin/loupe-worker", "usr/bin/loupe-decoder", "usr/bin/loupe",
                  "usr/lib/systemd/system/louped.service", "usr/lib/systemd/system/loupe-migrate.service",
                  "usr/share/loupe/web/index.html", "usr/share/doc/loupe/OPERATIONS.md"):
            self.assertTrue(os.path.isfile(os.path.join(root, f)), f)
        version = run([os.path.join(root, "usr/bin/louped"), "--version"])
        self.assertRegex(version, r"^louped \d+\.\d+\.\d+")

        # The postinst: a system user without a shell, its state directory, the config's group.
        with open(os.path.join(root, "etc/passwd")) as f:
            users = [ln.split(":") for ln in f.read().splitlines()]
        loupe = [u for u in users if u[0] == "loupe"]
        self.assertEqual(len(loupe), 1)
        uid, gid, home, shell = int(loupe[0][2]), int(loupe[0][3]), loupe[0][5], loupe[0][6]
        self.assertLess(uid, 1000)  # a system account
        self.assertEqual((home, shell), ("/var/lib/loupe", "/usr/sbin/nologin"))
        st = os.stat(os.path.join(root, "var/lib/loupe"))
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)), (uid, gid, 0o750))
        st = os.stat(os.path.join(root, "etc/loupe/loupe.conf"))
        self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)), (0, gid, 0o640))
        self.assertFalse(os.path.exists(self.systemctl_log), "a maintainer script called systemctl")

        # Again (an upgrade in dpkg's eyes): the edited config stays, the user is not doubled.
        conf = os.path.join(root, "etc/loupe/loupe.conf")
        with open(conf, "a") as f:
            f.write("http_port = 9999\n")
        self.dpkg(root, "-i", self.deb)
        with open(conf) as f:
            self.assertIn("http_port = 9999\n", f.read())
        with open(os.path.join(root, "etc/passwd")) as f:
            self.assertEqual(sum(1 for ln in f if ln.startswith("loupe:")), 1)

        # Purge: files and /etc/loupe go, the data and the user stay.
        with open(os.path.join(root, "var/lib/loupe/data"), "w") as f:
            f.write("kept")
        self.dpkg(root, "--purge", "loupe")
        self.assertFalse(os.path.exists(os.path.join(root, "usr/bin/louped")))
        self.assertFalse(os.path.exists(os.path.join(root, "etc/loupe")))
        self.assertTrue(os.path.isfile(os.path.join(root, "var/lib/loupe/data")))
        self.assertFalse(os.path.exists(self.systemctl_log), "a maintainer script called systemctl")


if __name__ == "__main__":
    unittest.main()
