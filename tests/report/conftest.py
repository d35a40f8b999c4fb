"""The New Deal study's result files (fit, shares overall and by language, WTP, design) and a small mixed
logit, made once per test session by the CLI, for the report tests."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from dce.cli import cli

ROOT = Path(__file__).resolve().parents[2]
EX = ROOT / "examples" / "newdeal"


def run(*args):
    r = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.output


@pytest.fixture(scope="session")
def newdeal(tmp_path_factory):
    """Paths of the New Deal result files (SIMULATED responses; small simulation counts)."""
    out = tmp_path_factory.mktemp("newdeal")
    p = {k: out / f"{k}.json" for k in ("model", "shares", "shares_by", "wtp", "design")}
    run("design", "--evaluate", EX / "design.csv", ROOT / "designs" / "newdeal.yaml", "--json", p["design"], "-q")
    run("fit", EX / "responses.csv", "--design", EX / "design.csv", "--spec", ROOT / "designs" / "newdeal.yaml",
        "--interactions", "asc_status_quo:language", "--se", "cluster", "-q", "--output", p["model"])
    run("shares", p["model"], "--scenarios", EX / "scenarios.yaml", "--seed", "7", "--sims", "200",
        "--output", p["shares"])
    run("shares", p["model"], "--scenarios", EX / "scenarios.yaml", "--seed", "7", "--sims", "200",
        "--by", "language", "--output", p["shares_by"])
    run("wtp", p["model"], "--cost", "income", "--seed", "7", "--sims", "300", "--output", p["wtp"])
    p["dir"] = out
    return p


@pytest.fixture(scope="session")
def mixed_model(tmp_path_factory):
    """A mixed logit on the electricity example (few draws: a fixture, not a result)."""
    out = tmp_path_factory.mktemp("mixed") / "mixed.json"
    run("fit", ROOT / "examples" / "electricity" / "electricity.csv.gz", "--formula",
        "choice ~ pf + cl + loc + wk + tod + seas", "--alt", "alt", "--task", "chid", "--id", "id",
        "--model", "mixed", "--random", "pf=n,loc=n", "--draws", "50", "--seed", "3", "-q", "--output", out)
    return out


def load(path):
    return json.loads(Path(path).read_text())


# ------------------------------------------------------------------ reading the report


class Page(HTMLParser):
    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.sections, self.ids, self.tables, self.refs, self.styles, self.figures = [], [], {}, [], [], []
        self._table = None
        self._cell = None
        self._row = None
        self._style = None
        self.feed(text)
        self.svgs = re.findall(r"<svg\b.*?</svg>", text, flags=re.S)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.append(a["id"])
        for k in ("src", "href", "xlink:href", "action", "poster", "data"):
            if k in a:
                self.refs.append(a[k])
        if "style" in a:
            self.styles.append(a["style"])
        if tag == "section":
            self.sections.append(a.get("id"))
        elif tag == "figure":
            self.figures.append(a.get("id"))
        elif tag == "table":
            self._table = {"key": a.get("data-key"), "header": [], "rows": []}
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = {"text": "", "v": json.loads(a["data-v"]) if "data-v" in a else None}
        elif tag == "style":
            self._style = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._cell["text"] = self._cell["text"].strip()
            self._row.append(self._cell)
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if not self._table["header"]:
                self._table["header"] = [c["text"] for c in self._row]
            else:
                self._table["rows"].append(self._row)
            self._row = None
        elif tag == "table" and self._table is not None:
            self.tables[self._table["key"]] = self._table
            self._table = None
        elif tag == "style" and self._style is not None:
            self.styles.append(self._style)
            self._style = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data
        if self._style is not None:
            self._style += data

    def column(self, key, name, what="v"):
        t = self.tables[key]
        j = t["header"].index(name)
        return [r[j][what] for r in t["rows"]]


@pytest.fixture
def page():
    """Parse a report: ``page(html_text)`` -> :class:`Page`."""
    return Page
