"""Simulated survey responses from a known truth, in the layout of a survey export.

The truth file (YAML) names coefficients by the design's coded columns (``dce design`` prints them:
``delegation[nurse]``, ``workweek``, ``asc_status_quo``...):

    model: mnl                      # or mixed
    coefficients: {delegation[nurse]: 1.9, workweek: -0.1, asc_status_quo: 1.0, ...}
    random:                         # mixed: per coefficient, a normal (n) or lognormal (ln, -ln) spread
      asc_status_quo: {distribution: n, sd: 0.8}
    covariates:                     # respondent characteristics that shift preferences
      language:
        levels: {fr: 0.451, nl: 0.549}        # population proportions
        shifts: {nl: {asc_status_quo: -0.3}}  # added to the coefficients of that group

Every respondent answers the tasks of one block (blocks are assigned in balanced rotation after a
seeded shuffle); the answer is the position of the chosen alternative in the task (1, 2, ..., the
status quo last), drawn from the logit model with Gumbel errors.  The output says it is simulated.
"""
from __future__ import annotations

import numpy as np

from dce.errors import ArgumentError, DCEError, where
from dce.util.seeds import rng as make_rng
from dce.util.yamlio import YamlDoc

TRUTH_KEYS = {"model", "coefficients", "random", "covariates", "description"}
DISTS = {"n", "ln", "-ln"}


def load_truth(path, spec) -> dict:
    """Read and check a truth file against the design spec's coefficients.

    Parameters
    ----------
    path : str or path-like
        The truth file (YAML, see the module's docstring).
    spec : dce.design.spec.DesignSpec
        The design whose coded columns (``spec.param_names``, K of them) the coefficients name.

    Returns
    -------
    dict
        ``model`` ("mnl" or "mixed"), ``names`` (K coefficient names), ``beta`` (K,) array of the
        reference group's coefficients, ``random`` {name: (distribution, sd)} and ``covariates``
        {covariate: ({level: proportion}, {level: {name: shift}})}.

    Raises
    ------
    dce.errors.DCEError
        Naming the file, the key and its line for any problem in the file.
    """
    doc = YamlDoc.load(path, what="truth file", allow_empty=True)
    data = doc.data
    if not isinstance(data, dict):
        raise doc.error((), "expected a mapping with key 'coefficients'")
    bad = [k for k in data if k not in TRUTH_KEYS]
    if bad:
        raise DCEError(f"{where(doc.source, line=doc.line((bad[0],)))}unknown key '{bad[0]}' "
                       f"(expected {', '.join(sorted(TRUTH_KEYS))})")
    model = data.get("model", "mnl")
    if model not in ("mnl", "mixed"):
        raise doc.error(("model",), f"'{model}' (use mnl or mixed)")
    coefs = data.get("coefficients")
    if not isinstance(coefs, dict):
        raise doc.error(("coefficients",), "must map coefficient names to numbers")
    names = spec.param_names
    unknown = [k for k in coefs if k not in names]
    if unknown:
        raise doc.error(("coefficients", unknown[0]), f"not a coefficient of the design ({', '.join(names)})")
    missing = [n for n in names if n not in coefs]
    if missing:
        raise doc.error(("coefficients",), f"no value for '{missing[0]}'")
    beta = np.array([_num(doc, ("coefficients", n)) for n in names])
    random = {}
    for name, r in _mapping(doc, ("random",)).items():
        if name not in names:
            raise doc.error(("random", name), "not a coefficient of the design")
        if model != "mixed":
            raise doc.error(("random",), "needs model: mixed")
        if not isinstance(r, dict) or "sd" not in r:
            raise doc.error(("random", name), "needs 'sd' (and optionally 'distribution')")
        dist = r.get("distribution", "n")
        if dist not in DISTS:
            raise doc.error(("random", name, "distribution"), f"'{dist}' (use n, ln or -ln)")
        random[name] = (dist, _num(doc, ("random", name, "sd")))
        b = float(beta[names.index(name)])
        if dist in ("ln", "-ln") and (b == 0 or (b < 0) != (dist == "-ln")):
            raise doc.error(("random", name, "distribution"),
                            f"'{dist}' with the coefficient {name}: {b:g}: " + (
                                "a log-normal needs a non-zero coefficient (its median)" if b == 0 else
                                f"the coefficient is {'negative, use -ln' if b < 0 else 'positive, use ln'} "
                                f"(a {dist} coefficient is {'positive' if dist == 'ln' else 'negative'} for "
                                "every respondent)"))
    covariates = {}
    for cov, c in _mapping(doc, ("covariates",)).items():
        if not isinstance(c, dict) or not isinstance(c.get("levels"), dict) or not c["levels"]:
            raise doc.error(("covariates", cov, "levels"), "must map levels to population proportions")
        props = {str(k): _num(doc, ("covariates", cov, "levels", k)) for k in c["levels"]}
        if any(v < 0 for v in props.values()) or abs(sum(props.values()) - 1) > 1e-6:
            raise doc.error(("covariates", cov, "levels"), "proportions must be >= 0 and add up to 1")
        shifts = {}
        for lv, sh in _mapping(doc, ("covariates", cov, "shifts")).items():
            if str(lv) not in props:
                raise doc.error(("covariates", cov, "shifts", lv), f"not a level of '{cov}'")
            for n in _mapping(doc, ("covariates", cov, "shifts", lv)):
                if n not in names:
                    raise doc.error(("covariates", cov, "shifts", lv, n), "not a coefficient")
                shifts.setdefault(str(lv), {})[n] = _num(doc, ("covariates", cov, "shifts", lv, n))
        covariates[cov] = (props, shifts)
    return {"model": model, "names": names, "beta": beta, "random": random, "covariates": covariates}


def _value(doc, path):
    v = doc.data
    for k in path:
        v = v[k]
    return v


def _mapping(doc, path) -> dict:
    """The mapping at ``path`` ({} when it is absent or empty)."""
    v = _value(doc, path[:-1]).get(path[-1])
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise doc.error(path, f"must be a mapping, not {type(v).__name__}")
    return v


def _num(doc, path) -> float:
    v = _value(doc, path)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise doc.error(path, f"'{v}' is not a number")
    return float(v)


def simulate_responses(design, truth: dict, n_respondents: int, seed: int, warn: bool = True):
    """A SIMULATED survey export drawn from a known truth.

    Parameters
    ----------
    design : dce.design.core.Design
        The design: S tasks of m positions, in blocks.
    truth : dict
        As returned by :func:`load_truth` (K coefficients).
    n_respondents : int
        Number of respondents N (at least 1); blocks are assigned in balanced rotation.
    seed : int
        Seed of every random step (block order, covariates, random coefficients, answers).
    warn : bool
        Warn (UserWarning) when the answers carry (almost) no information: every answer the same
        alternative, or nearly every task answered with certainty.

    Returns
    -------
    pandas.DataFrame
        N rows: ``id``, ``block``, one column per covariate, ``q1`` .. ``qT`` (T: the largest block's
        number of tasks) holding the chosen position (1-based; missing past the end of a shorter block).
    """
    import pandas as pd

    if n_respondents < 1:
        raise ArgumentError("n_respondents", "must be at least 1")
    rng = make_rng(seed)
    X = design.matrix()                                  # tasks x positions x params
    blocks = {}
    for s in range(design.n_tasks):
        blocks.setdefault(int(design.block[s]), []).append(s)
    block_ids = sorted(blocks)
    n_max = max(len(v) for v in blocks.values())
    order = rng.permutation(n_respondents)
    block_of = np.empty(n_respondents, int)
    block_of[order] = [block_ids[i % len(block_ids)] for i in range(n_respondents)]
    B, cov_values = respondent_coefficients(truth, n_respondents, rng)
    answers = np.full((n_respondents, n_max), np.nan)
    certain = 0                                              # tasks whose answer is (all but) certain
    for r in range(n_respondents):
        tasks = blocks[block_of[r]]
        V = X[tasks] @ B[r]                                  # tasks x positions
        U = V + rng.gumbel(size=V.shape)
        answers[r, : len(tasks)] = U.argmax(axis=1) + 1
        certain += _certain_tasks(V)
    if warn:
        _warn_if_uninformative(answers, certain)
    out = {"id": np.arange(1, n_respondents + 1), "block": block_of}
    out.update(cov_values)
    for k in range(n_max):
        out[f"q{k + 1}"] = pd.array(answers[:, k], dtype="Int64") if np.isnan(answers[:, k]).any() \
            else answers[:, k].astype(int)
    return pd.DataFrame(out)


def _certain_tasks(V) -> int:
    """How many rows of utilities ``V`` (tasks x positions) give one alternative a probability above 0.999
    (a utility difference of about 7 or more: the Gumbel error then almost never changes the answer)."""
    with np.errstate(invalid="ignore", over="ignore"):
        d = np.sort(V, axis=1)
        gap = d[:, -1] - d[:, -2] if V.shape[1] > 1 else np.full(V.shape[0], np.inf)
    return int(np.sum(~(gap < 7.0)))


def _warn_if_uninformative(answers, certain):
    """Warn when the simulated answers carry (almost) no information: every answer the same alternative,
    or nearly every task answered with certainty (an enormous coefficient in the truth)."""
    import warnings

    given = answers[~np.isnan(answers)]
    if given.size == 0:
        return
    share = certain / given.size
    if np.unique(given).size == 1:
        warnings.warn(f"every simulated answer is alternative {int(given[0])}: the answers carry no information "
                      "about the coefficients (is a coefficient of the truth far too large for its attribute's "
                      "levels?)", UserWarning, stacklevel=3)
    elif share > 0.95:
        warnings.warn(f"{share:.0%} of the simulated tasks have a certain answer (one alternative's utility "
                      "exceeds the others' by 7 or more): the answers carry almost no information about the "
                      "coefficients, and a model fitted to them may not converge (is a coefficient of the truth "
                      "far too large for its attribute's levels?)", UserWarning, stacklevel=3)


def mean_coefficients(truth):
    """The population mean of each coefficient under ``truth``, exactly: the coefficient plus the shifts
    of the covariate groups weighted by their proportions; for a lognormal (median ``|b|``, ``sd`` on the
    log scale) ``+-|b| exp(sd^2 / 2)`` averaged over the groups.  A normal coefficient's mean is the
    coefficient as the file gives it."""
    beta = np.asarray(truth["beta"], float)
    names = list(truth["names"])
    groups = [(1.0, np.zeros(beta.size))]
    for props, shifts in truth.get("covariates", {}).values():
        new = []
        for w, shift in groups:
            for lv, p in props.items():
                sh = shift.copy()
                for n, v in shifts.get(lv, {}).items():
                    sh[names.index(n)] += v
                new.append((w * p, sh))
        groups = new
    out = np.zeros(beta.size)
    for w, shift in groups:
        b = beta + shift
        for n, (dist, sd) in truth.get("random", {}).items():
            k = names.index(n)
            if dist in ("ln", "-ln"):
                b[k] = (-1.0 if dist == "-ln" else 1.0) * abs(b[k]) * float(np.exp(sd * sd / 2))
        out += w * b
    return out


def respondent_coefficients(truth, n_respondents, rng):
    """Coefficients of ``n_respondents`` respondents drawn from ``truth`` with the generator ``rng``.

    Covariates take their exact population proportions (largest remainders), randomly assigned, and
    shift the coefficients of their groups; random coefficients then vary around the result (a normal
    adds ``sd * z``; a lognormal has the coefficient as its median and ``sd`` on the log scale).

    Returns
    -------
    B : ndarray, shape (n_respondents, K)
        One coefficient vector per respondent, in the order of ``truth["names"]``.
    cov_values : dict of str -> ndarray, shape (n_respondents,)
        Each covariate's level per respondent.
    """
    names = truth["names"]
    cov_values = {}
    B = np.repeat(np.asarray(truth["beta"], float)[None, :], n_respondents, axis=0)
    for cov, (props, shifts) in truth["covariates"].items():
        levels = list(props)
        raw = np.array([props[lv] for lv in levels]) * n_respondents
        counts = np.floor(raw).astype(int)
        for k in np.argsort(-(raw - counts))[: n_respondents - counts.sum()]:
            counts[k] += 1
        vals = np.repeat(np.array(levels, dtype=object), counts)
        vals = vals[rng.permutation(n_respondents)]
        cov_values[cov] = vals
        for lv, sh in shifts.items():
            for n, v in sh.items():
                B[vals == lv, names.index(n)] += v
    for n, (dist, sd) in truth["random"].items():
        k = names.index(n)
        z = rng.standard_normal(n_respondents)
        if dist == "n":
            B[:, k] += sd * z
        else:  # lognormal with the given coefficient as its median, sd of the underlying normal
            sign = -1.0 if dist == "-ln" else 1.0
            med = abs(B[:, k])
            B[:, k] = sign * med * np.exp(sd * z)
    return B, cov_values


def prior_truth(spec):
    """The truth of a design's prior means (a conditional logit): what `dce power` simulates from when no
    truth file is given."""
    return {"model": "mnl", "names": list(spec.param_names), "beta": np.asarray(spec.prior_mean, float),
            "random": {}, "covariates": {}}
