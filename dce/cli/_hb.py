"""`dce fit --model hb`: the hierarchical Bayes options, the estimator they make and its progress display."""
from __future__ import annotations

import click

# option name -> (click decorator arguments, help); every default is None so that their use with another
# model can be refused
_OPTIONS = [
    (("--iterations",), dict(type=int, help="HB: iterations per chain, burn-in included [default: 20000].")),
    (("--burn",), dict(type=int, help="HB: burn-in iterations (the step size adapts only here) "
                                      "[default: half the iterations].")),
    (("--thin",), dict(type=int, help="HB: keep every THIN-th draw after the burn-in [default: 10].")),
    (("--chains",), dict(type=int, help="HB: chains, run in parallel processes [default: 2].")),
    (("--prior",), dict(type=click.Choice(["scaled", "bayesm"]),
                        help="HB: scaled (default): the priors below apply to attributes divided by twice their "
                             "standard deviation, so that they are as vague for a cost in euros as for a 0/1 "
                             "attribute; results and the stated prior are in the data's units. bayesm: bayesm's "
                             "defaults on the data as they are (vague only for attributes of unit scale).")),
    (("--prior-variance",), dict(type=float, help="HB: prior variance of the coefficients (V = nu x variance x I), "
                                                  "on the scale --prior sets [default: 1, bayesm's].")),
    (("--prior-dof",), dict(type=float, help="HB: prior degrees of freedom beyond the number of coefficients "
                                             "(nu = K + dof) [default: 3, bayesm's].")),
    (("--posterior-draws",), dict(type=int, help="HB: draws per respondent kept in the JSON for shares and WTP "
                                                 "[default: 100].")),
    (("--draws-out",), dict(type=click.Path(dir_okay=False),
                            help="HB: write every kept individual draw (.npz or .parquet).")),
]
NAMES = ("iterations", "burn", "thin", "chains", "prior", "prior_variance", "prior_dof", "posterior_draws", "draws_out")


def hb_options(fn):
    """The HB options of `dce fit` (they reach the command as keyword arguments)."""
    for decls, kw in reversed(_OPTIONS):
        fn = click.option(*decls, default=None, **kw)(fn)
    return fn


def check_options(model, hb, n_boot=None, scheduler=None):
    """HB options with another model, or options HB does not take: one line naming them."""
    from dce.errors import DCEError

    given = [n for n in NAMES if hb.get(n) is not None]
    if given and model != "hb":
        raise DCEError(", ".join("--" + n.replace("_", "-") for n in given) + " need --model hb")
    if model == "hb" and n_boot:
        raise DCEError("--bootstrap: a hierarchical Bayes model has its posterior draws (no bootstrap)")
    if model == "hb" and scheduler:
        raise DCEError("--scheduler: the chains of a hierarchical Bayes model run in local processes (--workers)")


def hb_estimator(random_, correlated, seed, progress, backend, hb):
    """The HierarchicalBayes estimator of the command's options (the model checks them)."""
    import os

    from dce.errors import ArgumentError, DCEError
    from dce.models.hb.model import HierarchicalBayes

    if correlated:
        raise DCEError("--correlated: a hierarchical Bayes model always has a full covariance matrix")
    out = hb.get("draws_out")
    if out and os.path.splitext(out)[1].lower() not in (".npz", ".parquet"):
        raise ArgumentError("draws_out", f"{out}: write .npz or .parquet")
    from dce.cli.common import parse_random

    kw = {n: hb[n] for n in NAMES if n != "draws_out" and hb.get(n) is not None}
    return HierarchicalBayes(random=parse_random(random_), seed=seed, backend=backend,
                             callback=HBProgress() if progress else None, **kw)


def write_outputs(est, hb):
    """``--draws-out``: every kept individual draw."""
    if hb.get("draws_out"):
        est.write_draws(hb["draws_out"])


class HBProgress:
    """A progress bar of the sampler on stderr: iterations over all chains, log-likelihood, acceptance."""

    def __init__(self):
        self._progress = None
        self._task = None

    def __call__(self, done, total, loglik, acceptance, elapsed):
        if self._progress is None:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            from dce.cli.common import console

            self._progress = Progress(TextColumn("HB sampling"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.fields[info]}"), TimeRemainingColumn(),
                                      console=console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task("hb", total=total, info="")
        self._progress.update(self._task, completed=done,
                              info=f"log-likelihood {loglik:,.1f}  acceptance {acceptance:.2f}  {elapsed:.1f} s")

    def close(self):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
