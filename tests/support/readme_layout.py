#!/usr/bin/env python3
"""tests/support/readme_layout.py SOURCE_DIR — the README's layout table matches the tree.

Reads the table under "## Layout" in README.md (| `folder/` | what lives there |) and the folders
git tracks (a file of theirs is committed), and fails when either side has one the other lacks:
  - every top-level folder has a row, and every row's folder exists (hidden folders such as .ci
    are left out: they are tooling, not the code a newcomer looks for);
  - every folder inside one is named in its row, in backquotes, as `name/` or the start of a path
    (`nginx/localdx.conf`), and every `name/` a row names exists in that folder.
Prints what is missing on each side and exits 1, or "README layout matches the tree" and 0.
"""
import re
import subprocess
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
readme = (root / "README.md").read_text(encoding="utf-8")

# The table: the lines starting with "|" after the "## Layout" heading, up to the next heading.
section = readme.split("\n## Layout\n", 1)
if len(section) != 2:
    sys.exit("README.md has no '## Layout' section")
rows = {}
for line in section[1].split("\n## ", 1)[0].splitlines():
    m = re.match(r"\|\s*`([^`/]+)/`\s*\|(.*)\|\s*$", line)
    if m:
        rows[m.group(1)] = m.group(2)
if not rows:
    sys.exit("README.md's layout table has no rows of the form | `folder/` | ... |")

# The tree as committed: top-level folders and the folders directly inside them.
files = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True, check=True).stdout.split("\n")
top, inner = set(), {}
for f in files:
    parts = f.split("/")
    if len(parts) < 2 or parts[0].startswith("."):
        continue
    top.add(parts[0])
    if len(parts) >= 3:
        inner.setdefault(parts[0], set()).add(parts[1])

problems = []
for d in sorted(top - rows.keys()):
    problems.append(f"{d}/ is in the tree but has no row in the README's layout table")
for d in sorted(rows.keys() - top):
    problems.append(f"the README's layout table has a row for {d}/, which is not in the tree")
for d in sorted(top & rows.keys()):
    named = set(re.findall(r"`([\w.-]+)/", rows[d]))
    for sub in sorted(inner.get(d, set()) - named):
        problems.append(f"{d}/{sub}/ is in the tree but the README's row for {d}/ does not name `{sub}/`")
    for sub in sorted(named - inner.get(d, set())):
        problems.append(f"the README's row for {d}/ names `{sub}/`, which is not a folder of {d}/")

for p in problems:
    print("FAIL", p)
if problems:
    sys.exit(1)
print(f"README layout matches the tree: {len(top)} folders, {sum(len(v) for v in inner.values())} inside them")
