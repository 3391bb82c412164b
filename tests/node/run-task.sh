#!/usr/bin/env bash
# tests/node/run-task.sh — the Node tests of the browser core for one demo task, as ctest entries:
#   parity  the wasm core and ONNX Runtime Web against `localdx predict --explain` (wasm_parity.mjs)
#   parts   the batch table in parts, CSV and FHIR (batch_parts.mjs; FHIR made by tests/fhir/make_fhir.mjs)
# Usage: run-task.sh parity|parts TASK LOCALDX CORE.mjs DEMO_DIR DATA_DIR WORK_DIR
set -euo pipefail
what=$1 task=$2 ldx=$3 core=$4 demo=$5 data=$6 work=$7
src=$(cd "$(dirname "$0")/../.." && pwd)
export NODE_OPTIONS=--no-experimental-fetch
mkdir -p "$work" && cd "$work"
bundle="$demo/bundles/$task-1.ldxb" trust="$demo/keys/trust.json"
case $what in
  parity)
    "$ldx" predict --bundle "$bundle" --trust "$trust" --input "$data/$task.csv" --explain --out "$task.native.json"
    node "$src/tests/node/wasm_parity.mjs" "$core" "$bundle" "$trust" "$data/$task.csv" "$task.native.json" ;;
  parts)
    fhir="$task.fhir.json" flag=
    [ "$task" = pbc-stage ] && fhir="$task.ndjson" flag=--ndjson
    node "$src/tests/fhir/make_fhir.mjs" "$src/models/$task/schema.json" "$data/$task.csv" "$fhir" $flag > /dev/null
    node "$src/tests/node/batch_parts.mjs" "$core" "$bundle" "$trust" "$data/$task.csv" "$fhir" ;;
  *) echo "usage: run-task.sh parity|parts TASK ..." >&2; exit 2 ;;
esac
