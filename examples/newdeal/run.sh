#!/usr/bin/env bash
# The New Deal study end to end, on SIMULATED responses: design check -> fit -> shares -> WTP -> report.
#   bash examples/newdeal/run.sh OUTDIR      (leaves OUTDIR/design.json, model.json, validation.json,
#                                             shares.json, shares_language.json, wtp.json and report.html)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${1:-out}"
mkdir -p "$out"
dce=(python "$root/cli.py")   # this checkout's code, not whichever dce is installed
spec="$root/designs/newdeal.yaml"

# The numba kernels of the mixed logit, HB and the design search compile once per machine (seconds):
# `dce warm-up` does it on another core while the study runs (instant once they are cached).
log="$(mktemp)"
"${dce[@]}" warm-up 2>"$log" &
warm=$!
trap 'rm -f "$log"' EXIT

echo "== 1. the design: diagnostics of examples/newdeal/design.csv"
"${dce[@]}" design --evaluate "$here/design.csv" "$spec" --json "$out/design.json"

echo "== 2. conditional logit on the SIMULATED responses of 1,852 GPs (status-quo constant by language)"
"${dce[@]}" fit "$here/responses.csv" --design "$here/design.csv" --spec "$spec" \
    --interactions asc_status_quo:language --se cluster --output "$out/model.json" \
    --validation-output "$out/validation.json"

echo "== 3. share of GPs preferring each published scenario over the status quo"
"${dce[@]}" shares "$out/model.json" --scenarios "$here/scenarios.yaml" --seed 2024 --output "$out/shares.json"
"${dce[@]}" shares "$out/model.json" --scenarios "$here/scenarios.yaml" --seed 2024 --by language \
    --output "$out/shares_language.json"

echo "== 4. willingness to pay, in % of net income"
"${dce[@]}" wtp "$out/model.json" --cost income --seed 2024 --output "$out/wtp.json"

echo "== 5. the study report: one self-contained HTML file (figures inline as SVG; --figures DIR would also write them as SVG and PNG files)"
"${dce[@]}" report "$out/model.json" --design "$out/design.json" --validation "$out/validation.json" \
    --shares "$out/shares.json" --shares "$out/shares_language.json" --wtp "$out/wtp.json" \
    --title "New Deal for general practice (SIMULATED responses)" --output "$out/report.html"

echo "== 6. the compiled kernels for later mixed logit, HB and design runs (dce warm-up)"
if wait "$warm"; then
    cat "$log"
else    # the study's outputs are written; only the later fits' first run would be slower
    echo "dce warm-up failed (the kernels will compile on their first use instead):" >&2
    cat "$log" >&2
fi
