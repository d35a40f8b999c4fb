"""Figures of the report, drawn with matplotlib (no pyplot, no global state) and written deterministically.

Each function takes numbers and names (never a file) and returns a :class:`Figure`: a key (the file
name under ``--figures``), a caption and a matplotlib figure.  :func:`svg` and :func:`png` write them
byte-reproducibly: fixed fonts, a fixed ``svg.hashsalt`` per figure (so ids differ between the figures
of one page), no date or software metadata.  Text stays text in the SVG (``svg.fonttype: none``) in
a generic sans-serif family, so no font is embedded or fetched.

matplotlib is imported inside the functions: importing this module costs nothing.
"""
from __future__ import annotations

import functools
import io
import math
import re
import textwrap
from dataclasses import dataclass, field

import numpy as np

# Okabe & Ito's palette: distinguishable with the common colour-vision deficiencies, prints in grey
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
FONTS = ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica", "sans-serif"]
WIDTH = 7.0            # inches
_RC = {"svg.fonttype": "none", "font.family": "sans-serif", "font.sans-serif": FONTS, "font.size": 9,
       "axes.titlesize": 10, "axes.labelsize": 9, "axes.spines.top": False, "axes.spines.right": False,
       "axes.grid": True, "grid.color": "#dddddd", "grid.linewidth": 0.6, "axes.axisbelow": True,
       "legend.frameon": False, "path.simplify": False, "svg.image_inline": True}


@dataclass
class Figure:
    """A figure of the report: ``key`` names its files, ``caption`` is printed under it."""

    key: str
    caption: str
    fig: object            # matplotlib.figure.Figure
    alt: str = ""          # a one-line description for screen readers
    _svg: str = field(default=None, repr=False, compare=False)    # the SVG text, once drawn


def _rc():
    import matplotlib

    return matplotlib.rc_context(_RC)


def _styled(fn):
    """Draw the whole figure under the report's style (text objects read the style when made)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with _rc():
            return fn(*args, **kwargs)

    return wrapper


def _new(height, ncols=1, nrows=1, width=WIDTH, **kw):
    from matplotlib.figure import Figure as MplFigure

    with _rc():
        fig = MplFigure(figsize=(width, height), layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def svg(figure: Figure) -> str:
    """The figure as SVG text, identical for identical input (drawn once: the page and ``--figures``
    share it)."""
    if figure._svg is not None:
        return figure._svg
    import matplotlib

    buf = io.StringIO()
    with _rc(), matplotlib.rc_context({"svg.hashsalt": "dce-" + figure.key}):
        _lay_out(figure.fig)
        figure.fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                         "Type": None})
    figure._svg = buf.getvalue()
    return figure._svg


def _lay_out(fig):
    """Place the axes once (constrained layout) and keep them there.

    With a layout engine, every ``savefig`` draws the whole figure twice: once, without output, to lay
    it out, and once to write it.  Laying it out here (no artist is drawn) and then switching the engine
    off draws it once per format, and the SVG and the PNG share one layout.
    """
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
        fig.set_layout_engine(None)     # (``"none"`` would keep a placeholder, and savefig's extra draw)


def png(figure: Figure, dpi=150) -> bytes:
    """The figure as PNG bytes (no software or date metadata)."""
    buf = io.BytesIO()
    with _rc():
        _lay_out(figure.fig)
        figure.fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


_XML_HEAD = re.compile(r"^\s*<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_NS = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')


def inline_svg(text: str, title: str = "", prefix: str = "") -> str:
    """SVG text made fit to sit inside HTML: no XML prolog, no RDF metadata, no namespace URIs.

    The HTML parser puts an inline ``<svg>`` in the SVG namespace by itself, so the namespace
    declarations, the only URLs matplotlib writes, are dropped; ``xlink:href`` becomes SVG 2's plain
    ``href`` so that the figure is also well-formed XML on its own.  ``prefix`` is put before every id
    (and every reference to one): matplotlib numbers its groups per figure (``figure_1``, ``axes_1``), so
    figures sharing a page would otherwise repeat ids.
    """
    text = _XML_HEAD.sub("", text)
    text = _METADATA.sub("", text)
    head, sep, rest = text.partition(">")
    head = _NS.sub("", head)
    head = head.replace("<svg", '<svg role="img"', 1)
    rest = rest.replace(" xlink:href=", " href=")
    if prefix:
        rest = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', rest)
        rest = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}{m.group(1)}"', rest)
        rest = re.sub(r"url\(#([^)]+)\)", lambda m: f"url(#{prefix}{m.group(1)})", rest)
    if title:
        from html import escape

        rest = f"<title>{escape(title)}</title>" + rest
    return head + sep + rest


def close(figure: Figure):
    """Free the figure's memory (there is no pyplot registry to clear)."""
    figure.fig.clear()


# ------------------------------------------------------------------------------------------- forest plots
def _height(n_rows, per=0.28, extra=0.9, minimum=1.8, maximum=11.0):
    return float(min(maximum, max(minimum, extra + per * n_rows)))


@_styled
def forest(key, caption, labels, est, low, high, *, groups=None, xlabel="", reference=None, percent=False,
           spread=None, spread_label=None, title=None):
    """Points with interval bars, one row per label (top to bottom), optionally several groups per row.

    Parameters
    ----------
    labels : list of str, length L
    est, low, high : array, shape (G, L) or (L,)
        Point and interval per group and label; NaN draws nothing.
    groups : list of str, length G, optional
        Legend entries of the groups (each in its own colour and marker, offset vertically).
    reference : float, optional
        A dashed vertical line (0 for WTP, 0.5 for a binary share).
    percent : bool
        Values are fractions shown as percentages.
    spread : tuple of arrays (low, high), shape (L,), optional
        A wider, light band behind the first group (e.g. the 5-95% of a distribution over respondents).
    """
    est, low, high = (np.atleast_2d(np.asarray(a, float)) for a in (est, low, high))
    G, L = est.shape
    fig, ax = _new(_height(L * max(1, 0.6 * G)))
    ax = ax[0, 0]
    y = np.arange(L)[::-1].astype(float)
    offsets = (np.arange(G) - (G - 1) / 2) * (0.6 / max(G, 1)) if G > 1 else np.zeros(1)
    scale = 100.0 if percent else 1.0
    if spread is not None:
        s_lo, s_hi = (np.asarray(a, float) * scale for a in spread)
        ax.hlines(y, s_lo, s_hi, color="#bbbbbb", linewidth=5, alpha=0.6, label=spread_label, zorder=1)
    markers = "osD^v<>P"
    for g in range(G):
        yy = y - offsets[g]
        ok = np.isfinite(est[g])
        ax.hlines(yy[ok], low[g][ok] * scale, high[g][ok] * scale, color=PALETTE[g % len(PALETTE)], linewidth=1.6,
                  zorder=2)
        ax.plot(est[g][ok] * scale, yy[ok], markers[g % len(markers)], color=PALETTE[g % len(PALETTE)],
                markersize=5, label=groups[g] if groups else None, zorder=3, linestyle="none")
    if reference is not None:
        ax.axvline(reference * scale, color="#555555", linestyle="--", linewidth=0.9, zorder=1)
    ax.set_yticks(y, [_wrap(s) for s in labels])
    ax.set_ylim(-0.7, L - 0.3)
    ax.grid(axis="y", visible=False)
    if percent:
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title, loc="left")
    if groups or spread_label:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return Figure(key, caption, fig, alt=caption)


def _wrap(text, width=42):
    text = str(text)
    return "\n".join(textwrap.wrap(text, width)) if len(text) > width else text


# ------------------------------------------------------------------------------------------- bars, heatmaps
@_styled
def bars(key, caption, labels, values, *, xlabel="", percent=True):
    """Horizontal bars, one per label, with the value printed at the end of each bar."""
    v = np.asarray(values, float)
    fig, ax = _new(_height(len(labels), per=0.32))
    ax = ax[0, 0]
    y = np.arange(len(labels))[::-1]
    scale = 100.0 if percent else 1.0
    ax.barh(y, v * scale, color=PALETTE[0], height=0.6)
    for yi, vi in zip(y, v):
        if np.isfinite(vi):
            ax.text(vi * scale, yi, f" {vi * scale:.1f}%" if percent else f" {vi:.3g}", va="center", fontsize=8)
    ax.set_yticks(y, [_wrap(s) for s in labels])
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(xlabel)
    if percent:
        from matplotlib.ticker import PercentFormatter

        ax.xaxis.set_major_formatter(PercentFormatter(decimals=0))
    top = np.nanmax(v * scale) if np.isfinite(v).any() else 1.0
    ax.set_xlim(0, top * 1.18 if top > 0 else 1.0)
    return Figure(key, caption, fig, alt=caption)


@_styled
def level_heatmap(key, caption, attributes, levels, counts):
    """Level counts of each attribute (rows) over its levels (columns), each cell labelled ``level: n``.

    Parameters
    ----------
    attributes : list of str, length A
    levels : list of list of str
        The level labels of each attribute (ragged).
    counts : list of list of int
        How often each level appears in the design (same shape as ``levels``).
    """
    A = len(attributes)
    M = max((len(x) for x in levels), default=1)
    share = np.full((A, M), np.nan)
    for i, c in enumerate(counts):
        c = np.asarray(c, float)
        if c.size and c.sum() > 0:
            share[i, : c.size] = c / c.mean()            # 1 = the count of a perfectly balanced level
    fig, ax = _new(_height(A, per=0.45, extra=1.0), width=WIDTH)
    ax = ax[0, 0]
    ax.grid(False)
    from matplotlib.colors import TwoSlopeNorm

    im = _grid(ax, share, cmap="RdBu", norm=TwoSlopeNorm(1.0, 0.0, 2.0))
    for i in range(A):
        for j, (lab, n) in enumerate(zip(levels[i], counts[i])):
            dark = abs(share[i, j] - 1) > 0.6
            ax.text(j, i, f"{_wrap(lab, 14)}\n{int(n)}", ha="center", va="center", fontsize=7,
                    color="white" if dark else "black", in_layout=False)    # inside its cell: no margin
    ax.set_yticks(range(A), attributes)
    ax.set_xticks(range(M), [f"level {j + 1}" for j in range(M)])
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    cb = _colorbar(fig, im, ax)
    cb.set_label("count / balanced count")
    return Figure(key, caption, fig, alt=caption)


def _colorbar(fig, im, ax):
    """A colour bar drawn as vectors (matplotlib rasterises long ones, which would embed a PNG)."""
    cb = fig.colorbar(im, ax=ax, shrink=0.8)
    if cb.solids is not None:
        cb.solids.set_rasterized(False)
        cb.solids.set_edgecolor("face")     # no hairline seams between the colour steps
    return cb


def _grid(ax, values, cmap, norm):
    """A heatmap of vector cells (row 0 on top), not an embedded raster image."""
    n, m = values.shape
    im = ax.pcolormesh(np.arange(m + 1) - 0.5, np.arange(n + 1) - 0.5, np.ma.masked_invalid(values), cmap=cmap,
                       norm=norm, edgecolors="white", linewidth=0.8)
    ax.set_xlim(-0.5, m - 0.5)
    ax.set_ylim(n - 0.5, -0.5)
    return im


@_styled
def correlation_heatmap(key, caption, names, matrix):
    """A correlation matrix (values in [-1, 1]) with each cell printed."""
    R = np.array([[np.nan if v is None else v for v in row] for row in matrix], float)
    k = len(names)
    fig, ax = _new(min(9.0, max(2.4, 0.9 + 0.42 * k)))
    ax = ax[0, 0]
    ax.grid(False)
    from matplotlib.colors import Normalize

    im = _grid(ax, R, cmap="RdBu_r", norm=Normalize(-1.0, 1.0))
    for i in range(k):
        for j in range(k):
            if np.isfinite(R[i, j]):
                ax.text(j, i, f"{R[i, j]:.2f}", ha="center", va="center", fontsize=7,
                        color="white" if abs(R[i, j]) > 0.6 else "black", in_layout=False)
    ax.set_yticks(range(k), names)
    ax.set_xticks(range(k), [str(i + 1) for i in range(k)])
    ax.tick_params(length=0)
    for s in ax.spines.values():
        s.set_visible(False)
    _colorbar(fig, im, ax)
    return Figure(key, caption, fig, alt=caption)


# ------------------------------------------------------------------------------------------- distributions
@_styled
def distributions(key, caption, names, B, w, titles=None, bins=40):
    """Weighted histograms of coefficient draws, one small panel per coefficient.

    Parameters
    ----------
    names : list of str, length K
    B : ndarray, shape (R, K)
        Draws of the coefficients.
    w : ndarray, shape (R,)
        Their weights (summing to 1).
    titles : list of str, optional
        Panel titles (default: the names).
    """
    B = np.asarray(B, float)
    w = np.asarray(w, float)
    K = B.shape[1]
    ncols = min(3, K)
    nrows = math.ceil(K / ncols)
    fig, axes = _new(1.9 * nrows + 0.4, ncols=ncols, nrows=nrows)
    for k in range(nrows * ncols):
        ax = axes[k // ncols, k % ncols]
        if k >= K:
            ax.set_visible(False)
            continue
        x = B[:, k]
        lo, hi = _wquantile(x, w, [0.005, 0.995])
        inside = (x >= lo) & (x <= hi)
        ax.hist(x[inside], bins=bins, weights=w[inside], color=PALETTE[0], alpha=0.75)
        mean = float(np.sum(w * x))
        q05, q95 = _wquantile(x, w, [0.05, 0.95])
        ax.axvline(mean, color=PALETTE[1], linewidth=1.2)
        ax.axvspan(q05, q95, color=PALETTE[1], alpha=0.08, zorder=0)
        ax.axvline(0, color="#555555", linestyle="--", linewidth=0.8)
        ax.set_title((titles or names)[k], loc="left", fontsize=9)
        ax.set_yticks([])
        ax.grid(axis="y", visible=False)
    return Figure(key, caption, fig, alt=caption)


@_styled
def profiles(key, caption, names, B, w, labels=None):
    """Coefficient vectors of a few support points (latent classes): one marker series per point.

    Parameters
    ----------
    names : list of str, length K
    B : ndarray, shape (R, K)
    w : ndarray, shape (R,)
        Weights of the points (class shares), shown in the legend.
    labels : list of str, optional
        Names of the points (default ``class 1``, ...).
    """
    B = np.asarray(B, float)
    R, K = B.shape
    labels = labels or [f"class {r + 1}" for r in range(R)]
    legend = [f"{lab} ({100 * wr:.1f}%)" for lab, wr in zip(labels, w)]
    fig, ax = _new(_height(K * max(1, 0.5 * R)))
    ax = ax[0, 0]
    y = np.arange(K)[::-1].astype(float)
    off = (np.arange(R) - (R - 1) / 2) * (0.6 / R)
    markers = "osD^v<>P"
    for r in range(R):
        ax.plot(B[r], y - off[r], markers[r % len(markers)], color=PALETTE[r % len(PALETTE)], markersize=5,
                label=legend[r], linestyle="none")
    ax.axvline(0, color="#555555", linestyle="--", linewidth=0.8)
    ax.set_yticks(y, names)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("coefficient")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return Figure(key, caption, fig, alt=caption)


def _wquantile(x, w, qs):
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    c = np.cumsum(ws)
    c = c / c[-1]
    return [float(xs[min(np.searchsorted(c, q), len(xs) - 1)]) for q in qs]


# ------------------------------------------------------------------------------------------- curves
@_styled
def curves(key, caption, x, series, labels, *, xlabel="", ylabel="", hlines=(), percent=True):
    """Lines through points, one per series (power against sample size)."""
    fig, ax = _new(3.4)
    ax = ax[0, 0]
    scale = 100.0 if percent else 1.0
    markers = "osD^v<>P"
    for i, (s, lab) in enumerate(zip(series, labels)):
        s = np.array([np.nan if v is None else v for v in s], float)
        ax.plot(x, s * scale, marker=markers[i % len(markers)], color=PALETTE[i % len(PALETTE)], label=lab,
                linewidth=1.3, markersize=4)
    for h in hlines:
        ax.axhline(h * scale, color="#555555", linestyle="--", linewidth=0.8)
    if percent:
        from matplotlib.ticker import PercentFormatter

        ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.set_ylim(0, 105)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return Figure(key, caption, fig, alt=caption)
