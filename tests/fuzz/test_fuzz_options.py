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
