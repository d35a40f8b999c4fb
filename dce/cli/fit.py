"""`dce fit`: estimate a conditional or mixed logit and print the table a referee expects."""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field, fields

import click

from dce.cli._hb import check_options, hb_estimator, hb_options, write_outputs
from dce.cli.common import (OUTPUT, SEED, Count, ProgressBar, check_format, console, distinct_files, emit_tables,
                            format_option, info_console, parse_random, provenance, runner_options, user_errors,
                            warn, where_to_run)
from dce.errors import ArgumentError, DCEError, UnreliableEstimate
from dce.models import model_class
from dce.util.io import atomic_open, write_json
from dce.util.seeds import resolve_seed


@click.command()
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--formula", "-f", help='Model formula, e.g. "choice ~ price + time + C(brand)".')
@click.option("--design", "design_path", type=click.Path(dir_okay=False),
              help="Survey export mode: the design CSV the respondents answered.")
@click.option("--spec", "spec_path", type=click.Path(dir_okay=False),
              help="Survey export mode: the design YAML (coding of the attributes).")
@click.option("--id-col", "id_col_s", default=None, hidden=True,
              help="Deprecated spelling of --id (survey export); to be removed in the next release.")
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
@click.option("--id", "id_col", help="The respondent id column (panels, clustered s.e.; a survey export: "
                                     "default 'id').")
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
              help="Mixed logit: simulation draws of the random coefficients per respondent, for the simulated "
                   "likelihood (2 to 1,000,000).")
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
def fit(data, **options):
    """Estimate a choice model from DATA (CSV/TSV, .gz, Excel, SPSS, Stata or Parquet).

    \b
    Long data (one row per alternative): --alt ALT --task TASK [--id ID]
    Wide data (one row per task):        attributes in columns price1, price2...
    Survey export (one row per respondent): --design design.csv --spec SPEC.yaml

    \b
    Exit status: 0 estimates; 2 bad input (nothing written);
    3 no reliable estimate (no convergence - for --model hb a population
    parameter's R-hat above 1.1; poorer mixing is a warning -, no finite
    maximum, a variable too extreme to estimate with): the tables and the
    --output JSON are still written, with converged: false and the reason.
    """
    src = _take(Source, options, data=data)
    opt = _take(ModelOptions, options)
    out = _take(Outputs, options)
    opt.hb = options                  # what is left: the options of hb_options
    _check(src, opt, out)
    seed = resolve_seed(opt.seed)     # one seed for every fit of the command, reported in each
    counts = _class_counts(opt.classes) if opt.model == "latent" else [None]
    progress = None if out.quiet or opt.model == "mnl" else _progress_printer
    ests = [_estimator(opt, seed, progress, classes=k) for k in counts]
    for est in ests:     # where the starts run (several starts only)
        est.workers, est.scheduler = out.workers, out.scheduler
    if out.individual and not hasattr(ests[0], "individual_means"):
        raise DCEError(f"--individual: the {ests[0].label.lower()} has no individual-level estimates")
    cdata, report, df = _choice_data(src, price=opt.price if opt.space == "wtp" else None)
    inputs = (src.data, src.design_path, src.spec_path, src.model_file)
    con = info_console(out.fmt)
    if report is not None:
        _print_validation(report, con)
    with _saying_compiling(out.quiet):
        results = [_fit_and_show(est, k, len(counts), cdata, report, df, opt, out, inputs, con)
                   for k, est in zip(counts, ests)]
    if len(results) > 1:
        _compare(results, out.fmt, con)
    if out.validation_output:
        write_json(out.validation_output, {**report.to_dict(), "provenance": provenance(*inputs)})
    _exit_status(results, counts, out.output)


@dataclass
class Source:
    """Where the choices come from: a data file read with a formula or a model file, or a survey export
    read with its design."""

    data: str
    sheet: str | None
    formula: str | None
    model_file: str | None
    alt: str | None
    task: str | None
    id_col: str | None
    choice_col: str | None
    avail: str | None
    design_path: str | None
    spec_path: str | None
    id_col_s: str
    block_col: str
    answer_cols: str
    codes: str | None
    missing: str
    interactions: str | None

    @property
    def survey(self) -> bool:
        return self.design_path is not None or self.spec_path is not None


@dataclass
class ModelOptions:
    """Which model, and how it is estimated (the defaults of `dce fit`)."""

    model: str = "mnl"
    se: str = "classical"
    classes: str | None = None
    shared: str | None = None
    membership: str | None = None
    space: str = "pref"
    price: str | None = None
    random_: tuple = ()
    correlated: str | None = None
    draws: int = 1000
    draw_type: str = "halton"
    seed: int | None = None
    starts: int | None = None
    search: int | None = None
    hb: dict = field(default_factory=dict)


@dataclass
class Outputs:
    """What the command writes and shows, and where its replications run."""

    individual: str | None
    n_boot: int | None
    output: str | None
    validation_output: str | None
    fmt: str
    quiet: bool
    workers: int | None
    scheduler: str | None


def _take(cls, options: dict, **given):
    """An option group: the fields of ``cls`` taken out of ``options`` (click's keyword arguments)."""
    names = [f.name for f in fields(cls) if f.name not in given and f.name in options]
    return cls(**given, **{n: options.pop(n) for n in names})


def _check(src, opt, out):
    """The options that go together, before any work; the output paths are checked against the inputs."""
    if src.survey and (src.design_path is None or src.spec_path is None):
        raise DCEError("a survey export needs both --design design.csv and --spec SPEC.yaml")
    if src.survey and (src.formula is not None or src.model_file is not None):
        raise DCEError("with --design/--spec the utility comes from the design: drop --formula/--model-file")
    if not src.survey and (src.formula is None) == (src.model_file is None):
        raise DCEError("give exactly one of --formula and --model-file (or --design and --spec)")
    if out.validation_output and not src.survey:
        raise DCEError("--validation-output: only a survey export (--design and --spec) has a validation report")
    check_format(out.fmt)
    if out.n_boot is not None and out.n_boot < 2:
        raise DCEError(f"--bootstrap: must be at least 2 replicates, not {out.n_boot}")
    out.workers, out.scheduler = where_to_run(out.workers, out.scheduler)
    distinct_files({"DATA": src.data, "--design": src.design_path, "--spec": src.spec_path,
                    "--model-file": src.model_file},
                   {"--output": out.output, "--individual": out.individual,
                    "--validation-output": out.validation_output})
    if opt.model != "latent" and (opt.classes or opt.shared or opt.membership):
        raise DCEError("--classes, --shared and --membership need --model latent")
    if opt.search is not None and opt.model != "mixed":
        raise DCEError("--search needs --model mixed (the latent class model's search is its --starts)")
    if opt.model == "latent":
        _class_counts(opt.classes)
    check_options(opt.model, opt.hb, n_boot=out.n_boot, scheduler=out.scheduler)


def _fit_and_show(est, k, n, cdata, report, df, opt, out, inputs, con):
    """One fit of the command (one number of classes): fitted, bootstrapped, shown and written."""
    if opt.membership:
        est.membership_data = df
    result = _fit_one(est, cdata, individual=_numbered(out.individual, k, n))
    if out.n_boot:
        _bootstrap(est, cdata, result, out.n_boot, out.workers, out.scheduler, out.quiet)
    if opt.model == "hb":
        write_outputs(est, opt.hb)
    if cdata.spec.get("excluded"):
        result.fit_rows.append(("rows excluded (exclude:)", f"{cdata.spec['excluded']:,}"))
    result.info["provenance"] = provenance(*inputs)
    if report is not None:
        result.info["validation"] = report.to_dict()
    _show(result, inputs[0], out.fmt, con)
    if out.output:
        result.save(_numbered(out.output, k, n))
    return result


@contextlib.contextmanager
def _saying_compiling(quiet):
    """While the fits run: a numba kernel that has to be compiled first (a machine's first mixed or HB fit)
    says so in one line on stderr, told by the fit when it comes to compile (:func:`dce.util.jit.
    set_compile_notice`; nothing with ``--quiet``): one mechanism, told when numba compiles.  No look at
    numba's cache beforehand, which imported numba before the fit's clock started (outside ``--quiet``)."""
    from dce.util.jit import set_compile_notice

    if not quiet:
        set_compile_notice(lambda what: click.echo(f"compiling the {what} kernel: once per machine, a few "
                                                   "seconds (`dce warm-up` does it ahead of time)", err=True))
    try:
        yield
    finally:
        set_compile_notice(None)


def _exit_status(results, counts, output):
    """Exit status 3 (with the reason) when a fit gave no reliable estimate; its outputs are written."""
    bad = [(k, r) for k, r in zip(counts, results) if not r.reliable]
    if not bad:
        return
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
        for display in (est.callback, getattr(est, "progress", None)):
            if display is not None:
                display.close()
    if individual and np.all(np.isfinite(result.estimates)):   # not for a fit that gave no estimates
        table = est.individual_means(cdata)
        with atomic_open(individual, newline="") as fh:
            table.to_csv(fh, index=False)
    return result


def _show(result, source, fmt, con):
    """The fit's tables: the terminal report, or the tables in another format (warnings on stderr)."""
    from dce.report.tables import fit_tables, print_fit

    if fmt == "text":
        print_fit(result, source=source, console=con)
        return
    emit_tables(fit_tables(result, source=source), fmt)
    for w in result.warnings:
        warn(con, "warning", w)


def _compare(results, fmt, con):
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
    stem, ext = os.path.splitext(path)
    return f"{stem}.k{k}{ext}"


def _bootstrap(est, cdata, result, n_boot, workers, scheduler, quiet):
    """Bootstrap the fit over respondents (seed: the fit's) and keep it in the result."""
    from dce.models.bootstrap import attach, bootstrap

    with ProgressBar("bootstrap replicates", enabled=not quiet) as bar:
        boot = bootstrap(est, cdata, result, n_boot, seed=est.seed_, workers=workers, scheduler=scheduler,
                         progress=bar)
    attach(result, boot)


def _estimator(opt, seed, progress, classes=None):
    """The estimator of ``--model`` with the command's options; the model checks them (one place)."""
    model, se, random_, correlated = opt.model, opt.se, opt.random_, opt.correlated
    space, price, shared = opt.space, opt.price, opt.shared

    threads = os.environ.get("DCE_THREADS") or os.environ.get("NUMBA_NUM_THREADS") or None
    backend = os.environ.get("DCE_MIXED_BACKEND", "auto")
    common = dict(se=se, seed=seed, callback=progress() if progress else None)
    if model not in ("mixed", "hb") and random_:
        raise DCEError("--random needs --model mixed (or hb)")
    family = model
    if space == "wtp":
        if model not in ("mnl", "mixed"):
            raise DCEError("--space wtp: willingness-to-pay space is for --model mnl or mixed")
        if not price:
            raise ArgumentError("price", "--space wtp needs the price column (or numeric attribute), e.g. --price pf")
        family, common["price"] = f"{model}_wtp", price
    elif price:
        raise DCEError("--price needs --space wtp")
    if model == "hb":
        return hb_estimator(random_, correlated, seed, progress, backend, opt.hb)
    if model == "mnl":
        return model_class(family)(**common)
    cls = model_class(family)
    if progress and (opt.starts or cls.default_starts) > 1:
        # several starts: a bar of the starts (they may run in other processes), not the iterations
        what = f"{cls.label}{f', {classes} classes' if classes else ''}: starts"
        common.update(callback=None, progress=ProgressBar(what))
    if model == "latent":
        shared = [s.strip() for s in (shared or "").split(",") if s.strip()]
        return cls(classes=classes, shared=shared, membership=opt.membership, starts=opt.starts, **common)
    corr = None
    if correlated:
        corr = "all" if correlated.strip() == "all" else [c.strip() for c in correlated.split(",") if c.strip()]
    return model_class(family)(random=parse_random(random_), correlated=corr, draws=opt.draws,
                                draw_type=opt.draw_type, starts=opt.starts, search=opt.search,
                                threads=threads, backend=backend, **common)


def _survey_id(src):
    """The respondent id column of a survey export: --id (default 'id'); --id-col, its old spelling,
    still works for one release with a warning."""
    if src.id_col_s is None:
        return src.id_col or "id"
    if src.id_col is not None and src.id_col != src.id_col_s:
        raise DCEError(f"--id {src.id_col} and --id-col {src.id_col_s}: give one (--id-col is the old name of --id)")
    click.echo("warning: --id-col is deprecated and will be removed in the next release: use --id", err=True)
    return src.id_col_s


def _choice_data(src, price=None):
    """The ChoiceData of the command's input (and the validation report of a survey export)."""
    from dce.data.readers import read_table

    data, model_file, formula = src.data, src.model_file, src.formula
    df = read_table(data, sheet=src.sheet, value_labels=src.survey)
    if src.survey:
        from dce.data.survey import choice_data_from_survey, parse_codes, parse_interactions, strip_qualtrics
        from dce.design.io import read_design_csv
        from dce.design.spec import load_design_spec

        design_path, spec_path = src.design_path, src.spec_path
        df = strip_qualtrics(df)
        spec = load_design_spec(spec_path)
        design = read_design_csv(design_path, spec)
        with open(spec_path, encoding="utf-8") as fh:
            spec_text = fh.read()
        cdata, report = choice_data_from_survey(
            df, design, source=data, id_col=_survey_id(src), block_col=src.block_col, answer_cols=src.answer_cols,
            codes=parse_codes(src.codes), missing=src.missing, interactions=parse_interactions(src.interactions),
            design_source=design_path, spec_text=spec_text)
        return cdata, report, df
    if model_file is not None:
        from dce.data.modelfile import choice_data_from_model_file

        return choice_data_from_model_file(model_file, df, source=data, id_col=src.id_col), None, df
    from dce.data.build import choice_data_from_formula

    if price is not None:   # willingness-to-pay space: the price is a term of the formula
        from dce.models.wtp_space import price_formula

        formula = price_formula(formula, price, df, source=data)
    return choice_data_from_formula(df, formula, source=data, alt=src.alt, task=src.task, id_col=src.id_col,
                                    choice_col=src.choice_col, avail=src.avail), None, df


class _progress_printer:
    """Live progress of a long fit (iteration, log-likelihood, gradient norm, elapsed) on stderr."""

    def __init__(self):
        self._live = None

    def __call__(self, iteration, loglik, grad_norm, elapsed, label=""):
        if self._live is None:   # started at the first iteration: nothing shows while data are read
            from rich.live import Live

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
