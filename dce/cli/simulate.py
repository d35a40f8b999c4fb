"""`dce simulate`: simulated survey responses from a known truth (piloting, sample size, examples)."""
from __future__ import annotations

import click

from dce.cli.common import OUTPUT, SEED, Count, user_errors


@click.command()
@click.option("--design", "design_path", required=True, type=click.Path(dir_okay=False),
              help="The design CSV (block, task, alt, attributes).")
@click.option("--spec", "spec_path", required=True, type=click.Path(dir_okay=False), help="The design YAML file.")
@click.option("--truth", required=True, type=click.Path(dir_okay=False),
              help="YAML: model, coefficients by coded name, optional random and covariates.")
@click.option("--respondents", "-n", required=True, type=Count(1, 10_000_000),
              help="Number of simulated respondents (1 to 10,000,000).")
@click.option("--seed", type=SEED, default=None,
              help="Seed, 0 to 4294967295 (reported; chosen and printed when not given).")
@click.option("--output", "-o", required=True, type=OUTPUT, help="The responses CSV to write.")
@user_errors
def simulate(design_path, spec_path, truth, respondents, seed, output):
    """Write a SIMULATED survey export (id, block, covariates, q1..qn) drawn from a known truth."""
    from dce.cli.common import distinct_files

    distinct_files({"--design": design_path, "--spec": spec_path, "--truth": truth}, {"--output": output})
    from dce.data.simulate import load_truth, simulate_responses
    from dce.design.io import read_design_csv
    from dce.design.spec import load_design_spec

    spec = load_design_spec(spec_path)
    design = read_design_csv(design_path, spec)
    t = load_truth(truth, spec)
    from dce.util.seeds import resolve_seed

    seed = resolve_seed(seed)
    df = simulate_responses(design, t, respondents, seed)
    from dce.util.io import atomic_open

    with atomic_open(output, newline="") as fh:
        df.to_csv(fh, index=False)
    from dce.cli.common import console

    con = console()
    con.print(f"wrote {output}: {respondents:,} SIMULATED respondents ({t['model']} truth from {truth}), "
              f"{df.filter(like='q').notna().to_numpy().sum():,} answers; seed {seed}")
