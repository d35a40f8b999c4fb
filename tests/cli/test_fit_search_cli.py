"""`dce fit --model mixed`: the global search in the output and JSON, --search 0, --search on another model
(exit 2), and a search in which no candidate converges (exit 3, JSON written with converged: false)."""
from __future__ import annotations

import json

from tests.cli.test_fit_wtp_cli import base, long_csv, run


def test_the_search_is_in_the_summary_and_json(tmp_path):
    data, out = long_csv(tmp_path), tmp_path / "m.json"
    r = run(*base(data, "choice ~ price + x1"), "--model", "mixed", "--random", "x1=n", "--draws", "30", "--seed",
            "2", "--search", "4", "-q", "-o", out)
    assert r.exit_code == 0, r.output
    assert "global search" in r.output and "4 candidates screened" in r.output
    d = json.loads(out.read_text())
    assert d["search"]["candidates"] == 4 and len(d["search"]["rows"]) == 4 + d["search"]["hops"]
    off = tmp_path / "off.json"
    r = run(*base(data, "choice ~ price + x1"), "--model", "mixed", "--random", "x1=n", "--draws", "30", "--seed",
            "2", "--search", "0", "-q", "-o", off)
    assert r.exit_code == 0 and "search" not in json.loads(off.read_text()), r.output


def test_search_is_for_the_mixed_logit(tmp_path):
    r = run(*base(long_csv(tmp_path), "choice ~ price + x1"), "--search", "5")
    assert r.exit_code == 2 and r.output.strip().splitlines() == [
        "error: --search needs --model mixed (the latent class model's search is its --starts)"], r.output


def test_no_converged_candidate_is_exit_3_with_the_search_in_the_json(tmp_path, monkeypatch):
    from dce.models.mixed.model import MixedLogit

    monkeypatch.setattr(MixedLogit, "default_maxiter", 1)
    data, out = long_csv(tmp_path), tmp_path / "m.json"
    r = run(*base(data, "choice ~ price + x1"), "--model", "mixed", "--random", "x1=n", "--draws", "150", "--seed",
            "2", "--search", "3", "-q", "-o", out)
    assert r.exit_code == 3, r.output
    assert r.output.strip().splitlines()[-1].startswith("error: no reliable estimate"), r.output
    d = json.loads(out.read_text())
    assert d["converged"] is False and d["search"]["converged"] == 0 and len(d["search"]["rows"]) >= 3
