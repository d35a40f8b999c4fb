"""Shared fixtures: the public data sets in ../shared/data (tests that need them skip without it)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("DCE_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"reference data {name} not found in {SHARED_DATA} (../shared/data beside the checkout)")
    return path


@pytest.fixture
def electricity_path():
    return shared_file("electricity.csv.gz")


@pytest.fixture
def train_path():
    return shared_file("train_data.csv.gz")


@pytest.fixture
def swissmetro_path():
    return shared_file("swissmetro.csv.gz")
