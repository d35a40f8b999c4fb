"""Model families and their registry.

Each family is one module with a :class:`dce.models.base.Model` subclass; :data:`MODELS` maps the name
a result JSON carries (``"model"``) to that class, imported only when it is needed.  Post-estimation
finds a result's coefficient map through :func:`model_class`, never through a branch on the name.
"""
from __future__ import annotations

import importlib

MODELS = {
    "mnl": "dce.models.mnl:ConditionalLogit",
    "mixed": "dce.models.mixed.model:MixedLogit",
    "latent": "dce.models.latent:LatentClassLogit",
    "mnl_wtp": "dce.models.wtp_space:ConditionalLogitWTP",
    "mixed_wtp": "dce.models.wtp_space:MixedLogitWTP",
    "hb": "dce.models.hb.model:HierarchicalBayes",
}


def model_class(name: str, source: str = "model"):
    """The class of the model family ``name``; an unknown name is a one-line error naming ``source``."""
    from dce.errors import DCEError

    target = MODELS.get(name)
    if target is None:
        raise DCEError(f"{source}: unknown model '{name}' (known: {', '.join(MODELS)})")
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)
