"""Secrets never leak: every secret the integration suite made, set or received (the harness's
ledger, loupe_harness.record_secret) is looked for in every process log (louped, loupe-worker),
every problem+json body and every /metrics scrape the suite kept in LOUPE_TEST_EVIDENCE_DIR.

Run by ctest as integration/secrets_never_leak after every other integration test of the run (the
cleanup of the fixture loupe_evidence, whose setup empties the directory). Fails naming the file,
the line and the kind of secret of every hit; fails too when the suite kept logs but the ledger is
empty (the recorder broke, so nothing would be found); skips when no integration test ran.
Prints how many secrets were checked and how many lines scanned."""

import collections
import os
import subprocess
import sys
import tempfile
import urllib.parse

import loupe_harness as lh

PLACES = ("logs", "problems", "metrics")


def ledger(root):
    """{secret: kind} from the ledger (a secret recorded under several kinds keeps the first)."""
    out = {}
    try:
        with open(os.path.join(root, "secrets.ledger"), encoding="utf-8", errors="replace") as f:
            for line in f:
                kind, _, value = line.rstrip("\n").partition("\t")
                if len(value) >= lh.SECRET_MIN_LEN:
                    out.setdefault(value, kind)
    except FileNotFoundError:
        pass
    return out


def forms(secret):
    """The ways a secret could be written down: as it is, percent-encoded, JSON-escaped."""
    out = {secret, urllib.parse.quote(secret, safe=""), secret.replace("/", "\\/")}
    return {s for s in out if s}


def evidence_files(root):
    for place in PLACES:
        for d, _dirs, files in os.walk(os.path.join(root, place)):
            for name in sorted(files):
                yield os.path.join(d, name)


def main():
    root = os.environ.get("LOUPE_TEST_EVIDENCE_DIR")
    if not root:
        lh.skip_file("LOUPE_TEST_EVIDENCE_DIR is not set (run it with ctest, after the integration tests)")
    files = list(evidence_files(root))
    secrets = ledger(root)
    if not files:
        lh.skip_file("no integration test kept anything in %s (none ran in this ctest run)" % root)
    lines = 0
    for path in files:
        with open(path, "rb") as f:
            lines += sum(1 for _ in f)
    kinds = collections.Counter(secrets.values())
    print("checked %d secrets (%s) against %d lines in %d files (%s)" % (
        len(secrets), ", ".join("%s %d" % kv for kv in sorted(kinds.items())), lines, len(files),
        ", ".join("%s %d" % (p, sum(1 for f in files if os.sep + p + os.sep in f)) for p in PLACES)))
    if not secrets:
        print("FAIL: the secrets ledger is empty although the suite kept %d files: the harness recorded no "
              "secret, so this scan could find nothing" % len(files))
        return 1

    by_form = {}
    for secret, kind in secrets.items():
        for form in forms(secret):
            by_form.setdefault(form, kind)
    with tempfile.NamedTemporaryFile("w", suffix=".patterns", delete=False) as pf:
        pf.write("\n".join(by_form) + "\n")
    try:
        # grep -F matches thousands of fixed strings in one pass (Aho-Corasick style)
        proc = subprocess.run(["grep", "-rnFa", "-f", pf.name, "--"] + [os.path.join(root, p) for p in PLACES
                                                                         if os.path.isdir(os.path.join(root, p))],
                              capture_output=True)
    finally:
        os.unlink(pf.name)
    if proc.returncode not in (0, 1):
        print("FAIL: grep failed (%d): %s" % (proc.returncode, proc.stderr.decode(errors="replace")))
        return 1
    hits = 0
    for raw in proc.stdout.splitlines():
        text = raw.decode("utf-8", "replace")
        path, _, rest = text.partition(":")
        lineno, _, content = rest.partition(":")
        found = sorted({kind for form, kind in by_form.items() if form in content})
        hits += 1
        print("LEAK: %s:%s: %s in: %s" % (os.path.relpath(path, root), lineno, ", ".join(found), content[:300]))
    print("%d lines hold a secret" % hits)
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
