#!/usr/bin/env bash
# Conditional logit on the electricity data; results JSON in OUTDIR (default: ./out).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-out}"
mkdir -p "$out"
dce fit "$here/electricity.csv.gz" --formula "choice ~ pf + cl + loc + wk + tod + seas" \
    --alt alt --task chid --id id --se robust --output "$out/electricity_mnl.json"
