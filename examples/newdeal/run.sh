#!/usr/bin/env bash
# The New Deal study end to end, on SIMULATED responses: design check -> fit -> shares -> WTP.
#   bash examples/newdeal/run.sh OUTDIR      (leaves OUTDIR/model.json and OUTDIR/shares.json)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-out}"
mkdir -p "$out"
dce=(python "$root/cli.py")   # this checkout's code, not whichever dce is installed
spec="$root/designs/newdeal.yaml"

echo "== 1. the design: diagnostics of examples/newdeal/design.csv"
"${dce[@]}" design --evaluate "$here/design.csv" "$spec"

echo "== 2. conditional logit on the SIMULATED responses of 1,852 GPs (status-quo constant by language)"
"${dce[@]}" fit "$here/responses.csv" --design "$here/design.csv" --spec "$spec" \
    --interactions asc_status_quo:language --se cluster --output "$out/model.json"

echo "== 3. share of GPs preferring each published scenario over the status quo"
"${dce[@]}" shares "$out/model.json" --scenarios "$here/scenarios.yaml" --seed 2024 --output "$out/shares.json"
"${dce[@]}" shares "$out/model.json" --scenarios "$here/scenarios.yaml" --seed 2024 --by language

echo "== 4. willingness to pay, in % of net income"
"${dce[@]}" wtp "$out/model.json" --cost income --seed 2024 --output "$out/wtp.json"
