"""Comparisons that compare like with like (issue 20, item 3): information criteria only between models
fitted by maximum likelihood to the same choices, HB with its own fit measures; the latent class
comparison with one sample size (respondents) for BIC and CAIC and the preferred model marked."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from dce.models.results import ModelResult
from dce.report.sections import comparison_fit_table
from dce.report.tables import comparison_table
from dce.tables import cell_value


def _ml(ll, p, tasks=4800, resp=600, null=-5273.0):
    k = 2 * p - 2 * ll
    return {"se_type": "classical", "loglik": ll, "n_params": p, "aic": k, "bic": p * math.log(tasks) - 2 * ll,
            "rho2": 1 - ll / null, "rho2_adj": 1 - (ll - p) / null, "n_tasks": tasks, "n_respondents": resp,
            "loglik_null": null, "converged": True}


def _rows(table):
    return {r[0]: [cell_value(v) for v in r[1:]] for r in table.rows}


def test_hb_gets_its_own_measures_not_information_criteria():
    mnl, mixed = _ml(-4500.0, 8), _ml(-4340.0, 16)
    hb = {"se_type": "posterior", "loglik": -3000.0, "n_params": 16, "aic": 6032.0, "bic": 6100.0,
          "n_tasks": 4800, "n_respondents": 600, "loglik_null": -5273.0, "rlh": 0.535,
          "percent_certainty": 0.43, "converged": True}
    models = [SimpleNamespace(data=d) for d in (mnl, mixed, hb)]
    t = comparison_fit_table(models, ["1", "2", "3"])
    rows = _rows(t)
    assert rows["AIC"] == [mnl["aic"], mixed["aic"], "-"]            # HB's AIC (lower than both) not shown
    assert rows["BIC (N = choice tasks)"][2] == "-"
    assert rows["log-likelihood (maximised)"][2] == "-"
    assert rows["RLH (HB)"] == ["-", "-", 0.535] and rows["percent certainty (HB)"] == ["-", "-", 0.43]
    assert rows["preferred by"] == ["", "AIC, BIC", ""]
    assert any("HB" in n and "RLH" in n for n in t.notes)


def test_models_fitted_to_other_choices_get_no_criterion():
    a, b, other = _ml(-4500.0, 8), _ml(-4490.0, 9), _ml(-2000.0, 8, tasks=2000, resp=250, null=-2197.0)
    t = comparison_fit_table([SimpleNamespace(data=d) for d in (a, b, other)], ["1", "2", "3"])
    rows = _rows(t)
    assert rows["AIC"][2] == "-" and rows["AIC"][:2] == [a["aic"], b["aic"]]
    assert rows["preferred by"] == ["", "AIC, BIC", ""]
    assert any("model(s) 3" in n for n in t.notes)


def _latent(ll, p, classes, tasks=4800, resp=600):
    r = ModelResult(model="mnl", names=[f"b{i}" for i in range(p)], estimates=np.zeros(p), vcovs={"classical": np.eye(p)},
                    loglik=ll, loglik_null=-5273.0, n_tasks=tasks, n_respondents=resp)
    r.info["entropy_r2"] = 0.8
    return r


def test_latent_comparison_uses_respondents_for_bic_and_caic_and_marks_the_choice():
    # the case: BIC on tasks picked 2 classes, AIC 3; on respondents BIC and CAIC agree
    fits = [_latent(-4600.0, 5, 1), _latent(-4400.0, 11, 2), _latent(-4370.0, 17, 3)]
    t = comparison_table(fits)
    rows = [[cell_value(v) for v in r] for r in t.rows]
    for r, row in zip(fits, rows):
        assert row[5] == r.n_params * math.log(600) - 2 * r.loglik            # BIC: N = respondents
        assert row[6] == r.n_params * (math.log(600) + 1) - 2 * r.loglik      # CAIC
    aic = [row[4] for row in rows]
    bic = [row[5] for row in rows]
    caic = [row[6] for row in rows]
    marks = [row[9] for row in rows]
    assert "AIC" in marks[int(np.argmin(aic))].split(", ")
    assert "BIC" in marks[int(np.argmin(bic))].split(", ") and "CAIC" in marks[int(np.argmin(caic))]
    assert sum("BIC" in m.split(", ") for m in marks) == 1 and sum("AIC" in m.split(", ") for m in marks) == 1
    assert any("N = respondents (600)" in n for n in t.notes)


def test_a_samplers_own_fit_table_has_no_information_criteria():
    from dce.report.sections import fit_table
    from dce.report.tables import summary_rows, summary_table

    r = ModelResult(model="hb", names=["a", "sd.a"], estimates=np.zeros(2), vcovs={"posterior": np.eye(2)},
                    se_type="posterior", loglik=-3000.0, loglik_null=-5273.0, n_tasks=4800, n_respondents=600)
    labels = [row[0] for row in summary_table(r).rows] + [k for k, _ in summary_rows(r)]
    assert "AIC" not in labels and "BIC" not in labels and "mean posterior log-likelihood" in labels
    t = fit_table({"se_type": "posterior", "params": [], "loglik": -3000.0, "aic": 6004.0, "rlh": 0.53,
                   "percent_certainty": 0.43}, 1)
    rows = _rows(t)
    assert "AIC" not in rows and rows["RLH"] == [0.53] and t.notes


def test_the_report_shows_the_design_warnings():
    from dce.design.core import Design
    from dce.design.diagnostics import evaluate
    from dce.design.spec import parse_design_spec
    from dce.report.sections import design_section

    spec = parse_design_spec("alternatives: 2\ntasks: 2\nlevel_balance: false\nattributes:\n"
                             "  a: {levels: [1, 2, 3], coding: linear}\n  b: {levels: [x, y], coding: dummy}\n")
    levels = np.array([[[0, 0], [2, 1]], [[2, 0], [0, 1]]])
    d = evaluate(Design(spec=spec, levels=levels, block=np.ones(2, int)))
    s = design_section(SimpleNamespace(data=d, path="d.json"))
    warnings = [b["text"] for b in s.blocks if b["kind"] == "text" and b["cls"] == "warning"]
    assert any("never shows a = 2" in w for w in warnings), warnings
