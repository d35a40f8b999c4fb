"""The shared helpers: seeds, numerical differentiation, backend choice, YAML with lines, atomic output."""
from __future__ import annotations

import numpy as np
import pytest

from dce.cli.errors import for_cli, option_name
from dce.errors import ArgumentError, DCEError, where


# ------------------------------------------------------------------------------------------ seeds
def test_seeds_are_checked_and_streams_are_stable():
    from dce.util.seeds import resolve_seed, streams

    assert resolve_seed(5) == 5 and resolve_seed("7") == 7
    fresh = resolve_seed(None)
    assert isinstance(fresh, int) and 0 <= fresh < 2**31
    for bad in (-1, 2**33, 1.5, "x", True):
        with pytest.raises(ArgumentError, match="^seed: "):
            resolve_seed(bad)
    a = [s.generate_state(1)[0] for s in streams(3, 4)]
    b = [s.generate_state(1)[0] for s in streams(3, 6)][:4]     # replication i gets child i however many
    assert a == b and len(set(a)) == 4


# ------------------------------------------------------------------------------------------ numdiff
def test_numerical_derivatives_against_analytic_ones():
    from dce.util.numdiff import gradient, hessian, hessian_from_grad, jacobian

    f = lambda x: np.sin(x[0]) * x[1] ** 2 + np.exp(0.3 * x[2])  # noqa: E731
    g = lambda x: np.array([np.cos(x[0]) * x[1] ** 2, 2 * np.sin(x[0]) * x[1], 0.3 * np.exp(0.3 * x[2])])  # noqa: E731
    x = np.array([0.4, -1.3, 2.0])
    H = np.array([[-np.sin(x[0]) * x[1] ** 2, 2 * np.cos(x[0]) * x[1], 0],
                  [2 * np.cos(x[0]) * x[1], 2 * np.sin(x[0]), 0],
                  [0, 0, 0.09 * np.exp(0.3 * x[2])]])
    np.testing.assert_allclose(gradient(f, x), g(x), rtol=1e-8)
    np.testing.assert_allclose(jacobian(g, x), H, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(hessian_from_grad(g, x), H, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(hessian_from_grad(g, x, rel=1e-7, central=False), H, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hessian(f, x), H, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------------------------ backend
def test_backend_choice_and_threads():
    from dce.util.backend import choose_backend, numba_available, resolve_threads

    assert choose_backend("numpy") == "numpy"
    assert choose_backend("auto") == ("numba" if numba_available() else "numpy")
    with pytest.raises(ArgumentError, match="^backend: unknown backend 'gpu'"):
        choose_backend("gpu")
    assert resolve_threads(3) == 3 and resolve_threads(None) >= 1
    with pytest.raises(ArgumentError, match="^threads: must be at least 1"):
        resolve_threads(0)


# ------------------------------------------------------------------------------------------ errors
def test_error_places_and_option_names():
    assert where("a.csv", column="x", row=12) == "a.csv: column 'x', row 12: "
    assert where("a.csv", row=3, column="alt") == "a.csv: row 3, column 'alt': "
    assert where(None, task=4) == "task 4: " and where("f") == "f: " and where() == ""
    e = ArgumentError("id_col", "needed for cluster standard errors")
    assert str(e) == "id_col: needed for cluster standard errors"
    assert for_cli(e) == "--id: needed for cluster standard errors"
    assert option_name("draw_type") == "--draw-type" and option_name("n_sim") == "--sims"


# ------------------------------------------------------------------------------------------ YAML
def test_yaml_doc_knows_the_line_of_every_key(tmp_path):
    from dce.util.yamlio import YamlDoc, read_yaml

    p = tmp_path / "x.yaml"
    p.write_text("a: 1\nb:\n  c: [1, 2]\n  d: text\n")
    doc = YamlDoc.load(p)
    assert doc.data == {"a": 1, "b": {"c": [1, 2], "d": "text"}}
    assert doc.line(("b", "d")) == 4 and doc.line(("b", "c", 1)) == 3 and doc.line(("b", "zz")) == 2
    assert str(doc.error(("b", "d"), "bad")) == f"{p}: key 'b.d' (line 4): bad"
    (tmp_path / "empty.yaml").write_text("")
    assert read_yaml(tmp_path / "empty.yaml") is None


@pytest.mark.parametrize("text,match", [
    ("a: 1\na: 2\n", r"line 2: key 'a' given twice \(first on line 1\)"),
    ("a: [1, 2\n", r"line \d+: not valid YAML"),
    ("? [1, 2]\n: x\n", "a key must be plain text"),
    ("a: !!python/object:os.system x\n", r"line 1: the tag '!!python/object:os.system' is not allowed"),  # nothing is run
    # issue 19: a tag under a key no reader looks at (a mapping or list is built without PyYAML's constructor)
    ("a: 1\nignored: !!python/object/new:os.system [ls]\n", r"line 2: the tag '!!python/object/new:os.system'"),
    ("a: {b: [1, !custom {c: 2}]}\n", r"line 1: the tag '!custom' is not allowed"),
    ("!!binary aGk=: 1\n", r"line 1: the tag '!!binary' is not allowed"),
    ('a: "\\ud800"\n', r"line 1: a text holds an escape of half a character"),
])
def test_yaml_doc_refuses_what_is_not_plain_data(tmp_path, text, match):
    from dce.util.yamlio import YamlDoc

    p = tmp_path / "x.yaml"
    p.write_text(text)
    with pytest.raises(DCEError, match=match):
        YamlDoc.load(p)


def test_yaml_files_that_are_not_text(tmp_path):
    from dce.util.yamlio import YamlDoc

    with pytest.raises(DCEError, match="no such file"):
        YamlDoc.load(tmp_path / "nope.yaml")
    with pytest.raises(DCEError, match="is a folder"):
        YamlDoc.load(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(b"a: \x00\x01")
    with pytest.raises(DCEError, match="binary"):
        YamlDoc.load(tmp_path / "bin.yaml")
    (tmp_path / "latin.yaml").write_bytes("a: caf\xe9".encode("latin-1"))
    with pytest.raises(DCEError, match="UTF-8"):
        YamlDoc.load(tmp_path / "latin.yaml")


# ------------------------------------------------------------------------------------------ output
def test_atomic_output_leaves_nothing_half_written(tmp_path):
    from dce.util.io import atomic_open, write_json

    target = tmp_path / "out.json"
    write_json(target, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_open(target) as fh:
            fh.write("partial")
            raise RuntimeError("interrupted")
    assert target.read_text().strip() == '{\n  "a": 1\n}'
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]        # no temporary file left
    with pytest.raises(DCEError, match="does not exist"):
        write_json(tmp_path / "no" / "such" / "x.json", {})


def test_yaml_numbers_with_an_exponent_are_numbers():
    """YAML 1.1 reads 1e-3 as text; a design's prior sd of 1e-3 is a number (explicit !!str and quotes stay
    text; 1e999 stays text for the checks to refuse)."""
    from dce.util.yamlio import YamlDoc

    d = YamlDoc("a: 1e-3\nb: -1E5\nc: '1e3'\nd: e5\ne: !!str 1e3\nf: 1e999\ng: [.5e1, &x 2e2, *x]\n", "s").data
    assert d == {"a": 0.001, "b": -1e5, "c": "1e3", "d": "e5", "e": "1e3", "f": "1e999", "g": [5.0, 200.0, 200.0]}
