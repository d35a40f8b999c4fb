"""The sections of the study report, built from the checked JSON inputs (:mod:`dce.report.inputs`).

Each builder returns a :class:`Section`: an anchor, a title and blocks (tables as
:class:`~dce.tables.Table`, figures as :class:`~dce.report.figures.Figure`, paragraphs, lists).
Nothing here branches on the kind of model: a model section shows the generic fields of the model JSON
(the estimates table `dce fit` prints, fit, convergence), every table in its ``tables`` list, every
scalar model-specific field (draws, seed, starts, ...), and figures of what the model's own class says
about its coefficients (:meth:`~dce.models.results.ModelResult.segment_draws` as segment profiles, else
:meth:`~dce.models.results.ModelResult.coefficient_draws` as a histogram per coefficient that varies;
nothing for fixed coefficients).  Shares and WTP tables are those `dce shares` and `dce wtp` print.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from dce.data.coding import coding_for
from dce.errors import DCEError
from dce.models.results import CORE_KEYS as RESULT_KEYS
from dce.models.results import SE_LABEL
from dce.report import figures as F
from dce.report.design_tables import design_tables
from dce.report.tables import estimates_table as terminal_table
from dce.report.tables import shares_table, wtp_tables
from dce.tables import Column, Table, cell

# top-level model JSON keys shown by the generic parts of a model section (everything else is model-specific)
CORE_KEYS = RESULT_KEYS | {"label", "validation", "provenance"}


@dataclass
class Section:
    id: str
    title: str
    blocks: list = field(default_factory=list)

    def table(self, t: Table):
        self.blocks.append({"kind": "table", "table": t})

    def figure(self, f):
        self.blocks.append({"kind": "figure", "figure": f})

    def text(self, s: str, cls: str = ""):
        self.blocks.append({"kind": "text", "text": s, "cls": cls})

    def items(self, items, cls: str = ""):
        if items:
            self.blocks.append({"kind": "list", "items": list(items), "cls": cls})

    def heading(self, s: str, anchor: str = ""):
        self.blocks.append({"kind": "h3", "text": s, "id": anchor})


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "x"


def model_label(m) -> str:
    """The model family's title: the registry's class label, else the JSON ``label``, else the key."""
    try:
        return str(m.result.label)
    except DCEError:    # a family this dce does not know: shown by its key
        return str(m.data.get("label") or m.data["model"])


# ------------------------------------------------------------------------------------------------ study
def study_section(models, design, validations) -> Section | None:
    """Respondents, tasks, alternatives and blocks, and the validation report of a survey export."""
    s = Section("study", "Study and data")
    rows = []
    if design is not None:
        d = design.data
        rows += [["design", d.get("design", "")], ["tasks in the design", cell(d.get("tasks"), "int")],
                 ["blocks", cell(d.get("blocks"), "int")],
                 ["tasks per block", ", ".join(map(str, d.get("tasks_per_block") or []))],
                 ["alternatives per task", _alternatives_text(d)]]
    for i, m in enumerate(models, 1):
        d = m.data
        tag = f" (model {i})" if len(models) > 1 else ""
        rows += [[f"respondents{tag}", cell(d.get("n_respondents"), "int")],
                 [f"choice tasks answered{tag}", cell(d.get("n_tasks"), "int")]]
        excluded = _summary_value(d, "rows excluded")
        if excluded is not None:
            rows.append([f"rows excluded{tag}", excluded])
    if rows:
        s.table(Table("Study summary", [Column("item"), Column("value")], rows, key="study_summary"))
    for v, source in validations:
        _validation_blocks(s, v, source)
    return s if s.blocks else None


def _alternatives_text(d) -> str:
    extra = [x for x in (d.get("status_quo"), d.get("opt_out")) if x]
    return f"{d.get('alternatives')}" + "".join(f" + {x}" for x in extra)


def _summary_value(d, prefix):
    for row in d.get("summary") or []:
        if isinstance(row, (list, tuple)) and len(row) == 2 and str(row[0]).startswith(prefix):
            return str(row[1])
    return None


def _validation_blocks(s: Section, v: dict, source: str):
    counts = [["respondents read", v.get("respondents_read")], ["respondents used", v.get("respondents_used")],
              ["tasks read", v.get("tasks_read")], ["tasks used", v.get("tasks_used")],
              ["missing answers", v.get("missing_answers")],
              ["always chose the status quo", len(v.get("always_status_quo") or [])],
              ["always opted out", len(v.get("always_opt_out") or [])],
              ["always chose the same designed alternative", len(v.get("always_same_position") or [])],
              ["problems found", len(v.get("problems") or [])]]
    s.table(Table(f"Survey responses: validation ({source})", [Column("check"), Column("count", "int")], counts,
                  key=f"validation_{slug(source)}"))
    problems = v.get("problems") or []
    if problems:
        shown = problems[:50]
        s.table(Table("Problems in the survey responses" + (f" (first 50 of {len(problems)})"
                                                              if len(problems) > 50 else ""),
                      [Column("respondent"), Column("column"), Column("kind"), Column("detail")],
                      [[p.get("respondent"), p.get("column"), p.get("kind"), p.get("detail")] for p in shown],
                      key=f"validation_problems_{slug(source)}"))
    for label, key in (("always chose the status quo", "always_status_quo"), ("always opted out", "always_opt_out"),
                       ("always chose the same designed alternative", "always_same_position")):
        ids = v.get(key) or []
        if ids:
            head = ", ".join(map(str, ids[:30])) + (" ..." if len(ids) > 30 else "")
            s.text(f"{len(ids)} respondents {label}: {head}", cls="warning")


# ------------------------------------------------------------------------------------------------ design
def design_section(design) -> Section:
    d = design.data
    s = Section("design", "Experimental design")
    s.text(f"Design '{d.get('design', '')}' read from {design.path}"
           + (f" (design file {d['design_csv']}, spec {d['spec']})" if d.get("design_csv") and d.get("spec") else "")
           + ".")
    for w in d.get("warnings") or []:
        s.text(f"warning: {w}", cls="warning")
    tables = design_tables(d)
    keyed = {t.key: t for t in tables}
    for key in ("design_attributes", "design_coding", "design_diagnostics", "design_s_efficiency"):
        if key in keyed:
            s.table(keyed[key])
    if "design_attributes" not in keyed:
        s.text("This design JSON lists no attributes (written by an older dce): the attributes and coding "
               "tables are left out.", cls="note")
    bal = d.get("level_balance") or {}
    if bal:
        names = list(bal)
        s.figure(F.level_heatmap("design-level-balance",
                                 "Level balance: how often each level appears over the designed alternatives "
                                 "(colour: count relative to a perfectly balanced design; 1 = balanced).",
                                 names, [list(bal[a]) for a in names], [list(bal[a].values()) for a in names]))
    for key in ("design_balance", "design_blocks"):
        if key in keyed:
            s.table(keyed[key])
    dom = d.get("dominance") or {}
    if dom:
        s.table(Table("Dominance", [Column("check"), Column("count", "int")],
                      [[k.replace("_", " "), v] for k, v in dom.items()], key="design_dominance"))
    corr = d.get("correlations") or {}
    if len(corr.get("names", [])) > 1:
        s.figure(F.correlation_heatmap("design-correlations", "Correlations of the coded attribute columns over "
                                       "the designed alternatives (columns numbered as the rows).",
                                       corr["names"], corr["matrix"]))
    return s


# ------------------------------------------------------------------------------------------------ models
def model_sections(models) -> Section:
    s = Section("models", "Models")
    for i, m in enumerate(models, 1):
        try:
            _model_blocks(s, i, m)
        except DCEError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as e:
            # the file passed the result's own checks, but a field the report reads has another shape
            raise DCEError(f"{m.path}: a field of this results file is malformed ({type(e).__name__}: {e})") from None
    return s


def _model_blocks(s: Section, i: int, m):
    d = m.data
    anchor = f"model-{i}"
    s.heading(f"Model {i}: {model_label(m)} ({m.name})", anchor)
    s.table(specification_table(m, i))
    coding = coding_table(d.get("spec") or {}, i)
    if coding is not None:
        s.table(coding)
    s.table(estimates_table(m, i))
    s.figure(_estimates_figure(m, i))
    s.table(fit_table(d, i))
    s.table(settings_table(d, i))
    for j, t in enumerate(d.get("tables") or [], 1):
        tt = Table.from_dict(t)
        tt.key = tt.key or f"model{i}_table{j}"
        tt.key = f"model{i}_{tt.key}" if not tt.key.startswith(f"model{i}_") else tt.key
        s.table(tt)
    fig = distribution_figure(m, i)
    if isinstance(fig, str):
        s.text(fig, cls="note")
    elif fig is not None:
        s.figure(fig)
    s.items([f"warning: {w}" for w in d.get("warnings") or []], cls="warning")


def specification_table(m, i) -> Table:
    d = m.data
    spec = d.get("spec") or {}
    rows = [["model", f"{model_label(m)} ({d['model']})"]]
    for k, v in spec.items():
        if k in ("names", "factors", "terms", "design_yaml", "covariate_profiles", "references", "covariates"):
            continue
        text = _short(v)
        if text is not None:
            rows.append([k.replace("_", " "), text])
    names = d.get("coef_names") or spec.get("names") or [p["name"] for p in d["params"]]
    rows.append(["utility coefficients", ", ".join(map(str, names))])
    if spec.get("covariates"):
        rows.append(["respondent covariates", ", ".join(
            f"{k} ({', '.join(map(str, c.get('levels', [])))})" if isinstance(c, dict) else str(k)
            for k, c in spec["covariates"].items())])
    rows.append(["standard errors", SE_LABEL.get(d.get("se_type"), str(d.get("se_type")))])
    return Table(f"Model {i}: specification", [Column("item"), Column("value")], rows, key=f"model{i}_spec")


def _short(v, limit=160):
    """A one-line text of a scalar, a list of scalars or a flat mapping; None for anything larger."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float, str)):
        t = str(v)
        return t if len(t) <= limit else None
    if isinstance(v, list) and all(isinstance(x, (int, float, str)) for x in v):
        t = ", ".join(map(str, v))
        return t if len(t) <= limit else None
    if isinstance(v, list) and all(isinstance(x, list) and all(isinstance(y, str) for y in x) for x in v):
        t = ", ".join(":".join(x) for x in v)
        return t if len(t) <= limit else None
    if isinstance(v, dict) and all(isinstance(x, (int, float, str, bool)) for x in v.values()):
        t = ", ".join(f"{k} = {x}" for k, x in v.items())
        return t if len(t) <= limit else None
    return None


def coding_table(spec: dict, i: int) -> Table | None:
    """How the attributes enter utility: a design's attribute coding, or a formula's factors."""
    try:
        rows = coding_for(spec).coding_rows()
    except Exception:  # noqa: BLE001 - a spec this dce cannot read: no coding table
        rows = []
    if not rows:
        return None
    return Table(f"Model {i}: coding of the attributes", [Column("attribute"), Column("coding"), Column("levels"),
                                                          Column("reference"), Column("columns")], rows,
                 key=f"model{i}_coding")


def estimates_table(m, i) -> Table:
    """The estimates table `dce fit` prints, from the result read back."""
    t = terminal_table(m.result)
    t.title, t.key = f"Model {i}: estimates", f"model{i}_estimates"
    t.notes.append("posterior means and sds; 95% equal-tailed credible intervals" if m.result.bayesian else
                   f"{SE_LABEL.get(m.result.se_type, 's.e.')}; 95% confidence intervals from the normal approximation"
                   + ("; parameters marked fixed are held at the value shown" if m.result.fixed else ""))
    return t


def _estimates_figure(m, i):
    r = m.result
    lo, hi = r.interval()
    kind = "credible" if r.bayesian else "confidence"
    return F.forest(f"model-{i}-estimates", f"Model {i}: estimates with 95% {kind} intervals.",
                    list(r.names), r.estimates, lo, hi, xlabel="estimate", reference=0.0)


def fit_table(d, i) -> Table:
    rows = [["respondents", cell(d.get("n_respondents"), "int")], ["choice tasks", cell(d.get("n_tasks"), "int")],
            ["parameters", cell(d.get("n_params", len(d["params"])), "int")],
            ["log-likelihood", cell(d.get("loglik"), "f3")], ["null log-likelihood", cell(d.get("loglik_null"), "f3")],
            ["rho-squared", cell(d.get("rho2"), "f4")], ["adjusted rho-squared", cell(d.get("rho2_adj"), "f4")],
            ["AIC", cell(d.get("aic"), "f2")], ["BIC", cell(d.get("bic"), "f2")]]
    notes = []
    if d.get("se_type") == "posterior":       # a sampler: its own fit measures, not information criteria
        rows = [(["mean posterior log-likelihood", r[1]] if r[0] == "log-likelihood" else r) for r in rows
                if r[0] not in ("AIC", "BIC", "rho-squared", "adjusted rho-squared")]
        rows += [["RLH", cell(d.get("rlh"), "f4")], ["percent certainty", cell(d.get("percent_certainty"), "pct1")]]
        notes.append("hierarchical Bayes: the log-likelihood is the in-sample fit of every respondent's own "
                     "coefficients, not a maximised likelihood, so no AIC/BIC")
    return Table(f"Model {i}: fit", [Column("statistic"), Column("value", "num")], rows, key=f"model{i}_fit",
                 notes=notes)


def settings_table(d, i) -> Table:
    """Convergence and every scalar model-specific field (draws, seed, starts, ...), whatever the model."""
    rows = [["converged", cell(d.get("converged"), "yesno")], ["message", d.get("message", "")],
            ["iterations", cell(d.get("iterations"), "int")], ["gradient norm", cell(d.get("grad_norm"), "g4")],
            ["seconds", cell(d.get("seconds"), "f2")]]
    for k, v in d.items():
        if k in CORE_KEYS:
            continue
        if isinstance(v, (bool, int, float, str)) or v is None:
            rows.append([k.replace("_", " "), cell(v, "text") if k == "seed" else v])
        else:
            text = _short(v)
            if text is not None:
                rows.append([k.replace("_", " "), text])
    seen = {r[0] for r in rows}
    for row in d.get("summary") or []:      # the fit summary's extra lines, unless a field above says it
        if isinstance(row, (list, tuple)) and len(row) == 2 and str(row[0]) not in seen:
            rows.append([str(row[0]), str(row[1])])
    rows = [[k, v if isinstance(v, (dict, str)) else cell(v, "num")] for k, v in rows]
    return Table(f"Model {i}: convergence and settings", [Column("item"), Column("value")], rows,
                 key=f"model{i}_settings")


def _nan(v):
    return np.nan if v is None else float(v)


# ------------------------------------------------------------------------------------------------ distributions
def distribution_figure(m, i, n_draws=4000, seed=0):
    """Coefficient distribution or segment profiles of a model, through the model's own draws.

    Segments (latent classes, :meth:`ModelResult.segment_draws`) are drawn as profiles of their mean
    coefficients; otherwise the weighted coefficient draws (:meth:`ModelResult.coefficient_draws`) as a
    histogram per coefficient that varies.  Nothing (None) for fixed coefficients; a note (str) for a
    family this dce does not know.
    """
    r = m.result
    try:
        segments = r.segment_draws(n_draws=n_draws, seed=seed)
        B, w = r.coefficient_draws(n_draws=n_draws, seed=seed)
    except DCEError as e:
        return f"Model {i}: no coefficient distribution drawn ({e.message})."
    names = list(r.coef_names)
    if segments:
        labels = [str(lab) for lab, _, _, _ in segments]
        shares = np.array([float(sh) for _, sh, _, _ in segments])
        means = np.vstack([np.asarray(wb, float) @ np.asarray(Bb, float) / np.sum(wb) for _, _, Bb, wb in segments])
        return F.profiles(f"model-{i}-segments", f"Model {i}: mean coefficients of each of the {len(segments)} "
                          "segments of respondents (legend: their shares).", names, means, shares, labels)
    B, w = np.asarray(B, float), np.asarray(w, float)
    if B.shape[0] < 2:
        return None
    mean = w @ B
    sd = np.sqrt(np.clip(w @ (B - mean) ** 2, 0, None))
    vary = [k for k in range(B.shape[1]) if sd[k] > 1e-10 * (1 + abs(mean[k]))]
    if not vary:
        return None
    random = m.data.get("random") if isinstance(m.data.get("random"), dict) else {}
    titles = [f"{names[k]} ({_dist_name(random[names[k]])})" if names[k] in random else names[k] for k in vary]
    return F.distributions(f"model-{i}-distributions",
                           f"Model {i}: distribution of the coefficients over respondents ({B.shape[0]:,} draws; "
                           "line: mean, band: 5% to 95%, dashed: zero).", [names[k] for k in vary], B[:, vary], w,
                           titles=titles)


_DIST = {"n": "normal", "ln": "lognormal", "-ln": "negative lognormal", "t": "triangular", "u": "uniform"}


def _dist_name(spec) -> str:
    code = spec.get("distribution") if isinstance(spec, dict) else spec
    return _DIST.get(str(code), str(code))


# ------------------------------------------------------------------------------------------------ comparison
def comparison_section(models) -> Section:
    s = Section("comparison", "Models side by side")
    heads = [f"{i}: {model_label(m)}" for i, m in enumerate(models, 1)]
    names = []
    for m in models:
        for p in m.data["params"]:
            if p["name"] not in names:
                names.append(p["name"])
    by = [{p["name"]: [p.get("estimate"), p.get("se")] for p in m.data["params"]} for m in models]
    rows = [[n] + [b.get(n) for b in by] for n in names]
    s.table(Table("Estimates (standard errors)", [Column("parameter")] + [Column(h, "est_se", 4) for h in heads],
                  rows, key="comparison_estimates", notes=["-: not in the model"]))
    s.table(comparison_fit_table(models, heads))
    return s


def _choices(d):
    """What makes two fits comparable by likelihood: the same choices (tasks, respondents, null LL)."""
    null = d.get("loglik_null")
    return d.get("n_tasks"), d.get("n_respondents"), None if null is None else round(float(null), 6)


def comparison_fit_table(models, heads) -> Table:
    """Fit of the models side by side.  Information criteria only for models fitted by maximum likelihood
    to the same choices (the largest such group; the lowest AIC and BIC marked); a sampler's (HB's)
    log-likelihood is the in-sample fit of every respondent's own coefficients, not a maximised
    likelihood with P parameters, so HB shows its own measures (RLH, percent certainty) in its own rows."""
    datas = [m.data for m in models]
    ml = [i for i, d in enumerate(datas) if d.get("se_type") != "posterior"]
    groups = {}
    for i in ml:
        groups.setdefault(_choices(datas[i]), []).append(i)
    same = max(groups.values(), key=len) if groups else []
    aic = {i: datas[i].get("aic") for i in same}
    bic = {i: datas[i].get("bic") for i in same}

    def best(vals):
        ok = {i: v for i, v in vals.items() if v is not None}
        return min(ok, key=ok.get) if len(ok) > 1 else None

    best_aic, best_bic = best(aic), best(bic)

    def ml_only(i, key, fmt):
        return cell(datas[i].get(key), fmt) if i in ml else "-"

    def bayes_only(i, key, fmt):
        return cell(datas[i].get(key), fmt) if i not in ml else "-"

    def criterion(i, vals):
        return cell(vals[i], "f2") if i in vals else "-"

    rows = [["respondents"] + [cell(d.get("n_respondents"), "int") for d in datas],
            ["choice tasks"] + [cell(d.get("n_tasks"), "int") for d in datas],
            ["parameters"] + [cell(d.get("n_params"), "int") for d in datas],
            ["log-likelihood (maximised)"] + [ml_only(i, "loglik", "f3") for i in range(len(datas))],
            ["AIC"] + [criterion(i, aic) for i in range(len(datas))],
            ["BIC (N = choice tasks)"] + [criterion(i, bic) for i in range(len(datas))],
            ["preferred by"] + [", ".join(n for n, b in (("AIC", best_aic), ("BIC", best_bic)) if b == i)
                                for i in range(len(datas))],
            ["rho-squared"] + [ml_only(i, "rho2", "f4") for i in range(len(datas))],
            ["adjusted rho-squared"] + [ml_only(i, "rho2_adj", "f4") for i in range(len(datas))],
            ["mean posterior log-likelihood (HB)"] + [bayes_only(i, "loglik", "f3") for i in range(len(datas))],
            ["RLH (HB)"] + [bayes_only(i, "rlh", "f4") for i in range(len(datas))],
            ["percent certainty (HB)"] + [bayes_only(i, "percent_certainty", "pct1") for i in range(len(datas))],
            ["converged"] + [cell(d.get("converged"), "yesno") for d in datas]]
    notes = ["AIC and BIC: lower is better, shown only for models fitted by maximum likelihood to the same "
             "choices; 'preferred by' marks each criterion's choice"]
    if len(ml) > len(same):
        other = ", ".join(str(i + 1) for i in ml if i not in same)
        notes.append(f"model(s) {other}: fitted to other choices (tasks, respondents or null log-likelihood "
                     "differ), so no information criterion beside the others")
    if len(ml) < len(datas):
        notes.append("HB (hierarchical Bayes): its log-likelihood is the in-sample fit of every respondent's own "
                     "coefficients averaged over the posterior, not a maximised likelihood with P parameters, so "
                     "AIC/BIC would flatter it; its own measures instead: RLH, the geometric mean probability of "
                     "the chosen alternatives, and percent certainty, 1 - LL / LL(equal shares)")
    return Table("Fit of the models", [Column("statistic")] + [Column(h, "num") for h in heads], rows,
                 key="comparison_fit", notes=notes)


# ------------------------------------------------------------------------------------------------ shares
def shares_section(inputs) -> Section:
    s = Section("shares", "Preference shares")
    for j, inp in enumerate(inputs, 1):
        d = inp.data
        level = float(d.get("level") or 0.95)
        ref = str(d.get("reference", "status_quo"))
        title = (f"Share preferring each scenario over the {ref.replace('_', ' ')}" if ref != "none"
                 else "Market shares among the scenarios")
        t = shares_table(d["scenarios"], f"{title} ({inp.name})", level, d.get("by"))
        t.key = f"shares_{j}"
        t.notes.append(_shares_note(d))
        s.table(t)
        s.figure(_shares_figure(j, inp, title, int(round(100 * level)), ref))
    return s


def _shares_note(d) -> str:
    ci = d.get("ci_method", "")
    note = f"confidence intervals: {ci}"
    if ci == "krinsky-robb" and d.get("sims"):
        note += f" ({d['sims']} parameter draws)"
    if d.get("draws"):
        note += f"; {d['draws']} draws of the random coefficients"
    if d.get("seed") is not None:
        note += f"; seed {d['seed']}"
    if d.get("model"):
        note += f"; model {d['model']}"
    return note


def _group_of(r, by) -> str | None:
    """The series a row belongs to in a figure: its ``by`` group and/or its segment."""
    parts = ([f"{by} = {r.get('group')}"] if by else []) + ([str(r["segment"])] if "segment" in r else [])
    return ", ".join(parts) or None


def _series(rows, by, keys):
    """Rows of a shares or WTP file as a forest plot's arrays: labels (L), series (G) and the point,
    low and high values named by ``keys``, each (G, L) with NaN where a series lacks a label."""
    names = list(dict.fromkeys(r["name"] for r in rows))
    groups = list(dict.fromkeys(_group_of(r, by) for r in rows))
    out = np.full((3, len(groups), len(names)), np.nan)
    for r in rows:
        g, k = groups.index(_group_of(r, by)), names.index(r["name"])
        out[:, g, k] = [_nan(r.get(key)) for key in keys]
    return names, groups, out[0], out[1], out[2]


def _shares_figure(j, inp, title, pct, ref):
    by = inp.data.get("by")
    names, groups, est, lo, hi = _series(inp.data["scenarios"], by, ("share", "ci_low", "ci_high"))
    caption = f"{title}, with {pct}% confidence intervals" + (f", by {by}" if by else "") + f" ({inp.name})."
    return F.forest(f"shares-{j}", caption, names, est, lo, hi, groups=groups if groups != [None] else None,
                    xlabel="share", reference=0.5 if ref != "none" else None, percent=True)


# ------------------------------------------------------------------------------------------------ WTP
def wtp_section(inputs) -> Section:
    s = Section("wtp", "Willingness to pay and attribute importance")
    for j, inp in enumerate(inputs, 1):
        d = inp.data
        cost = d.get("cost", "cost")
        level = float(d.get("level") or 0.95)
        rows, imp = d["wtp"], d.get("importance") or []
        tables = wtp_tables(rows, imp, cost, inp.name, level)
        tables[0].notes.append(f"WTP = coefficient / |coefficient of {cost}|; s.e. by the delta method; K-R: "
                               f"Krinsky-Robb, {d.get('sims', '?')} parameter draws; seed {d.get('seed', '?')}")
        for t in tables:
            t.key = f"{t.key}_{j}"
        s.table(tables[0])
        for t in tables[1:-1]:
            s.table(t)
        s.figure(_wtp_figure(j, inp, cost, int(round(100 * level))))
        if imp:
            s.table(tables[-1])
            s.figure(F.bars(f"importance-{j}", f"Relative attribute importance ({inp.name}).",
                            [r["attribute"] for r in imp], [_nan(r["importance"]) for r in imp],
                            xlabel="share of the total utility range"))
    return s


def _wtp_figure(j, inp, cost, pct):
    rows = inp.data["wtp"]
    names, groups, est, lo, hi = _series(rows, None, ("wtp", "kr_low", "kr_high"))
    spread = None
    if groups == [None] and all(isinstance(r.get("distribution"), dict) for r in rows):
        spread = tuple(np.array([_nan(r["distribution"].get(q)) for r in rows]) for q in ("q05", "q95"))
    return F.forest(f"wtp-{j}", f"Willingness to pay in units of '{cost}' with {pct}% Krinsky-Robb intervals"
                    + ("; grey: 5% to 95% over respondents" if spread else "") + f" ({inp.name}).", names, est, lo, hi,
                    groups=groups if groups != [None] else None, xlabel=f"WTP ({cost})", reference=0.0,
                    spread=spread, spread_label="5% to 95% over respondents" if spread else None)


# ------------------------------------------------------------------------------------------------ power
def power_section(inputs) -> Section:
    s = Section("power", "Sample size and power")
    for j, inp in enumerate(inputs, 1):
        d = inp.data
        sizes = d["sizes"]
        targets = d["targets"]
        cols = [Column("target"), Column("kind")] + [Column(f"n = {n}", "pct1") for n in sizes] + [
            Column("n for 80%", "int"), Column("n for 90%", "int"), Column("S-estimate", "int")]
        rows = [[t["name"], t.get("kind", "")] + list(t["power"]) + [t.get("n80"), t.get("n90"), t.get("s_estimate")]
                for t in targets]
        notes = [f"{d.get('replications', '?')} replications per sample size; seed {d.get('seed', '?')}"]
        if d.get("failed"):
            notes.append("failed fits per sample size: " + ", ".join(map(str, d["failed"])))
        s.table(Table(f"Power by sample size ({inp.name})", cols, rows, key=f"power_{j}", notes=notes))
        if targets:
            s.figure(F.curves(f"power-{j}", f"Power against the number of respondents ({inp.name}); dashed: 80% "
                              "and 90%.", [float(n) for n in sizes], [t["power"] for t in targets],
                              [t["name"] for t in targets], xlabel="respondents", ylabel="power", hlines=(0.8, 0.9)))
        for t in d.get("tables") or []:
            s.table(Table.from_dict(t))
    return s


# ------------------------------------------------------------------------------------------------ reproducibility
def reproducibility_section(inputs, command, versions) -> Section:
    s = Section("reproducibility", "Reproducibility")
    s.table(Table("Software", [Column("component"), Column("version")], [[k, v] for k, v in versions.items()],
                  key="software"))
    if command:
        s.text("This report was made with:")
        s.blocks.append({"kind": "code", "text": command})
    s.table(Table("Input files", [Column("kind"), Column("file"), Column("bytes", "int"), Column("SHA-256")],
                  [[i.kind, i.path, i.size, i.sha256] for i in inputs], key="input_files"))
    rows = []
    for i in inputs:
        prov = i.data.get("provenance") if isinstance(i.data.get("provenance"), dict) else {}
        seed = i.data.get("seed")
        if seed is None and isinstance(i.data.get("search"), dict):
            seed = i.data["search"].get("seed")
        rows.append([i.name, prov.get("command", "-"), "-" if seed is None else str(seed),
                     prov.get("dce_version", "-")])
    s.table(Table("How each input was made", [Column("file"), Column("command"), Column("seed"),
                                              Column("dce version")], rows, key="input_provenance",
                  notes=["-: not recorded in the file (written by an older dce or by hand)"]))
    files = []
    for i in inputs:
        prov = i.data.get("provenance") if isinstance(i.data.get("provenance"), dict) else {}
        for f in prov.get("inputs") or []:
            if isinstance(f, dict):
                files.append([i.name, f.get("path", ""), f.get("sha256") or "-"])
    if files:
        s.table(Table("Files behind the inputs", [Column("input"), Column("file"), Column("SHA-256")], files,
                      key="input_sources"))
    return s


