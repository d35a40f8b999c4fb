"""`dce wtp`: willingness to pay against a numeric attribute, and relative attribute importance."""
from __future__ import annotations

import click

from dce.cli.common import format_option, user_errors


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--cost", required=True, help="The numeric attribute (price, income) to express values in.")
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option("--sims", type=int, default=5000, show_default=True, help="Krinsky-Robb parameter draws.")
@click.option("--seed", type=int, default=None, help="Seed of the simulation (reported).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the results as JSON (atomically).")
@format_option
@user_errors
def wtp(model, cost, level, sims, seed, output, fmt):
    """Marginal rates of substitution of every coefficient against COST, and attribute importance."""
    from dce.errors import DCEError

    if not 0 < level < 1:
        raise DCEError(f"--level must be between 0 and 1, not {level}")
    from dce.cli.common import check_format

    check_format(fmt)
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

    emit_tables(tables, fmt)
    if output:
        from dce.util.io import write_json

        write_json(output, {"model": str(model), "cost": cost, "level": level, "seed": seed, "sims": sims,
                            "wtp": rows, "importance": imp, "provenance": provenance(model)})
