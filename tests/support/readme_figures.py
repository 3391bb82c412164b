#!/usr/bin/env python3
"""tests/support/readme_figures.py SOURCE_DIR — the README's figures are docs/benchmarks.md's.

Reads the table under "## Current figures" in README.md (| measurement | LocalDx | reference |
measured |): every row names the date of its measurement, and every figure in it (a number or a
range such as 0.445–0.535 or 10,063–14,080) must appear in a section of docs/benchmarks.md headed
with that date ("### 2026-11-30 — ..."). A date with no such section, or a figure none of its
sections holds, is printed and the script exits 1; otherwise "README figures match
docs/benchmarks.md" and 0.
"""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
readme = (root / "README.md").read_text(encoding="utf-8")
bench = (root / "docs" / "benchmarks.md").read_text(encoding="utf-8")

# docs/benchmarks.md's sections by date: the text from each "### DATE" heading to the next heading.
sections = {}
for m in re.finditer(r"^### (\d{4}-\d{2}-\d{2})\b.*?(?=^#{2,3} |\Z)", bench, re.S | re.M):
    sections.setdefault(m.group(1), []).append(m.group(0))

part = readme.split("\n## Current figures\n", 1)
if len(part) != 2:
    sys.exit("README.md has no '## Current figures' section")
rows = [line for line in part[1].split("\n## ", 1)[0].splitlines() if line.startswith("|") and "---" not in line]
rows = rows[1:]  # the header
if not rows:
    sys.exit("README.md's figures table has no rows")
bad = []
figure = re.compile(r"\d[\d,]*(?:\.\d+)?(?:–\d[\d,]*(?:\.\d+)?)?")
for line in rows:
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 4:
        bad.append(f"row without 4 cells: {line}")
        continue
    measurement, ours, reference, date = cells
    if date not in sections:
        bad.append(f"{measurement}: no section of docs/benchmarks.md is dated {date!r}")
        continue
    text = "\n".join(sections[date])
    for f in figure.findall(ours + " " + reference):
        if f not in text:
            bad.append(f"{measurement}: {f} is not in docs/benchmarks.md's {date} tables")
for b in bad:
    print(b)
if bad:
    sys.exit(1)
print(f"README figures match docs/benchmarks.md ({len(rows)} rows)")
