"""Design YAML: parsing, coding, and errors that name the key and the line."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest

from dce.design.spec import load_design_spec, parse_design_spec
from dce.errors import DCEError

BASE = """\
name: t
alternatives: 2
tasks: 12
blocks: 2
status_quo:
  label: now
  levels: {delegation: none, hours: 50, income: 0}
  prior: 0.5
attributes:
  delegation:
    levels: [none, nurse, nurse and others]
    coding: dummy
    prior: [0.8, 0.7]
  hours:
    levels: [40, 45, 50]
    coding: linear
    prior: {mean: -0.1, sd: 0.02}
  income:
    levels: [-10, 0, 10]
    coding: effects
    prior: [0.1, 0.2]
constraints:
  - "delegation == 'none' and hours < 45"
"""


def test_parse_and_code():
    s = parse_design_spec(BASE)
    assert s.coded_names == ["delegation[nurse]", "delegation[nurse and others]", "hours",
                             "income[0]", "income[10]"]
    assert s.param_names == s.coded_names + ["asc_status_quo"]
    assert s.asc_names == ["asc_status_quo"]
    x = s.code_alternative({"delegation": "nurse", "hours": 45, "income": -10})
    np.testing.assert_array_equal(x, [1, 0, 45, -1, -1, 0])
    x = s.code_alternative(kind="status_quo")
    np.testing.assert_array_equal(x, [0, 0, 50, 1, 0, 1])
    # labels or values, text or numbers
    assert s.level_index("hours", "45") == 1 and s.level_index("hours", 45.0) == 1
    np.testing.assert_array_equal(s.prior_mean, [0.8, 0.7, -0.1, 0.1, 0.2, 0.5])
    np.testing.assert_array_equal(s.prior_sd, [0, 0, 0.02, 0, 0, 0])
    assert s.bayesian
    # the constraint removes none+40 profiles: 3 income levels
    assert s.feasible_table().sum() == 27 - 3


def test_reference_level_and_opt_out():
    y = BASE.replace("    coding: dummy\n", "    coding: dummy\n    reference: nurse\n")
    y = y.replace("blocks: 2\n", "blocks: 2\nopt_out: {label: neither, prior: -1}\n")
    s = parse_design_spec(y)
    assert s.coded_names[:2] == ["delegation[none]", "delegation[nurse and others]"]
    assert s.asc_names == ["asc_status_quo", "asc_opt_out"]
    np.testing.assert_array_equal(s.code_alternative(kind="opt_out"), [0, 0, 0, 0, 0, 0, 1])


def _err(text):
    with pytest.raises(DCEError) as e:
        parse_design_spec(text, source="f.yaml")
    return str(e.value)


def _line_of(text, needle):
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


@pytest.mark.parametrize("old,new,key,needle", [
    ("  - \"delegation == 'none' and hours < 45\"", "  - \"delegaton == 'none'\"", "constraints[0]", "delegaton"),
    ("    prior: [0.8, 0.7]", "    prior: [0.8, 0.7, 0.1]", "attributes.delegation.prior", "[0.8, 0.7, 0.1]"),
    ("{delegation: none, hours: 50", "{delegation: nobody, hours: 50", "status_quo.levels.delegation", "nobody"),
    ("blocks: 2", "blocks: 20", "blocks", "blocks: 20"),
    ("blocks: 2", "blocks: 5", "blocks", "blocks: 5"),
    ("    coding: linear", "    coding: linearr", "attributes.hours.coding", "linearr"),
    ("    coding: dummy", "    codng: dummy", "attributes.delegation.codng", "codng"),
    ("  - \"delegation == 'none' and hours < 45\"", "  - \"hours > 100\"", "constraints[0]", "hours > 100"),
    ("  - \"delegation == 'none' and hours < 45\"", "  - \"delegation == 'nures'\"", "constraints[0]", "nures"),
    ("  - \"delegation == 'none' and hours < 45\"", "  - \"__import__('os')\"", "constraints[0]", "__import__"),
    ("    prior: {mean: -0.1, sd: 0.02}", "    prior: {mean: -0.1, sd: -1}", "attributes.hours.prior.sd", "sd: -1"),
])
def test_errors_name_key_and_line(old, new, key, needle):
    assert old in BASE
    text = BASE.replace(old, new)
    msg = _err(text)
    assert msg.startswith("f.yaml: ")
    assert f"key '{key}'" in msg, msg
    assert f"(line {_line_of(text, needle)})" in msg, msg


def test_constraints_leaving_nothing():
    text = BASE.replace("  - \"delegation == 'none' and hours < 45\"", "  - \"hours >= 40\"")
    msg = _err(text)
    assert "key 'constraints'" in msg and "no feasible profile" in msg
    assert f"(line {_line_of(text, 'constraints:')})" in msg


def test_status_quo_missing_attribute_and_invalid_yaml(tmp_path):
    msg = _err(BASE.replace("{delegation: none, hours: 50, income: 0}", "{delegation: none, hours: 50}"))
    assert "status_quo.levels" in msg and "income" in msg
    msg = _err("alternatives: [2\n")
    assert "not valid YAML" in msg and "line" in msg
    p = tmp_path / "s.yaml"
    p.write_text(textwrap.dedent(BASE))
    assert load_design_spec(p).tasks == 12
    with pytest.raises(DCEError, match="no such file"):
        load_design_spec(tmp_path / "missing.yaml")
