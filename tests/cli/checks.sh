# tests/cli/checks.sh — the checks the CLI test scripts share (sourced, not run).
#
# Each check counts one pass or prints FAIL with why and counts one failure; a script ends with
# `checks_done NAME`, which prints the counts and returns non-zero when anything failed.
#   ok / bad WHY                      count a pass / a failure
#   expect_ok NAME CMD...             the command exits 0
#   expect_fail NAME PATTERN CMD...   it exits non-zero and says PATTERN (stdout or stderr)
#   expect_exit NAME CODE PATTERN CMD...  it exits CODE and says PATTERN
#   no_file PATH NAME                 PATH does not exist (nothing left behind)
#   py NAME EXPR FILE [FILE2]         EXPR (python: j, k = the files' JSON; auc(card) its AUC) is true
#   still_running PID...              waits up to 5 s for the processes to end; prints those still
#                                     running (a zombie, dead but not yet reaped, counts as gone)
passed=0 failed=0
ok()  { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*"; }
expect_ok() {
  local name=$1; shift
  local out
  if out=$("$@" 2>&1); then ok; else bad "$name: $out"; fi
}
expect_fail() {
  local name=$1 pattern=$2; shift 2
  local out
  if out=$("$@" 2>&1); then bad "$name: exited 0"; return; fi
  if grep -qE -- "$pattern" <<<"$out"; then ok; else bad "$name: expected /$pattern/, got: $out"; fi
}
expect_exit() {
  local name=$1 code=$2 pattern=$3; shift 3
  local out rc
  out=$("$@" 2>&1); rc=$?
  if [ "$rc" != "$code" ]; then bad "$name: exit $rc, expected $code: $out"; return; fi
  if grep -qE -- "$pattern" <<<"$out"; then ok; else bad "$name: expected /$pattern/, got: $out"; fi
}
no_file() { if [ -e "$1" ]; then bad "$2: left $1 behind"; else ok; fi; }
py() {
  local name=$1 expr=$2; shift 2
  if /usr/bin/python3 -c "
import json,sys
j=json.load(open(sys.argv[1])); k=json.load(open(sys.argv[2])) if len(sys.argv) > 2 else None
auc=lambda c: c['metrics']['macro']['auc_roc']['value']
sys.exit(0 if ($expr) else 1)" "$@"; then ok
  else bad "$name"; fi
}
still_running() {
  local alive p state
  for _ in $(seq 1 50); do
    alive=""
    for p in "$@"; do
      state=$(awk '{print $3}' /proc/$p/stat 2>/dev/null)
      [ -n "$state" ] && [ "$state" != Z ] && alive="$alive $p"
    done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  echo "$alive"
}
checks_done() {
  echo "$1: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
