"""`dce wtp`: willingness to pay against a numeric attribute, and relative attribute importance."""
from __future__ import annotations

import click

from dce.cli.common import LEVEL, OUTPUT, SEED, Count, format_option, user_errors


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--cost", required=True, help="The numeric attribute (price, income) to express values in.")
@click.option("--level", type=LEVEL, default=0.95, show_default=True, help="Confidence level, between 0 and 1.")
@click.option("--sims", type=Count(10, 1_000_000), default=5000, show_default=True,
              help="Krinsky-Robb parameter draws (10 to 1,000,000).")
@click.option("--seed", type=SEED, default=None, help="Seed of the simulation, 0 to 4294967295 (reported).")
@click.option("--output", "-o", type=OUTPUT, help="Write the results as JSON (atomically).")
@format_option
@click.option("--quiet", "-q", is_flag=True, help="Only the tables: no notes under them (warnings and errors still).")
@user_errors
def wtp(model, cost, level, sims, seed, output, fmt, quiet):
    """Marginal rates of substitution of every coefficient against COST, and attribute importance."""
    from dce.cli.common import check_format, distinct_files

    check_format(fmt)
    distinct_files({"MODEL": model}, {"--output": output})
    from dce.models.results import ModelResult
    from dce.post.wtp import importance, willingness_to_pay
    from dce.util.seeds import resolve_seed

    fitted = ModelResult.load(model)
    seed = resolve_seed(seed)
    rows = willingness_to_pay(fitted, cost, n_sim=sims, seed=seed, level=level)
    imp = importance(fitted)
    from dce.report.tables import wtp_tables

    tables = wtp_tables(rows, imp, cost, model, level)
    reps = fitted.bootstrap_replicates
    boot = (f"; bootstrap: percentiles over {reps.shape[0]} respondent-level bootstrap replicates"
            if reps is not None else "")
    kr = (f"s.e. by the delta method; K-R: Krinsky-Robb, {sims} parameter draws" if fitted.has_covariance else
          "no covariance of the estimates (a sampler): the K-R column gives percentiles over the kept posterior draws")
    tables[-1].notes.append(f"WTP = coefficient / |coefficient of {cost}|: positive values are worth paying (or "
                            f"giving up {cost}) for. {kr}{boot}; seed {seed}")
    if any("distribution" in r for r in rows):
        tables[-1].notes.append(f"Where coefficients vary over respondents, WTP is the ratio of the mean coefficients; "
                                f"the distribution is that of each respondent's ratio (for a model estimated in "
                                f"willingness-to-pay space against {cost}, the distribution of its WTPs)")
    from dce.cli.common import emit_tables, provenance

    if quiet:
        for t in tables:
            t.notes = []
    emit_tables(tables, fmt)
    if output:
        from dce.util.io import write_json

        write_json(output, {"model": str(model), "cost": cost, "level": level, "seed": seed, "sims": sims,
                            "wtp": rows, "importance": imp, "provenance": provenance(model)})
    if not fitted.reliable:
        from dce.errors import UnreliableEstimate

        raise UnreliableEstimate(f"{model}: the model did not converge ({fitted.message}); these values rest on "
                                 "no reliable estimate")
