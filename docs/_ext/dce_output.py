"""``.. dce-output:: ARGS``: run ``dce ARGS`` while the documentation is built and show the command and
what it printed, so that the examples' output is never pasted by hand (a failing command fails the
build).

``{out}`` in ARGS is a folder made for the build (shown as ``out``); commands run from the repository
root in an 80-column terminal (``COLUMNS=80``).  Options: ``:hide:`` runs the command without showing
it (an earlier step of an example); ``:returncode: N`` expects another exit status.
"""
from __future__ import annotations

import os
import shlex
import tempfile

from docutils import nodes
from docutils.parsers.rst import Directive, directives

_OUT = {}


def _out_dir():
    if "dir" not in _OUT:
        _OUT["dir"] = tempfile.mkdtemp(prefix="dce-docs-")
    return _OUT["dir"]


class DceOutput(Directive):
    required_arguments = 1
    final_argument_whitespace = True
    option_spec = {"hide": directives.flag, "returncode": int}

    def run(self):
        from click.testing import CliRunner

        from dce.cli import cli

        env = self.state.document.settings.env
        text = " ".join(self.arguments[0].split())
        argv = shlex.split(text.replace("{out}", _out_dir()))
        here = os.getcwd()
        os.chdir(env.config.dce_root)
        try:
            result = CliRunner().invoke(cli, argv, env={"COLUMNS": "80"}, catch_exceptions=True)
        finally:
            os.chdir(here)
        expected = self.options.get("returncode", 0)
        if result.exit_code != expected:
            raise self.error(f"dce {text}: exit status {result.exit_code}, expected {expected}: "
                             f"{result.output[-800:]}{result.exception!r}")
        if "hide" in self.options:
            return []
        shown = text.replace("{out}", "out")
        body = "\n".join(line.rstrip() for line in result.output.splitlines()).strip("\n")
        block = nodes.literal_block("", f"$ dce {shown}\n{body}\n")
        block["language"] = "none"
        return [block]


def setup(app):
    app.add_config_value("dce_root", os.getcwd(), "env")
    app.add_directive("dce-output", DceOutput)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
