"""`dce design`: make an efficient choice design from a YAML spec, or evaluate one made elsewhere."""
from __future__ import annotations

import click

from dce.cli.common import OUTPUT, SEED, Count, format_option, runner_options, user_errors


@click.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("--output", "-o", type=OUTPUT, help="Write the design as CSV (block, task, alt, attributes); the diagnostics go to --json.")
@click.option("--evaluate", "evaluate_csv", type=click.Path(dir_okay=False),
              help="Evaluate this design CSV (block, task, alt, attributes...) instead of making one.")
@click.option("--seed", type=SEED, default=None,
              help="Seed of every random step, 0 to 4294967295 (one is chosen and printed if not given).")
@click.option("--starts", type=Count(1, 10_000), default=10, show_default=True,
              help="Random starts of the coordinate exchange (1 to 10,000).")
@click.option("--draws", type=Count(1, 100_000), default=None,
              help="Draws of a Bayesian prior for the D-error, 1 to 100,000 (default: the spec's 'draws'); "
                   "not the simulation draws of dce fit.")
@click.option("--questionnaire", type=OUTPUT, help="Write the tasks per block as Markdown.")
@click.option("--json", "json_path", type=OUTPUT, help="Write the diagnostics as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="Print only the diagnostics.")
@runner_options
@format_option
@user_errors
def design(spec, output, evaluate_csv, seed, starts, draws, questionnaire, json_path, quiet, workers, scheduler, fmt):
    """Make a D-efficient choice design from SPEC (YAML), or --evaluate a design CSV against SPEC.

    \b
    dce design designs/newdeal.yaml --output design.csv --seed 1 --starts 20
    dce design --evaluate design.csv designs/newdeal.yaml
    """
    from dce.cli.common import check_format, emit_tables, info_console, provenance
    from dce.design.diagnostics import evaluate
    from dce.design.spec import load_design_spec
    from dce.errors import DCEError
    from dce.report.design_tables import design_tables
    from dce.util.io import write_json, write_text

    if evaluate_csv and output:
        raise DCEError("give either --output (make a design) or --evaluate (read one), not both")
    if not evaluate_csv and not output:
        raise DCEError("give --output FILE.csv to make a design, or --evaluate FILE.csv to evaluate one")
    check_format(fmt)
    from dce.cli.common import distinct_files

    distinct_files({"SPEC": spec, "--evaluate": evaluate_csv},
                   {"--output": output, "--questionnaire": questionnaire, "--json": json_path})
    con = info_console(fmt)
    s = load_design_spec(spec)
    if evaluate_csv:
        from dce.design.io import read_design_csv

        d = read_design_csv(evaluate_csv, s)
        if seed is not None:
            d.seed = seed
        source = evaluate_csv
    else:
        from dce.design.generate import make_design
        from dce.design.io import write_design_csv
        from dce.util.seeds import resolve_seed

        seed = resolve_seed(seed)
        if not quiet:
            con.print(f"{s.name}: {s.tasks} tasks, {s.alternatives} alternatives"
                      f"{' + status quo' if s.status_quo else ''}{' + opt-out' if s.opt_out else ''}, "
                      f"{s.blocks} block{'s' if s.blocks != 1 else ''}, {s.n_params} parameters; seed {seed}")
        from dce.cli.common import ProgressBar, where_to_run

        workers, scheduler = where_to_run(workers, scheduler)
        with ProgressBar("design starts", enabled=not quiet and starts > 1) as bar:
            d = make_design(s, seed=seed, starts=starts, draws=draws, workers=workers, scheduler=scheduler,
                            progress=bar)
        write_design_csv(output, d)
        source = output
    diag = evaluate(d, s, draws=draws)
    if diag["d_error"] is None or diag["d_error_local"] is None:
        click.echo(f"warning: {source}: the design does not identify every parameter (its information matrix "
                   "is singular, the D-error is undefined): add tasks or vary the attributes more", err=True)
    # text: the tables `dce design` has always printed; files also get the attributes and their coding
    emit_tables(design_tables(diag, terminal=fmt == "text"), fmt, con)
    from dce.cli.common import warn

    for w in diag.get("warnings", []):
        warn(con, "warning", w)
    if questionnaire:
        from dce.design.questionnaire import render_questionnaire

        write_text(questionnaire, render_questionnaire(d))
    if json_path:
        write_json(json_path, {"spec": s.source, "design_csv": source, **diag,
                               "provenance": provenance(spec, evaluate_csv)})
    if not quiet:
        if output:
            con.print(f"design written to {output} (seed {d.seed})")
        if questionnaire:
            con.print(f"questionnaire written to {questionnaire}")
        if json_path:
            con.print(f"diagnostics written to {json_path}")
