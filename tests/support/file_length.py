#!/usr/bin/env python3
"""tests/support/file_length.py SOURCE_DIR [LIMIT] — no file under wasm/, server/ or web/ is long.

Counts the lines of every file git tracks under wasm/, server/ and web/ (the brief's rule: a file
a newcomer opens is at most 600 lines), leaving out what people do not write: web/node_modules
and lock files npm generates. Prints each file over the limit with its length and exits 1, or
"no file over N lines" and 0.
"""
import subprocess
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 600
generated = {"package-lock.json"}

files = subprocess.run(["git", "-C", str(root), "ls-files", "wasm", "server", "web"], capture_output=True,
                       text=True, check=True).stdout.split("\n")
long_files = []
for f in filter(None, files):
    path = root / f
    if "node_modules" in Path(f).parts or path.name in generated or not path.is_file():
        continue
    try:
        lines = path.read_text(encoding="utf-8").count("\n")
    except UnicodeDecodeError:
        continue  # binary (an icon, a font): not code to read
    if lines > limit:
        long_files.append((lines, f))
for lines, f in sorted(long_files, reverse=True):
    print(f"{f}: {lines} lines (at most {limit})")
if long_files:
    sys.exit(1)
print(f"no file under wasm/, server/ or web/ over {limit} lines")
