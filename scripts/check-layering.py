#!/usr/bin/env python3
"""check-layering.py — fail on any #include that the dependency order forbids.

The order is read from the ```layers block of docs/ARCHITECTURE.md: one level per line, lowest
first; an area may include its own headers and those of any lower level, never those of its own
level or above. `deny` lines there name pairs that the levels alone would allow but the design
forbids ("deny http -> db": the HTTP layer reaches the database only through the services the
app installs). Checked: every .c/.h under src/<area>/ and include/loupe/<area>/ (quoted
includes of "loupe/<area>/…"), and that no header under include/ reaches into src/.

Usage: check-layering.py [SOURCE_DIR]   (exit 1 and one line per offence when any is found)
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def read_layers(arch_md):
    text = open(arch_md, encoding="utf-8").read()
    m = re.search(r"```layers\n(.*?)```", text, re.S)
    if not m:
        sys.exit(f"{arch_md}: no ```layers block")
    level, deny, rank = {}, set(), 0
    for line in (l.strip() for l in m.group(1).splitlines()):
        if not line or line.startswith("#"):
            continue
        d = re.fullmatch(r"deny\s+(\w+)\s*->\s*([\w ,]+)", line)
        if d:
            deny.update((d.group(1), t) for t in re.split(r"[\s,]+", d.group(2).strip()))
            continue
        for area in re.split(r"[\s,]+", line):
            level[area] = rank
        rank += 1
    return level, deny


def allowed(src, dst, level, deny):
    if src == dst:
        return True
    if (src, dst) in deny:
        return False
    return dst in level and src in level and level[dst] < level[src]


def own_file(path, inc, area_dir):
    """A private include must name a file of the includer's own area folder, found beside it."""
    target = os.path.normpath(os.path.join(os.path.dirname(path), inc))
    return os.path.isfile(target) and target.startswith(area_dir + os.sep)


def files_of(root):
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            if name.endswith((".c", ".h", ".def")):
                yield os.path.join(dirpath, name)


def main():
    top = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else
                          os.path.join(os.path.dirname(__file__), ".."))
    level, deny = read_layers(os.path.join(top, "docs", "ARCHITECTURE.md"))
    bad = []
    for base in ("src", os.path.join("include", "loupe")):
        root = os.path.join(top, base)
        for area in sorted(os.listdir(root)):
            if not os.path.isdir(os.path.join(root, area)):
                continue
            if area not in level:
                bad.append(f"{base}/{area}: area missing from the layers of docs/ARCHITECTURE.md")
                continue
            for path in files_of(os.path.join(root, area)):
                rel = os.path.relpath(path, top)
                text = open(path, encoding="utf-8", errors="replace").read()
                for inc in INCLUDE.findall(text):
                    m = re.match(r"loupe/(\w+)/", inc)
                    if m:
                        if not allowed(area, m.group(1), level, deny):
                            bad.append(f"{rel}: includes {inc}: {area} may not depend on {m.group(1)}")
                    elif not own_file(path, inc, os.path.join(root, area)):
                        bad.append(f"{rel}: includes \"{inc}\": not a file of its own area")
    for line in bad:
        print(line)
    if bad:
        print(f"{len(bad)} include(s) break the dependency order of docs/ARCHITECTURE.md", file=sys.stderr)
        return 1
    print(f"layering: {len(level)} areas, every include follows the dependency order")
    return 0


if __name__ == "__main__":
    sys.exit(main())
