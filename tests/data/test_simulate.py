"""Truth files of simulated responses: every problem names the file, the key and its line."""
from pathlib import Path

import pytest

from dce.cli.errors import for_cli
from dce.data.simulate import load_truth, simulate_responses
from dce.design.io import read_design_csv
from dce.design.spec import load_design_spec
from dce.errors import ArgumentError, DCEError

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "designs" / "newdeal.yaml"
TRUTH = ROOT / "examples" / "newdeal" / "truth.yaml"


@pytest.fixture(scope="module")
def spec():
    return load_design_spec(SPEC)


def _coefs(spec, **change):
    values = {n: 0.5 for n in spec.param_names}
    values.update(change)
    return "coefficients:\n" + "".join(f"  {n}: {v}\n" for n, v in values.items())


def test_the_example_truth_reads(spec):
    t = load_truth(TRUTH, spec)
    assert t["model"] == "mnl" and t["names"] == spec.param_names and t["beta"].shape == (len(spec.param_names),)
    assert t["covariates"]["language"][0] == {"fr": 0.451, "nl": 0.549}


@pytest.mark.parametrize("extra, needle", [
    ("model: probit\n", r"t\.yaml: key 'model' \(line 1\): 'probit' \(use mnl or mixed\)"),
    ("random: {workweek: {sd: 1}}\n", r"key 'random' \(line 1\): needs model: mixed"),
    ("model: mixed\nrandom: [workweek]\n", r"key 'random' \(line 2\): must be a mapping, not list"),
    ("model: mixed\nrandom: {workweek: {sd: x}}\n", r"key 'random\.workweek\.sd' \(line 2\): 'x' is not a number"),
    ("model: mixed\nrandom:\n  workweek: {sd: 1, distribution: t}\n",
     r"key 'random\.workweek\.distribution' \(line 3\): 't' \(use n, ln or -ln\)"),
    ("covariates:\n  lang:\n    levels: {a: 0.5, b: 0.6}\n",
     r"key 'covariates\.lang\.levels' \(line 3\): proportions must be >= 0 and add up to 1"),
    ("covariates:\n  lang:\n    levels: {a: 0.5, b: 0.5}\n    shifts: {c: {workweek: 1}}\n",
     r"key 'covariates\.lang\.shifts\.c' \(line 4\): not a level of 'lang'"),
    ("covariates:\n  lang:\n    levels: {a: 0.5, b: 0.5}\n    shifts: [a]\n",
     r"key 'covariates\.lang\.shifts' \(line 4\): must be a mapping, not list"),
    ("colour: red\n", r"t\.yaml: line 1: unknown key 'colour'"),
])
def test_bad_truth_files_name_key_and_line(spec, tmp_path, extra, needle):
    p = tmp_path / "t.yaml"
    p.write_text(extra + _coefs(spec))
    with pytest.raises(DCEError, match=needle):
        load_truth(p, spec)


def test_bad_coefficients_name_the_coefficient(spec, tmp_path):
    p = tmp_path / "t.yaml"
    p.write_text(_coefs(spec, workweek="x"))
    line = 1 + spec.param_names.index("workweek") + 1
    with pytest.raises(DCEError, match=rf"key 'coefficients\.workweek' \(line {line}\): 'x' is not a number"):
        load_truth(p, spec)
    p.write_text(_coefs(spec, nosuch=1))
    with pytest.raises(DCEError, match=r"key 'coefficients\.nosuch' \(line \d+\): not a coefficient of the design"):
        load_truth(p, spec)
    p.write_text("")
    with pytest.raises(DCEError, match=r"t\.yaml: expected a mapping with key 'coefficients'"):
        load_truth(p, spec)


def test_respondents_are_named_as_the_argument(spec):
    design = read_design_csv(ROOT / "examples" / "newdeal" / "design.csv", spec)
    with pytest.raises(ArgumentError, match="n_respondents: must be at least 1") as e:
        simulate_responses(design, load_truth(TRUTH, spec), 0, seed=1)
    assert for_cli(e.value) == "--respondents: must be at least 1"
