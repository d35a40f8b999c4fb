"""Shared fixtures: the public reference data sets vendored in tests/fixtures (see its README.md); a missing
one fails the test that needs it, never skips it."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent

# pytest-xdist's workers run with COLUMNS=80; without it (as in a serial run) dce's console prints to a
# pipe 120 columns wide, and tests that read wrapped output must see the same lines either way
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.pop("COLUMNS", None)

# Fuzzing (tests/fuzz): a bounded, derandomized number of examples per property in CI (the same examples
# every run); DCE_FUZZ_EXAMPLES=2000 python -m pytest tests/fuzz explores with fresh random examples.
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is in the test extra
    pass
else:
    _FUZZ = int(os.environ.get("DCE_FUZZ_EXAMPLES") or 0)
    _QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large,
              HealthCheck.filter_too_much, HealthCheck.large_base_example]
    settings.register_profile("dce-ci", max_examples=30, deadline=None, derandomize=True, database=None,
                              suppress_health_check=_QUIET, print_blob=True)
    settings.register_profile("dce-long", max_examples=max(_FUZZ, 1), deadline=None,
                              suppress_health_check=_QUIET, print_blob=True)
    settings.load_profile("dce-long" if _FUZZ else "dce-ci")
FIXTURES = ROOT / "tests" / "fixtures"


def simulated_choices(rng, X, V, resp, names, offset=False, avail_drop=False):
    """SIMULATED answers to tasks ``X`` (T, J, K) with systematic utilities ``V`` (T, J): optionally a random
    offset added and the last alternative unavailable in about 30% of tasks, then Gumbel errors; in that
    order of draws from ``rng``.  ``resp``: respondent ids (T,)."""
    from dce.data.choice_data import ChoiceData

    T, n_alts = V.shape
    off = None
    if offset:
        off = rng.normal(scale=0.5, size=(T, n_alts))
        V = V + off
    avail = np.ones((T, n_alts), bool)
    if avail_drop:
        avail[rng.random(T) < 0.3, n_alts - 1] = False
    U = V + rng.gumbel(size=V.shape)
    U[~avail] = -np.inf
    X[~avail] = 0.0
    return ChoiceData(X=X, avail=avail, chosen=U.argmax(axis=1), names=list(names),
                      alt_labels=list(range(1, n_alts + 1)), resp=resp, offset=off, source="simulated")


def fixture_file(name: str) -> Path:
    """A vendored reference file of tests/fixtures; its absence is a failure (the peer checks must run)."""
    path = FIXTURES / name
    if not path.exists():
        pytest.fail(f"reference data {name} not found in {FIXTURES} (vendored with the tests; see its README.md)",
                    pytrace=False)
    return path


@pytest.fixture
def electricity_path():
    return fixture_file("electricity.csv.gz")


@pytest.fixture
def train_path():
    return fixture_file("train_data.csv.gz")


@pytest.fixture
def swissmetro_path():
    return fixture_file("swissmetro.csv.gz")


# ------------------------------------------------------------------------------------------ a fitted model
SCENARIOS = """
reference: {name: cheap basic, levels: {price: 1, quality: basic}}
scenarios:
  - name: dear best
    levels: {price: 3, quality: best}
  - name: mid good
    levels: {price: 2, quality: good}
"""


@pytest.fixture
def scenarios_text():
    """The text of a scenarios file for the model of :func:`fitted`."""
    return SCENARIOS


@pytest.fixture
def scenarios_file(tmp_path):
    """A scenarios file for the model of :func:`fitted` (reference: cheap basic)."""
    p = tmp_path / "sc.yaml"
    p.write_text(SCENARIOS)
    return p


@pytest.fixture(scope="session")
def fitted(tmp_path_factory):
    """SIMULATED data: a conditional logit on simulated long data (price, quality text attribute), saved as JSON."""
    from dce.data.build import choice_data_from_formula
    from dce.models.mnl import ConditionalLogit

    rng = np.random.default_rng(11)
    rows = []
    beta = {"price": -0.8, "good": 1.0, "best": 1.6}
    for t in range(3000):
        price = rng.integers(1, 6, 3).astype(float)
        qual = rng.choice(["basic", "good", "best"], 3)
        v = beta["price"] * price + np.array([beta.get(q, 0.0) for q in qual])
        c = rng.choice(3, p=np.exp(v) / np.exp(v).sum())
        for j in range(3):
            rows.append({"task": t, "alt": j, "chosen": int(j == c), "price": price[j], "quality": qual[j]})
    data = choice_data_from_formula(pd.DataFrame(rows), "chosen ~ price + quality", alt="alt", task="task")
    res = ConditionalLogit().fit(data)
    path = tmp_path_factory.mktemp("m") / "model.json"
    path.write_text(json.dumps(res.to_dict()))
    return path, res


# ------------------------------------------------------------------------------------------ a Dask cluster
@pytest.fixture(scope="session")
def dask_cluster():
    """A real dask.distributed cluster on this machine: a scheduler and two single-threaded worker processes
    (skipped where dask.distributed is not installed), with a client of the test's own.  Its dashboard
    takes a free port (``:0``): with the suite on several cores, each pytest-xdist worker has a cluster."""
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed "
                                                            "(pip install 'dce[dask]')")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=50) as c, distributed.Client(c, set_as_default=False) as client:
        yield c, client
