"""Exit statuses a pipeline can trust: 0 success, 2 bad input, 3 no reliable estimate (outputs still written
with ``converged: false``), 130 interrupted; option ranges checked when read; outputs checked up front.
Every data set here is SIMULATED in the test."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from dce.cli import cli

ROOT = Path(__file__).resolve().parents[2]
NEWDEAL = ROOT / "examples" / "newdeal"
SPEC = ROOT / "designs" / "newdeal.yaml"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def long_data(tmp_path, name="d.csv", n_tasks=60, scale=None, separate=False, seed=4):
    """SIMULATED long data: 3 alternatives, x and price, respondents of 6 tasks; ``scale`` multiplies price,
    ``separate`` makes x perfectly predict the choice."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        x, price = rng.normal(size=3), rng.uniform(1, 5, 3)
        c = int(np.argmax(x - 0.5 * price + rng.gumbel(size=3)))
        if separate:
            x[c] = 10.0
        for j in range(3):
            rows.append({"id": t // 6, "task": t, "alt": j, "choice": int(j == c), "x": x[j],
                         "price": price[j] * (scale or 1.0)})
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


FIT = ["-f", "choice ~ x + price", "--alt", "alt", "--task", "task"]


def no_leak(output):
    """No traceback, no internal error, no raw library warning."""
    for needle in ("Traceback", "internal error", "RuntimeWarning", "overflow encountered", "Warning:"):
        assert needle not in output, output


# ------------------------------------------------------------------------------------------ exit status 3
def test_help_documents_the_exit_statuses():
    r = run("--help")
    assert r.exit_code == 0
    for line in ("Exit status", "2    bad input", "3    no reliable estimate", "130  interrupted"):
        assert line in r.output
    assert "3 no reliable estimate" in run("fit", "--help").output


def test_perfect_separation_exits_3_with_the_json_written(tmp_path):
    out = tmp_path / "m.json"
    r = run("fit", long_data(tmp_path, separate=True), *FIT, "-o", out)
    assert r.exit_code == 3, r.output
    assert r.output.strip().splitlines()[-1].startswith("error: no reliable estimate: no finite maximum")
    j = json.loads(out.read_text())
    assert j["converged"] is False and "perfect separation" in j["message"]
    no_leak(r.output)


def test_a_single_task_exits_3(tmp_path):
    r = run("fit", long_data(tmp_path, n_tasks=1), *FIT)
    assert r.exit_code == 3 and "no finite maximum" in r.output


def test_a_converged_fit_exits_0(tmp_path):
    r = run("fit", long_data(tmp_path), *FIT)
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("model", ["mnl", "mixed", "latent"])
def test_a_column_near_1e308_is_named_with_how_to_rescale_it(tmp_path, model):
    """Every model: one message naming the variable and the remedy, no numpy warning, exit 3, the JSON written
    with null estimates; shares on that JSON exit 3 too."""
    out = tmp_path / "m.json"
    extra = {"mnl": [], "mixed": ["--model", "mixed", "--random", "x=n", "--draws", "20", "--id", "id"],
             "latent": ["--model", "latent", "--classes", "2", "--id", "id"]}[model]
    p = subprocess.run([sys.executable, str(ROOT / "cli.py"), "fit", str(long_data(tmp_path, scale=1e307)), *FIT,
                        *extra, "-o", str(out), "-q"], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 3, p.stderr
    assert "variable 'price' has values as large as" in p.stderr and "rescale it" in p.stderr
    no_leak(p.stdout + p.stderr)
    j = json.loads(out.read_text())
    assert j["converged"] is False and "rescale" in j["message"]
    assert all(x["estimate"] is None for x in j["params"])
    sc = tmp_path / "sc.yaml"
    sc.write_text("reference: none\nscenarios:\n  - {name: a, levels: {x: 1, price: 2}}\n"
                  "  - {name: b, levels: {x: 0, price: 1}}\n")
    r = run("shares", out, "--scenarios", sc)
    assert r.exit_code == 3 and "the fit gave no estimates" in r.output


def test_tiny_but_varying_columns_are_estimated_not_called_constant(tmp_path):
    """Values of order 1e-30 are a unit, not a constant: the coefficient comes out 1e30 times larger."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run("fit", long_data(tmp_path), *FIT, "-o", a).exit_code == 0
    assert run("fit", long_data(tmp_path, "s.csv", scale=1e-30), *FIT, "-o", b).exit_code == 0
    pa = {x["name"]: x["estimate"] for x in json.loads(a.read_text())["params"]}
    pb = {x["name"]: x["estimate"] for x in json.loads(b.read_text())["params"]}
    assert pb["price"] * 1e-30 == pytest.approx(pa["price"], rel=1e-8)
    assert pb["x"] == pytest.approx(pa["x"], rel=1e-8)


def test_shares_and_wtp_on_an_unconverged_model_write_and_exit_3(fitted, scenarios_file, tmp_path):
    j = fitted[1].to_dict()
    j.update(converged=False, message="maximum number of iterations reached")
    m = tmp_path / "m.json"
    m.write_text(json.dumps(j))
    out = tmp_path / "s.json"
    r = run("shares", m, "--scenarios", scenarios_file, "--sims", "50", "--seed", "1", "-o", out)
    assert r.exit_code == 3 and "did not converge" in r.output and out.exists()
    r = run("wtp", m, "--cost", "price", "--sims", "50", "-o", tmp_path / "w.json")
    assert r.exit_code == 3 and (tmp_path / "w.json").exists()


def test_library_result_says_whether_it_is_reliable(tmp_path):
    from dce.data.build import choice_data_from_formula
    from dce.models.mnl import ConditionalLogit

    df = pd.read_csv(long_data(tmp_path))
    data = choice_data_from_formula(df, "choice ~ x + price", alt="alt", task="task")
    assert ConditionalLogit().fit(data).reliable
    r = ConditionalLogit(maxiter=1).fit(data)
    assert not r.converged and not r.reliable and "maximum number of iterations" in r.message


def test_draws_beyond_the_free_memory_are_refused_before_allocating(monkeypatch):
    from dce.errors import ArgumentError
    from dce.models.mixed import model as mixed

    monkeypatch.setattr(mixed, "available_memory", lambda: 2**30)
    with pytest.raises(ArgumentError) as e:
        mixed._check_memory(1000, 3, 1_000_000)
    assert e.value.argument == "draws" and "GiB" in e.value.detail
    mixed._check_memory(1000, 3, 1000)   # 24 MB: fine


# ------------------------------------------------------------------------------------------ option ranges
@pytest.fixture(scope="module")
def model_json(tmp_path_factory):
    d = tmp_path_factory.mktemp("opt")
    out = d / "m.json"
    assert run("fit", long_data(d), *FIT, "-o", out).exit_code == 0
    sc = d / "sc.yaml"
    sc.write_text("reference: none\nscenarios:\n  - {name: a, levels: {x: 1, price: 2}}\n"
                  "  - {name: b, levels: {x: 0, price: 1}}\n")
    return out, sc, d


OPTION_CASES = [
    ("fit", "--seed", ["-1", "4294967296", "1e3", "x"]),
    ("fit", "--draws", ["0", "1", "-5", "1000000000000", "2.5"]),
    ("fit", "--starts", ["0", "-3", "100000000000"]),
    ("fit", "--search", ["-1", "1001", "100000000000", "2.5", "off"]),
    ("shares", "--level", ["0", "1", "-1", "nan", "inf", "1.5", "abc"]),
    ("shares", "--sims", ["0", "9", "-1", "100000000000"]),
    ("shares", "--draws", ["0", "-1", "100000000000"]),
    ("shares", "--seed", ["-1"]),
    ("wtp", "--level", ["0", "nan"]),
    ("wtp", "--sims", ["0", "-1", "1", "100000000000"]),
    ("wtp", "--seed", ["-1", "4294967296"]),
    ("design", "--seed", ["-1", "4294967296"]),
    ("design", "--starts", ["0", "100000000000"]),
    ("design", "--draws", ["0", "100000000000"]),
    ("design-evaluate", "--seed", ["-1", "4294967296"]),
    ("simulate", "--respondents", ["0", "-1", "100000000000"]),
    ("simulate", "--seed", ["-1"]),
]


def command_line(cmd, model_json):
    m, sc, d = model_json
    return {"fit": ["fit", d / "d.csv", *FIT, "--model", "mixed", "--random", "x=n"],
            "shares": ["shares", m, "--scenarios", sc],
            "wtp": ["wtp", m, "--cost", "price"],
            "design": ["design", SPEC, "-o", d / "design.csv"],
            "design-evaluate": ["design", "--evaluate", NEWDEAL / "design.csv", SPEC],
            "simulate": ["simulate", "--design", NEWDEAL / "design.csv", "--spec", SPEC, "--truth",
                         NEWDEAL / "truth.yaml", "-n", "5", "-o", d / "r.csv"]}[cmd]


@pytest.mark.parametrize("cmd, option, values", OPTION_CASES)
def test_option_ranges_are_checked_up_front(model_json, cmd, option, values):
    for value in values:
        r = run(*command_line(cmd, model_json), option, value)
        assert r.exit_code == 2, (cmd, option, value, r.output)
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {option}: "), (cmd, option, value, r.output)
        no_leak(r.output)


def test_usage_errors_are_one_line():
    for args, needle in ((["fit"], "Missing argument 'DATA'"), (["fit", "x.csv", "--bogus"], "No such option"),
                         (["nosuch"], "No such command"), (["fit", "x.csv", "--se", "foo"], "--se: ")):
        r = run(*args)
        assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1 and needle in r.output, r.output


# ------------------------------------------------------------------------------------------ output paths
@pytest.mark.parametrize("target, needle", [
    ("{d}", "is a folder"),
    ("{d}/nodir/m.json", "does not exist"),
    ("{d}/d.csv/m.json", "is a file, not a folder"),
    ("", "an empty file name"),
])
def test_bad_output_paths_are_one_line_before_any_work(model_json, target, needle):
    m, sc, d = model_json
    for args in (["fit", d / "d.csv", *FIT, "-o"], ["shares", m, "--scenarios", sc, "-o"],
                 ["wtp", m, "--cost", "price", "-o"], ["design", SPEC, "--starts", "1", "-o"],
                 ["report", m, "-o"]):
        r = run(*args, target.format(d=d))
        assert r.exit_code == 2 and needle in r.output and len(r.output.strip().splitlines()) == 1, (args, r.output)
    assert not list(Path(d).glob(".tmp-*"))


def test_an_unwritable_folder_is_one_line(model_json, tmp_path):
    m, _, _ = model_json
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):
            target = "/proc/m.json"    # as root: a folder no one can create files in
        else:
            target = str(ro / "m.json")
        r = run("wtp", m, "--cost", "price", "-o", target)
        assert r.exit_code == 2 and "not writable" in r.output and len(r.output.strip().splitlines()) == 1
    finally:
        ro.chmod(0o700)


def test_names_with_spaces_and_non_ascii_characters_are_written(model_json, tmp_path):
    m, sc, d = model_json
    folder = tmp_path / "résultats de l'étude"
    folder.mkdir()
    out = folder / "parts de marché (été).json"
    r = run("shares", m, "--scenarios", sc, "--sims", "20", "--seed", "1", "-o", out)
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text(encoding="utf-8"))["seed"] == 1
    long_name = folder / ("x" * 240 + ".json")     # the temporary name must not exceed the file-name limit
    assert run("wtp", m, "--cost", "price", "--sims", "20", "-o", long_name).exit_code == 0 and long_name.exists()


def test_an_output_that_is_an_input_is_refused(model_json):
    m, sc, d = model_json
    before = m.read_bytes()
    r = run("wtp", m, "--cost", "price", "-o", m)
    assert r.exit_code == 2 and "is also the input MODEL" in r.output and m.read_bytes() == before
    r = run("fit", d / "d.csv", *FIT, "-o", d / "same.json", "--validation-output", d / "same.json")
    assert r.exit_code == 2 and "--validation-output" in r.output


def test_a_stray_library_warning_is_one_line(tmp_path, monkeypatch):
    """The safety net: a warning no check foresaw reaches the user as one line, without file or source line."""
    from dce.cli import COMMANDS

    (tmp_path / "warny_cmd.py").write_text(
        "import warnings, click, numpy as np\n"
        "@click.command()\n"
        "def warny():\n"
        "    np.array([1e308]) * 10\n"
        "    warnings.warn('something odd', UserWarning)\n"
        "    warnings.warn('old api', DeprecationWarning)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(COMMANDS, "warny", ("warny_cmd", "warny", "test"))
    r = run("warny")
    assert r.exit_code == 0
    assert r.output.splitlines() == ["warning: numerical problem (overflow encountered in multiply); check the results",
                                     "warning: something odd"], r.output


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs /proc (a folder no one can create files in)")
def test_a_figures_folder_that_cannot_be_made(model_json, tmp_path):
    m, _, _ = model_json
    out = tmp_path / "r.html"
    r = run("report", m, "--figures", "/proc/dce-figures", "-o", out)
    assert r.exit_code == 2 and "--figures /proc/dce-figures" in r.output and not out.exists(), r.output


# ------------------------------------------------------------------ issue 19: hostile inputs, round 3
@pytest.mark.parametrize("which", ["data", "model", "scenarios", "spec"])
def test_a_named_pipe_as_an_input_is_refused_not_waited_on(model_json, tmp_path, which):
    """A FIFO given as the data or model file waited forever (no writer).  Exit 2, one line, at once: run as a
    subprocess with a timeout, so that a hang fails the test instead of stalling the suite."""
    out, sc, d = model_json
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    args = {"data": ["fit", fifo, *FIT, "-o", tmp_path / "o.json"],
            "model": ["wtp", fifo, "--cost", "price"],
            "scenarios": ["shares", out, "--scenarios", fifo],
            "spec": ["design", fifo, "-o", tmp_path / "d.csv"]}[which]
    p = subprocess.run([sys.executable, str(ROOT / "cli.py"), *map(str, args)], capture_output=True, text=True,
                       timeout=60, cwd=ROOT)
    assert p.returncode == 2, p.stderr
    assert p.stderr.strip() == f"error: {fifo}: is a named pipe (FIFO), not a " + {
        "data": "data file", "model": "results file", "scenarios": "scenarios file", "spec": "design file"}[which] \
        + "; save it as a regular file and give that"


def test_output_dash_is_refused_and_a_symlink_is_written_through(model_json, tmp_path, monkeypatch):
    """Issue 19: `--output -` wrote a file named '-'; `--output link.json` replaced the link with a regular
    file.  '-' is refused before any work; a link is written through (its target replaced, the link kept)."""
    out, sc, d = model_json
    monkeypatch.chdir(tmp_path)
    r = run("wtp", out, "--cost", "price", "--sims", "20", "--seed", "1", "-o", "-")
    assert r.exit_code == 2 and "--output: '-': writing to standard output is not supported" in r.output
    assert not (tmp_path / "-").exists()
    target = tmp_path / "real" / "w.json"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    r = run("wtp", out, "--cost", "price", "--sims", "20", "--seed", "1", "-o", link)
    assert r.exit_code == 0, r.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["cost"] == "price"
    assert not list(tmp_path.glob(".tmp-*")) and not list(target.parent.glob(".tmp-*"))
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(tmp_path / "real" / "new.json")
    assert run("wtp", out, "--cost", "price", "--sims", "20", "--seed", "1", "-o", dangling).exit_code == 0
    assert dangling.is_symlink() and json.loads((tmp_path / "real" / "new.json").read_text())["cost"] == "price"
