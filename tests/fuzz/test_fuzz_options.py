"""Fuzzing the options of `dce fit` that are parsed text (--random, --correlated, --classes, --shared,
--membership, --price, the column options): any text gives a fit (exit 0 or 3) or one line, exit 2.
SIMULATED data."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

N = settings.default.max_examples
COLUMNS = ["id", "task", "alt", "choice", "x", "price", "age"]


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    rng = np.random.default_rng(5)
    rows = []
    for t in range(60):
        x, price = rng.normal(size=3), rng.uniform(1, 5, 3)
        c = int(np.argmax(x - 0.5 * price + rng.gumbel(size=3)))
        for j in range(3):
            rows.append({"id": t // 6, "task": t, "alt": j, "choice": int(j == c), "x": x[j], "price": price[j],
                         "age": 30 + t // 6})
    path = tmp_path_factory.mktemp("opts") / "d.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


text = st.one_of(st.text(max_size=12), st.sampled_from(COLUMNS), st.sampled_from(
    ["x=n", "x=ln", "price=-ln", "x=n,price=u", "x=", "=n", "x=n,x=t", "scale=ln", "all", "x,price", ",", "1-3",
     "0", "3-1", "1-", "a-b", "99", "age", "age + x", "C(age)", "x,x"]))

OPTIONS = {
    "--random": ["--model", "mixed", "--draws", "5", "--id", "id"],
    "--correlated": ["--model", "mixed", "--random", "x=n,price=n", "--draws", "5", "--id", "id"],
    "--classes": ["--model", "latent", "--id", "id", "--starts", "1"],
    "--shared": ["--model", "latent", "--classes", "2", "--id", "id", "--starts", "1"],
    "--membership": ["--model", "latent", "--classes", "2", "--id", "id", "--starts", "1"],
    "--price": ["--space", "wtp"],
    "--id": [], "--alt": [], "--task": [], "--choice": [], "--avail": [], "--sheet": [],
}


@settings(max_examples=max(6, N // 2))
@given(option=st.sampled_from(sorted(OPTIONS)), value=text)
@example(option="--classes", value="1-3")
@example(option="--random", value="x=n,x=t")
@example(option="--membership", value="age + x")
def test_text_options_of_fit(tmp_path, fz, data_file, option, value):
    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    out = folder / "m.json"
    args = ["fit", data_file, "-f", "choice ~ x + price", "--alt", "alt", "--task", "task", "-q", "-o", out,
            *OPTIONS[option], option, value]
    with fz.bounded(60, f"dce fit {option} {value!r}"):
        fz.run_cli(args, codes=(0, 2, 3), outputs=[out], folder=folder)


# ------------------------------------------------------------------ issue 19: special output paths
@settings(max_examples=max(6, N // 4))
@given(kind=st.sampled_from(["-", "link to file", "dangling link", "link to folder", "link loop", "link chain",
                             "plain"]))
@example(kind="-")
@example(kind="link to file")
def test_special_output_paths(tmp_path, fz, data_file, kind):
    """`-o -` wrote a file named '-', `-o link.json` replaced the link by a regular file: now '-' and links
    to folders or loops are one line (exit 2); a link to a file (or to a file yet to be made) is written
    through and stays a link."""
    import json
    import os

    folder = Path(tempfile.mkdtemp(dir=tmp_path))
    real = folder / "real.json"
    out = folder / "out.json"
    if kind == "-":
        out = Path("-")
    elif kind == "link to file":
        real.write_text("{}")
        out.symlink_to(real)
    elif kind == "dangling link":
        out.symlink_to(real)
    elif kind == "link to folder":
        out.symlink_to(folder)
    elif kind == "link loop":
        out.symlink_to(folder / "loop.json")
        (folder / "loop.json").symlink_to(out)
    elif kind == "link chain":
        (folder / "mid.json").symlink_to(real)
        out.symlink_to(folder / "mid.json")
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        r = fz.run_cli(["fit", data_file, "-f", "choice ~ x + price", "--alt", "alt", "--task", "task", "-q",
                        "-o", out], codes=(0, 2), folder=folder)
    finally:
        os.chdir(cwd)
    assert not (folder / "-").exists()
    if r.exit_code == 0:
        assert kind not in ("-", "link to folder", "link loop"), kind
        if kind != "plain":
            assert out.is_symlink()
        assert json.loads(Path(os.path.realpath(folder / out)).read_text())["model"]
