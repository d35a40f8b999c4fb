"""`dce power`: sample size by simulation (power per target and sample size) beside the analytic S-estimate."""
from __future__ import annotations

import click

from dce.cli.common import format_option, runner_options, user_errors


@click.command()
@click.option("--design", "design_path", required=True, type=click.Path(dir_okay=False),
              help="The design CSV the respondents would answer.")
@click.option("--spec", "spec_path", required=True, type=click.Path(dir_okay=False), help="The design YAML file.")
@click.option("--truth", type=click.Path(dir_okay=False),
              help="YAML truth to simulate from (as dce simulate reads it); default: the design's prior means.")
@click.option("--respondents", "-n", required=True,
              help="Sample sizes to try, comma-separated, e.g. 50,100,200,400.")
@click.option("--replications", "-r", type=int, default=200, show_default=True,
              help="Simulated surveys per sample size.")
@click.option("--model", "model", type=click.Choice(["mnl", "mixed", "latent"]), default="mnl", show_default=True,
              help="The planned model: conditional logit (mnl), mixed logit (mixed) or latent class logit (latent).")
@click.option("--classes", type=int, default=2, show_default=True, help="Latent class: the number of classes.")
@click.option("--shared", help="Latent class: comma list of coefficients equal across classes.")
@click.option("--random", "random_", multiple=True, help="Mixed logit: NAME=DIST (n, ln, -ln, t, u), as dce fit.")
@click.option("--correlated", help="Mixed logit: comma list of random coefficients to correlate, or 'all'.")
@click.option("--draws", type=int, default=500, show_default=True, help="Mixed logit: simulation draws per respondent in each fit (as dce fit --draws).")
@click.option("--draw-type", type=click.Choice(["halton", "sobol", "mlhs", "random"]), default="halton",
              show_default=True, help="Mixed logit: kind of draws.")
@click.option("--starts", type=int, default=None, help="Starting points of each fit (default: the model's).")
@click.option("--se", type=click.Choice(["classical", "robust", "cluster"]), default="classical", show_default=True,
              help="The standard errors the tests and intervals use.")
@click.option("--alpha", type=float, default=0.05, show_default=True, help="Two-sided level of the tests.")
@click.option("--target", type=click.Choice(["coefficients", "shares", "wtp"]), default="coefficients",
              show_default=True, help="What must be detected: each coefficient, the share preferring each "
                                      "scenario (--scenarios) or the WTP of each attribute (--cost).")
@click.option("--scenarios", "scenarios_path", type=click.Path(dir_okay=False),
              help="Scenarios YAML (as dce shares reads it), for --target shares.")
@click.option("--cost", help="The numeric money attribute, for --target wtp.")
@click.option("--seed", type=int, default=None, help="Seed of the simulation (chosen and printed when not given).")
@runner_options
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the power analysis as JSON.")
@format_option
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@user_errors
def power(design_path, spec_path, truth, respondents, replications, model, classes, shared, random_, correlated,
          draws, draw_type,
          starts, se, alpha, target, scenarios_path, cost, seed, workers, scheduler, output, fmt, quiet):
    """Power to detect each target at each number of respondents, from SIMULATED surveys.

    \b
    dce power --design design.csv --spec design.yaml \\
        --respondents 50,100,200,400 --replications 200
    """
    from dce.cli.common import ProgressBar, check_format, emit_tables, info_console, provenance, where_to_run
    from dce.errors import DCEError

    check_format(fmt)
    workers, scheduler = where_to_run(workers, scheduler)
    sizes = [s.strip() for s in str(respondents).split(",")]
    from dce.power import check_sizes

    sizes = check_sizes(sizes)
    if target == "shares" and not scenarios_path:
        raise DCEError("--target shares needs --scenarios S.yaml")
    if target == "wtp" and not cost:
        raise DCEError("--target wtp needs --cost ATTRIBUTE")
    if scenarios_path and target != "shares":
        raise DCEError("--scenarios is read only with --target shares")
    from dce.cli.fit import ModelOptions, _estimator

    if model != "latent" and shared:
        raise DCEError("--shared needs --model latent")
    opt = ModelOptions(model=model, se=se, random_=random_, correlated=correlated, draws=draws, draw_type=draw_type,
                       starts=starts, shared=shared)
    est = _estimator(opt, seed=None, progress=None, classes=classes)
    from dce.data.simulate import load_truth
    from dce.design.io import read_design_csv
    from dce.design.spec import load_design_spec

    spec = load_design_spec(spec_path)
    design = read_design_csv(design_path, spec)
    t = load_truth(truth, spec) if truth else None
    with open(spec_path, encoding="utf-8") as fh:
        spec_text = fh.read()
    scenarios = reference = None
    if scenarios_path:
        from dce.post.shares import load_scenarios
        from dce.power import template_result

        _, reference, scenarios = load_scenarios(scenarios_path, template_result(design, spec_text, est.name))
    from dce.power import power_analysis
    from dce.util.seeds import resolve_seed

    seed = resolve_seed(seed)
    con = info_console(fmt)
    from dce.runner import describe

    with ProgressBar(f"{len(sizes)} sizes x {replications} replications", enabled=not quiet) as bar:
        d = power_analysis(design, est, sizes, replications, seed, truth=t, target=target, scenarios=scenarios,
                           reference=reference, cost=cost, alpha=alpha, spec_text=spec_text, workers=workers,
                           scheduler=scheduler, progress=bar)
    con.print(f"{est.label}, {len(sizes)} sample sizes x {replications} SIMULATED surveys from "
              f"{truth or 'the prior means of ' + spec_path}; seed {seed}; ran on {describe(workers, scheduler)}")
    from dce.report.tables import power_tables

    tables = power_tables(d)
    emit_tables(tables, fmt, con)
    if fmt == "text":
        _print_curve(con, d)
    _report_failures(con, d)
    if d.get("misspecified"):
        from dce.cli.common import warn

        warn(con, "warning", d["misspecified"])
    con.print(f"{sum(d['failed'])} failed fits of {len(sizes) * d['replications']}; {d['seconds']:.1f} s")
    if output:
        from dce.util.io import write_json

        d["design"] = str(design_path)
        d["truth"] = str(truth) if truth else "prior means"
        d["tables"] = [tables[1].to_dict()]
        d["provenance"] = provenance(design_path, spec_path, truth, scenarios_path)
        write_json(output, d)
        con.print(f"power analysis written to {output}")


def _print_curve(con, d):
    from rich.text import Text

    from dce.report.textplot import curves

    lines = curves(d["sizes"], [t["power"] for t in d["targets"]], [t["name"] for t in d["targets"]])
    con.print(Text("\n".join(lines)))


def _report_failures(con, d):
    from dce.cli.common import warn

    for f in d.get("failures", [])[:5]:
        warn(con, "failed fits", f"{f['count']}: {f['reason']}")
