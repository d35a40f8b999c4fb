"""`dce fit`: estimate a conditional or mixed logit and print the table a referee expects."""
from __future__ import annotations

import click

from dce.cli._hb import hb_options
from dce.cli.common import OUTPUT, SEED, Count, format_option, parse_random, runner_options, user_errors


@click.command()
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--formula", "-f", help='Model formula, e.g. "choice ~ price + time + C(brand)".')
@click.option("--design", "design_path", type=click.Path(dir_okay=False),
              help="Survey export mode: the design CSV the respondents answered.")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False),
              help="Survey export mode: the design YAML (coding of the attributes).")
@click.option("--id-col", "id_col_s", default="id", show_default=True, help="Survey export: respondent id column.")
@click.option("--block-col", default="block", show_default=True, help="Survey export: block column.")
@click.option("--answer-cols", default="q{k}", show_default=True,
              help="Survey export: answer columns, a pattern with {k} or a comma list.")
@click.option("--codes", help='Survey export: map answer codes to alternatives, e.g. "1=A,2=B,3=status_quo".')
@click.option("--missing", type=click.Choice(["drop", "error"]), default="drop", show_default=True,
              help="Survey export: what to do with a missing answer.")
@click.option("--interactions", help="Survey export: coefficient:covariate terms, e.g. asc_status_quo:language.")
@click.option("--model-file", "-m", type=click.Path(dir_okay=False),
              help="YAML file with one utility per alternative (labelled experiments).")
@click.option("--alt", help="Long data: the column naming the alternative of each row.")
@click.option("--task", help="Long data: the column identifying the choice task.")
@click.option("--id", "id_col", help="The respondent id column (panels, clustered s.e.).")
@click.option("--choice", "choice_col", help="The choice column when the formula does not name it.")
@click.option("--avail", help="Wide data: stem of the availability columns (e.g. av for av1, av2, ...).")
@click.option("--sheet", help="Excel: the sheet to read (default: the first).")
@click.option("--se", type=click.Choice(["classical", "robust", "cluster"]), default="classical",
              show_default=True, help="Standard errors reported in the table and JSON `se`.")
@click.option("--model", "model", type=click.Choice(["mnl", "mixed", "latent", "hb"]), default="mnl",
              show_default=True, help="Conditional logit (mnl), mixed logit (mixed), latent class logit (latent) "
                                      "or hierarchical Bayes logit (hb).")
@click.option("--classes", help="Latent class: the number of classes, or a range such as 1-5 (fits each and "
                                "compares them).")
@click.option("--shared", help="Latent class: comma list of coefficients equal in every class.")
@click.option("--membership", help='Latent class: respondent covariates of class membership, e.g. "age_z + female".')
@click.option("--space", type=click.Choice(["pref", "wtp"]), default="pref", show_default=True,
              help="Preference space, or willingness-to-pay space (mnl, mixed): utility = scale x (-price + "
                   "WTP x attributes), the WTPs estimated directly; needs --price.")
@click.option("--price", help="--space wtp: the price column (or a numeric design attribute such as income).")
@click.option("--random", "random_", multiple=True,
              help="Mixed logit: NAME=DIST with DIST n, ln, -ln, t or u (repeatable or comma-separated); "
                   "with --space wtp the WTPs and `scale` (a bare `scale`: lognormal); HB: sign constraints "
                   "NAME=ln or NAME=-ln.")
@click.option("--correlated", help="Mixed logit: comma list of random coefficients to correlate, or 'all'.")
@click.option("--draws", type=Count(2, 1_000_000), default=1000, show_default=True,
              help="Mixed logit: simulation draws per respondent (2 to 1,000,000).")
@click.option("--draw-type", type=click.Choice(["halton", "sobol", "mlhs", "random"]), default="halton",
              show_default=True, help="Mixed logit: kind of draws.")
@click.option("--seed", type=SEED, default=None,
              help="Seed for every random step, 0 to 4294967295 (reported in the output).")
@click.option("--starts", type=Count(1, 1000), default=None,
              help="Latent class (default 10): starting points (1 to 1,000); mixed logit: the candidates of the "
                   "global search refined with the full draws (default 2), or, with --search 0, the starting "
                   "points (default 1). The best log-likelihood is kept and the spread reported.")
@click.option("--search", type=Count(0, 1000), default=None,
              help="Mixed logit (both spaces): candidates of the global search (default 8): each screened with "
                   "100 draws, the best --starts refined with the full draws; 0 switches the search off (one start "
                   "from the conditional logit).")
@click.option("--individual", type=OUTPUT,
              help="Mixed logit: conditional means per respondent; latent class: posterior class probabilities, "
                   "modal class and posterior-weighted coefficients; HB: posterior means per respondent (CSV).")
@click.option("--bootstrap", "n_boot", type=int, default=None,
              help="Respondent-level bootstrap with this many replicates: percentile and BCa intervals, kept in "
                   "the JSON for the bootstrap intervals of dce shares and dce wtp.")
@runner_options
@click.option("--output", "-o", type=OUTPUT,
              help="Write the results as JSON (atomically; also when the fit is unreliable, with converged: false).")
@click.option("--validation-output", type=OUTPUT,
              help="Survey export: write the validation report of the responses as JSON (for dce report).")
@hb_options
@format_option
@click.option("--quiet", "-q", is_flag=True, help="No progress display, only the results.")
@user_errors
def fit(data, formula, design_path, spec_path, id_col_s, block_col, answer_cols, codes, missing, interactions,
        model_file, alt, task, id_col, choice_col, avail, sheet, se, model, classes, shared, membership, space,
        price, random_, correlated, draws, draw_type, seed, starts, search, individual, n_boot, workers, scheduler,
        output, validation_output, fmt, quiet, **hb):
    """Estimate a choice model from DATA (CSV/TSV, .gz, Excel, SPSS, Stata or Parquet).

    \b
    Long data (one row per alternative):  --alt ALT --task TASK [--id ID]
    Wide data (one row per task):         attributes in columns price1, price2, ...

    \b
    Exit status: 0 estimates; 2 bad input (nothing written); 3 no reliable estimate (no convergence -
    for --model hb a population parameter's R-hat above 1.1; poorer mixing is a warning -, no finite
    maximum, a variable too extreme to estimate with): the tables and --output JSON are still
    written, with converged: false and the reason.
    """
    from dce.errors import DCEError

    survey = design_path is not None or spec_path is not None
    if survey and (design_path is None or spec_path is None):
        raise DCEError("a survey export needs both --design design.csv and --spec SPEC.yaml")
    if survey and (formula is not None or model_file is not None):
        raise DCEError("with --design/--spec the utility comes from the design: drop --formula/--model-file")
    if not survey and (formula is None) == (model_file is None):
        raise DCEError("give exactly one of --formula and --model-file (or --design and --spec)")
    if validation_output and not survey:
        raise DCEError("--validation-output: only a survey export (--design and --spec) has a validation report")
    from dce.cli.common import check_format, distinct_files

    check_format(fmt)
    if n_boot is not None and n_boot < 2:
        raise DCEError(f"--bootstrap: must be at least 2 replicates, not {n_boot}")
    from dce.cli.common import where_to_run

    workers, scheduler = where_to_run(workers, scheduler)
    distinct_files({"DATA": data, "--design": design_path, "--spec": spec_path, "--model-file": model_file},
                   {"--output": output, "--individual": individual, "--validation-output": validation_output})
    if model != "latent" and (classes or shared or membership):
        raise DCEError("--classes, --shared and --membership need --model latent")
    counts = _class_counts(classes) if model == "latent" else [None]
    from dce.cli._hb import check_options

    check_options(model, hb, n_boot=n_boot, scheduler=scheduler)
    from dce.util.seeds import resolve_seed

    seed = resolve_seed(seed)          # one seed for every fit of the command, reported in each
    if search is not None and model != "mixed":
        raise DCEError("--search needs --model mixed (the latent class model's search is its --starts)")
    progress = None if quiet or model == "mnl" else _progress_printer
    ests = [_estimator(model, se=se, random_=random_, correlated=correlated, draws=draws, draw_type=draw_type,
                       seed=seed, starts=starts, search=search, progress=progress, classes=k, shared=shared,
                       membership=membership, space=space, price=price, hb=hb)
            for k in counts]
    for est in ests:     # where the starts run (several starts only)
        est.workers, est.scheduler = workers, scheduler
    if individual and not hasattr(ests[0], "individual_means"):
        raise DCEError(f"--individual: the {ests[0].label.lower()} has no individual-level estimates")
    cdata, report, df = _choice_data(data, survey, sheet=sheet, formula=formula, model_file=model_file, alt=alt,
                                     task=task, id_col=id_col, choice_col=choice_col, avail=avail,
                                     design_path=design_path, spec_path=spec_path, id_col_s=id_col_s,
                                     block_col=block_col, answer_cols=answer_cols, codes=codes, missing=missing,
                                     interactions=interactions, price=price if space == "wtp" else None)
    from dce.cli.common import info_console, provenance

    inputs = (data, design_path, spec_path, model_file)
    con = info_console(fmt)
    if report is not None:
        _print_validation(report, con)
    results = []
    for k, est in zip(counts, ests):
        if membership:
            est.membership_data = df
        result = _fit_one(est, cdata, individual=_numbered(individual, k, len(counts)))
        if n_boot:
            _bootstrap(est, cdata, result, n_boot, workers, scheduler, quiet)
        if model == "hb":
            from dce.cli._hb import write_outputs

            write_outputs(est, hb)
        if cdata.spec.get("excluded"):
            result.summary.append(("rows excluded (exclude:)", f"{cdata.spec['excluded']:,}"))
        result.info["provenance"] = provenance(*inputs)
        if report is not None:
            result.info["validation"] = report.to_dict()
        _show(result, data, fmt, con)
        if output:
            result.save(_numbered(output, k, len(counts)))
        results.append(result)
    if len(results) > 1:
        _compare(results, fmt, con)
    if validation_output:
        from dce.util.io import write_json

        write_json(validation_output, {**report.to_dict(), "provenance": provenance(*inputs)})
    _exit_status(results, counts, output)


def _exit_status(results, counts, output):
    """Exit status 3 (with the reason) when a fit gave no reliable estimate; its outputs are written."""
    bad = [(k, r) for k, r in zip(counts, results) if not r.reliable]
    if not bad:
        return
    from dce.errors import UnreliableEstimate

    if len(results) == 1:
        written = f" ({output} written, with converged: false)" if output else ""
        raise UnreliableEstimate(f"no reliable estimate: {results[0].message}{written}")
    raise UnreliableEstimate(f"no reliable estimate for {len(bad)} of {len(results)} fits: "
                             + "; ".join(f"{k} classes: {r.message}" for k, r in bad))


def _fit_one(est, cdata, individual=None):
    """Fit one estimator (closing its progress display), writing its individual-level table if asked."""
    import numpy as np

    try:
        result = est.fit(cdata)
    finally:
        if est.callback is not None:
            est.callback.close()
    if individual and np.all(np.isfinite(result.estimates)):   # not for a fit that gave no estimates
        from dce.util.io import atomic_open

        table = est.individual_means(cdata)
        with atomic_open(individual, newline="") as fh:
            table.to_csv(fh, index=False)
    return result


def _show(result, source, fmt, con):
    """The fit's tables: the terminal report, or the tables in another format (warnings on stderr)."""
    from dce.cli.common import emit_tables, warn
    from dce.report.tables import fit_tables, print_fit

    if fmt == "text":
        print_fit(result, source=source, console=con)
        return
    emit_tables(fit_tables(result, source=source), fmt)
    for w in result.warnings:
        warn(con, "warning", w)


def _compare(results, fmt, con):
    from dce.cli.common import emit_tables
    from dce.report.render import print_table
    from dce.report.tables import comparison_table

    table = comparison_table(results)
    if fmt == "text":
        print_table(con, table)
    else:
        emit_tables([table], fmt)


def _class_counts(text):
    """``--classes``: ``3`` -> [3]; ``1-5`` -> [1, 2, 3, 4, 5]; default [2]."""
    import re

    from dce.errors import ArgumentError

    if text is None:
        return [2]
    m = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?", str(text))
    if not m:
        raise ArgumentError("classes", f"'{text}' is not a number of classes or a range such as 1-5")
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    if lo < 1 or hi < lo:
        raise ArgumentError("classes", f"'{text}': give at least 1 class, and a range from low to high")
    return list(range(lo, hi + 1))


def _numbered(path, k, n):
    """``lc.json`` -> ``lc.k2.json`` when several numbers of classes are fitted."""
    if not path or n == 1:
        return path
    import os

    stem, ext = os.path.splitext(path)
    return f"{stem}.k{k}{ext}"


def _bootstrap(est, cdata, result, n_boot, workers, scheduler, quiet):
    """Bootstrap the fit over respondents (seed: the fit's) and keep it in the result."""
    from dce.cli.common import ProgressBar
    from dce.models.bootstrap import attach, bootstrap

    with ProgressBar("bootstrap replicates", enabled=not quiet) as bar:
        boot = bootstrap(est, cdata, result, n_boot, seed=est.seed_, workers=workers, scheduler=scheduler,
                         progress=bar)
    attach(result, boot)


def _estimator(model, se, random_, correlated, draws, draw_type, seed, starts, progress, classes=None, shared=None,
               membership=None, space="pref", price=None, hb=None, search=None):
    """The estimator of ``--model`` with the command's options; the model checks them (one place)."""
    import os

    from dce.errors import DCEError
    from dce.models import model_class

    threads = os.environ.get("DCE_THREADS") or os.environ.get("NUMBA_NUM_THREADS") or None
    backend = os.environ.get("DCE_MIXED_BACKEND", "auto")
    common = dict(se=se, seed=seed, callback=progress() if progress else None)
    if model not in ("mixed", "hb") and random_:
        raise DCEError("--random needs --model mixed (or hb)")
    family = model
    if space == "wtp":
        from dce.errors import ArgumentError

        if model not in ("mnl", "mixed"):
            raise DCEError("--space wtp: willingness-to-pay space is for --model mnl or mixed")
        if not price:
            raise ArgumentError("price", "--space wtp needs the price column (or numeric attribute), e.g. --price pf")
        family, common["price"] = f"{model}_wtp", price
    elif price:
        raise DCEError("--price needs --space wtp")
    if model == "hb":
        from dce.cli._hb import hb_estimator

        return hb_estimator(random_, correlated, seed, progress, backend, hb)
    if model == "mnl":
        return model_class(family)(**common)
    if model == "latent":
        shared = [s.strip() for s in (shared or "").split(",") if s.strip()]
        return model_class("latent")(classes=classes, shared=shared, membership=membership, starts=starts, **common)
    corr = None
    if correlated:
        corr = "all" if correlated.strip() == "all" else [c.strip() for c in correlated.split(",") if c.strip()]
    return model_class(family)(random=parse_random(random_), correlated=corr, draws=draws, draw_type=draw_type,
                                starts=starts, search=search, threads=threads, backend=backend, **common)


def _choice_data(data, survey, sheet, formula, model_file, alt, task, id_col, choice_col, avail, design_path,
                 spec_path, id_col_s, block_col, answer_cols, codes, missing, interactions, price=None):
    """The ChoiceData of the command's input (and the validation report of a survey export)."""
    from dce.data.readers import read_table

    df = read_table(data, sheet=sheet, value_labels=survey)
    if survey:
        from dce.data.survey import choice_data_from_survey, parse_codes, parse_interactions, strip_qualtrics
        from dce.design.io import read_design_csv
        from dce.design.spec import load_design_spec

        df = strip_qualtrics(df)
        spec = load_design_spec(spec_path)
        design = read_design_csv(design_path, spec)
        with open(spec_path, encoding="utf-8") as fh:
            spec_text = fh.read()
        cdata, report = choice_data_from_survey(
            df, design, source=data, id_col=id_col_s, block_col=block_col, answer_cols=answer_cols,
            codes=parse_codes(codes), missing=missing, interactions=parse_interactions(interactions),
            design_source=design_path, spec_text=spec_text)
        return cdata, report, df
    if model_file is not None:
        from dce.data.modelfile import choice_data_from_model_file

        return choice_data_from_model_file(model_file, df, source=data, id_col=id_col), None, df
    from dce.data.build import choice_data_from_formula

    if price is not None:   # willingness-to-pay space: the price is a term of the formula
        from dce.models.wtp_space import price_formula

        formula = price_formula(formula, price, df, source=data)
    return choice_data_from_formula(df, formula, source=data, alt=alt, task=task, id_col=id_col,
                                    choice_col=choice_col, avail=avail), None, df


class _progress_printer:
    """Live progress of a long fit (iteration, log-likelihood, gradient norm, elapsed) on stderr."""

    def __init__(self):
        self._live = None

    def __call__(self, iteration, loglik, grad_norm, elapsed, label=""):
        if self._live is None:   # started at the first iteration: nothing shows while data are read
            from rich.live import Live

            from dce.cli.common import console

            self._live = Live("", console=console(stderr=True), transient=True, refresh_per_second=8)
            self._live.start()
        self._live.update(f"{label}iteration {iteration:4d}  log-likelihood {loglik:14.4f}  "
                          f"|gradient| {grad_norm:10.3g}  {elapsed:7.1f} s")

    def close(self):
        if self._live is not None:
            self._live.stop()
            self._live = None


def _print_validation(report, con):
    from dce.report.tables import print_validation

    print_validation(report.to_dict(), con)
