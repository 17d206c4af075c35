#!/usr/bin/env python3
"""The layering checker on a tree made for the purpose: it passes a tree that keeps the order and
names each include that breaks it (a lower area reaching up, same-level areas, a denied pair, a
private include reaching into another area's folder, a public header reaching into src/, an area
the order does not list)."""
import os
import subprocess
import sys
import tempfile
import unittest

CHECKER = sys.argv.pop(1)

ARCH = """# Architecture
```layers
core
geometry media
db
http
app
deny http -> db
```
"""


def write(top, rel, text):
    path = os.path.join(top, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def run(top):
    p = subprocess.run([sys.executable, CHECKER, top], capture_output=True, text=True)
    return p.returncode, p.stdout


class CheckerTest(unittest.TestCase):
    def tree(self):
        top = tempfile.mkdtemp()
        self.addCleanup(subprocess.run, ["rm", "-rf", top])
        write(top, "docs/ARCHITECTURE.md", ARCH)
        write(top, "include/loupe/core/util.h", "#include <stddef.h>\n")
        write(top, "include/loupe/db/db.h", '#include "loupe/core/util.h"\n')
        write(top, "src/core/util.c", '#include "loupe/core/util.h"\n#include "core_int.h"\n')
        write(top, "src/core/core_int.h", "\n")
        write(top, "src/db/pool.c", '#include "loupe/db/db.h"\n#include "loupe/core/util.h"\n')
        write(top, "src/app/main.c", '#include "loupe/db/db.h"\n#include "loupe/http/server.h"\n')
        write(top, "src/http/server.c", '#include "loupe/core/util.h"\n')
        return top

    def test_a_tree_that_keeps_the_order_passes(self):
        rc, out = run(self.tree())
        self.assertEqual(rc, 0, out)

    def test_each_broken_rule_is_named(self):
        top = self.tree()
        write(top, "src/core/bad.c", '#include "loupe/db/db.h"\n')                 # up
        write(top, "src/geometry/bad.c", '#include "loupe/media/media.h"\n')       # same level
        write(top, "src/http/bad.c", '#include "loupe/db/db.h"\n')                 # denied
        write(top, "src/app/bad.c", '#include "../core/core_int.h"\n')            # another folder
        write(top, "include/loupe/db/bad.h", '#include "db/pool_int.h"\n')         # into src/
        write(top, "src/cli/main.c", '#include "loupe/core/util.h"\n')             # unlisted area
        rc, out = run(top)
        self.assertEqual(rc, 1, out)
        for offence in ("src/core/bad.c", "src/geometry/bad.c", "src/http/bad.c", "src/app/bad.c",
                        "include/loupe/db/bad.h", "src/cli"):
            self.assertIn(offence, out)
        self.assertEqual(len(out.strip().splitlines()), 6, out)


if __name__ == "__main__":
    unittest.main()
