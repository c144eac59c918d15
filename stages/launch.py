"""Start a training stage in one process or under ``torchrun``, as its params section says.

    python -m stages.launch --params params.yaml --section train stages.train --model ctrgcn ...

A ``dvc.yaml`` command cannot branch: this reads ``<section>.launcher``, ``<section>.nproc`` and
``<section>.reproducible`` and replaces itself with ``python -m <module> <args>`` (``local``) or
``torchrun --standalone --nproc_per_node=<nproc> -m <module> <args>`` (``torchrun``; one machine,
a free rendezvous port). Several machines: run ``torchrun`` with the usual rendezvous flags
yourself (README, "Distributed training").

``reproducible: true`` starts the stage with the environment of :mod:`skelpipe.reproducible`
(kernels pinned to AVX2, ``<section>.threads`` threads): it must be set before the stage process
imports torch, which is why the launcher, and not the stage, sets it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from skelpipe.params import TokenizerParams, TrainParams
from skelpipe.reproducible import ReproducibleModeError, reproducible_env
from stages._common import fail, load_params

app = typer.Typer(add_completion=False)
SECTIONS = {"train": TrainParams, "token_stream": TrainParams, "tokenizer": TokenizerParams}
PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command(context_settings={**PASS_THROUGH, "allow_interspersed_args": False})
def main(
    ctx: typer.Context,
    module: str = typer.Argument(..., help="the stage module, e.g. stages.train"),
    section: str = typer.Option(..., help="params section with launcher / nproc"),
    params_file: Path = typer.Option(Path("params.yaml"), "--params"),
) -> None:
    if section not in SECTIONS:
        fail(f"--section must be one of {sorted(SECTIONS)}, got {section!r}")
    p = load_params(SECTIONS[section], section, params_file)
    if p.nproc < 1:
        fail(f"{params_file}: {section}.nproc must be >= 1, got {p.nproc}")
    cmd = [sys.executable, "-m", module, *ctx.args]
    if p.launcher == "torchrun":
        run = ["-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={p.nproc}"]
        cmd = [sys.executable, *run, "-m", module, *ctx.args]
    env = dict(os.environ)
    if p.reproducible:
        try:
            env.update(reproducible_env(p.threads))
        except ReproducibleModeError as err:
            fail(f"{params_file}: {section}: {err}")
    sys.stdout.flush()
    os.execve(sys.executable, cmd, env)


if __name__ == "__main__":
    app()
