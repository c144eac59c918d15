"""DDP on CPU (gloo, 2 processes) gives the single-process run: same global batches, same weights
within float tolerance for a model without BatchNorm, close metrics and one checkpoint for the
real train stage launched through ``stages.launch`` under torchrun."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
import yaml
from torch.utils.data import DataLoader, RandomSampler

from skelpipe.store.reader import SampleStore
from skelpipe.training import distributed
from skelpipe.training.loop import build_datasets, fit
from tests.helpers import (
    ROOT,
    TOKENIZER_PARAMS,
    TRAIN_PARAMS,
    Tiny,
    build_store,
    make_sequences,
    train_stage_cmd,
)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not torch.distributed.is_available(), reason="no torch.distributed"),
]


@pytest.mark.parametrize("n", [37, 40, 33])  # a short last batch, exact batches, tail < ranks
def test_rank_slices_of_each_batch_are_the_single_process_batch(n: int) -> None:
    ds = list(range(n))
    single = list(DataLoader(ds, 8, shuffle=True, generator=torch.Generator().manual_seed(5)))
    per_rank = []
    for rank in range(3):
        gen = torch.Generator().manual_seed(5)
        batches = distributed.RankBatchSampler(RandomSampler(ds, generator=gen), 8, rank, 3)
        per_rank.append(list(DataLoader(ds, batch_sampler=batches, generator=gen)))
        assert len(per_rank[-1]) == len(batches)
    kept = [b for b in single if len(b) >= 3]  # a tail smaller than the world is dropped
    assert len(kept) == len(per_rank[0])
    for k, whole in enumerate(kept):
        joined = torch.cat([per_rank[r][k] for r in range(3)])
        assert joined.tolist() == whole.tolist()
        assert (
            max(len(per_rank[r][k]) for r in range(3)) - min(len(per_rank[r][k]) for r in range(3))
            <= 1
        )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fit_tiny(rank: int, world: int, port: int, store: str, out: str) -> None:
    if world > 1:  # a spawned process: what torchrun would set
        env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world)}
        os.environ.update(env, RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    distributed.setup(torch.device("cpu"))
    p = dataclasses.replace(TRAIN_PARAMS, epochs=2, compile=False, batch_size=10)
    torch.manual_seed(p.seed)
    net = Tiny()
    ckpt = Path(out) / f"ckpt-{world}.pt"
    rows: list[dict] = []
    state = fit(
        net, build_datasets(SampleStore(Path(store)), p, "joint"), p, ckpt, "r", "t", rows.append
    )
    if distributed.is_main():
        torch.save(
            {"model": net.state_dict(), "history": state.history, "rows": rows},
            Path(out) / f"w{world}.pt",
        )
    distributed.teardown()


def test_two_gloo_processes_train_like_one(tmp_path: Path) -> None:
    build_store(tmp_path, make_sequences(n=45, seed=2))
    store = str(tmp_path / "store.zarr")
    _fit_tiny(0, 1, 0, store, str(tmp_path))
    mp.spawn(_fit_tiny, args=(2, _free_port(), store, str(tmp_path)), nprocs=2, join=True)
    one, two = (torch.load(tmp_path / f"w{w}.pt", weights_only=True) for w in (1, 2))
    for k, v in one["model"].items():
        torch.testing.assert_close(two["model"][k], v, rtol=1e-4, atol=1e-5)
    # on_epoch ran on rank 0 only, once per epoch
    assert [r["epoch"] for r in two["rows"]] == [1, 2]
    for a, b in zip(one["history"], two["history"], strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-4)
        assert b.get("val_top1") == a.get("val_top1")
    assert sorted(f.name for f in tmp_path.glob("ckpt-2*")) == ["ckpt-2.pt"]


def _stage(params: Path, store: Path, run: Path) -> list[str]:
    return train_stage_cmd(store, params, run, stream="joint", launch=True)


def test_train_stage_under_torchrun_matches_one_process(tmp_path: Path) -> None:
    build_store(tmp_path, make_sequences(n=64, seed=7))
    store = tmp_path / "store.zarr"
    p = dataclasses.replace(TRAIN_PARAMS, models=("ctrgcn",), epochs=2, eval_every=1, compile=False)
    env = {**os.environ, "CI": "true", "OMP_NUM_THREADS": "1"}
    metrics = {}
    for launcher, nproc in (("local", 1), ("torchrun", 2)):
        params = tmp_path / f"params-{launcher}.yaml"
        doc = dataclasses.asdict(dataclasses.replace(p, launcher=launcher, nproc=nproc))
        params.write_text(yaml.safe_dump({"train": doc}, sort_keys=False))
        run = tmp_path / launcher
        proc = subprocess.run(_stage(params, store, run), cwd=ROOT, env=env, capture_output=True)
        assert proc.returncode == 0, proc.stderr.decode()[-3000:]
        metrics[launcher] = json.loads((run / "metrics.json").read_text())
        assert sorted(f.name for f in (run / "ckpt").iterdir()) == ["last.pt"]
        assert sorted(f.name for f in run.iterdir() if f.name.startswith(".")) == []
    one, two = metrics["local"], metrics["torchrun"]
    assert two["epochs"] == one["epochs"] == 2
    # BatchNorm statistics are per rank on CPU (half batches): close, not equal
    assert two["final_train_loss"] == pytest.approx(one["final_train_loss"], rel=0.05)
    assert abs(two["val_top1"] - one["val_top1"]) <= 0.15


def _fit_tokenizer(rank: int, world: int, port: int, store: str, out: str) -> None:
    from skelpipe.models.tokenizer import SkeletonTokenizer
    from skelpipe.tokenizer.train import ClipDataset, fit_tokenizer, model_config

    if world > 1:
        env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world)}
        os.environ.update(env, RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    distributed.setup(torch.device("cpu"))
    p = dataclasses.replace(TOKENIZER_PARAMS, epochs=2, batch_size=12)
    s = SampleStore(Path(store))
    torch.manual_seed(p.seed)
    model = SkeletonTokenizer(model_config(p, s))
    train, val = (
        ClipDataset(s, s.split(p.benchmark, k), model.cfg, p, k == "train")
        for k in ("train", "val")
    )
    state = fit_tokenizer(model, train, val, p, Path(out) / f"tok-{world}.pt", "r", lambda r: None)
    if distributed.is_main():
        torch.save({"history": state.history}, Path(out) / f"tok-history-{world}.pt")
    distributed.teardown()


def test_tokenizer_under_two_gloo_processes_is_close_to_one(tmp_path: Path) -> None:
    build_store(tmp_path, make_sequences(n=48, seed=3))
    store = str(tmp_path / "store.zarr")
    _fit_tokenizer(0, 1, 0, store, str(tmp_path))
    mp.spawn(_fit_tokenizer, args=(2, _free_port(), store, str(tmp_path)), nprocs=2, join=True)
    one, two = (
        torch.load(tmp_path / f"tok-history-{w}.pt", weights_only=True)["history"] for w in (1, 2)
    )
    assert [r["epoch"] for r in two] == [1, 2]
    for a, b in zip(one, two, strict=True):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=0.05), (a, b)
        assert b["val_loss"] == pytest.approx(a["val_loss"], rel=0.05), (a, b)
    assert sorted(f.name for f in tmp_path.glob("tok-2*")) == ["tok-2.pt"]
