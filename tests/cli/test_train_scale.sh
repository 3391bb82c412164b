#!/usr/bin/env bash
# tests/cli/test_train_scale.sh — training beyond one process, through the real binary, on a
# modest `localdx synth` task (the 10-million-row runs are in scripts/bench-train-scale):
#  - external memory: the same batched folds with XGBoost's data in memory (--batch-rows alone)
#    and in external memory (--external-memory) give the same rounds, the same out-of-fold AUC and
#    final models whose probabilities agree within 0.01 (XGBoost 1.7 documents no numeric bound:
#    its hist sketch over batches is approximate); and the external-memory run fits under an
#    address-space cap (ulimit -v) that the in-memory run of the same file exceeds; on 1,000,000
#    rows (6 fields, 2 folds, 5 rounds) external memory and in-memory training (the whole CSV)
#    give final models within 0.01 of each other on every row, and the in-memory run under the
#    cap fails saying it ran out of memory;
#  - distributed: 3 workers on loopback (--workers 3, the tracker of python3-xgboost) give an
#    out-of-fold AUC within 0.005 of one process on the same data, predictions within 0.05 on
#    average, the card's operating points and conformal coverage from all workers' rows; row subsampling (0.8) on 3 workers finishes and agrees with one process within 0.005
#    of AUC; a worker killed mid-training fails the run naming the worker, and leaves no model; the
#    starter stopped by SIGTERM stops its workers and the tracker and leaves no --out or temporary
#    folder;
#    the starter killed by SIGKILL takes its workers and the tracker with it, and the next run to
#    the same --out removes the temporary folder it left;
#    the same with two workers started by hand with --tracker (as on two machines); row subsampling
#    (0.8) on two --tracker workers with own files of 4,000 and 12,000 rows finishes, in memory and
#    with --batch-rows 3000 (unequal batch counts); worker 0
#    killed while it writes its outputs (held there by LOCALDX_TEST_PAUSE_WRITING) leaves --out's
#    previous complete set as it was: with --workers, where worker 0 writes into the run's
#    temporary folder, this checks that a failed run leaves --out alone; with --tracker, where
#    worker 0 writes into --out, it checks the atomic write of the set.
#
# Usage: test_train_scale.sh LOCALDX WORK_DIR
set -uo pipefail
ldx=$1 work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
source "$(dirname "$(readlink -f "$0")")/checks.sh"  # ok, bad, py, still_running, checks_done
# start_tracker NAME: XGBoost's tracker (python3-xgboost) for 2 workers on loopback, as a site
# starts it for workers on several machines; sets $tracker (its pid) and $port (NAME.port, NAME.err).
start_tracker() {
  /usr/bin/python3 -u -c 'import sys; from xgboost.tracker import RabitTracker
t = RabitTracker("127.0.0.1", 2, port=0, sortby="task"); print(t.port, flush=True); t.start(2); t.join()' \
    >"$1.port" 2>"$1.err" &
  tracker=$!
  for _ in $(seq 1 100); do [ -s "$1.port" ] && break; sleep 0.1; done
  port=$(head -1 "$1.port")
}
# agree A B: prints the mean and largest difference of two XGBoost models' probabilities on data.csv.
agree() {
  /usr/bin/python3 - "$1" "$2" <<'EOF'
import sys, numpy as np, xgboost as xgb
d = np.genfromtxt("task/data.csv", delimiter=",", skip_header=1, usecols=range(10), missing_values="", filling_values=np.nan)
m = xgb.DMatrix(d, missing=np.nan)
a, b = (xgb.Booster(model_file=f) for f in sys.argv[1:3])
diff = np.abs(a.predict(m) - b.predict(m))
print(f"{diff.mean():.6f} {diff.max():.6f}")
EOF
}

"$ldx" synth --out task --rows 20000 --fields 10 --seed 5 >/dev/null || bad "synth"
echo '{"folds": 3, "bootstrap": 50, "max_rounds": 60, "early_stopping_rounds": 10,
       "params": {"tree_method": "hist", "max_depth": "3", "eta": "0.3"}}' > task/train.json

#-- external memory against the same folds in memory -----------------------------------------
/usr/bin/time -f "%M" -o mem.rss "$ldx" train --task task --data task/data.csv --out mem --batch-rows 3000 \
  >mem.out 2>mem.err && ok || bad "train --batch-rows: $(tail -5 mem.err)"
/usr/bin/time -f "%M" -o ext.rss "$ldx" train --task task --data task/data.csv --out ext --batch-rows 3000 \
  --external-memory cache >ext.out 2>ext.err && ok || bad "train --external-memory: $(tail -5 ext.err)"
echo "peak RSS (KiB): batches in memory $(cat mem.rss), external memory $(cat ext.rss)"
py "external memory chose other rounds" "j['training']['rounds'] == k['training']['rounds']" mem/card.json ext/card.json
py "external memory's out-of-fold AUC differs by 0.002 or more" "abs(auc(j) - auc(k)) < 0.002" mem/card.json ext/card.json
py "the card does not say external memory" "k['training']['scale']['external_memory'] and 'external memory' in k['metrics']['method']" \
  mem/card.json ext/card.json
read -r mean max < <(agree mem/model.xgb.json ext/model.xgb.json)
echo "external vs in-memory final model: mean |dp| $mean, max |dp| $max"
/usr/bin/python3 -c "import sys; sys.exit(0 if $max < 0.01 else 1)" && ok || bad "external memory's model differs by $max (> 0.01)"
[ -z "$(ls -A cache 2>/dev/null)" ] && ok || bad "the external-memory cache was left behind: $(ls cache)"

# One million rows: external memory against training in memory (the whole CSV, `localdx train`
# without the options) on a 6-field task, 2 folds, 5 rounds each (no early stopping): final models
# whose probabilities agree within 0.01 on every one of the million rows (XGBoost documents no bound).
"$ldx" synth --out m1 --rows 1000000 --fields 6 --seed 12 >/dev/null || bad "synth 1M"
echo '{"folds": 2, "bootstrap": 0, "max_rounds": 5, "early_stopping_rounds": 5, "class_weights": false,
       "params": {"tree_method": "hist", "max_depth": "3", "eta": "0.3", "subsample": "1", "colsample_bytree": "1"}}' \
  > m1/train.json
start=$SECONDS
"$ldx" train --task m1 --data m1/data.csv --out m1-mem >/dev/null 2>m1-mem.err && ok || bad "train 1M in memory: $(tail -3 m1-mem.err)"
t_mem=$((SECONDS - start)); start=$SECONDS
"$ldx" train --task m1 --data m1/data.csv --out m1-ext --batch-rows 250000 --external-memory m1-cache >/dev/null \
  2>m1-ext.err && ok || bad "train 1M in external memory: $(tail -3 m1-ext.err)"
t_ext=$((SECONDS - start))
py "1M rows: the two runs did not both train 5 rounds on every row" \
  "j['training']['rounds'] == k['training']['rounds'] == 5 and j['training']['rows'] == k['training']['rows'] == 1000000" \
  m1-mem/card.json m1-ext/card.json
read -r rows mean max < <(/usr/bin/python3 - <<'EOF2'
import csv, numpy as np, xgboost as xgb
with open("m1/data.csv", newline="") as f:
    r = csv.reader(f)
    next(r)
    d = np.array([[float(v) if v not in ("", "NA") else np.nan for v in row[:6]] for row in r])
m = xgb.DMatrix(d, missing=np.nan)
a, b = (xgb.Booster(model_file=f"{n}/model.xgb.json") for n in ("m1-mem", "m1-ext"))
diff = np.abs(a.predict(m) - b.predict(m))
print(f"{len(diff)} {diff.mean():.6f} {diff.max():.6f}")
EOF2
)
echo "1M rows, external memory vs in memory on $rows rows: mean |dp| $mean, max $max (wall: in memory ${t_mem} s, external ${t_ext} s)"
[ "$rows" = 1000000 ] && ok || bad "1M rows: the models were compared on $rows rows"
/usr/bin/python3 -c "import sys; sys.exit(0 if $max < 0.01 else 1)" && ok || bad "1M rows: external memory's model differs by $max (> 0.01)"
rm -rf m1 m1-mem m1-ext

# The address-space cap: on 300,000 rows the in-memory run (the whole CSV, its dataset and
# XGBoost's copies) needs more than 250,000 KiB of address space; external memory (one batch,
# XGBoost's per-row state and a few bytes a row of LocalDx's) fits under it.
"$ldx" synth --out big --rows 300000 --fields 10 --seed 6 >/dev/null || bad "synth big"
echo '{"folds": 2, "bootstrap": 0, "max_rounds": 5, "params": {"tree_method": "hist", "max_depth": "3"}}' > big/train.json
# glibc reserves 64 MB of address space for each thread's malloc arena (XGBoost's threads make
# several), which a cap on address space counts though none of it is used: both runs keep one.
# Measured on 2026-12-06 (2 cores): in memory fails at 310,000 and fits at 320,000; external memory
# fits at 200,000. The cap sits between them with a margin on both sides.
cap=250000  # KiB
export MALLOC_ARENA_MAX=1
if (ulimit -v $cap; /usr/bin/time -f "%M" -o big-ext.rss "$ldx" train --task big --data big/data.csv --out big-ext \
      --batch-rows 20000 --external-memory big-cache >big-ext.out 2>big-ext.err); then ok
else bad "external memory does not fit in ${cap} KiB: $(tail -3 big-ext.err)"; fi
if (ulimit -v $cap; "$ldx" train --task big --data big/data.csv --out big-mem >big-mem.out 2>big-mem.err); then
  bad "in-memory training fits in ${cap} KiB too: the cap shows nothing"
else ok; fi
grep -q "ran out of memory, and nothing was written" big-mem.err && ok ||
  bad "in-memory training under the cap failed for another reason than memory: $(tail -3 big-mem.err)"
[ -f big-mem/model.xgb.json ] && bad "in-memory training under the cap left a model" || ok
unset MALLOC_ARENA_MAX
echo "300,000 rows under ulimit -v $cap KiB: external memory peak RSS $(tail -1 big-ext.rss) KiB; in memory: $(grep -m1 -o 'bad_alloc' big-mem.err || tail -1 big-mem.err)"

#-- three workers on loopback -------------------------------------------------------------------
# No row or column sampling and no class weights, so the models differ only where XGBoost's
# histogram bins do: merged sketches across workers against one sketch of every row.
echo '{"folds": 3, "bootstrap": 50, "max_rounds": 60, "early_stopping_rounds": 10, "class_weights": false,
       "params": {"tree_method": "hist", "max_depth": "3", "eta": "0.3", "subsample": "1", "colsample_bytree": "1"}}' \
  > task/train.json
"$ldx" train --task task --data task/data.csv --out one >one.out 2>one.err && ok || bad "train (one process): $(tail -5 one.err)"
"$ldx" train --task task --data task/data.csv --out three --workers 3 >three.out 2>three.err && ok \
  || bad "train --workers 3: $(tail -20 three.err)"
py "3 workers' out-of-fold AUC is not within 0.005 of one process's" "abs(auc(j) - auc(k)) < 0.005" one/card.json three/card.json
py "the card does not say 3 workers" "k['training']['scale']['workers'] == 3 and k['training']['rows'] == 20000" one/card.json three/card.json
/usr/bin/python3 -c "import json; a=[json.load(open(f + '/card.json'))['metrics']['macro']['auc_roc']['value'] for f in ('one', 'three')]; print(f'out-of-fold AUC: one process {a[0]:.4f}, 3 workers {a[1]:.4f}')"
# The yardstick: one process's own model with coarser bins (max_bin 128 instead of 256).
mkdir -p bins && cp task/schema.json bins/ && sed 's/"eta": "0.3"/"eta": "0.3", "max_bin": "128"/' task/train.json > bins/train.json
"$ldx" train --task bins --data task/data.csv --out one-bins >/dev/null 2>one-bins.err && ok || bad "train max_bin 128"
read -r mean max < <(agree one/model.xgb.json three/model.xgb.json)
read -r bmean bmax < <(agree one/model.xgb.json one-bins/model.xgb.json)
echo "3 workers vs one process: mean |dp| $mean, max $max; one process at max_bin 128 vs 256: mean $bmean, max $bmax"
/usr/bin/python3 -c "import sys; sys.exit(0 if $mean <= 1.5 * $bmean and $mean < 0.05 else 1)" && ok \
  || bad "3 workers' model differs by $mean on average (more than 1.5 x $bmean, or 0.05)"
# The card's figures from every worker's held-out outputs: thresholds and conformal calibration
# over all 20,000 rows, each threshold policy's sensitivity and specificity within 0.03 of one
# process's and each conformal level's coverage within 0.01 (one process's own max_bin 128 model
# moves them by up to 0.029 and 0.001).
py "3 workers' operating points or conformal coverage are not one process's" "
  j['metrics']['rows'] == k['metrics']['rows'] == k['metrics']['conformal']['rows'] == 20000 and
  [p['policy'] for p in j['metrics']['operating_points']] == [p['policy'] for p in k['metrics']['operating_points']] and
  all(abs(a[m] - b[m]) <= 0.03 for a, b in zip(j['metrics']['operating_points'], k['metrics']['operating_points'])
      for m in ('sensitivity', 'specificity')) and
  [c['level'] for c in j['metrics']['conformal']['levels']] == [c['level'] for c in k['metrics']['conformal']['levels']] and
  all(abs(a['coverage'] - b['coverage']) <= 0.01 for a, b in zip(j['metrics']['conformal']['levels'], k['metrics']['conformal']['levels']))" \
  one/card.json three/card.json

# Row subsampling on 3 workers: it finishes (a hang of the workers, waiting for each other, is
# turned into a failure by the timeout) and its out-of-fold AUC lies within 0.005 of one process's
# with the same settings (the rows sampled differ, so the models do).
sed 's/"subsample": "1"/"subsample": "0.8"/' task/train.json > sub.json && mkdir -p subtask && cp task/schema.json subtask/ \
  && mv sub.json subtask/train.json
"$ldx" train --task subtask --data task/data.csv --out sub-one >/dev/null 2>sub-one.err && ok || bad "train subsample 0.8: $(tail -3 sub-one.err)"
timeout -s KILL 180 "$ldx" train --task subtask --data task/data.csv --out sub-three --workers 3 >/dev/null 2>sub-three.err
status=$?
[ $status -eq 0 ] && ok || bad "subsample 0.8 on 3 workers did not finish (status $status$([ $status -eq 137 ] && echo ': killed after 180 s, the workers hung')): $(tail -3 sub-three.err)"
grep -q "subsample .* set to 1" sub-three.err && bad "row subsampling was turned off on the workers" || ok
py "subsample 0.8: 3 workers' out-of-fold AUC is not within 0.005 of one process's" "abs(auc(j) - auc(k)) < 0.005" sub-one/card.json sub-three/card.json
/usr/bin/python3 -c "import json; a=[json.load(open(f + '/card.json'))['metrics']['macro']['auc_roc']['value'] for f in ('sub-one', 'sub-three')]; print(f'subsample 0.8, out-of-fold AUC: one process {a[0]:.4f}, 3 workers {a[1]:.4f}')"

# Worker 0 killed while it writes its outputs (LOCALDX_TEST_PAUSE_WRITING holds it once the first
# file is written to its temporary name): the run fails naming it, and --out keeps the previous
# complete set, byte for byte, with no temporary folder left. With --workers, worker 0 writes into
# the run's temporary folder (OUT.partial-PID), which becomes --out only when every worker has
# finished: this half checks that a failed run leaves --out alone and cleans up its folder, not the
# atomic write of the five files (the --tracker half below, where worker 0 writes into --out, does).
outputs="model.xgb.json model.onnx schema.json reference.json card.json"
(cd three && sha256sum $outputs) > three.sums
LOCALDX_TEST_PAUSE_WRITING=120 "$ldx" train --task subtask --data task/data.csv --out three --workers 3 \
  >writing.out 2>writing.err &
parent=$!
pid=""
for _ in $(seq 1 1800); do
  grep -q 'LOCALDX_TEST_PAUSE_WRITING' writing.err && break
  sleep 0.1
done
pid=$(sed -n 's/^localdx train: worker 0: pid \([0-9]*\)$/\1/p' writing.err)
grep -q 'LOCALDX_TEST_PAUSE_WRITING' writing.err && ok || bad "worker 0 never reached its outputs: $(tail -3 writing.err)"
[ -n "$pid" ] && kill -9 "$pid"
wait $parent && bad "the run whose worker 0 was killed while writing exited 0" || ok
grep -qE "worker 0 \(pid $pid\) was killed by signal 9" writing.err && ok || bad "no reason naming worker 0: $(tail -3 writing.err)"
(cd three && sha256sum -c --quiet ../three.sums) && ok || bad "--out no longer holds the previous complete set"
ls -d three.partial-* >/dev/null 2>&1 && bad "the workers' temporary folder was left behind" || ok

# The starter killed by SIGKILL while worker 0 writes (it cannot clean up): its workers and the
# tracker end with it (they are told when their parent dies), its temporary folder stays, and the
# next run to the same --out removes it, saying so, and writes its model.
LOCALDX_TEST_PAUSE_WRITING=120 "$ldx" train --task subtask --data task/data.csv --out slain --workers 2 \
  >slain.out 2>slain.err &
parent=$!
for _ in $(seq 1 1800); do grep -q 'LOCALDX_TEST_PAUSE_WRITING' slain.err && break; sleep 0.1; done
children=$(sed -n 's/^localdx train: \(tracker on .*(pid\|worker [0-9]*: pid\) \([0-9]*\).*/\2/p' slain.err)
kill -9 "$parent"; wait $parent 2>/dev/null
alive=$(still_running $children)
[ "$(echo $children | wc -w)" -eq 3 ] && [ -z "$alive" ] && ok \
  || { bad "tracker and workers ($children) not all gone 5 s after the starter's SIGKILL:$alive"; kill -9 $alive 2>/dev/null; }
[ -d "slain.partial-$parent" ] && ok || bad "the killed starter's temporary folder slain.partial-$parent is not there to clean"
"$ldx" train --task subtask --data task/data.csv --out slain --workers 2 >slain2.out 2>slain2.err && ok \
  || bad "the run after a killed starter failed: $(tail -3 slain2.err)"
grep -q "removed slain.partial-$parent, left by a run (pid $parent) that no longer runs" slain2.err && ok \
  || bad "the stale temporary folder's removal is not said: $(grep -m2 partial slain2.err)"
{ [ -f slain/model.xgb.json ] && ! ls -d slain.partial-* >/dev/null 2>&1; } && ok \
  || bad "after the next run: no model in slain/, or a temporary folder remains: $(ls -d slain*)"

# A worker killed mid-training: the run fails naming it, and no model is written.
echo '{"folds": 3, "bootstrap": 50, "max_rounds": 2000, "early_stopping_rounds": 2000,
       "params": {"tree_method": "hist", "max_depth": "6", "eta": "0.01"}}' > task/train.json
"$ldx" train --task task --data task/data.csv --out killed --workers 3 >killed.out 2>killed.err &
parent=$!
pid=""
for _ in $(seq 1 200); do
  pid=$(sed -n 's/^localdx train: worker 1: pid \([0-9]*\)$/\1/p' killed.err)
  [ -n "$pid" ] && grep -q 'rows over 3 workers' killed.err && break
  sleep 0.1
done
sleep 1
[ -n "$pid" ] && kill -9 "$pid"
wait $parent && bad "the run with a killed worker exited 0" || ok
grep -qE "worker 1 \(pid $pid\) was killed by signal 9" killed.err && ok || bad "no reason naming worker 1: $(tail -3 killed.err)"
[ -e killed/model.xgb.json ] && bad "a model was left behind" || ok
ls -d killed.partial-* >/dev/null 2>&1 && bad "the workers' temporary folder was left behind" || ok

# The starter stopped (SIGTERM, as by a service manager; SIGINT is handled alike): it stops its
# workers and the tracker, removes its temporary folder and exits with the signal's status; within
# a few seconds no worker or tracker remains (a zombie, dead but not yet reaped, counts as gone).
"$ldx" train --task task --data task/data.csv --out termed --workers 2 >termed.out 2>termed.err &
parent=$!
for _ in $(seq 1 200); do grep -q 'rows over 2 workers' termed.err && break; sleep 0.1; done
children=$(sed -n 's/^localdx train: \(tracker on .*(pid\|worker [0-9]*: pid\) \([0-9]*\).*/\2/p' termed.err)
[ "$(echo $children | wc -w)" -eq 3 ] && ok || bad "the tracker's and the 2 workers' pids are not in the log: $(head -3 termed.err)"
kill -TERM "$parent"
wait $parent; status=$?
[ $status -eq 143 ] && ok || bad "the starter stopped by SIGTERM exited with status $status, not 143"
alive=$(still_running $children)
[ -z "$alive" ] && ok || { bad "still running 5 s after the starter's SIGTERM:$alive"; kill -9 $alive 2>/dev/null; }
{ [ -e termed ] || ls -d termed.partial-* >/dev/null 2>&1; } && bad "the stopped run left --out or its temporary folder" || ok
grep -q "stopped by signal 15" termed.err && ok || bad "the starter does not say it was stopped: $(tail -2 termed.err)"

# Two workers started by hand with --tracker, as on two machines (here on loopback, each with its
# own shard), and one killed mid-training: the other fails within a minute naming the reason, and
# neither leaves a model or a partial output folder.
head -n 1 task/data.csv > part-1.csv && cp part-1.csv part-0.csv
tail -n +2 task/data.csv | awk 'NR % 2 == 1' >> part-0.csv
tail -n +2 task/data.csv | awk 'NR % 2 == 0' >> part-1.csv
start_tracker tracker
for r in 0 1; do
  "$ldx" train --task task --data part-$r.csv --out by-hand --tracker 127.0.0.1:$port --rank $r --world 2 \
    >hand-$r.out 2>hand-$r.err &
  eval "hand$r=\$!"
done
for _ in $(seq 1 300); do grep -q 'rows over 2 workers' hand-1.err 2>/dev/null && break; sleep 0.1; done
sleep 1
kill -9 "$hand1"
survivor=""
for _ in $(seq 1 600); do kill -0 "$hand0" 2>/dev/null || { survivor=done; break; }; sleep 0.1; done
if [ -z "$survivor" ]; then bad "worker 0 still running a minute after worker 1 was killed"; kill -9 "$hand0"; fi
wait "$hand0" && bad "worker 0 exited 0 after its peer was killed" || ok
grep -q "another worker stopped" hand-0.err && ok || bad "worker 0 does not say another worker stopped: $(tail -2 hand-0.err)"
[ -e by-hand ] && bad "a model or output folder was left behind: $(ls by-hand)" || ok
echo "worker 0 after worker 1 was killed: $(grep -m1 'another worker stopped' hand-0.err | cut -c1-240)"
kill "$tracker" 2>/dev/null; wait "$tracker" 2>/dev/null

# Row subsampling on two --tracker workers with clearly unequal own files (4,000 and 12,000 rows):
# both finish (a hang, the workers waiting for each other, is turned into a failure by the timeout),
# all rows in memory and again in batches of 3,000 rows (2 and 4 batches: the out-of-fold
# predictions must make the same collective calls on every worker, whatever its batch count).
head -n 1 task/data.csv > uneven-0.csv && cp uneven-0.csv uneven-1.csv
tail -n +2 task/data.csv | head -n 4000 >> uneven-0.csv
tail -n +2 task/data.csv | sed -n '4001,16000p' >> uneven-1.csv
for batches in "" "--batch-rows 3000"; do
  rm -f tracker3.port uneven-*.err && rm -rf uneven
  start_tracker tracker3
  for r in 0 1; do
    # shellcheck disable=SC2086  # $batches is empty or two words
    timeout -s KILL 180 "$ldx" train --task subtask --data uneven-$r.csv --out uneven --tracker 127.0.0.1:$port \
      --rank $r --world 2 $batches >uneven-$r.out 2>uneven-$r.err &
    eval "uneven$r=\$!"
  done
  wait "$uneven0"; s0=$?; wait "$uneven1"; s1=$?
  [ $s0 -eq 0 ] && [ $s1 -eq 0 ] && ok \
    || bad "subsample 0.8 on workers of 4,000 and 12,000 rows ${batches:-in memory} did not finish (status $s0 $s1; 137: killed after 180 s, the workers hung): $(tail -2 uneven-0.err)"
  grep -q "16000 rows over 2 workers (this one: 4000)" uneven-0.err && [ -s uneven/model.xgb.json ] && ok \
    || bad "the unequal workers ${batches:-in memory} did not train on their 4,000 and 12,000 rows: $(tail -2 uneven-0.err)"
  grep -q "subsample .* set to 1" uneven-0.err && bad "row subsampling was turned off on the unequal workers" || ok
  kill "$tracker" 2>/dev/null; wait "$tracker" 2>/dev/null
done

# The same kill with --tracker, where worker 0 writes into --out itself: this half checks the atomic
# write of the set. Killed once its first output is written to a hidden temporary name, it leaves
# --out's previous set as it was (the hidden temporary files beside it), never a half-written model.
head -n 3001 task/data.csv > small.csv
# (LOCALDX_TEST_PAUSE_WRITING other than a whole number from 1 to 600 is ignored: no pause here.)
LOCALDX_TEST_PAUSE_WRITING=1e9 "$ldx" train --task subtask --data small.csv --out by-hand-out >/dev/null 2>small.err \
  && ok || bad "train the small set: $(tail -2 small.err)"
grep -q "pausing" small.err && bad "LOCALDX_TEST_PAUSE_WRITING=1e9 was honoured" || ok
(cd by-hand-out && sha256sum $outputs) > by-hand.sums
start_tracker tracker2
for r in 0 1; do
  LOCALDX_TEST_PAUSE_WRITING=120 "$ldx" train --task subtask --data small.csv --out by-hand-out \
    --tracker 127.0.0.1:$port --rank $r --world 2 --stripe >write-$r.out 2>write-$r.err &
  eval "write$r=\$!"
done
for _ in $(seq 1 1200); do grep -q 'LOCALDX_TEST_PAUSE_WRITING' write-0.err 2>/dev/null && break; sleep 0.1; done
grep -q 'LOCALDX_TEST_PAUSE_WRITING' write-0.err && ok || bad "worker 0 never reached its outputs: $(tail -3 write-0.err)"
ls -A by-hand-out | grep -q '^\.model.xgb.json.tmp-' && ok || bad "no temporary file of the first output: $(ls -A by-hand-out)"
kill -9 "$write0"
wait "$write0"; wait "$write1"
(cd by-hand-out && sha256sum -c --quiet ../by-hand.sums) && ok || bad "--out no longer holds the previous complete set"
kill "$tracker" 2>/dev/null; wait "$tracker" 2>/dev/null

checks_done "train scale"
