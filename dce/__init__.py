"""dce: discrete choice experiments from design to policy answer.

The numerical core (``dce.data``, ``dce.spec``, ``dce.models``, ``dce.post``, ``dce.design``) is free of
the CLI and of terminal output so it can be used as a library; ``dce.cli`` is a thin layer on top.
The names below are re-exported lazily (PEP 562): ``import dce`` loads nothing heavy, and
``from dce import MixedLogit`` imports only what that name needs.

Every model family of the registry (:data:`dce.models.MODELS`) is exported: :class:`ConditionalLogit`,
:class:`MixedLogit`, :class:`LatentClassLogit`, :class:`ConditionalLogitWTP`, :class:`MixedLogitWTP` and
:class:`HierarchicalBayes`; each ``fit(data)`` returns a :class:`ModelResult` that speaks the statsmodels
idiom (``params``, ``bse``, ``conf_int()``, ``summary()``, ``predict(data)``).

>>> from dce import ConditionalLogit, choice_data_from_formula, preference_shares   # doctest: +SKIP
"""

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    # data
    "ChoiceData": "dce.data.choice_data",
    "read_table": "dce.data.readers",
    "choice_data_from_formula": "dce.data.build",
    "choice_data_from_survey": "dce.data.survey",
    "choice_data_from_model_file": "dce.data.modelfile",
    "load_model_file": "dce.data.modelfile",
    "simulate_responses": "dce.data.simulate",
    # design
    "DesignSpec": "dce.design.spec",
    "load_design_spec": "dce.design.spec",
    "parse_design_spec": "dce.design.spec",
    "Design": "dce.design.core",
    "make_design": "dce.design.generate",
    "read_design_csv": "dce.design.io",
    "write_design_csv": "dce.design.io",
    "evaluate_design": ("dce.design.diagnostics", "evaluate"),
    # models
    "Model": "dce.models.base",
    "ModelResult": "dce.models.results",
    "ConditionalLogit": "dce.models.mnl",
    "MixedLogit": "dce.models.mixed.model",
    "LatentClassLogit": "dce.models.latent",
    "ConditionalLogitWTP": "dce.models.wtp_space",
    "MixedLogitWTP": "dce.models.wtp_space",
    "HierarchicalBayes": "dce.models.hb.model",
    "model_class": "dce.models",
    # post-estimation
    "Scenario": "dce.post.shares",
    "load_scenarios": "dce.post.shares",
    "preference_shares": "dce.post.shares",
    "willingness_to_pay": "dce.post.wtp",
    "importance": "dce.post.wtp",
    # sample size, bootstrap, replications
    "power_analysis": "dce.power",
    "bootstrap": "dce.models.bootstrap",
    # report
    "Table": "dce.tables",
    "Column": "dce.tables",
    # errors
    "DCEError": "dce.errors",
    "ArgumentError": "dce.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    target = _EXPORTS.get(name)
    if target is None:
        raise AttributeError(f"module 'dce' has no attribute {name!r}")
    import importlib

    module, attr = target if isinstance(target, tuple) else (target, name)
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value          # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
