"""Efficient choice-set designs for discrete choice experiments, with diagnostics.

Public API (stable; later commands build on it):

* :func:`dce.design.spec.load_design_spec(path) -> DesignSpec` (and ``parse_design_spec(text, source)``):
  the checked YAML design file.  ``DesignSpec`` codes any alternative given as ``{attribute: level}``:
  ``code_levels(levels)`` (attribute columns, names ``coded_names``), ``code_alternative(levels,
  kind="designed" | "status_quo" | "opt_out")`` (all ``param_names``, ASCs ``asc_status_quo`` /
  ``asc_opt_out`` included), ``prior_mean`` / ``prior_sd``, ``violates(level_indices)``.
* :func:`dce.design.generate.make_design(spec, seed=None, starts=10, draws=None, ...) -> Design`:
  coordinate exchange from random starts on the (Bayesian) D-error, then level-balanced blocking.
* :class:`dce.design.core.Design`: ``levels`` (tasks x alternatives x attributes level indices),
  ``block``, ``task_ids``, ``seed``, ``search``; ``matrix()`` gives the coded tasks.
* :func:`dce.design.io.read_design_csv(path, spec) -> Design` / :func:`write_design_csv(path, design)`.
* :func:`dce.design.diagnostics.evaluate(design, spec=None, draws=None, seed=None) -> dict`: D/A-errors
  (prior, prior mean, utility-neutral), Street & Burgess efficiency, S-efficiency, balance, overlap,
  dominance, correlations, per-block balance (JSON-ready).
* :func:`dce.design.questionnaire.render_questionnaire(design) -> str` (Markdown).
* :mod:`dce.design.info`: MNL information matrix, D-error, A-error, quasi-random prior draws.
"""
