"""The documentation site builds with warnings as errors (a broken reference, a docstring that does not
parse, an example command that fails all fail here), and its examples' output is produced by the build.

Needs the ``docs`` extra (sphinx, numpydoc, sphinx-click), which the ``test`` extra includes: a missing
package fails this test, it does not skip it.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_docs_build_with_warnings_as_errors(tmp_path):
    out = tmp_path / "html"
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(ROOT / "docs"),
                        str(out)], capture_output=True, text=True, env=env, timeout=600)
    assert p.returncode == 0, (p.stdout + p.stderr)[-4000:]
    pages = {str(f.relative_to(out)) for f in out.rglob("*.html")}
    for page in ("index.html", "getting-started.html", "validation.html", "reference/cli.html",
                 "reference/formats.html", "reference/results-json.html", "reference/exit-status.html",
                 "reference/api.html", "guide/fit.html", "guide/choosing.html"):
        assert page in pages, page
    started = (out / "getting-started.html").read_text(encoding="utf-8")
    # the New Deal example's output, made by the build: the command and the tables it printed
    assert "$ dce fit examples/newdeal/responses.csv" in started and "rho-squared" in started
    assert "Share preferring each scenario over the status quo" in started
    cli = (out / "reference" / "cli.html").read_text(encoding="utf-8")
    for command in ("design", "fit", "shares", "wtp", "simulate", "power", "report"):
        assert f"dce {command}" in cli, command
    api = (out / "reference" / "api.html").read_text(encoding="utf-8")
    assert "conf_int" in api and "predict" in api and "LatentClassLogit" in api
    # offline: no page asks for anything outside the built folder
    for f in out.rglob("*.html"):
        remote = re.findall(r'(?:src|href)="(https?:)?//(?!www\.sphinx-doc\.org|alabaster\.readthedocs\.io)[^"]*"',
                            f.read_text(encoding="utf-8"))
        assert not remote, (f, remote[:3])
