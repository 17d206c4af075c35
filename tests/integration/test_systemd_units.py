"""The systemd units as `make install` writes them, checked without a running systemd:
`systemd-analyze verify --root` on an installed tree (every directive parses, every ExecStart
resolves to an installed executable, every dependency exists), `systemd-analyze security
--offline=true` keeps the exposure of louped, the worker and the migration unit at 2.0 or below
(the scores are printed), and the system-call filter leaves loupe-decoder what its own sandbox
needs (docs/SECURITY.md)."""

import glob
import os
import re
import sys
import tempfile
import unittest

import install_testlib as it
import loupe_harness as lh

it.require_build()
it.require_systemd_analyze()

# What loupe-decoder and its parent call to start and confine it (src/jobs/decoder_process.c,
# src/decoder/confine.c): fork/exec, the parent-death signal and no_new_privs (prctl), resource
# limits, Landlock, and the seccomp filter it installs on itself.
DECODER_SYSCALLS = ("clone", "execve", "prctl", "setrlimit", "prlimit64", "landlock_create_ruleset",
                    "landlock_add_rule", "landlock_restrict_self", "seccomp")


def syscall_groups():
    """{"@group": [members, "@nested", …]} as systemd-analyze prints them."""
    groups, current = {}, None
    for line in it.analyze("syscall-filter", "--no-pager").stdout.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif current is not None and line.strip() and not line.strip().startswith("#"):
            current.append(line.strip())
    return groups


def expand(names, groups, seen=None):
    seen = set() if seen is None else seen
    out = set()
    for n in names:
        if n.startswith("@"):
            if n not in seen:
                seen.add(n)
                out |= expand(groups.get(n, []), groups, seen)
        else:
            out.add(n)
    return out


def allowed_syscalls(unit_text, groups):
    """The allow-list that a unit's SystemCallFilter= lines add up to (allow lines add, `~` lines
    remove), as systemd applies them when the first line is an allow-list."""
    allowed = set()
    for value in re.findall(r"^SystemCallFilter=(.*)$", unit_text, re.M):
        deny = value.startswith("~")
        names = expand(value.lstrip("~").split(), groups)
        allowed = allowed - names if deny else allowed | names
    return allowed


class SystemdUnitsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="loupe-units-")
        cls.root = cls.tmp.name
        it.install_tree(cls.root)
        it.add_host_units(cls.root)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def unit_text(self, name):
        with open(os.path.join(self.root, it.UNITS_DIR, name)) as f:
            return f.read()

    def test_verify(self):
        units = list(it.SERVICES) + ["loupe-workers.target"]
        proc = it.analyze("verify", "--root=" + self.root, "--man=no", *units)
        out = proc.stdout + proc.stderr
        self.assertEqual(proc.returncode, 0, out)
        # Unknown or malformed directives are warnings with status 0: none is allowed either.
        self.assertEqual(out.strip(), "", out)

    def test_verify_fails_on_a_missing_program(self):
        # The check above could not pass on a tree without the binaries.
        os.rename(os.path.join(self.root, "usr/bin/loupe-worker"), os.path.join(self.root, "worker.moved"))
        try:
            proc = it.analyze("verify", "--root=" + self.root, "--man=no", "loupe-worker@1.service")
        finally:
            os.rename(os.path.join(self.root, "worker.moved"), os.path.join(self.root, "usr/bin/loupe-worker"))
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("/usr/bin/loupe-worker", proc.stdout + proc.stderr)

    def test_exposure(self):
        for unit in it.SERVICES:
            score, out = it.exposure(self.root, unit)
            sys.stderr.write("systemd-analyze security --offline=true: %s exposure %.1f\n" % (unit, score))
            self.assertLessEqual(score, it.EXPOSURE_MAX, out)
            # The same limit through systemd-analyze's own gate (its scale is 0–100).
            proc = it.analyze("security", "--offline=true", "--root=" + self.root,
                              "--threshold=%d" % round(it.EXPOSURE_MAX * 10), unit)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_the_hardening_the_issue_asks_for(self):
        for unit in ("louped.service", "loupe-worker@.service", "loupe-migrate.service"):
            text = self.unit_text(unit)
            for line in ("ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectHome=yes",
                         "CapabilityBoundingSet=", "SystemCallFilter=@system-service",
                         "ReadWritePaths=/var/lib/loupe", "User=loupe"):
                self.assertRegex(text, r"(?m)^%s$" % re.escape(line), unit)
        self.assertRegex(self.unit_text("louped.service"), r"(?m)^Type=notify$")
        self.assertRegex(self.unit_text("louped.service"), r"(?m)^WatchdogSec=")
        self.assertRegex(self.unit_text("loupe-migrate.service"), r"(?m)^Type=oneshot$")
        self.assertRegex(self.unit_text("loupe-migrate.service"), r"(?m)^ExecStart=/usr/bin/louped .* migrate$")

    def test_the_decoder_sandbox_is_not_forbidden(self):
        groups = syscall_groups()
        self.assertIn("@system-service", groups)
        for unit in ("louped.service", "loupe-worker@.service"):
            text = self.unit_text(unit)
            allowed = allowed_syscalls(text, groups)
            missing = [s for s in DECODER_SYSCALLS if s not in allowed]
            self.assertEqual(missing, [], "%s forbids what loupe-decoder needs" % unit)
            self.assertRegex(text, r"(?m)^RestrictNamespaces=yes$")
        # RestrictNamespaces=yes costs the decoder nothing because it never makes a namespace;
        # if that changes, the units must change with it.
        for path in glob.glob(os.path.join(lh.SOURCE_DIR, "src/decoder/*.c")) + \
                glob.glob(os.path.join(lh.SOURCE_DIR, "src/jobs/decoder*.c")):
            with open(path) as f:
                self.assertNotRegex(f.read(), r"\bunshare\s*\(|CLONE_NEW|setns\s*\(", path)


if __name__ == "__main__":
    unittest.main()
