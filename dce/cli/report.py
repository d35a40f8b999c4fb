"""`dce report`: one self-contained HTML report of a study from the JSON files the other commands write."""
from __future__ import annotations

import click

from dce.cli.common import OUTPUT, user_errors


@click.command()
@click.argument("models", nargs=-1)
@click.option("--design", "design", help="Design diagnostics (dce design --json).")
@click.option("--shares", "shares", multiple=True,
              help="Shares JSON (dce shares --output); repeatable, e.g. overall and --by a covariate.")
@click.option("--wtp", "wtp", multiple=True,
              help="WTP JSON (dce wtp --output); repeatable.")
@click.option("--validation", "validation", multiple=True,
              help="Survey validation JSON (dce fit --validation-output); repeatable.")
@click.option("--power", "power", multiple=True,
              help="Power analysis JSON (dce power --output); repeatable.")
@click.option("--output", "-o", required=True, type=OUTPUT, help="The HTML file to write.")
@click.option("--figures", "figures_dir",
              help="Also write every figure to this folder as SVG and PNG.")
@click.option("--title", help="Title of the report (default: from the design).")
@user_errors
def report(models, design, shares, wtp, validation, power, output, figures_dir, title):
    """Write a self-contained HTML report of MODEL.json files and the study's other results.

    \b
    dce report model.json --design design.json --shares shares.json \\
        --wtp wtp.json --output report.html
    """
    from dce.cli.common import distinct_files

    inputs = [("MODEL", m) for m in models] + [("--design", design)]
    inputs += [(f"--{k}", p) for k, ps in (("shares", shares), ("wtp", wtp), ("validation", validation),
                                           ("power", power)) for p in ps]
    distinct_files(inputs, {"--output": output})
    from dce.cli.errors import invocation
    from dce.report.document import build_report, write_report

    from dce.cli.common import ProgressBar

    with ProgressBar("report: sections and figures") as bar:
        rep = build_report(models=models, design=design, shares=shares, wtp=wtp, validation=validation,
                           power=power, title=title, command=invocation(), progress=bar)
    with ProgressBar("report: figure files (SVG, PNG)") as bar:
        write_report(rep, output, figures_dir=figures_dir, progress=bar)

    click.echo(f"report written to {output} ({len(rep.figures)} figures"
               + (f", also as SVG and PNG in {figures_dir}" if figures_dir else "") + ")", err=True)
