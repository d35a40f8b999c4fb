"""`dce wtp`: willingness to pay against a numeric attribute, and relative attribute importance."""
from __future__ import annotations

import click

from dce.cli.common import user_errors


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--cost", required=True, help="The numeric attribute (price, income) to express values in.")
@click.option("--level", type=float, default=0.95, show_default=True, help="Confidence level.")
@click.option("--sims", type=int, default=5000, show_default=True, help="Krinsky-Robb parameter draws.")
@click.option("--seed", type=int, default=None, help="Seed of the simulation (reported).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the results as JSON (atomically).")
@user_errors
def wtp(model, cost, level, sims, seed, output):
    """Marginal rates of substitution of every coefficient against COST, and attribute importance."""
    from dce.errors import DCEError

    if not 0 < level < 1:
        raise DCEError(f"--level must be between 0 and 1, not {level}")
    from dce.post.model import FittedModel
    from dce.post.wtp import importance, willingness_to_pay

    fitted = FittedModel.load(model)
    if seed is None:
        import secrets

        seed = secrets.randbelow(2**31)
    rows = willingness_to_pay(fitted, cost, n_sim=sims, seed=seed, level=level)
    imp = importance(fitted)
    from dce.cli.common import console
    from dce.report.tables import simple_table

    pct = int(round(level * 100))
    con = console()
    body = [[r["name"], f"{r['wtp']:.4g}", f"{r['se']:.4g}", f"[{r['delta_low']:.4g}, {r['delta_high']:.4g}]",
             f"[{r['kr_low']:.4g}, {r['kr_high']:.4g}]"] for r in rows]
    con.print(simple_table(f"Willingness to pay, in units of '{cost}' ({model})",
                           ["coefficient", "WTP", "s.e.", f"{pct}% CI (delta)", f"{pct}% CI (K-R)"],
                           body))
    if any("distribution" in r for r in rows):
        con.print(simple_table("Distribution over respondents (mixed logit)",
                               ["coefficient", "mean", "median", "5%", "95%"],
                               [[r["name"]] + [f"{r['distribution'][k]:.4g}" for k in
                                               ("mean", "median", "q05", "q95")]
                                for r in rows if "distribution" in r]))
    con.print(simple_table("Relative attribute importance (utility range over the levels)",
                           ["attribute", "range", "importance"],
                           [[i["attribute"], f"{i['range']:.4g}", f"{100 * i['importance']:.1f}%"] for i in imp]))
    con.print(f"WTP = coefficient / |coefficient of {cost}|: positive values are worth paying (or giving up "
              f"{cost}) for. s.e. by the delta method; K-R: Krinsky-Robb, {sims} parameter draws; seed {seed}",
              style="dim")
    if output:
        from dce.util.io import write_json

        write_json(output, {"model": str(model), "cost": cost, "level": level, "seed": seed, "sims": sims,
                            "wtp": rows, "importance": imp})
