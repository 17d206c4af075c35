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

NAMESPACE_FLAGS = {"CLONE_NEWUSER": "user", "CLONE_NEWNET": "net", "CLONE_NEWNS": "mnt", "CLONE_NEWPID": "pid",
                   "CLONE_NEWIPC": "ipc", "CLONE_NEWUTS": "uts", "CLONE_NEWCGROUP": "cgroup"}

# What loupe-decoder and the dcm2niix child, and their parent, call to start and confine them
# (src/jobs/decoder_process.c, src/decoder/confine.c, src/jobs/dcm2niix.c): fork/exec, the
# parent-death signal and no_new_privs (prctl), resource limits, Landlock, the seccomp filters
# they install on themselves, and the namespaces of dcm2niix.
SANDBOX_SYSCALLS = ("clone", "execve", "prctl", "setrlimit", "prlimit64", "landlock_create_ruleset",
                    "landlock_add_rule", "landlock_restrict_self", "seccomp", "unshare")


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

    def test_what_each_program_reads_in_proc_is_visible(self):
        # ProcSubset=pid hides everything in /proc but process entries: only for units whose
        # program reads nothing else there (the worker's heartbeat reads /proc/meminfo).
        for unit, areas in (("louped.service", ("app", "api", "http", "jobs")), ("loupe-worker@.service", ("worker", "jobs"))):
            reads = set()
            for area in areas:
                for path in glob.glob(os.path.join(lh.SOURCE_DIR, "src", area, "*.c")):
                    with open(path) as f:
                        reads |= set(re.findall(r'"/proc/([a-z]+)', f.read()))
            if reads - {"self", "thread"}:
                self.assertNotRegex(self.unit_text(unit), r"(?m)^ProcSubset=pid$",
                                    "%s hides /proc/%s from its program" % (unit, sorted(reads)))
        self.assertRegex(self.unit_text("loupe-worker@.service"), r"(?m)^ProtectProc=invisible$")

    def test_the_sandboxes_are_not_forbidden(self):
        groups = syscall_groups()
        self.assertIn("@system-service", groups)
        for unit in ("louped.service", "loupe-worker@.service"):
            text = self.unit_text(unit)
            allowed = allowed_syscalls(text, groups)
            missing = [s for s in SANDBOX_SYSCALLS if s not in allowed]
            self.assertEqual(missing, [], "%s forbids what the sandboxes need" % unit)

    def test_namespaces_the_programs_make_are_allowed(self):
        # The dcm2niix child of the worker unshares a user and a network namespace; whatever
        # kinds the sources of a unit's programs create must stay allowed, and no other.
        for unit, globs in (("louped.service", ("app", "api", "jobs/decoder", "decoder")),
                            ("loupe-worker@.service", ("worker", "jobs", "decoder"))):
            made = set()
            for g in globs:
                for path in glob.glob(os.path.join(lh.SOURCE_DIR, "src", g + ("*.c" if "/" in g else "/*.c"))):
                    with open(path) as f:
                        made |= {NAMESPACE_FLAGS[flag] for flag in re.findall(r"\b(CLONE_NEW[A-Z]+)\b", f.read())}
            value = re.search(r"(?m)^RestrictNamespaces=(.*)$", self.unit_text(unit)).group(1).split()
            allowed = set() if value == ["yes"] else set(value)
            self.assertEqual(allowed, made, unit)
        self.assertIn("user", made)  # (the worker's: this check can fail)


if __name__ == "__main__":
    unittest.main()
