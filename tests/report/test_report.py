"""`dce report`: sections asked for are there, nothing leaves the file, figures are valid SVG, numbers equal
the JSON inputs, figures are byte-reproducible, a new model family needs no report code, bad input exits 2."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from dce.cli import cli
from dce.models.base import Model
from dce.tables import Column, Table

EXTERNAL = re.compile(r"^\s*(https?:|//|ftp:|file:)", re.I)


def report(tmp_path, *args, name="report.html"):
    out = tmp_path / name
    r = CliRunner().invoke(cli, ["report", *map(str, args), "--output", str(out)], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def full(newdeal, mixed_model, tmp_path_factory):
    """The New Deal report with a second (mixed) model, shares overall and by language, WTP, design."""
    d = tmp_path_factory.mktemp("full")
    html = report(d, newdeal["model"], mixed_model, "--design", newdeal["design"], "--shares", newdeal["shares"],
                  "--shares", newdeal["shares_by"], "--wtp", newdeal["wtp"], "--title", "New Deal & co")
    return html


def test_every_section_asked_for_is_there(full, page):
    p = page(full)
    assert p.sections == ["study", "design", "models", "comparison", "shares", "wtp", "reproducibility"]
    assert {"model-1", "model-2"} <= set(p.ids)
    assert "New Deal &amp; co" in full
    for key in ("study_summary", "design_attributes", "design_coding", "design_diagnostics", "design_s_efficiency",
                "model1_spec", "model1_coding", "model1_estimates", "model1_fit", "model1_settings", "model2_estimates",
                "comparison_estimates", "comparison_fit", "shares_1", "shares_2", "wtp_1", "importance_1",
                "input_files", "input_provenance"):
        assert key in p.tables, key
    for fig in ("design-level-balance", "design-correlations", "model-1-estimates", "model-2-estimates",
                "model-2-distributions", "shares-1", "shares-2", "wtp-1", "importance-1"):
        assert f"f-{fig}" in p.figures, fig
    assert "model-1-distributions" not in " ".join(p.figures)      # a conditional logit has fixed coefficients


def test_only_the_sections_asked_for(newdeal, tmp_path, page):
    p = page(report(tmp_path, newdeal["model"]))
    assert p.sections == ["study", "models", "reproducibility"]
    p = page(report(tmp_path, "--shares", newdeal["shares"], name="s.html"))
    assert p.sections == ["shares", "reproducibility"]


def test_nothing_leaves_the_file(full, page):
    p = page(full)
    assert not re.search(r"https?://", full), "an absolute URL in the page"
    assert all(r.startswith("#") for r in p.refs), [r for r in p.refs if not r.startswith("#")]
    assert not [r for r in p.refs if EXTERNAL.match(r)]
    css = "\n".join(p.styles)
    assert "<style>" not in css and not re.search(r"url\(", css) and "@import" not in css
    assert "<script" not in full and "<link" not in full and "<img" not in full and "@font-face" not in full
    import html

    assert "default-src 'none'" in html.unescape(full)          # the browser may load nothing either
    assert "data:" not in full                                  # no embedded raster either: figures are vectors
    # every in-page reference points at an element of the page
    ids = set(p.ids) | set(re.findall(r'\bid="([^"]+)"', full))
    assert all(r[1:] in ids for r in p.refs), [r for r in p.refs if r[1:] not in ids]


def test_figures_are_valid_svg(full, page):
    p = page(full)
    assert len(p.svgs) == len(p.figures) == 9
    for s in p.svgs:
        root = ET.fromstring(s)
        assert root.tag == "svg" and float(root.get("width").rstrip("pt")) > 0
        assert root.find("title") is not None                   # a text alternative for screen readers
    ids = re.findall(r'\bid="([^"]+)"', full)
    assert len(ids) == len(set(ids)), "duplicate ids across the inline figures"


def test_numbers_equal_the_json(full, newdeal, mixed_model, page):
    p = page(full)
    m = json.loads(Path(newdeal["model"]).read_text())
    assert p.column("model1_estimates", "parameter", "text") == [x["name"] for x in m["params"]]
    assert p.column("model1_estimates", "estimate") == [x["estimate"] for x in m["params"]]
    assert p.column("model1_estimates", "cluster s.e.") == [x["se"] for x in m["params"]]
    assert p.column("model1_estimates", "95% CI") == [[x["ci_low"], x["ci_high"]] for x in m["params"]]
    fit = {r[0]["text"]: r[1]["v"] for r in p.tables["model1_fit"]["rows"]}
    assert fit["log-likelihood"] == m["loglik"] and fit["AIC"] == m["aic"] and fit["respondents"] == 1852
    mx = json.loads(Path(mixed_model).read_text())
    settings = {r[0]["text"]: r[1] for r in p.tables["model2_settings"]["rows"]}
    assert settings["draws"]["v"] == mx["draws"] == 50 and settings["seed"]["text"] == "3"
    cmp_ = p.tables["comparison_estimates"]
    first = {r[0]["text"]: r[1]["v"] for r in cmp_["rows"]}
    assert all(first[x["name"]] == [x["estimate"], x["se"]] for x in m["params"])
    for key, path in (("shares_1", newdeal["shares"]), ("shares_2", newdeal["shares_by"])):
        s = json.loads(Path(path).read_text())["scenarios"]
        assert p.column(key, "share") == [x["share"] for x in s]
        assert p.column(key, "95% CI") == [[x["ci_low"], x["ci_high"]] for x in s]
        assert p.column(key, "scenario", "text") == [x["name"] for x in s]
    assert p.column("shares_2", "language", "text") == [x["group"] for x in
                                                         json.loads(Path(newdeal["shares_by"]).read_text())["scenarios"]]
    w = json.loads(Path(newdeal["wtp"]).read_text())
    assert p.column("wtp_1", "WTP") == [x["wtp"] for x in w["wtp"]]
    assert p.column("wtp_1", "95% CI (K-R)") == [[x["kr_low"], x["kr_high"]] for x in w["wtp"]]
    assert p.column("importance_1", "importance") == [x["importance"] for x in w["importance"]]
    d = json.loads(Path(newdeal["design"]).read_text())
    diag = {r[0]["text"]: r[1] for r in p.tables["design_diagnostics"]["rows"]}
    assert diag["D-error at the prior mean"]["v"] == d["d_error_local"]
    assert p.column("design_s_efficiency", "respondents") == [r["respondents"] for r in d["s_efficiency"]]


def test_reproducibility_section(full, newdeal, page):
    import hashlib

    p = page(full)
    files = p.tables["input_files"]["rows"]
    for r in files:
        path = Path(r[1]["text"])
        assert r[3]["text"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert r[2]["v"] == path.stat().st_size
    seeds = {r[0]["text"]: r[2]["text"] for r in p.tables["input_provenance"]["rows"]}
    assert seeds["shares.json"] == "7" and seeds["mixed.json"] == "3"
    sw = {r[0]["text"]: r[1]["text"] for r in p.tables["software"]["rows"]}
    import dce

    assert sw["dce"] == dce.__version__ and "matplotlib" in sw


def test_figures_folder_and_byte_reproducible(newdeal, mixed_model, tmp_path):
    args = [newdeal["model"], mixed_model, "--design", newdeal["design"], "--shares", newdeal["shares_by"],
            "--wtp", newdeal["wtp"]]
    import shutil

    b = report(tmp_path, *args, "--figures", tmp_path / "figs", name="a.html")   # the same command twice
    shutil.move(tmp_path / "figs", tmp_path / "figs2")
    a = report(tmp_path, *args, "--figures", tmp_path / "figs", name="a.html")
    assert a == b
    svgs = sorted((tmp_path / "figs").glob("*.svg"))
    pngs = sorted((tmp_path / "figs").glob("*.png"))
    assert len(svgs) == len(pngs) == a.count("<figure") == 8
    for s in svgs:
        ET.parse(s)                                              # valid standalone SVG
        assert s.read_bytes() == (tmp_path / "figs2" / s.name).read_bytes()
    for q in pngs:
        assert q.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert q.read_bytes() == (tmp_path / "figs2" / q.name).read_bytes()


class ToySegments(Model):
    """A family the report has never heard of: two segments, the second with every coefficient doubled."""

    name = "toy-segments"
    label = "Two-segment toy logit"

    @classmethod
    def segment_draws(cls, result, theta, n_draws, seed):
        b = np.asarray(theta, float)[[result.names.index(n) for n in result.coef_names]]
        return [("keen", 0.6, b[None, :], np.ones(1)), ("wary", 0.4, 2 * b[None, :], np.ones(1))]

    @classmethod
    def coefficient_draws(cls, result, theta, n_draws, seed):
        segs = cls.segment_draws(result, theta, n_draws, seed)
        return np.vstack([B for _, _, B, _ in segs]), np.array([sh for _, sh, _, _ in segs])


def test_a_new_model_family_needs_no_report_code(newdeal, tmp_path, page, monkeypatch):
    """A family registered outside the package: its model-specific fields and tables appear as they are,
    and its segments are drawn as profiles through the result interface alone."""
    from dce.models import MODELS
    from dce.models.results import ModelResult

    monkeypatch.setitem(MODELS, "toy-segments", f"{__name__}:ToySegments")
    r = ModelResult.load(newdeal["model"])
    r.model = "toy-segments"
    r.info.update({"starts": 5, "em_iterations": 17})
    r.tables = [Table("Class membership", [Column("class"), Column("share", "pct1")], [["keen", 0.6], ["wary", 0.4]],
                      key="membership", notes=["from the new family"])]
    r.save(tmp_path / "toy.json")
    html = report(tmp_path, tmp_path / "toy.json")
    p = page(html)
    assert p.column("model1_membership", "share") == [0.6, 0.4]
    settings = {r[0]["text"]: r[1] for r in p.tables["model1_settings"]["rows"]}
    assert settings["starts"]["v"] == 5 and settings["em iterations"]["v"] == 17
    assert "Two-segment toy logit" in html
    assert "f-model-1-segments" in p.figures and "keen (60.0%)" in html and "wary (40.0%)" in html


def test_schema_version(newdeal, tmp_path):
    m = json.loads(Path(newdeal["model"]).read_text())
    old = dict(m)
    old.pop("schema_version", None)                              # files from before the field: version 1
    (tmp_path / "old.json").write_text(json.dumps(old))
    report(tmp_path, tmp_path / "old.json")
    m["schema_version"] = 99
    (tmp_path / "new.json").write_text(json.dumps(m))
    out = tmp_path / "r.html"
    r = CliRunner().invoke(cli, ["report", str(tmp_path / "new.json"), "-o", str(out)])
    assert r.exit_code == 2 and "schema version 99" in r.output and str(tmp_path / "new.json") in r.output
    assert not out.exists()


@pytest.mark.parametrize("content, needle", [
    (None, "no such file"),
    ("{not json", "not valid JSON (line 1, column 2"),
    ("[1, 2]", "expected an object"),
    ('{"model": "mnl", "spec": {}}', "no key 'params'"),
    ('{"model": "mnl", "spec": {}, "vcov": [[1]], "params": [{"name": "a", "estimate": "x"}]}',
     "key 'params' or 'vcov' is malformed"),
])
def test_bad_model_file(tmp_path, content, needle):
    path = tmp_path / "m.json"
    if content is not None:
        path.write_text(content)
    out = tmp_path / "r.html"
    r = CliRunner().invoke(cli, ["report", str(path), "-o", str(out), "--figures", str(tmp_path / "figs")])
    assert r.exit_code == 2, r.output
    assert needle in r.output and str(path) in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert not out.exists() and not (tmp_path / "figs").exists()


def test_unknown_model_family(newdeal, tmp_path):
    m = json.loads(Path(newdeal["model"]).read_text())
    m["model"] = "not-a-family"
    (tmp_path / "m.json").write_text(json.dumps(m))
    r = CliRunner().invoke(cli, ["report", str(tmp_path / "m.json"), "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and "unknown model 'not-a-family'" in r.output and not (tmp_path / "r.html").exists()


def test_bad_other_inputs(newdeal, tmp_path):
    bad = tmp_path / "s.json"
    bad.write_text('{"scenarios": [{"name": "x", "share": 0.5}]}')
    for opt, needle in (("--shares", "key 'scenarios[1].ci_low' is missing"),
                        ("--wtp", "key 'wtp' is missing"), ("--design", "key 'tasks' is missing"),
                        ("--power", "key 'sizes' is missing"), ("--validation", "key 'respondents_read'")):
        r = CliRunner().invoke(cli, ["report", newdeal["model"].as_posix(), opt, str(bad), "-o",
                                     str(tmp_path / "r.html")])
        assert r.exit_code == 2 and needle in r.output, (opt, r.output)
    r = CliRunner().invoke(cli, ["report", "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and "nothing to report" in r.output
    assert not list(tmp_path.glob("*.html"))


def test_unwritable_output_leaves_nothing(newdeal, tmp_path):
    r = CliRunner().invoke(cli, ["report", str(newdeal["model"]), "-o", str(tmp_path / "no" / "r.html"),
                                 "--figures", str(tmp_path / "figs")])
    assert r.exit_code == 2 and "does not exist" in r.output
    assert not (tmp_path / "figs").exists()
    (tmp_path / "file").write_text("x")
    r = CliRunner().invoke(cli, ["report", str(newdeal["model"]), "-o", str(tmp_path / "r.html"),
                                 "--figures", str(tmp_path / "file")])
    assert r.exit_code == 2 and "not a folder" in r.output and not (tmp_path / "r.html").exists()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        import os

        if os.access(ro, os.W_OK):
            pytest.skip("running as a user who can write to a read-only folder (root)")
        r = CliRunner().invoke(cli, ["report", str(newdeal["model"]), "-o", str(ro / "r.html")])
        assert r.exit_code == 2 and "not writable" in r.output
    finally:
        ro.chmod(0o755)


def test_power_and_validation_sections(newdeal, tmp_path, page):
    power = {"sizes": [50, 100, 200], "replications": 20, "seed": 5, "model": "mnl",
             "targets": [{"name": "delegation[nurse]", "kind": "coefficient", "power": [0.4, 0.7, 0.95],
                          "n80": 130, "n90": 180, "s_estimate": 120},
                         {"name": "income", "kind": "coefficient", "power": [0.9, 1.0, 1.0], "n80": 50, "n90": 50,
                          "s_estimate": None}], "failed": [1, 0, 0]}
    val = {"respondents_read": 10, "respondents_used": 9, "tasks_read": 120, "tasks_used": 108,
           "missing_answers": 3, "always_status_quo": ["r7"], "always_same_position": [],
           "problems": [{"respondent": "r2", "column": "q3", "kind": "missing", "detail": "empty"}]}
    (tmp_path / "p.json").write_text(json.dumps(power))
    (tmp_path / "v.json").write_text(json.dumps(val))
    p = page(report(tmp_path, "--power", tmp_path / "p.json", "--validation", tmp_path / "v.json"))
    assert p.sections == ["study", "power", "reproducibility"]
    assert p.column("power_1", "n = 100") == [0.7, 1.0]
    assert p.column("power_1", "n for 80%") == [130, 50]
    assert "f-power-1" in p.figures
    assert p.column("validation_v-json", "count")[:2] == [10, 9]
    assert p.tables["validation_problems_v-json"]["rows"][0][1]["text"] == "q3"
