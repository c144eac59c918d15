"""``skelpipe pipelines render``: write each benchmark pipeline's dvc.yaml from the root one.

The root ``dvc.yaml`` is the one place stage definitions live. A benchmark pipeline
(``pipelines/<name>/pipeline.yaml``) states only what differs: the stages it drops, the stages
it adds, the root stages it runs again over another matrix (``extend``: e.g. more models on one
stream), the params file its tracked keys refer to, the path prefixes it rewrites, its ``wdir``.
The rendered ``pipelines/<name>/dvc.yaml`` is committed (DVC reads it, ``dvc.lock`` sits next to
it) and ``--check`` fails when it no longer matches its sources.
"""

from __future__ import annotations

import difflib
import re
import sys
from collections.abc import Callable
from pathlib import Path

import typer
import yaml

SPEC = "pipeline.yaml"
SPEC_KEYS = {"description", "wdir", "params", "drop", "rewrite", "stages", "extend"}
PATH_FIELDS = ("deps", "outs", "metrics", "plots")  # lists of paths, or {path: flags}
WIDTH = 100

pipelines_app = typer.Typer(
    add_completion=False, help="Benchmark pipelines rendered from the root dvc.yaml."
)


def _prefix_rewriter(rules: dict[str, str], used: set[str]) -> Callable[[str], str]:
    """Replace a rule's prefix where a whitespace-separated word starts with it (longest first,
    each word once); record the rules that matched in ``used``."""
    if not rules:
        return lambda text: text
    prefixes = "|".join(re.escape(p) for p in sorted(rules, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\S)(?:{prefixes})")

    def replace(match: re.Match) -> str:
        used.add(match.group())
        return rules[match.group()]

    return lambda text: pattern.sub(replace, text)


def _inherit(stage: dict, spec: dict, rewrite: Callable[[str], str]) -> dict:
    """One root stage as the benchmark pipeline runs it."""
    out = {}
    for key, value in stage.items():
        if key == "cmd":
            value = rewrite(value) if isinstance(value, str) else [rewrite(c) for c in value]
        elif key in PATH_FIELDS:
            value = [
                rewrite(e) if isinstance(e, str) else {rewrite(k): v for k, v in e.items()}
                for e in value
            ]
        elif key == "params":  # bare keys refer to the wdir's params.yaml: name the file
            bare = [p for p in value if isinstance(p, str)]
            value = [{spec["params"]: bare}, *(p for p in value if not isinstance(p, str))]
        out[key] = value
    return out


def render_stages(base: dict, spec: dict) -> dict:
    """The benchmark pipeline's stages: the spec's own, then the root's it keeps, rewritten."""
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} (known: {sorted(SPEC_KEYS)})")
    missing = set(spec.get("drop", [])) - set(base)
    if missing:
        raise ValueError(f"drop names stages the root dvc.yaml lacks: {sorted(missing)}")
    used: set[str] = set()
    rewrite = _prefix_rewriter(spec.get("rewrite") or {}, used)
    inherited = {
        name: _inherit(stage, spec, rewrite)
        for name, stage in base.items()
        if name not in spec.get("drop", [])
    }
    unused = set(spec.get("rewrite") or {}) - used
    if unused:  # the root changed under the spec: say so rather than render a silent no-op
        raise ValueError(f"rewrite prefixes match nothing in the root dvc.yaml: {sorted(unused)}")
    stages = {**(spec.get("stages") or {}), **inherited, **_extended(inherited, spec)}
    return {name: {"wdir": spec["wdir"], **stage} for name, stage in stages.items()}


def _extended(inherited: dict, spec: dict) -> dict:
    """``extend: {name: {from: <stage>, matrix: {...}}}``: a copy of an inherited matrix stage
    over another matrix with the same axes (its definition still written once, in the root)."""
    out = {}
    for name, ext in (spec.get("extend") or {}).items():
        if set(ext) != {"from", "matrix"} or ext["from"] not in inherited:
            raise ValueError(f"extend {name!r}: needs `from` (a kept stage) and `matrix`")
        stage = inherited[ext["from"]]
        if set(stage.get("matrix", {})) != set(ext["matrix"]):
            raise ValueError(f"extend {name!r}: matrix axes differ from {ext['from']!r}'s")
        out[name] = {**stage, "matrix": ext["matrix"]}
    return out


class _Dumper(yaml.SafeDumper):
    """dvc.yaml style: lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def _fold_command(match: re.Match) -> str:
    """A long one-line ``cmd:`` as a folded block, each option kept with its value."""
    indent, text = match.groups()
    lines = [""]
    for part in re.split(r" (?=--)", text):
        if lines[-1] and len(indent) + 2 + len(lines[-1]) + 1 + len(part) > WIDTH:
            lines.append(part)
        else:
            lines[-1] = f"{lines[-1]} {part}".lstrip()
    if len(lines) == 1:
        return match.group()
    return f"{indent}cmd: >-\n" + "".join(f"{indent}  {line}\n" for line in lines)


def render(root: Path, spec_path: Path) -> str:
    """The text of the dvc.yaml next to ``spec_path`` (repository ``root``)."""
    base = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
    if set(base) != {"stages"}:  # vars, plots, artifacts ... would not be inherited
        raise ValueError(f"{root / 'dvc.yaml'}: only `stages` is inherited, found {sorted(base)}")
    try:
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
        doc = {"stages": render_stages(base["stages"], spec)}
    except (KeyError, ValueError) as err:
        raise ValueError(f"{spec_path}: {err}") from None
    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=1 << 20, allow_unicode=True)
    body = re.sub(r"^( *)cmd: ([^'\"\n].*)\n", _fold_command, body, flags=re.MULTILINE)
    body = re.sub(r"\n(?=  \S)", "\n\n", body).replace("stages:\n\n", "stages:\n", 1)
    assert yaml.safe_load(body) == doc, "the rendered YAML does not read back as the stages"
    spec_rel = spec_path.relative_to(root).as_posix()
    header = [
        f"# GENERATED from dvc.yaml and {spec_rel}: edit those, not this file.",
        "# Regenerate: skelpipe pipelines render (--check: exit 1 with a diff when stale)",
        *(f"# {line}" for line in (spec.get("description") or "").splitlines()),
    ]
    return "\n".join(header) + "\n" + body


def specs(root: Path) -> list[Path]:
    """Every benchmark pipeline's spec, ``pipelines/<name>/pipeline.yaml``."""
    return sorted((root / "pipelines").glob(f"*/{SPEC}"))


@pipelines_app.command("render")
def render_command(
    check: bool = typer.Option(
        False, "--check", help="write nothing; show a diff and exit 1 if a dvc.yaml is stale"
    ),
    root: Path = typer.Option(Path("."), help="repository root (holds the root dvc.yaml)"),
) -> None:
    """Write pipelines/<name>/dvc.yaml for every pipelines/<name>/pipeline.yaml."""
    stale = []
    for spec_path in specs(root):
        target = spec_path.with_name("dvc.yaml")
        try:
            text = render(root, spec_path)
        except (OSError, ValueError, yaml.YAMLError) as err:
            print(f"error: {err}", file=sys.stderr)
            raise typer.Exit(2) from None
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current == text:
            continue
        stale.append(target)
        if check:
            name = target.relative_to(root).as_posix()
            diff = difflib.unified_diff(
                current.splitlines(True), text.splitlines(True), name, f"{name} (rendered)"
            )
            sys.stdout.writelines(diff)
        else:
            target.write_text(text, encoding="utf-8")
            print(f"wrote {target}")
    if check and stale:
        print(
            f"stale: {', '.join(map(str, stale))}; run `skelpipe pipelines render`", file=sys.stderr
        )
        raise typer.Exit(1)
