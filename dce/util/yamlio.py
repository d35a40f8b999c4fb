"""YAML data files with line numbers: the one reader of design, model, scenario and truth files.

:class:`YamlDoc` loads a document with PyYAML's safe loader (plain data: nothing in a file is ever
run, no custom tags), refuses duplicate keys and keys that are not plain text, and remembers the line
of every key path, so that a later check can say ``designs/x.yaml: line 12: key 'attributes.price': ...``.
Key paths are tuples of keys and list positions, e.g. ``("attributes", "price", "levels", 0)``.
"""
from __future__ import annotations

import math
import os
import re

from dce.errors import DCEError
from dce.util.io import read_bytes

# YAML 1.1 (PyYAML) reads 1e-3 and -1E5 (an exponent without a decimal point) as text; people mean numbers
_EXPONENT = re.compile(r"[-+]?(?:\d[\d_]*\.?\d*|\.\d+)[eE][-+]?\d+")

_YAML_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = frozenset(_YAML_TAG + t for t in ("str", "int", "float", "bool", "null", "map", "seq"))
_TIMESTAMP = _YAML_TAG + "timestamp"
_SURROGATE = re.compile("[\ud800-\udfff]")

#: the most values (mappings, lists and scalars, counted as read) a document may hold: an alias (``*a``)
#: repeats its anchor's whole subtree, so a few lines of nested aliases can stand for billions of values
MAX_VALUES = 200_000

# PyYAML's problems that a slip of indentation gives (a key indented under a scalar, a key less indented
# than its siblings, a list item out of line)
_INDENTATION = ("mapping values are not allowed here", "could not find expected ':'", "did not find expected key",
                "expected <block end>", "did not find expected '-' indicator")


class YamlDoc:
    """A YAML document as plain Python values (:attr:`data`) plus the line of each key path.

    Parameters
    ----------
    text : str
        The YAML text.
    source : str
        What messages call the document (usually its path).
    what : str
        What the document is, for the message about an empty one (``"design file"``).
    """

    def __init__(self, text: str, source: str, what: str = "file", allow_empty: bool = False):
        import yaml

        self.source = source
        self._text = text
        self.lines = {}     # key path -> line (1-based) of the key
        self.texts = {}     # key path -> source text of a scalar value
        self._count = 0     # values read so far (see MAX_VALUES)
        self._open = set()  # ids of the mappings and lists being read (an alias to one of them is a cycle)
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                if allow_empty:
                    self.data = None
                    return
                raise DCEError(f"{source}: the {what} is empty")
            self._loader = loader
            self.data = self._build(node, ())
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(e, "problem", None) or getattr(e, "context", None) or str(e).splitlines()[0]
            hint = ""
            if mark is not None and any(p in str(problem) for p in _INDENTATION):
                n = mark.line + 1
                above = n - 1 if n > 1 and text.splitlines()[n - 2].strip() else None
                hint = (f"; the indentation of this line or the one above is likely wrong{self.quote(above)}"
                        f"{self.quote(n)}" if above else f"; the indentation is likely wrong{self.quote(n)}")
            raise DCEError(f"{source}: {where}not valid YAML: {problem}{hint}") from None
        except RecursionError:
            raise DCEError(f"{source}: not valid YAML: nested too deeply") from None
        finally:
            loader.dispose()

    @classmethod
    def load(cls, path, what: str = "file", allow_empty: bool = False) -> "YamlDoc":
        """Read a YAML file; a missing, unreadable, binary or non-UTF-8 file is a one-line error."""
        path = os.fspath(path)
        raw = read_bytes(path, what)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = raw.count(b"\n", 0, e.start) + 1
            raise DCEError(f"{path}: line {line}: is not a text (UTF-8) {what} (byte 0x{raw[e.start]:02X}); save it "
                           "as UTF-8") from None
        if "\x00" in text:
            raise DCEError(f"{path}: is not a text {what} (it holds binary data)")
        return cls(text, path, what, allow_empty)

    def _build(self, node, path):
        import yaml

        self._count += 1
        if self._count > MAX_VALUES:
            raise DCEError(f"{self.source}: too large: more than {MAX_VALUES:,} values (do aliases such as *name "
                           "repeat large parts of the file?)")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)):
            self._check_tag(node)
            if id(node) in self._open:
                raise DCEError(f"{self.source}: line {node.start_mark.line + 1}: an alias refers to a value that "
                               "contains it (the value would be infinite)")
            self._open.add(id(node))
            try:
                return self._build_collection(node, path)
            finally:
                self._open.discard(id(node))
        self.texts[path] = node.value
        self._check_tag(node)
        value = self._loader.construct_object(node, deep=True)
        if isinstance(value, str) and _SURROGATE.search(value):
            raise DCEError(f"{self.source}: line {node.start_mark.line + 1}: a text holds an escape of half a "
                           "character (a lone surrogate such as \\ud800), which is not text")
        if isinstance(value, str) and node.style is None and _EXPONENT.fullmatch(value) \
                and not self._tagged(node):
            number = float(value.replace("_", ""))
            if math.isfinite(number):       # 1e999 stays text, for the checks to refuse
                return number
        return value

    def _check_tag(self, node):
        """Refuse a tag outside plain data (``!!python/object/new:os.system``, ``!foo``, ``!!binary``,
        ``!!set``), wherever it is, even under a key no reader looks at: a data file holds plain values.
        The tags of plain values (``!!str 1e3``, ``!!int``, ``!!float``, ``!!bool``, ``!!null``, ``!!map``,
        ``!!seq``) and the timestamps YAML finds by itself in unquoted dates are data."""
        tag = node.tag or ""
        if tag in _PLAIN_TAGS or (tag == _TIMESTAMP and not self._tagged(node)):
            return
        from dce.errors import clip

        shown = "!!" + tag[len(_YAML_TAG):] if tag.startswith(_YAML_TAG) else tag
        raise DCEError(f"{self.source}: line {node.start_mark.line + 1}: the tag '{clip(shown, limit=60)}' is not "
                       "allowed (a data file holds plain values: text, numbers, lists and mappings)")

    def _tagged(self, node) -> bool:
        """Whether a scalar carries an explicit tag (``!!str 1e3`` stays text)."""
        words = [w for w in self._text[node.start_mark.index:node.end_mark.index].split() if not w.startswith("&")]
        return bool(words) and words[0].startswith("!")

    def _build_collection(self, node, path):
        import yaml

        if isinstance(node, yaml.MappingNode):
            out, first = {}, {}
            for k, v in node.value:
                if not isinstance(k, yaml.ScalarNode):
                    raise DCEError(f"{self.source}: line {k.start_mark.line + 1}: a key must be plain text")
                self._check_tag(k)
                key = k.value
                line = k.start_mark.line + 1
                if key in out:
                    raise DCEError(f"{self.source}: line {line}: key '{self.dotted(path + (key,))}' given twice "
                                   f"(first on line {first[key]})")
                first[key] = line
                self.lines[path + (key,)] = line
                out[key] = self._build(v, path + (key,))
            return out
        return [self._build(v, path + (i,)) for i, v in enumerate(node.value)]

    @staticmethod
    def dotted(path) -> str:
        """``("a", "b", 0, "c")`` -> ``a.b[0].c``."""
        out = ""
        for p in path:
            out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + str(p))
        return out

    def line(self, path):
        """The line of ``path`` or of its nearest ancestor that has one (None for none)."""
        return line_of(self.lines, path)

    def quote(self, line) -> str:
        """`` (line N reads `text`)``: the line as written (cut at 60 characters), for a message."""
        lines = self._text.splitlines()
        if not line or line > len(lines):
            return ""
        text = lines[line - 1].rstrip()
        text = text if len(text) <= 60 else text[:57] + "..."
        return f" (line {line} reads `{text}`)"

    def error(self, path, message, indentation=False) -> DCEError:
        """``source: key 'a.b' (line N): message``; with ``indentation`` (a key that belongs elsewhere in the
        file: an unknown key that is a known one at another level), a hint that the line is likely
        mis-indented, quoting it."""
        line = self.line(path)
        at = f" (line {line})" if line else ""
        key = f"key '{self.dotted(path)}'{at}: " if path else (f"line {line}: " if line else "")
        if indentation:
            message += f"; '{path[-1]}' belongs at another level: the indentation is likely wrong{self.quote(line)}"
        return DCEError(f"{self.source}: {key}{message}")


def line_of(lines: dict, path) -> int | None:
    """The line of key path ``path`` in ``lines`` (a :attr:`YamlDoc.lines`), or of its nearest ancestor
    that has one; None for none."""
    path = tuple(path)
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path)


def read_yaml(path, what: str = "file"):
    """A YAML data file as plain Python values (see :class:`YamlDoc`); None for an empty file."""
    return YamlDoc.load(path, what, allow_empty=True).data
