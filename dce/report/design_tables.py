"""Tables of a design's diagnostics (the dict of :func:`dce.design.diagnostics.evaluate` or its JSON).

The same :class:`~dce.tables.Table` objects are printed by `dce design`, written by
``--format`` and shown in the HTML report.
"""
from __future__ import annotations

from dce.tables import Column, Table, cell


def _alternatives(d) -> str:
    return (f"{d['tasks']} / {d['blocks']} / {d['alternatives']}"
            + (f" + {d['status_quo']}" if d.get("status_quo") else "")
            + (f" + {d['opt_out']}" if d.get("opt_out") else ""))


def diagnostics_table(d) -> Table:
    """Errors, efficiency, balance and search of a design, one measure a row."""
    prior_kind = f"Bayesian, {d['draws']} draws" if d.get("bayesian") else "fixed prior"
    dom = d.get("dominance") or {}
    rows = [
        ["tasks / blocks / alternatives", _alternatives(d)],
        [f"D-error (prior: {prior_kind})", cell(d.get("d_error"), "f6")],
        ["A-error (prior)", cell(d.get("a_error"), "f6")],
        ["D-error at the prior mean", cell(d.get("d_error_local"), "f6")],
        ["D-error utility-neutral", cell(d.get("d_error_neutral"), "f6")],
        ["A-error utility-neutral", cell(d.get("a_error_neutral"), "f6")],
        ["Street & Burgess D-efficiency", cell(d["sb_efficiency"], "pct2") if d.get("sb_efficiency") is not None
         else d.get("sb_note", "-")],
        ["S-estimate (respondents)", cell(d.get("s_estimate"), "int")],
        ["max |correlation| of coded attributes", cell(d.get("max_abs_correlation"), "f4")],
        ["tasks with a dominated alternative", cell(dom.get("tasks_with_dominated_alternative"), "int")],
        ["repeated alternatives", cell(d.get("repeated_alternatives"), "int")],
        ["constraint violations", cell(d.get("constraint_violations"), "int")],
        ["block balance: max deviation", cell(d.get("block_balance_max_deviation"), "f2")],
    ]
    if "alternatives_dominating_status_quo" in dom:
        rows.insert(10, ["alternatives dominating / dominated by the status quo",
                         f"{dom['alternatives_dominating_status_quo']} / {dom['alternatives_dominated_by_status_quo']}"])
    if d.get("seed") is not None:
        rows.append(["seed", cell(d["seed"], "text")])
    s = d.get("search") or {}
    if s.get("starts"):
        rows.append(["search", f"coordinate exchange, {s['starts']} starts, {s.get('backend', '')}, "
                               f"{s.get('seconds', 0) or 0:.2f} s"])
    if s.get("level_balance"):
        rows.append(["level balance", {"strict": "every level equally often (within one) in the design and "
                                                 "each block", "relaxed": "every level at least half as often "
                                                 "as balanced", "off": "none (unconstrained search)"}
                     .get(s["level_balance"], s["level_balance"])])
    if s.get("unconstrained_objective") is not None and s.get("objective") is not None:
        rows.append(["search D-error: balanced / unconstrained",
                     f"{s['objective']:.6f} / {s['unconstrained_objective']:.6f} (balance costs "
                     f"{100 * (s.get('balance_price') or 0):+.1f}%)"])
    return Table("Design diagnostics", [Column("measure"), Column("value")], rows, key="design_diagnostics")


def s_efficiency_table(d) -> Table:
    rows = [[r["parameter"], r.get("prior"), r.get("se"), r.get("respondents")] for r in d.get("s_efficiency") or []]
    return Table("S-efficiency at the prior mean (t = 1.96)",
                 [Column("parameter"), Column("prior", "g4"), Column("s.e. (one design)", "f4"),
                  Column("respondents", "int")], rows, key="design_s_efficiency")


def balance_table(d) -> Table:
    rows = []
    for a, counts in (d.get("level_balance") or {}).items():
        ov = (d.get("overlap") or {}).get(a, {})
        rows.append([a, ", ".join(f"{k}: {v}" for k, v in counts.items()), ov.get("full_overlap_share"),
                     ov.get("mean_distinct_levels")])
    return Table("Level balance and overlap", [Column("attribute"), Column("level counts"),
                                               Column("tasks with full overlap", "pct0"),
                                               Column("distinct levels per task", "f2")], rows,
                 key="design_balance")


def block_table(d) -> Table:
    rows = []
    for a, per in (d.get("block_balance") or {}).items():
        for b, counts in per.items():
            rows.append([f"{a} (block {b})", ", ".join(f"{k}: {v}" for k, v in counts.items())])
    return Table("Level counts per block", [Column("attribute"), Column("level counts")], rows,
                 key="design_blocks")


def correlation_table(d) -> Table:
    names = d["correlations"]["names"]
    rows = [[nm] + list(row) for nm, row in zip(names, d["correlations"]["matrix"])]
    return Table("Correlations of coded attributes",
                 [Column("column")] + [Column(f"{i + 1}", "f2") for i in range(len(names))], rows,
                 key="design_correlations")


def attributes_table(d) -> Table | None:
    """Attributes, their levels and coding (design JSON ``attributes``; None for a file without it)."""
    attrs = d.get("attributes")
    if not attrs:
        return None
    rows = []
    for a in attrs:
        unit = f" ({a['unit']})" if a.get("unit") else ""
        rows.append([a["name"], (a.get("label") or "") + unit, ", ".join(map(str, a.get("levels", []))),
                     a.get("coding", ""), a.get("reference") if a.get("coding") != "linear" else "",
                     ", ".join(a.get("columns", []))])
    return Table("Attributes, levels and coding", [Column("attribute"), Column("label"), Column("levels"),
                                                   Column("coding"), Column("reference"),
                                                   Column("coded columns")], rows, key="design_attributes")


def coding_table(d) -> Table | None:
    """Each level's row of the coded columns, for the attributes not coded linearly."""
    attrs = d.get("attributes")
    if not attrs:
        return None
    rows = []
    for a in attrs:
        if a.get("coding") == "linear":
            continue
        for lab, row in zip(a.get("levels", []), a.get("coding_table", [])):
            rows.append([a["name"], str(lab), ", ".join(f"{c} = {v:g}" for c, v in zip(a.get("columns", []), row))])
    if not rows:
        return None
    linear = [a["name"] for a in attrs if a.get("coding") == "linear"]
    return Table("Coding of each level", [Column("attribute"), Column("level"), Column("coded values")], rows,
                 key="design_coding", notes=[f"linear attributes enter utility as their level values: "
                                             f"{', '.join(linear)}"] if linear else [])


def design_tables(d, terminal=False) -> list:
    """All tables of a design's diagnostics, in the order `dce design` prints them.

    ``terminal``: the tables `dce design` has always printed (no attributes/coding tables, which the
    spec file already shows); otherwise every table, for files and the report.
    """
    out = []
    if not terminal:
        out += [t for t in (attributes_table(d), coding_table(d)) if t is not None]
    out += [diagnostics_table(d), s_efficiency_table(d), balance_table(d)]
    if d.get("blocks", 1) > 1 and d.get("block_balance"):
        out.append(block_table(d))
    if len((d.get("correlations") or {}).get("names", [])) > 1:
        out.append(correlation_table(d))
    return out
