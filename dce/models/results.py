"""Estimation results: one object for every model, serialised to the JSON that later commands read."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

SE_TYPES = ("classical", "robust", "cluster")


@dataclass
class FitResult:
    model: str
    names: list
    estimates: np.ndarray
    vcovs: dict                    # "classical", "robust", optionally "cluster"
    se_type: str
    loglik: float
    loglik_null: float
    n_tasks: int
    n_respondents: int
    iterations: int
    converged: bool
    message: str
    grad_norm: float
    seconds: float = 0.0
    spec: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)       # model-specific JSON fields (mixed logit: draws...)
    warnings: list = field(default_factory=list)
    fixed: dict = field(default_factory=dict)       # parameters held at a value, not estimated
    summary_rows: list = field(default_factory=list)  # extra (label, text) rows of the fit summary
    details: list = field(default_factory=list)       # extra tables: (title, header, rows); not in JSON

    # ----------------------------------------------------------------- derived figures
    @property
    def n_params(self) -> int:
        return len(self.names)

    @property
    def vcov(self) -> np.ndarray:
        return self.vcovs[self.se_type]

    def se(self, kind=None) -> np.ndarray:
        V = self.vcovs.get(kind or self.se_type)
        if V is None:
            return np.full(self.n_params, np.nan)
        return np.sqrt(np.clip(np.diag(V), 0, None))

    @property
    def z(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.estimates / self.se()

    @property
    def p(self) -> np.ndarray:
        """Two-sided p-values of the z statistics (normal distribution)."""
        return np.array([math.erfc(abs(z) / math.sqrt(2)) if np.isfinite(z) else float("nan") for z in self.z])

    @property
    def aic(self) -> float:
        return 2 * self.n_params - 2 * self.loglik

    @property
    def bic(self) -> float:
        return self.n_params * math.log(self.n_tasks) - 2 * self.loglik

    @property
    def rho2(self) -> float:
        return 1 - self.loglik / self.loglik_null

    @property
    def rho2_adj(self) -> float:
        return 1 - (self.loglik - self.n_params) / self.loglik_null

    def conf_int(self, level=0.95):
        from statistics import NormalDist

        q = NormalDist().inv_cdf(0.5 + level / 2)
        se = self.se()
        return self.estimates - q * se, self.estimates + q * se

    def param(self, name) -> float:
        return float(self.estimates[self.names.index(name)])

    # ----------------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        lo, hi = self.conf_int()
        se = self.se()
        rob = self.se("robust")
        cl = self.se("cluster")
        params = []
        for i, name in enumerate(self.names):
            item = {
                "name": name,
                "estimate": _f(self.estimates[i]),
                "se": _f(se[i]),
                "classical_se": _f(self.se("classical")[i]),
                "robust_se": _f(rob[i]),
                "z": _f(self.z[i]),
                "p": _f(self.p[i]),
                "ci_low": _f(lo[i]),
                "ci_high": _f(hi[i]),
            }
            if "cluster" in self.vcovs:
                item["cluster_se"] = _f(cl[i])
            params.append(item)
        out = {
            "model": self.model,
            "loglik": _f(self.loglik),
            "loglik_null": _f(self.loglik_null),
            "n_tasks": int(self.n_tasks),
            "n_respondents": int(self.n_respondents),
            "n_params": int(self.n_params),
            "aic": _f(self.aic),
            "bic": _f(self.bic),
            "rho2": _f(self.rho2),
            "rho2_adj": _f(self.rho2_adj),
            "converged": bool(self.converged),
            "message": self.message,
            "grad_norm": _f(self.grad_norm),
            "iterations": int(self.iterations),
            "seconds": _f(self.seconds),
            "se_type": self.se_type,
            "params": params,
            "vcov": [[_f(v) for v in row] for row in self.vcov],
            "vcov_robust": [[_f(v) for v in row] for row in self.vcovs["robust"]],
            "warnings": list(self.warnings),
            "spec": self.spec,
        }
        if self.fixed:
            out["fixed"] = {k: _f(v) for k, v in self.fixed.items()}
        out.update(self.extra)
        return out


def _f(x):
    """A JSON-safe float (NaN and infinities become null)."""
    x = float(x)
    return x if math.isfinite(x) else None
