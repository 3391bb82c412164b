#!/usr/bin/env bash
# tests/cli/test_train_time.sh — time-aware validation and tuning through the real binary:
# a synthetic task whose label rate drifts over the years trained with forward-chaining folds
# (shuffled CV's figure and the forward-chaining one both printed, the shuffled one higher, as it
# has seen the future), the card's scheme and figures per year, `localdx evaluate --per-period`,
# refusals of impossible plans; and `localdx tune` on pima-diabetes with a small budget (nested
# cross-validation AUC with its interval, the chosen train.json and the search table on the card).
#
# Usage: test_train_time.sh LOCALDX SOURCE_DIR DATA_DIR WORK_DIR
set -uo pipefail
ldx=$1 src=$2 data=$3 work=$4
rm -rf "$work" && mkdir -p "$work" && cd "$work"
source "$src/tests/cli/checks.sh"  # ok, bad, expect_fail, py, checks_done

#-- a drifting synthetic task, forward-chaining folds ---------------------------
"$ldx" synth --out drift --rows 4000 --fields 10 --drift 2 --seed 3 >/dev/null || bad "synth --drift"
head -1 drift/data.csv | grep -q ',x9,visit_date,y$' && ok || bad "synth --drift wrote no visit_date column"
mkdir -p task && cp drift/schema.json task/
echo '{"time": "visit_date", "gap": 60, "folds": 4, "bootstrap": 200, "class_weights": false,
       "max_rounds": 400, "params": {"max_depth": "3", "eta": "0.1"}}' > task/train.json
if out=$("$ldx" train --task task --data drift/data.csv --out trained 2>train.err); then ok; else bad "train time: $(cat train.err)"; fi
echo "$out"
grep -qE 'AUC-ROC forward-chaining 0\.[0-9]+; shuffled cross-validation would report 0\.[0-9]+ on the same rows' <<<"$out" \
  && ok || bad "train does not print both AUCs"
grep -qE 'Brier score forward-chaining 0\.[0-9]+; shuffled cross-validation would report 0\.[0-9]+ on the same rows' <<<"$out" \
  && ok || bad "train does not print both Brier scores"
grep -qE '^    2022 ' <<<"$out" && ok || bad "train prints no figures for 2022"
c=trained/card.json
# Shuffled folds have seen the future: on a drifting task they report the higher AUC and the lower
# Brier score (the forward-chaining models under-predict the later years' rising rate).
py "shuffled CV's AUC is not above forward chaining's by 0.015" \
  "[x['shuffled'] - x['forward_chaining'] > 0.015 for x in j['metrics']['time_validation']['comparison'] if x['figure'] == 'AUC-ROC'] == [True]" $c
py "shuffled CV's Brier score is not below forward chaining's by 0.02" \
  "[x['forward_chaining'] - x['shuffled'] > 0.02 for x in j['metrics']['time_validation']['comparison'] if x['figure'] == 'Brier score'] == [True]" $c
py "the last year's rate is not under-predicted" "j['metrics']['periods'][-1]['observed_rate'] > j['metrics']['periods'][-1]['mean_predicted'] + 0.1" $c
py "the card does not state the scheme" "j['metrics']['method'].startswith('forward-chaining validation on \'visit_date\' in 4 folds') and 'at least 60 days earlier' in j['metrics']['method']" $c
# Every fold, as the card describes it: trained only up to 60 days before its first validation row.
py "a fold trains on rows within the gap" "all(__import__('datetime').date.fromisoformat(f['train_until']) <= __import__('datetime').date.fromisoformat(f['validate_from']) - __import__('datetime').timedelta(days=60) for f in j['metrics']['time_validation']['folds']) and len(j['metrics']['time_validation']['folds']) == 4" $c
py "the earliest block is validated" "j['metrics']['time_validation']['rows_only_trained_on'] > 0 and j['metrics']['time_validation']['rows_validated'] + j['metrics']['time_validation']['rows_only_trained_on'] == 4000" $c
# Per year: the drifting rate shows (the last year's positives well above the first validated year's).
py "no figures per year" "[p['period'] for p in j['metrics']['periods']][-1] == '2022' and len(j['metrics']['periods']) >= 6 and sum(p['rows'] for p in j['metrics']['periods']) == j['metrics']['time_validation']['rows_validated']" $c
py "the periods do not show the drift" "j['metrics']['periods'][-1]['observed_rate'] > j['metrics']['periods'][0]['observed_rate'] + 0.05" $c
py "the card does not keep the time configuration" "j['training']['configuration']['time'] == 'visit_date' and j['training']['configuration']['gap'] == 60" $c

#-- refusals ---------------------------------------------------------------------
mkdir -p gap && cp drift/schema.json gap/ && echo '{"time": "visit_date", "gap": 2000, "folds": 4}' > gap/train.json
expect_fail "gap too long" "forward-chaining fold 1 validates rows from 20[0-9-]+, and the gap leaves it no earlier row" \
  "$ldx" train --task gap --data drift/data.csv --out t1
mkdir -p notime && cp drift/schema.json notime/ && echo '{"time": "admitted"}' > notime/train.json
expect_fail "time column missing" "the time column 'admitted' named in train.json is missing" "$ldx" train --task notime --data drift/data.csv --out t2
mkdir -p badgap && cp drift/schema.json badgap/ && echo '{"gap": 5}' > badgap/train.json
expect_fail "gap without time" "a gap needs a time column" "$ldx" train --task badgap --data drift/data.csv --out t3
sed '5s/20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]/last week/' drift/data.csv > badtime.csv
expect_fail "a row without a time" "row 4, field 'visit_date': 'last week' is not a date" "$ldx" train --task task --data badtime.csv --out t4

#-- evaluate per period ----------------------------------------------------------
"$ldx" keygen --out keys >/dev/null 2>&1 || bad "keygen"
"$ldx" bundle --schema trained/schema.json --model trained/model.xgb.json --card trained/card.json \
  --reference trained/reference.json --name drift --version 1 --key keys/signing-key.json --out drift.ldxb >/dev/null 2>&1 \
  || bad "bundle"
"$ldx" synth --out later --rows 1000 --fields 10 --drift 2 --seed 9 >/dev/null
if "$ldx" evaluate --bundle drift.ldxb --trust keys/trust.json --data later/data.csv --per-period visit_date \
     --period quarter --bootstrap 50 --format json --out eval.json 2>eval.err; then ok; else bad "evaluate --per-period: $(cat eval.err)"; fi
py "evaluate reports no quarters" "len(j['periods']) == 32 and j['periods'][0]['period'] == '2015-Q1' and sum(p['rows'] for p in j['periods']) == j['data']['scored']" eval.json
"$ldx" evaluate --bundle drift.ldxb --trust keys/trust.json --data later/data.csv --per-period visit_date --bootstrap 50 \
  2>/dev/null | grep -qE '^    2019 +[0-9]+ +0\.[0-9]+' && ok || bad "evaluate's text has no line for 2019"
expect_fail "per period without the column" "the column 'admitted' \(--per-period\) is not in the file" \
  "$ldx" evaluate --bundle drift.ldxb --trust keys/trust.json --data later/data.csv --per-period admitted
expect_fail "period without per-period" "--period needs --per-period" \
  "$ldx" evaluate --bundle drift.ldxb --trust keys/trust.json --data later/data.csv --period year

#-- tune on pima-diabetes (a small budget; docs/training.md gives the full run) ---
if out=$("$ldx" tune --task "$src/models/pima-diabetes" --data "$data/pima-diabetes.csv" --out tuned --budget 3 \
           --outer-folds 3 2>tune.err); then ok; else bad "tune: $(cat tune.err)"; fi
echo "$out"
grep -qE '^pima-diabetes: nested cross-validation AUC-ROC 0\.[0-9]{3} \[0\.[0-9]{3}, 0\.[0-9]{3}\] \(3 outer folds, 768 rows\)' <<<"$out" \
  && ok || bad "tune prints no nested AUC with its interval"
py "the nested AUC is implausible or outside its interval" "0.75 < j['nested']['value'] < 0.9 and j['nested']['ci95'][0] < j['nested']['value'] < j['nested']['ci95'][1]" tuned/tuning.json
# Budget 3: three configurations at the first rung, one at the second (the task's own is candidate 1).
py "the search table is not successive halving" "[r['rung'] for r in j['table']] == [1, 1, 1, 2] and j['table'][0]['params']['eta'] == '0.03' and j['table'][3]['max_rounds'] == 1000 and j['table'][0]['max_rounds'] == 333" tuned/tuning.json
cp "$src/models/pima-diabetes/schema.json" "$src/models/pima-diabetes/card.json" tuned/
if "$ldx" train --task tuned --data "$data/pima-diabetes.csv" --out tuned-model >/dev/null 2>tt.err; then ok; else bad "train the tuned task: $(cat tt.err)"; fi
py "the card lacks the search" "j['tuning']['nested']['figure'] == 'AUC-ROC' and len(j['tuning']['table']) == 4 and j['tuning']['chosen']['params'] == j['training']['configuration']['params']" tuned-model/card.json
"$ldx" bundle --schema tuned-model/schema.json --model tuned-model/model.xgb.json --card tuned-model/card.json \
  --reference tuned-model/reference.json --name pima-tuned --version 1 --key keys/signing-key.json --out tuned.ldxb >/dev/null 2>&1 \
  && "$ldx" verify --trust keys/trust.json tuned.ldxb >/dev/null 2>&1 && ok || bad "the tuned card does not bundle"
expect_fail "tune budget" "--budget must be at most 500" "$ldx" tune --task "$src/models/pima-diabetes" --data "$data/pima-diabetes.csv" --out t5 --budget 501

checks_done train-time
