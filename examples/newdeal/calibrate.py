"""Calibrate the SIMULATION truth of the New Deal example to the six published shares.

    python examples/newdeal/calibrate.py > examples/newdeal/truth.yaml

The slides publish, for six scenarios each compared with the status quo, the share of GPs preferring
the scenario (../shared/context/SEED-FACTS.md).  We assume French-speaking GPs (45.1% of the 1,852)
lean more to the current situation than Dutch-speaking GPs (an assumption: asc_status_quo is 0.4
higher for them) and that the working week is valued at -0.1 per hour (as in the design's prior).
Given those, the six other coefficients are solved so that the population shares, averaged over the
two language groups in their published proportions, equal the published figures exactly.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.optimize import fsolve

from dce.design.spec import load_design_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "designs" / "newdeal.yaml"
LANG = {"fr": 0.451, "nl": 0.549}
ASC = {"fr": 1.2, "nl": 0.8}          # assumed: status-quo constant by language group
WORKWEEK = -0.1                        # assumed: utility per hour of the working week
SCENARIOS = [  # (levels, published share) in the order of the slides
    ({"delegation": "nurse", "workweek": 45}, 0.801),
    ({"delegation": "nurse and other providers", "consultation": 20}, 0.745),
    ({"delegation": "nurse", "population": "larger", "income": 10}, 0.724),
    ({"delegation": "nurse and other providers", "workweek": 45, "population": "smaller", "income": -10}, 0.419),
    ({"delegation": "nurse and other providers", "consultation": 20, "income": -10}, 0.343),
    ({"consultation": 10, "workweek": 45}, 0.104),
]
FREE = ["delegation[nurse]", "delegation[nurse and other providers]", "consultation", "population[smaller]",
        "population[larger]", "income"]


def main():
    spec = load_design_spec(SPEC)
    names = spec.param_names
    sq = spec.labels_of(spec.status_quo.levels)
    D = np.array([spec.code_alternative({**sq, **lv}) - spec.code_alternative(kind="status_quo")
                  for lv, _ in SCENARIOS])                   # scenario minus status quo, coded
    target = np.array([s for _, s in SCENARIOS])

    def beta_of(free, lang):
        b = np.zeros(len(names))
        b[[names.index(n) for n in FREE]] = free
        b[names.index("workweek")] = WORKWEEK
        b[names.index("asc_status_quo")] = ASC[lang]
        return b

    def shares(free):
        return sum(w / (1 + np.exp(-(D @ beta_of(free, lang)))) for lang, w in LANG.items())

    start = spec.prior_mean[[names.index(n) for n in FREE]]      # the design's priors, calibrated alike
    free = fsolve(lambda f: shares(f) - target, start, xtol=1e-12)
    assert np.allclose(shares(free), target, atol=1e-9), "calibration failed"
    b_fr = beta_of(free, "fr")
    print("# SIMULATION truth of the New Deal example: NOT estimated from real responses.")
    print("# Made by: python examples/newdeal/calibrate.py > examples/newdeal/truth.yaml")
    print("# Calibrated so that the population shares preferring each of the six published scenarios over the")
    print("# status quo (45.1% French-, 54.9% Dutch-speaking GPs) equal 80.1, 74.5, 72.4, 41.9, 34.3 and 10.4%.")
    print("# Assumptions: working week -0.1 per hour; status-quo constant 1.2 (fr) and 0.8 (nl).")
    print("model: mnl")
    print("coefficients:            # of French-speaking GPs (the reference group)")
    for n, v in zip(names, b_fr):
        print(f"  {n}: {v:.6f}")
    print("covariates:")
    print("  language:")
    print("    levels: {fr: 0.451, nl: 0.549}")
    print(f"    shifts: {{nl: {{asc_status_quo: {ASC['nl'] - ASC['fr']:.6f}}}}}")


if __name__ == "__main__":
    main()
