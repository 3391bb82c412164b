#!/usr/bin/env bash
# tests/cli/test_tune_workers.sh — `localdx tune` on distributed workers, through the real binary,
# on a small `localdx synth` task (1,500 rows, 6 fields):
#  - 3 workers on loopback (--workers 3) against one process: the same nested cross-validation
#    (the same number of outer held-out rows), a nested AUC within 0.03 of one process's, and a
#    search table of the same shape; tuning.json says 3 workers (docs/training.md, "Tuning on
#    several workers", explains the tolerance);
#  - 3 workers with a group column (every patient's rows on every worker): the run finishes with
#    every row held out once, each patient in the fold a hash of its id picks; `localdx train
#    --workers 2` on it writes a model; with 2 patients in 3 folds tune and train refuse on both
#    workers, naming the empty fold;
#  - a worker killed during the search fails the run naming it, and nothing is written (no
#    train.json, no tuning.json, no temporary folder);
#  - the starter interrupted (SIGINT) stops its workers and the tracker and writes nothing.
#
# Usage: test_tune_workers.sh LOCALDX WORK_DIR
set -uo pipefail
ldx=$1 work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
source "$(dirname "$(readlink -f "$0")")/checks.sh"  # ok, bad, py, still_running, checks_done

"$ldx" synth --out task --rows 1500 --fields 6 --seed 9 >/dev/null || bad "synth"
echo '{"folds": 3, "bootstrap": 200, "max_rounds": 90, "early_stopping_rounds": 10,
       "params": {"tree_method": "hist", "max_depth": "3", "eta": "0.3"}}' > task/train.json
start=$SECONDS
"$ldx" tune --task task --data task/data.csv --out one --budget 4 --outer-folds 3 >one.out 2>one.err && ok \
  || bad "tune (one process): $(tail -5 one.err)"
t_one=$((SECONDS - start)); start=$SECONDS
"$ldx" tune --task task --data task/data.csv --out three --budget 4 --outer-folds 3 --workers 3 >three.out 2>three.err \
  && ok || bad "tune --workers 3: $(tail -20 three.err)"
t_three=$((SECONDS - start))
cat one.out three.out
echo "wall time: one process ${t_one} s, 3 workers ${t_three} s"
grep -qE "nested cross-validation AUC-ROC 0\.[0-9]+ \[0\.[0-9]+, 0\.[0-9]+\] \(3 outer folds, 1500 rows, 3 workers\)" three.out \
  && ok || bad "tune --workers 3 prints no nested AUC for 1500 rows on 3 workers"
py "3 workers' tuning.json does not say 3 workers or lacks the nested figure" \
  "k['workers']['count'] == 3 and k['nested']['rows'] == j['nested']['rows'] == 1500 and k['nested']['outer_folds'] == 3" \
  one/tuning.json three/tuning.json
py "3 workers' nested AUC is not within 0.03 of one process's" \
  "abs(j['nested']['value'] - k['nested']['value']) < 0.03 and k['nested']['ci95'][0] < k['nested']['value'] < k['nested']['ci95'][1]" \
  one/tuning.json three/tuning.json
py "the search tables differ in shape" \
  "[(r['candidate'], r['rung']) for r in j['table']][:4] == [(r['candidate'], r['rung']) for r in k['table']][:4] and len(j['table']) == len(k['table']) == 7" \
  one/tuning.json three/tuning.json
py "3 workers' train.json is not the task's with the chosen parameters" \
  "k['params'] == json.load(open('three/tuning.json'))['chosen']['params'] and k['folds'] == 3" task/train.json three/train.json
/usr/bin/python3 -c "
import json; a, b = (json.load(open(f + '/tuning.json')) for f in ('one', 'three'))
print(f\"nested AUC: one process {a['nested']['value']:.4f}, 3 workers {b['nested']['value']:.4f}; chosen: {a['chosen']['params']} / {b['chosen']['params']}\")"
ls -d three.partial-* >/dev/null 2>&1 && bad "the workers' temporary folder was left behind" || ok

# A group column (300 patients of 5 rows each, every patient's rows on all 3 workers, which take
# every 3rd row): each patient's fold comes from a hash of its id, the same on every worker (the
# unit test TrainStream.HashedPatientFoldsAreTheSameOnEveryWorker checks the folds across workers);
# the run finishes with every row held out once and tuning.json says how the folds were drawn.
mkdir -p grouped && cp task/schema.json grouped/
sed 's/^{/{"group": "patient", /' task/train.json > grouped/train.json
awk -F, 'NR == 1 { print $0 ",patient"; next } { print $0 ",p" ((NR - 2) % 300) }' task/data.csv > grouped/data.csv
"$ldx" tune --task grouped --data grouped/data.csv --out grouped-three --budget 4 --outer-folds 3 --workers 3 \
  >grouped.out 2>grouped.err && ok || bad "tune --workers 3 with a group column: $(tail -20 grouped.err)"
py "3 workers with a group column: no nested figure on 1500 rows, or no word of the patients' hashed folds" \
  "j['workers']['count'] == 3 and j['nested']['rows'] == 1500 and \"each patient ('patient') in the fold a hash of its id picks\" in j['workers']['note']" \
  grouped-three/tuning.json
cat grouped.out
# `localdx train --workers 2` on the same patients (its folds are tune's outer folds, checked by
# TrainStream.HashedPatientFoldsAreTheSameOnEveryWorker) writes a model.
"$ldx" train --task grouped --data grouped/data.csv --out grouped-train --workers 2 >grouped-train.out \
  2>grouped-train.err && ok || bad "train --workers 2 with a group column: $(tail -20 grouped-train.err)"
[ -s grouped-train/model.onnx ] && [ -s grouped-train/card.json ] && ok || bad "train --workers 2: no model or card"
# 2 patients in 3 hashed folds: a fold has no patient on any worker; tune and train refuse on every
# worker together (no worker left waiting), naming the fold.
awk -F, 'NR == 1 { print $0 ",patient"; next } { print $0 ",p" ((NR - 2) % 2) }' task/data.csv > grouped/two.csv
for cmd in "tune --budget 4 --outer-folds 3" "train"; do
  "$ldx" $cmd --task grouped --data grouped/two.csv --out two --workers 2 >two.out 2>two.err \
    && bad "$cmd --workers 2 on 2 patients in 3 folds exited 0" || ok
  [ "$(grep -cE "fold [0-9] of 3 has no patient \(groups of 'patient'\) across the 2 workers; use fewer folds" \
    two.err)" -eq 2 ] && ok || bad "$cmd: both workers should name the empty fold: $(tail -5 two.err)"
  [ -e two ] && bad "$cmd: an output was written for 2 patients" || ok
done

# A worker killed during the search: the run fails naming it, and nothing is written.
"$ldx" tune --task task --data task/data.csv --out killed --budget 4 --outer-folds 3 --workers 3 >killed.out 2>killed.err &
parent=$!
pid=""
for _ in $(seq 1 300); do
  pid=$(sed -n 's/^localdx tune: worker 2: pid \([0-9]*\)$/\1/p' killed.err)
  [ -n "$pid" ] && grep -q 'rung 1/3' killed.err && break
  sleep 0.1
done
[ -n "$pid" ] && kill -9 "$pid"
wait $parent && bad "the tune with a killed worker exited 0" || ok
grep -qE "worker 2 \(pid $pid\) was killed by signal 9.*nothing was written" killed.err && ok \
  || bad "no reason naming worker 2: $(tail -3 killed.err)"
[ -e killed ] && bad "an output was left behind: $(ls killed)" || ok
ls -d killed.partial-* >/dev/null 2>&1 && bad "the workers' temporary folder was left behind" || ok
echo "killed worker: $(grep -m1 'was killed' killed.err | cut -c1-200)"

# The starter interrupted (SIGINT, as by Ctrl-C) during the search: it stops its workers and the
# tracker, writes nothing and exits with status 130; within a few seconds none of them runs.
"$ldx" tune --task task --data task/data.csv --out stopped --budget 4 --outer-folds 3 --workers 2 >stopped.out \
  2>stopped.err &
parent=$!
for _ in $(seq 1 300); do grep -q 'rung 1/3' stopped.err && break; sleep 0.1; done
children=$(sed -n 's/^localdx tune: \(tracker on .*(pid\|worker [0-9]*: pid\) \([0-9]*\).*/\2/p' stopped.err)
kill -INT "$parent"
wait $parent; status=$?
[ $status -eq 130 ] && ok || bad "the tune stopped by SIGINT exited with status $status, not 130"
alive=$(still_running $children)
[ "$(echo $children | wc -w)" -eq 3 ] && [ -z "$alive" ] && ok \
  || { bad "tracker and workers ($children) not all gone 5 s after the starter's SIGINT:$alive"; kill -9 $alive 2>/dev/null; }
{ [ -e stopped ] || ls -d stopped.partial-* >/dev/null 2>&1; } && bad "the interrupted tune left an output or its temporary folder" || ok

checks_done "tune workers"
