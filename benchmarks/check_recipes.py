"""Check every recipe's citations against local clones / mirrors of the official repositories.

For each recipe in ``recipes/``: every cited ``file:line`` (params entries, their ``from`` lines,
unsupported details) is read with ``git show <commit>:<file>`` at the recorded commit and must
equal the recorded ``official`` text (trimmed); the config file must exist; numbers under
``published`` with a ``source`` line must appear in that line; and each value must be the one
its citation states (:func:`skelpipe.cli.recipe_checks.check_citations`). One line per recipe,
a summary, exit 1 on any failure.

    python benchmarks/check_recipes.py --repos /work/.mirror/*/repo
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import yaml

from skelpipe.cli.recipe_checks import check_citations, citations, list_recipes

ROOT = Path(__file__).resolve().parents[1]


def _origin(repo_dir: Path) -> str:
    out = subprocess.run(
        ["git", "-C", str(repo_dir), "config", "--get", "remote.origin.url"],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().lower()


def find_repo(repo: str, dirs: list[Path]) -> Path | None:
    """The directory among ``dirs`` holding ``owner/name``: by its origin URL, an ``owner+name``
    path part (the fetch mirrors) or a final folder called ``name``."""
    owner, name = repo.lower().split("/")
    for d in dirs:
        parts = [p.lower() for p in d.resolve().parts]
        if f"{owner}+{name}" in parts or parts[-1] == name or f"{owner}/{name}" in _origin(d):
            return d
    return None


class FileCache:
    """File lines at a commit, each file read once."""

    def __init__(self, repo_dir: Path, commit: str) -> None:
        self.repo_dir, self.commit, self.files = repo_dir, commit, {}

    def lines(self, path: str) -> list[str] | None:
        if path not in self.files:
            out = subprocess.run(
                ["git", "-C", str(self.repo_dir), "show", f"{self.commit}:{path}"],
                capture_output=True,
                text=True,
            )
            self.files[path] = out.stdout.split("\n") if out.returncode == 0 else None
        return self.files[path]

    def line(self, source: str) -> str | None:
        path, _, number = source.rpartition(":")
        lines = self.lines(path)
        if lines is None or not number.isdigit() or not 0 < int(number) <= len(lines):
            return None
        return lines[int(number) - 1].strip()


def check_recipe(recipe: dict, dirs: list[Path]) -> tuple[int, list[str]]:
    """(number of cited lines checked, problems) for one recipe."""
    src = recipe["source"]
    repo_dir = find_repo(src["repo"], dirs)
    if repo_dir is None:
        return 0, [f"no clone of {src['repo']} among --repos"]
    files = FileCache(repo_dir, src["commit"])
    problems = [] if files.lines(src["config"]) is not None else [f"no {src['config']}"]
    cited = citations(recipe)
    for what, source, official in cited:
        text = files.line(source)
        if text != official.strip():
            problems.append(f"{what}: {source} reads {text!r}, recipe says {official!r}")
    published = recipe.get("published") or {}
    if "source" in published:
        line = files.line(published["source"]) or ""
        for key in ("joint_top1", "ensemble_top1"):
            if published.get(key) is not None and str(published[key]) not in line:
                problems.append(f"published {key} {published[key]} not in {published['source']}")
    return len(cited), problems + check_citations(recipe)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repos", nargs="+", type=Path, required=True, help="git dirs / clones")
    parser.add_argument("--recipes", type=Path, default=ROOT / "recipes")
    args = parser.parse_args()
    failed = lines = 0
    names = list_recipes(args.recipes)
    for name in names:
        recipe = yaml.safe_load((args.recipes / f"{name}.yaml").read_text(encoding="utf-8"))
        n, problems = check_recipe(recipe, args.repos)
        lines += n
        status = "ok" if not problems else f"FAIL ({len(problems)})"
        sha = recipe["source"]["commit"][:12]
        print(f"{name:26} {recipe['source']['repo']}@{sha}: {n} cited lines {status}")
        for p in problems:
            print(f"    {p}")
        failed += bool(problems)
    print(f"{len(names) - failed} of {len(names)} recipes ok, {lines} cited lines checked")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
