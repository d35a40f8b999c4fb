"""`dce shares`: predicted shares preferring each scenario over a reference (the status quo)."""
from __future__ import annotations

import click

from dce.cli.common import LEVEL, OUTPUT, SEED, Count, format_option, user_errors


@click.command()
@click.argument("model", type=click.Path(dir_okay=False))
@click.option("--scenarios", "-s", required=True, type=click.Path(dir_okay=False),
              help="YAML file: 'reference' and a list of 'scenarios'. reference: status_quo (each scenario against "
                   "the status quo; default when the design has one), opt_out (against opting out), {name, levels} "
                   "(against an alternative you give), or none (market shares among the scenarios; default "
                   "otherwise, and then a design's opt-out is part of the market). A scenario: {name, levels} "
                   "(left-out attributes keep their status-quo level; a linear attribute takes any value between "
                   "its levels, a dummy- or effects-coded one only its levels) or {name, alternative: opt_out | "
                   "status_quo} (in a market).")
@click.option("--ci", type=click.Choice(["auto", "krinsky-robb", "delta", "bootstrap"]), default="auto",
              show_default=True,
              help="Confidence intervals: Krinsky-Robb draws of the estimates, the delta method, or the bootstrap "
                   "replicates of dce fit --bootstrap (auto: bootstrap when MODEL.json carries them, else "
                   "Krinsky-Robb).")
@click.option("--level", type=LEVEL, default=0.95, show_default=True, help="Confidence level, between 0 and 1.")
@click.option("--sims", type=Count(10, 1_000_000), default=2000, show_default=True,
              help="Krinsky-Robb parameter draws (10 to 1,000,000).")
@click.option("--draws", type=Count(1, 100_000), default=1000, show_default=True,
              help="Draws of the random coefficients per share, where they vary over respondents (mixed "
                   "logit; 1 to 100,000); not the draws of the fit (dce fit --draws).")
@click.option("--by", help="Shares per level of this respondent covariate (the model must interact with it).")
@click.option("--seed", type=SEED, default=None, help="Seed of the simulation, 0 to 4294967295 (reported).")
@click.option("--output", "-o", type=OUTPUT, help="Write the shares as JSON (atomically).")
@format_option
@click.option("--quiet", "-q", is_flag=True, help="Only the table: no notes under it (warnings and errors still).")
@user_errors
def shares(model, scenarios, ci, level, sims, draws, by, seed, output, fmt, quiet):
    """Shares of respondents preferring each scenario of SCENARIOS over the reference, from MODEL.json."""
    from dce.cli.common import check_format, distinct_files

    check_format(fmt)
    distinct_files({"MODEL": model, "--scenarios": scenarios}, {"--output": output})
    from dce.models.results import ModelResult
    from dce.post.shares import load_scenarios, preference_shares
    from dce.util.seeds import resolve_seed

    fitted = ModelResult.load(model)
    ref_label, ref_row, items = load_scenarios(scenarios, fitted)
    seed = resolve_seed(seed)
    if ci == "auto":
        ci = "bootstrap" if fitted.bootstrap_replicates is not None else "krinsky-robb"
    if ci == "bootstrap":
        sims = fitted.require_replicates("ci").shape[0]
    rows = preference_shares(fitted, items, ref_row, ci=ci, n_sim=sims, n_draws=draws, seed=seed, level=level, by=by)
    from dce.report.tables import shares_table

    title = (f"Share preferring each scenario over the {ref_label.replace('_', ' ')}" if ref_label != "none"
             else "Market shares among the scenarios")
    # simulated draws of the coefficients (a mixing distribution) change in number with n_draws
    varies = fitted.coefficient_draws(n_draws=2, seed=seed)[0].shape[0] != fitted.coefficient_draws(
        n_draws=3, seed=seed)[0].shape[0]
    table = shares_table(rows, f"{title} ({fitted.model}, {model})", level, by)
    if any(s.kind == "opt_out" for s in items):
        table.notes.append("the opt-out is part of the market ("
                           + ", ".join(s.name for s in items if s.kind == "opt_out") + ")")
    how = {"krinsky-robb": f" ({sims} parameter draws)",
           "bootstrap": f" (percentiles over {sims} respondent-level bootstrap replicates)"}.get(ci, "")
    label = ci
    if ci == "krinsky-robb" and not fitted.has_covariance:     # a sampler: its coefficient sets are posterior draws
        label, how = "credible intervals", " (percentiles over the model's kept posterior draws)"
    table.notes.append(f"confidence intervals: {label}{how}"
                       + (f"; {draws} draws of the random coefficients" if varies else "") + f"; seed {seed}")
    from dce.cli.common import emit_tables, provenance

    if quiet:
        table.notes = []
    emit_tables([table], fmt)
    if output:
        from dce.util.io import write_json

        write_json(output, {"model": str(model), "reference": ref_label, "ci_method": ci, "level": level,
                            "seed": seed, "sims": sims, "by": by, "draws": draws if varies else None,
                            "scenarios": rows, "provenance": provenance(model, scenarios)})
    if not fitted.reliable:
        from dce.errors import UnreliableEstimate

        raise UnreliableEstimate(f"{model}: the model did not converge ({fitted.message}); these shares rest on "
                                 "no reliable estimate")
