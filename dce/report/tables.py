"""Terminal reports: the estimates table and fit summary of a model, shares and WTP tables.

Every table is built as data (:class:`dce.tables.Table`) from a result's numbers and names and
rendered by :mod:`dce.report.render`; the layout follows Biogeme's and Apollo's reports.
"""
from __future__ import annotations

import math
import re
from statistics import NormalDist

import numpy as np

from dce.report.console import console as make_console
from dce.report.console import warn
from dce.report.render import print_table, to_rich
from dce.tables import Column, Table


def estimates_table(result, source="") -> Table:
    """Estimates with s.e., z, p and the 95% interval (:meth:`dce.models.results.ModelResult.estimates_table`)."""
    return result.estimates_table(source)


def summary_rows(result) -> list:
    """The fit summary as (label, text) rows."""
    rows = [
        ("tasks", f"{result.n_tasks:,}"),
        ("respondents", f"{result.n_respondents:,}"),
        ("parameters", f"{result.n_params}"),
        ("log-likelihood", f"{result.loglik:.3f}"),
        ("null log-likelihood", f"{result.loglik_null:.3f}"),
        ("rho-squared", f"{result.rho2:.4f}"),
        ("adjusted rho-squared", f"{result.rho2_adj:.4f}"),
        ("AIC", f"{result.aic:.2f}"),
        ("BIC", f"{result.bic:.2f}"),
        ("iterations", f"{result.iterations}"),
        ("convergence", ("yes" if result.converged else "NO") + f" ({result.message})"),
        ("gradient norm", f"{result.grad_norm:.3g}"),
        ("seconds", f"{result.seconds:.2f}"),
    ]
    if result.bayesian:       # a sampler's mean in-sample LL of individual coefficients: no AIC/BIC (RLH instead)
        rows = [(("mean posterior log-likelihood", v) if k == "log-likelihood" else (k, v)) for k, v in rows
                if k not in ("AIC", "BIC", "rho-squared", "adjusted rho-squared")]
    return rows + [(str(k), str(v)) for k, v in result.fit_rows]


def summary_table(result) -> Table:
    """The fit summary as a table of raw numbers (:meth:`dce.models.results.ModelResult.fit_table`)."""
    return result.fit_table()


def fit_tables(result, source="") -> list:
    """Every table of a fit: estimates, the model's own tables, the fit summary (:meth:`ModelResult.summary`)."""
    return list(result.summary(source))


def validation_table(v: dict) -> Table:
    """Counts of a survey export's validation report (its ``to_dict()``)."""
    return Table("Survey responses: validation", [Column("check"), Column("count", "int")], [
        ["respondents read", v["respondents_read"]], ["respondents used", v["respondents_used"]],
        ["tasks read", v["tasks_read"]], ["tasks used", v["tasks_used"]],
        ["missing answers (dropped)", v["missing_answers"]],
        ["always chose the status quo", len(v["always_status_quo"])],
        ["always opted out", len(v.get("always_opt_out") or [])],
        ["always chose the same designed alternative (1, 2, ...)", len(v["always_same_position"])]],
        key="validation")


def print_validation(v: dict, console) -> None:
    """The validation table of a survey export (its ``to_dict()``), then its problems (the first ten)
    and quality checks as warnings."""
    print_table(console, validation_table(v))
    problems = v["problems"]
    for p in problems[:10]:
        warn(console, "warning", f"respondent {p['respondent']}, column '{p['column']}': {p['kind']} ({p['detail']})")
    if len(problems) > 10:
        warn(console, "warning", f"... and {len(problems) - 10} more problems (all in the JSON 'validation')")
    for label, ids in (("always chose the status quo", v["always_status_quo"]),
                       ("always opted out", v.get("always_opt_out") or []),
                       ("always chose the same designed alternative", v["always_same_position"])):
        if ids:
            head = ", ".join(map(str, ids[:10])) + (" ..." if len(ids) > 10 else "")
            warn(console, "quality check", f"{len(ids)} respondents {label}: {head}")


def print_fit(result, source="", console=None):
    """Estimates, the model's own tables, the fit summary and the warnings of a result."""
    from rich.table import Table as RichTable
    from rich.text import Text

    con = console or make_console()
    est = estimates_table(result, source)
    con.print(to_rich(est, con.width))
    for note in est.notes:
        con.print(Text(note, style="dim"))
    for table in result.tables:
        print_table(con, table)
    s = RichTable(show_header=False, box=None, pad_edge=False)
    s.add_column(style="dim")
    s.add_column(justify="right")
    for k, v in summary_rows(result):
        s.add_row(Text(k), Text(v))
    con.print(s)
    for w in result.warnings:
        warn(con, "warning", w)


def _segment_cell(r):
    return f"{r['segment']} ({100 * r['segment_share']:.1f}%)" if "segment" in r else "all"


def shares_table(rows, title, level, by=None) -> Table:
    """Shares preferring each scenario (fractions) with their intervals; a ``segment`` column (with the
    segment's share of respondents) when the model has segments (latent classes)."""
    pct = int(round(level * 100))
    seg = any("segment" in r for r in rows)
    cols = ([Column(str(by))] if by else []) + ([Column("segment")] if seg else []) + [
        Column("scenario"), Column("share", "pct1"), Column(f"{pct}% CI", "pct_ci")]
    return Table(title, cols, [([r["group"]] if by else []) + ([_segment_cell(r)] if seg else [])
                               + [r["name"], r["share"], [r["ci_low"], r["ci_high"]]] for r in rows], key="shares")


def wtp_tables(rows, imp, cost, source, level) -> list:
    """WTP with delta and Krinsky-Robb intervals, its distribution where coefficients vary, importance."""
    pct = int(round(level * 100))
    seg = any("segment" in r for r in rows)
    boot = any("boot_low" in r for r in rows)
    out = [Table(f"Willingness to pay, in units of '{cost}' ({source})",
                 ([Column("segment")] if seg else []) + [
                     Column("coefficient"), Column("WTP", "g4"), Column("s.e.", "g4"),
                     Column(f"{pct}% CI (delta)", "g4_ci"), Column(f"{pct}% CI (K-R)", "g4_ci")]
                 + ([Column(f"{pct}% CI (bootstrap)", "g4_ci")] if boot else []),
                 [([_segment_cell(r)] if seg else []) + [r["name"], r["wtp"], r["se"], [r["delta_low"], r["delta_high"]],
                                                        [r["kr_low"], r["kr_high"]]]
                  + ([[r.get("boot_low"), r.get("boot_high")]] if boot else []) for r in rows], key="wtp")]
    dist = [r for r in rows if "distribution" in r]
    if dist:
        out.append(Table("Distribution over respondents", [Column("coefficient")] + [
            Column(h, "g4") for h in ("mean", "median", "5%", "95%")],
            [[r["name"]] + [r["distribution"][k] for k in ("mean", "median", "q05", "q95")] for r in dist],
            key="wtp_distribution"))
    out.append(Table("Relative attribute importance (utility range over the levels)",
                     [Column("attribute"), Column("range", "g4"), Column("importance", "pct1")],
                     [[i["attribute"], i["range"], i["importance"]] for i in imp], key="importance"))
    return out


def simple_table(title, header, rows):
    """A rich table from a title, column names and rows of already formatted text cells (for callers
    not yet on :class:`~dce.tables.Table`).  Numeric-looking columns are right-aligned, unwrapped."""
    from rich import box
    from rich.table import Table as RichTable
    from rich.text import Text

    rows = [list(r) for r in rows]
    t = RichTable(title=Text(str(title), style="table.title"), title_justify="left", box=box.SIMPLE_HEAD)
    for i, h in enumerate(header):
        cells = [r[i] for r in rows if i < len(r)]
        numeric = i > 0 and _numeric_column(cells)
        width = max([len(str(c)) for c in cells] + [len(str(h))])
        t.add_column(Text(str(h)), justify="right" if numeric else "left", style="bold" if i == 0 else None,
                     no_wrap=numeric, overflow="fold", min_width=None if numeric else min(width, 18))
    for r in rows:
        t.add_row(*[c if isinstance(c, Text) else Text(str(c)) for c in r])
    return t


_NUMERIC_CELL = None


def _numeric_column(cells):
    """Whether a column of text cells holds numbers (figures, percentages, intervals)."""
    global _NUMERIC_CELL
    if _NUMERIC_CELL is None:
        _NUMERIC_CELL = re.compile(r"^[\s\-+0-9.,%eE\[\]()<>/x]*$|^(nan|inf|-|—|yes|no)$")
    return all(_NUMERIC_CELL.match(str(c).strip()) for c in cells)


def power_tables(d) -> list:
    """The tables of a power analysis (the JSON of `dce power`): power by size with the sample sizes for
    80% and 90% power beside the analytic ones, then the simulation's figures per target and size."""
    sizes = d["sizes"]
    level = 1 - float(d.get("alpha", 0.05))
    pct = f"{100 * level:g}%"
    targets = d["targets"]
    summary = Table(f"Power by number of respondents ({d.get('replications')} replications each, SIMULATED)",
                    [Column("target"), Column("truth", "g4")] + [Column(f"n = {n}", "pct1") for n in sizes]
                    + [Column("n for 80%", "int"), Column("n for 90%", "int"), Column("analytic n80", "int"),
                       Column("S-estimate", "int")],
                    [[t["name"], t.get("truth")] + list(t["power"])
                     + [t.get("n80"), t.get("n90"), t.get("analytic_n80"), t.get("s_estimate")] for t in targets],
                    key="power")
    summary.notes.append(
        f"power: share of ALL replications rejecting the null ({_null_text(d)}) at alpha = {d.get('alpha')} with "
        "the sign of the truth (a failed fit counts as not rejecting); n for 80%/90%: interpolated between the "
        "sizes tried (- : not reached); analytic n80 and S-estimate (Ngene's: |truth| / s.e. = "
        f"{_z(d):.2f}) from the design's conditional-logit information at the truth")
    if any(t.get("kind") == "spread" for t in targets):
        summary.notes.append("sd.NAME: the spread (standard deviation) of a random coefficient over respondents, "
                             "tested against 0; its truth is the truth file's sd")
    if d.get("misspecified"):
        summary.notes.append(d["misspecified"])
    first = [t for t in targets if t.get("n80") is not None and t["n80"] == sizes[0] and t["power"][0] >= 0.8]
    if first:
        summary.notes.append(f"n for 80% = {sizes[0]}: already reached at the smallest size tried")
    width = any("mean_ci_width" in t for t in targets)
    detail = Table("Simulation by target and number of respondents",
                   [Column("target"), Column("respondents", "int"), Column("power", "pct1"),
                    Column("analytic", "pct1"), Column("mean s.e.", "g4"), Column("bias", "g4"),
                    Column(f"{pct} coverage", "pct1")]
                   + ([Column("mean CI width", "g4")] if width else []) + [Column("failed fits", "int")],
                   [], key="power_detail")
    for t in targets:
        ap = t.get("analytic_power") or [None] * len(sizes)
        for s, n in enumerate(sizes):
            detail.add_row(t["name"], n, t["power"][s], ap[s], t["mean_se"][s], t["bias"][s], t["coverage"][s],
                           *([t["mean_ci_width"][s]] if width else []), d["failed"][s])
    detail.notes.append("mean s.e., bias and coverage over the fits that succeeded; bias: mean estimate - truth")
    return [summary, detail]


def _z(d):
    return NormalDist().inv_cdf(1 - float(d.get("alpha", 0.05)) / 2)


def _null_text(d):
    kind = d.get("target", "coefficients")
    if kind == "shares":
        nulls = {t.get("null") for t in d["targets"]}
        return "share = " + ", ".join(f"{100 * v:.1f}%" for v in sorted(v for v in nulls if v is not None))
    return "0"


def comparison_table(results) -> Table:
    """Models side by side (the classes of a latent class model, say): log-likelihood, parameters, AIC, BIC
    and CAIC, entropy R-squared and the smallest class share.  BIC and CAIC use one sample size, the
    number of respondents (as panel latent class practice does: the respondent is the unit of sampling),
    and the model each criterion prefers is marked."""
    t = Table("Model comparison", [Column("model"), Column("classes", "int"), Column("LL", "f3"),
                                   Column("P", "int"), Column("AIC", "f2"), Column("BIC", "f2"),
                                   Column("CAIC", "f2"), Column("entropy R²", "f4"),
                                   Column("min share", "pct1"), Column("preferred by")], key="comparison")
    rows, crit = [], []
    for r in results:
        segs = r.segment_draws(n_draws=2, seed=0)
        logn = math.log(max(r.n_respondents, 1))
        bic = -2 * r.loglik + r.n_params * logn
        caic = -2 * r.loglik + r.n_params * (logn + 1)
        crit.append((r.aic, bic, caic))
        rows.append([r.label, len(segs) or 1, r.loglik, r.n_params, r.aic, bic, caic,
                     r.info.get("entropy_r2"), min((s[1] for s in segs), default=1.0)])
    best = [int(np.nanargmin([c[i] for c in crit])) if crit else -1 for i in range(3)]
    for i, row in enumerate(rows):
        t.add_row(*row, ", ".join(n for n, b in zip(("AIC", "BIC", "CAIC"), best) if b == i) or "")
    n_resp = sorted({r.n_respondents for r in results})
    t.notes.append("P parameters; N = respondents (" + ", ".join(f"{n:,}" for n in n_resp) + ") for both BIC "
                   "(-2 LL + P ln N) and CAIC (-2 LL + P (ln N + 1)): in a panel the respondent, not the "
                   "choice task, is the unit of sampling; lower is better, 'preferred by' marks each "
                   "criterion's choice; min share: the smallest class")
    if len(n_resp) > 1 or len({r.n_tasks for r in results}) > 1:
        t.notes.append("the models are not fitted to the same choices: their criteria are not comparable")
    return t
