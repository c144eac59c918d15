"""Official training recipes as named params sets: validate, cite-check, apply, render for DVC.

A recipe (``recipes/<model>-<dataset>-<benchmark>.yaml``, read by the CLI layer) is a plain
mapping: ``name``, ``model``, ``dataset``, ``benchmark``, ``source`` (repo, commit, config),
``published`` (the expected top-1 numbers and where they are stated), ``params`` (dotted
params.yaml key -> entry) and ``unsupported`` (official details skelpipe has no param for).

Each ``params`` entry holds ``value`` and one of three provenances:

* ``source`` + ``official``: the cited line's literal text; ``field`` (default: the key's last
  part) names the assignment in it whose value must equal ``value`` (``field=v``, ``field: v`` or
  ``--field v``);
* ``derived`` (a note) + ``expr`` + ``from`` (cited lines, each giving a name by ``field`` or by a
  ``value`` that must appear in its text): ``expr`` over those names must equal ``value``;
* ``skelpipe``: a note; a choice of this project (preset, matrix axes), no official value.

Everything here works on dicts and text: no YAML, no typer.
"""

from __future__ import annotations

import ast
import copy
import math
import operator
import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from skelpipe.params import SECTION_TYPES, ParamsError, from_mapping

REQUIRED = ("name", "model", "dataset", "benchmark", "source", "published", "params")
SOURCE_KEYS = ("repo", "commit", "config")
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
}


class RecipeError(ValueError):
    """A recipe that is malformed, cites a value wrongly, or does not fit params.yaml."""


def list_recipes(folder: Path) -> list[str]:
    """Names (file stems) of the recipes in ``folder``, sorted."""
    return sorted(p.stem for p in Path(folder).glob("*.yaml"))


# --- literals in cited lines ------------------------------------------------------------------


def _value_end(text: str, start: int) -> int:
    """End of the value starting at ``start``: a ``,`` ``)`` ``}`` or blank at bracket depth 0,
    or a ``#`` comment, outside quotes."""
    depth, quote = 0, ""
    for i in range(start, len(text)):
        c = text[i]
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}" and depth:
            depth -= 1
        elif depth == 0 and (c in ",)}#" or c.isspace()):
            return i
    return len(text)


def _to_python(token: str) -> Any:
    try:
        return ast.literal_eval(token)
    except (ValueError, SyntaxError):
        pass
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none", "~"):
        return None
    return token


def literal_at(text: str, field: str) -> Any:
    """The value assigned to ``field`` in a cited line: ``field=v`` / ``field: v`` (Python, YAML)
    or ``--field v`` (a command line), parsed as a Python / YAML literal.

    Raises:
        RecipeError: when ``field`` is not assigned in ``text``.
    """
    match = re.search(rf"(?<![\w]){re.escape(field)}\s*[=:]\s*", text)
    if match is None:
        match = re.search(rf"--{re.escape(field)}\s+(?=[^-\s])", text)
    if match is None:
        raise RecipeError(f"{field!r} is not assigned in {text!r}")
    end = _value_end(text, match.end())
    return _to_python(text[match.end() : end].strip())


def _states(text: str, value: Any) -> bool:
    """Whether ``value`` (a number, or each item of a list) appears as a number in ``text``."""
    if isinstance(value, list | tuple):
        return all(_states(text, v) for v in value)
    pattern = rf"(?<![\d.]){re.escape(str(value))}(?!\d|\.\d)"
    return re.search(pattern, text) is not None


def evaluate(expr: str, names: Mapping[str, Any]) -> Any:
    """Evaluate a recipe's ``expr``: literals, names, + - * / //, lists, dicts and subscripts."""

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise RecipeError(f"expr {expr!r}: unknown name {node.id!r}")
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.List | ast.Tuple):
            return [ev(e) for e in node.elts]
        if isinstance(node, ast.Dict):
            return {ev(k): ev(v) for k, v in zip(node.keys, node.values, strict=True)}
        if isinstance(node, ast.Subscript):
            return ev(node.value)[ev(node.slice)]
        raise RecipeError(f"expr {expr!r}: {type(node).__name__} is not allowed")

    try:
        return ev(ast.parse(expr, mode="eval"))
    except (SyntaxError, KeyError, TypeError, ZeroDivisionError) as err:
        raise RecipeError(f"expr {expr!r}: {err!r}") from None


def same_value(a: Any, b: Any) -> bool:
    """Equality of recipe values: bools only equal bools, numbers within 1e-12, lists by item."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    return a == b


# --- citations -----------------------------------------------------------------------------------


def _from_names(key: str, items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    names: dict[str, Any] = {}
    for item in items:
        official = str(item.get("official", ""))
        if "field" in item:
            names[item.get("name", item["field"])] = literal_at(official, item["field"])
        elif "value" in item and "name" in item:
            if not _states(official, item["value"]):
                raise RecipeError(f"{key}: {item['value']!r} is not stated in {official!r}")
            names[item["name"]] = item["value"]
    return names


def check_entry(key: str, entry: Mapping[str, Any]) -> None:
    """Check one ``params`` entry's value against its cited literal(s).

    Raises:
        RecipeError: on a missing value or provenance, or a value the citation does not give.
    """
    if not isinstance(entry, Mapping) or "value" not in entry:
        raise RecipeError(f"{key}: an entry needs a value")
    value = entry["value"]
    if "official" in entry:
        if "source" not in entry:
            raise RecipeError(f"{key}: official text without a source")
        stated = literal_at(str(entry["official"]), entry.get("field", key.split(".")[-1]))
    elif "derived" in entry:
        if "expr" not in entry or not entry.get("from"):
            raise RecipeError(f"{key}: a derived entry needs expr and from")
        stated = evaluate(str(entry["expr"]), _from_names(key, entry["from"]))
    elif "skelpipe" in entry:
        return
    else:
        raise RecipeError(f"{key}: needs official, derived or skelpipe")
    if not same_value(value, stated):
        raise RecipeError(f"{key}: value {value!r} but the official text gives {stated!r}")


def check_citations(recipe: Mapping[str, Any]) -> list[str]:
    """Every ``params`` entry checked by :func:`check_entry`: the messages (empty: all good)."""
    errors = []
    for key, entry in (recipe.get("params") or {}).items():
        try:
            check_entry(key, entry)
        except RecipeError as err:
            errors.append(str(err))
    return errors


def citations(recipe: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Every cited line of a recipe as ``(what, "file:line", official text)``: params entries,
    their ``from`` items, unsupported details and the published numbers' line."""
    out: list[tuple[str, str, str]] = []
    for key, entry in (recipe.get("params") or {}).items():
        for item in [entry, *(entry.get("from") or [])]:
            if "source" in item and "official" in item:
                out.append((key, str(item["source"]), str(item["official"])))
    for item in recipe.get("unsupported") or []:
        if "source" in item and "official" in item:
            out.append(("unsupported", str(item["source"]), str(item["official"])))
    return out


# --- schema ---------------------------------------------------------------------------------------


def recipe_values(recipe: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe as dotted key -> value."""
    return {key: entry["value"] for key, entry in (recipe.get("params") or {}).items()}


def _set(doc: dict[str, Any], key: str, value: Any) -> None:
    node = doc
    parts = key.split(".")
    for i, part in enumerate(parts[:-1]):
        if not isinstance(node.get(part), dict):
            raise RecipeError(f"unknown key {key}: {'.'.join(parts[: i + 1])} is not a section")
        node = node[part]
    if parts[-1] not in node:
        raise RecipeError(f"unknown key {key}: not in params.yaml")
    node[parts[-1]] = value


def applied(doc: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of the params document with ``values`` set (every key must exist)."""
    out = copy.deepcopy(dict(doc))
    for key, value in values.items():
        _set(out, key, value)
    return out


def validate_recipe(recipe: Mapping[str, Any], doc: Mapping[str, Any]) -> list[str]:
    """Problems of ``recipe`` against the params document ``doc`` (empty: valid): required fields,
    keys that params.yaml lacks, and sections that no longer load with :mod:`skelpipe.params`."""
    errors = [f"missing field {f!r}" for f in REQUIRED if f not in recipe]
    source = recipe.get("source") or {}
    errors += [f"missing source.{k}" for k in SOURCE_KEYS if k not in source]
    if errors:
        return errors
    values = recipe_values(recipe)
    try:
        merged = applied(doc, values)
    except RecipeError as err:
        return [str(err)]
    for section in sorted({key.split(".")[0] for key in values}):
        if section not in SECTION_TYPES:
            errors.append(f"section {section!r} has no params schema")
            continue
        try:
            from_mapping(SECTION_TYPES[section], merged[section], section)
        except ParamsError as err:
            errors.append(str(err))
    if recipe["model"] not in values.get("train.models", [recipe["model"]]):
        errors.append(f"train.models does not hold the recipe's model {recipe['model']!r}")
    return errors


# --- params.yaml text -------------------------------------------------------------------------

_KEY_LINE = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_][\w-]*):(?P<rest>.*)$")


def format_value(value: Any) -> str:
    """A value as YAML text: flow lists ``[a, b]``, ``true`` / ``false``, floats that read back as
    floats (``1.0e-06``, never ``1e-06``, which YAML 1.1 reads as a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    text = str(value)
    if re.fullmatch(r"[A-Za-z_][\w.+-]*", text) and text.lower() not in _YAML_WORDS:
        return text
    return "'" + text.replace("'", "''") + "'"


_YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "none", "y", "n"}


def _split_comment(rest: str) -> tuple[str, str]:
    """``" 0.1   # note"`` -> (``" 0.1"``, ``"   # note"``): the comment keeps its blanks."""
    quote = ""
    for i, c in enumerate(rest):
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or rest[i - 1].isspace()):
            value = rest[:i].rstrip()
            return value, rest[len(value) :]
    return rest.rstrip(), ""


def _key_lines(lines: Sequence[str]) -> dict[str, int]:
    """Dotted key -> line index, from indentation (block mappings, as params.yaml is written)."""
    found: dict[str, int] = {}
    stack: list[tuple[int, str]] = []
    for i, line in enumerate(lines):
        match = _KEY_LINE.match(line)
        if match is None:
            continue
        indent = len(match["indent"])
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, match["key"]))
        found[".".join(k for _, k in stack)] = i
    return found


def _replace_value(line: str, value: Any) -> str:
    match = _KEY_LINE.match(line)
    assert match is not None
    old, comment = _split_comment(match["rest"])
    new = " " + format_value(value)
    if comment:
        pad = len(old) + len(comment) - len(comment.lstrip()) - len(new)
        comment = " " * max(pad, 1) + comment.lstrip()
    return f"{match['indent']}{match['key']}:{new}{comment}"


def apply_to_text(text: str, values: Mapping[str, Any]) -> tuple[str, list[tuple[str, str, str]]]:
    """Set ``values`` in params.yaml ``text``, one line each, keeping comments and layout (a
    trailing comment stays in its column when the new value fits). Returns the new text and the
    changes ``(key, old value text, new value text)``; lines already holding the value are kept.

    Raises:
        RecipeError: on a key that the text lacks or that is a section, not a value.
    """
    lines = text.splitlines(keepends=True)
    where = _key_lines([ln.rstrip("\r\n") for ln in lines])
    changes = []
    for key, value in values.items():
        if key not in where:
            raise RecipeError(f"unknown key {key}: not in params.yaml")
        i = where[key]
        body = lines[i].rstrip("\r\n")
        ending = lines[i][len(body) :]
        old = _split_comment(_KEY_LINE.match(body)["rest"])[0].strip()
        if not old:
            raise RecipeError(f"{key} is a section in params.yaml, not a value")
        if old == format_value(value):
            continue
        lines[i] = _replace_value(body, value) + ending
        changes.append((key, old, format_value(value)))
    return "".join(lines), changes


def dvc_args(values: Mapping[str, Any]) -> list[str]:
    """``dvc exp run`` arguments setting ``values``: ``["-S", "train.lr=0.1", ...]``."""
    args: list[str] = []
    for key, value in values.items():
        args += ["-S", f"{key}={format_value(value)}"]
    return args


def dvc_command(values: Mapping[str, Any]) -> str:
    """The one-line shell command ``dvc exp run -S 'train.lr=0.1' ...``."""
    return shlex.join(["dvc", "exp", "run", *dvc_args(values)])
