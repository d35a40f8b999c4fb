"""Sphinx configuration of the dce documentation (built with warnings as errors: tests/test_docs.py)."""
import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

import dce  # noqa: E402

project = "dce"
author = "the dce authors"
copyright = "the dce authors, MIT licence"
release = version = dce.__version__

extensions = [
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx_click",
    "dce_output",          # docs/_ext/dce_output.py: run a dce command at build time, show its output
]
dce_root = ROOT

# numpydoc: the docstrings' own sections; no autosummary tables of members (each page lists its own)
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"undoc-members": False}

html_theme = "alabaster"
html_theme_options = {"description": "Discrete choice experiments, from design to policy answer",
                      "fixed_sidebar": True}
html_static_path = []
templates_path = []
exclude_patterns = ["_build"]
# the HTML is read from disk: no search index needs a server, no request leaves the page
html_copy_source = False
nitpicky = False
