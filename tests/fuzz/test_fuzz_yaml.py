"""Fuzzing the YAML files a user writes: design files, scenario files, model files and truth files.
Random structures, mutations of the shipped files (a value replaced, a key dropped or added), YAML tags
and aliases.  Property: the file is accepted, or one DCEError line naming the file; a design accepted is
also searched (one start) within a time bound."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import event as _event
from hypothesis import example, given, settings
from hypothesis.control import currently_in_test_context
from hypothesis import strategies as st

from dce.errors import DCEError
from tests.fuzz.conftest import key_paths

ROOT = Path(__file__).resolve().parents[2]
N = settings.default.max_examples

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.integers(),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=10),
                    st.sampled_from(["none", "nurse", "status_quo", "opt_out", "dummy", "effects", "linear", "n",
                                     "ln", "x > 1", "delegation == 'none'", "1e308", "-1", "0", "", "~"]))
values = st.recursive(scalars, lambda c: st.one_of(st.lists(c, max_size=4),
                                                   st.dictionaries(st.text(max_size=8), c, max_size=4)),
                      max_leaves=10)


@st.composite
def mutated(draw, base, vocabulary=()):
    """``base`` with one to three random edits: a value replaced, a key or item dropped, a key added."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = key_paths(doc)
        path = draw(st.sampled_from(paths))
        op = draw(st.sampled_from(["replace", "drop", "add"]))
        if not path:
            if op == "replace":
                doc = draw(values)
            continue
        parent = doc
        try:
            for p in path[:-1]:
                parent = parent[p]
            if op == "replace":
                parent[path[-1]] = draw(values)
            elif op == "drop":
                del parent[path[-1]]
            elif isinstance(parent, dict):
                parent[draw(st.sampled_from(list(vocabulary) or ["x"]) | st.text(max_size=6))] = draw(values)
        except (KeyError, IndexError, TypeError):
            pass
    return doc


def dump(doc) -> str:
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        return "{}"


# raw YAML texts: tags, aliases, anchors, merge keys, odd scalars
RAW = [
    "!!python/object/apply:os.system ['echo hi']",
    "a: !!python/name:os.system\n",
    "attributes: !!binary aGVsbG8=\n",
    "attributes: !!set {a, b}\n",
    "tasks: !!timestamp 2001-12-14\n",
    "tasks: !!float .inf\n",
    "tasks: !!int 0x10\n",
    "attributes: !custom {price: {levels: [1, 2]}}\n",
    "base: &b {levels: [1, 2]}\nattributes: {price: *b, speed: *b}\n",
    "attributes:\n  price: &p {levels: [1, 2]}\n  speed:\n    <<: *p\n    coding: effects\n",
    "attributes: *undefined\n",
    "a: &a [*a]\n",
    "? [complex, key]\n: 1\n",
    "{a: 1, a: 2}\n",
    "- - - - - - - - - - - - - - - - - - - - - - - - - - - - - - -\n",
    "[" * 5000 + "]" * 5000,
    "%YAML 1.1\n---\ntasks: 8\n...\n---\ntasks: 9\n",
    "tasks: 8\n\tblocks: 2\n",
    "\ufefftasks: 8\n",
    "tasks: '\x00'\n",
]


def event(what):
    """Count accepted and refused files (``--hypothesis-show-statistics``) inside a property only."""
    if currently_in_test_context():
        _event(what)


def check(fz, path, load, *more, data=None):
    """``load(path)`` (then each of ``more`` on its result): success or one line naming ``path`` (or the
    data file ``data`` where the file is fine but the data do not fit it)."""
    with fz.bounded(20, f"reading {path.name}"):
        try:
            out = load(path)
            for step in more:
                out = step(out)
        except DCEError as e:
            msg = fz.one_line_error(e, None)
            assert str(path) in msg or (data is not None and msg.startswith(f"{data}: ")), msg
            event("refused")
            return None
    event("accepted")
    return out


# ------------------------------------------------------------------------------------------ design files
DESIGN = yaml.safe_load((ROOT / "designs" / "newdeal.yaml").read_text())
GENERIC = yaml.safe_load((ROOT / "designs" / "generic_2x4.yaml").read_text())
DESIGN_KEYS = ["name", "alternatives", "tasks", "blocks", "attributes", "levels", "coding", "prior", "mean", "sd",
               "reference", "status_quo", "opt_out", "constraints", "draws", "draw_type", "method", "dominance",
               "label", "unit", "description"]


def load_design(path):
    from dce.design.spec import load_design_spec

    return load_design_spec(path)


def search(spec):
    """One start of the search on an accepted spec (small: a design that cannot be made must say so)."""
    from dce.design.generate import make_design

    return make_design(spec, seed=1, starts=1, draws=min(getattr(spec, "draws", 10) or 10, 10))


@settings(max_examples=2 * N)
@given(doc=st.one_of(mutated(DESIGN, DESIGN_KEYS), mutated(GENERIC, DESIGN_KEYS)))
@example(doc={**GENERIC, "tasks": 10**12})          # once: accepted, then a search without end
@example(doc={**GENERIC, "blocks": 10**9})
@example(doc={**GENERIC, "alternatives": 10**6})
@example(doc={**GENERIC, "constraints": ["price == 'low'", "price == 'high'"]})
@example(doc={**DESIGN, "attributes": {**DESIGN["attributes"], "workweek": {         # once: LinAlgError and
    "levels": [40, 45, 50, 55], "coding": "linear", "prior": {"mean": -1e308, "sd": 1e308}}}})  # ZeroDivisionError
@example(doc={**GENERIC, "attributes": {**GENERIC["attributes"], "warranty": {"levels": [1, 10**400]}}})
def test_mutated_design_files(tmp_path, fz, doc):
    path = tmp_path / "design.yaml"
    path.write_text(dump(doc), encoding="utf-8")
    check(fz, path, load_design, search)


@given(doc=values)
def test_random_design_structures(tmp_path, fz, doc):
    path = tmp_path / "design.yaml"
    path.write_text(dump(doc), encoding="utf-8")
    check(fz, path, load_design)


def _ids(texts):
    return [f"raw{i}" for i in range(len(texts))]


@pytest.mark.parametrize("text", RAW, ids=_ids(RAW))
def test_yaml_tags_aliases_and_odd_documents(tmp_path, fz, text):
    path = tmp_path / "design.yaml"
    path.write_text(text, encoding="utf-8")
    check(fz, path, load_design)


def test_nested_aliases_do_not_expand_without_bound(tmp_path, fz):
    """Once: nine levels of nested aliases took exponential time (38 s for seven levels)."""
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(lines) + "\n")
    with fz.bounded(10):
        with pytest.raises(DCEError, match="too large"):
            load_design(path)


# ------------------------------------------------------------------------------------------ scenario files
SCENARIOS = yaml.safe_load((ROOT / "examples" / "newdeal" / "scenarios.yaml").read_text())
SCENARIO_KEYS = ["reference", "scenarios", "name", "levels", "status_quo", "none", "opt_out", "delegation",
                 "workweek", "income"]


@pytest.fixture(scope="module")
def newdeal_model(tmp_path_factory):
    """The conditional logit of the New Deal example (SIMULATED responses), fitted once."""
    from dce.models.results import ModelResult

    d = tmp_path_factory.mktemp("nd")
    nd = ROOT / "examples" / "newdeal"
    from click.testing import CliRunner

    from dce.cli import cli

    r = CliRunner().invoke(cli, ["fit", str(nd / "responses.csv"), "--design", str(nd / "design.csv"), "--spec",
                                 str(ROOT / "designs" / "newdeal.yaml"), "-o", str(d / "m.json"), "-q"])
    assert r.exit_code == 0, r.output
    return ModelResult.load(d / "m.json")


@settings(max_examples=2 * N)
@given(doc=st.one_of(mutated(SCENARIOS, SCENARIO_KEYS), values))
@example(doc={"reference": "status_quo", "scenarios": [{"name": "a", "levels": {"workweek": 10**400}}]})  # once: OverflowError
@example(doc={"reference": {"levels": None}, "scenarios": [{"levels": {}}]})
@example(doc={"scenarios": [{"name": None, "levels": []}]})
def test_scenario_files(tmp_path, fz, newdeal_model, doc):
    from dce.post.shares import load_scenarios, preference_shares

    path = tmp_path / "scenarios.yaml"
    path.write_text(dump(doc), encoding="utf-8")
    out = check(fz, path, lambda p: load_scenarios(p, newdeal_model))
    if out is not None:
        ref_label, ref_row, items = out
        rows = preference_shares(newdeal_model, items, ref_row, ci="delta", n_sim=10, n_draws=10, seed=1)
        assert all(0 <= r["share"] <= 1 for r in rows)


@pytest.mark.parametrize("text", RAW + ["scenarios: [*x]\n", "reference: !!binary aGk=\nscenarios: []\n"],
                         ids=_ids(RAW + [0, 0]))
def test_scenario_files_with_tags_and_aliases(tmp_path, fz, newdeal_model, text):
    from dce.post.shares import load_scenarios

    path = tmp_path / "scenarios.yaml"
    path.write_text(text, encoding="utf-8")
    check(fz, path, lambda p: load_scenarios(p, newdeal_model))


# ------------------------------------------------------------------------------------------ model files
MODEL_FILE = {"description": "fuzz", "choice": "CHOICE", "exclude": "PURPOSE == 9",
              "alternatives": {"train": {"code": 1, "available": "TRAIN_AV", "utility": "ASC + B_TIME * TT1 / 100"},
                               "car": {"code": 2, "available": "1", "utility": "B_TIME * TT2 / 100 + B_C * CO"}}}
MODEL_KEYS = ["choice", "alternatives", "exclude", "id", "code", "available", "utility", "description", "CHOICE",
              "TT1", "B_TIME"]


def model_frame():
    rng = np.random.default_rng(2)
    n = 40
    choice = rng.integers(1, 3, n)
    return pd.DataFrame({"CHOICE": choice, "TRAIN_AV": rng.integers(0, 2, n) | (choice == 1),
                         "TT1": rng.uniform(10, 100, n), "TT2": rng.uniform(10, 100, n), "CO": rng.uniform(1, 9, n),
                         "PURPOSE": rng.integers(1, 4, n), "ID": np.arange(n) // 4, "text": ["a"] * n})


FRAME = model_frame()


@settings(max_examples=2 * N)
@given(doc=st.one_of(mutated(MODEL_FILE, MODEL_KEYS), values))
@example(doc={**MODEL_FILE, "exclude": "CHOICE > 0"})                 # every row excluded
@example(doc={**MODEL_FILE, "choice": "text"})
@example(doc={**MODEL_FILE, "alternatives": {"a": {"code": 10**400, "utility": "B * TT1"}}})  # once: OverflowError
def test_model_files(tmp_path, fz, doc):
    from dce.data.modelfile import choice_data_from_model_file, load_model_file

    path = tmp_path / "model.yaml"
    path.write_text(dump(doc), encoding="utf-8")
    data = check(fz, path, load_model_file, lambda mf: choice_data_from_model_file(mf, FRAME, source="d.csv"),
                 data="d.csv")
    if data is not None:
        assert data.n_tasks > 0 and np.all(np.isfinite(data.X))


# ------------------------------------------------------------------------------------------ truth files
TRUTH = yaml.safe_load((ROOT / "examples" / "newdeal" / "truth.yaml").read_text())
TRUTH_KEYS = ["model", "coefficients", "random", "covariates", "levels", "shifts", "sd", "distribution", "mixed"]


@given(doc=st.one_of(mutated(TRUTH, TRUTH_KEYS), values))
@example(doc={**TRUTH, "model": "mixed", "random": {"workweek": {"sd": 1e308}}})
def test_truth_files(tmp_path, fz, doc):
    from dce.data.simulate import load_truth
    from dce.design.spec import load_design_spec

    spec = load_design_spec(ROOT / "designs" / "newdeal.yaml")
    path = tmp_path / "truth.yaml"
    path.write_text(dump(doc), encoding="utf-8")
    check(fz, path, lambda p: load_truth(p, spec))


def test_the_shipped_files_pass(tmp_path, fz, newdeal_model):
    """The unmutated files are accepted (the mutations start from working files)."""
    for doc, name in ((DESIGN, "d.yaml"), (GENERIC, "g.yaml")):
        p = tmp_path / name
        p.write_text(dump(doc))
        assert check(fz, p, load_design) is not None
    p = tmp_path / "m.yaml"
    p.write_text(json.dumps(MODEL_FILE))
    from dce.data.modelfile import choice_data_from_model_file, load_model_file

    assert choice_data_from_model_file(load_model_file(p), FRAME, source="d.csv").n_tasks > 0


# ------------------------------------------------------------------ issue 19: a tag anywhere
TAGS = ["!!python/object/new:os.system", "!!python/object/apply:subprocess.call", "!!python/name:os.system",
        "!!python/tuple", "!!binary", "!!set", "!!omap", "!!timestamp", "!custom", "!<tag:example.com,2000:x>",
        "!e!x"]


@given(tag=st.sampled_from(TAGS), at=st.integers(0, 400), kind=st.sampled_from(["scalar", "list", "mapping"]))
@example(tag="!!python/object/new:os.system", at=0, kind="list")
def test_a_tag_anywhere_in_a_data_file_is_refused_naming_line_and_tag(tmp_path, fz, tag, at, kind):
    """A tag under any key of a design file, one a reader uses or not: refused in one line naming the
    file, the line and the tag (once: a tag on a list or mapping under an ignored key was accepted)."""
    from dce.util.yamlio import YamlDoc

    text = (ROOT / "designs" / "newdeal.yaml").read_text()
    lines = text.splitlines()
    spots = [i for i, line in enumerate(lines) if line.rstrip().endswith(":") or ": " in line
             and not line.lstrip().startswith("#")]
    i = spots[at % len(spots)]
    key = lines[i].split(":")[0]
    value = {"scalar": "x", "list": "[1, 2]", "mapping": "{a: 1}"}[kind]
    lines.insert(i + 1, f"{' ' * (len(key) - len(key.lstrip()))}zz_ignored{i}: {tag} {value}")
    if tag.startswith("!e!"):
        lines.insert(0, "%TAG !e! tag:example.com,2000:\n---")
    path = tmp_path / "design.yaml"
    path.write_text("\n".join(lines) + "\n")
    try:
        YamlDoc.load(path)
    except DCEError as e:
        msg = fz.one_line_error(e, path)
        if "not valid YAML" in msg:          # the insertion broke the indentation of a block: refused anyway
            return
        assert "the tag '" in msg and " is not allowed" in msg and "line " in msg, msg
        return
    raise AssertionError(f"a tag {tag} was accepted")
