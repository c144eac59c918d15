"""Tokenizer on the store: clips, resumable training, decode(tokens) == reconstruction, token
store round trip, and the token-stream classifier's data and model."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
import yaml

from skelpipe.models.token_transformer import TokenTransformer, TokenTransformerConfig
from skelpipe.models.tokenizer import SkeletonTokenizer
from skelpipe.params import TokenizerParams
from skelpipe.skeleton import NTU25, UCLA20
from skelpipe.store.reader import SampleStore
from skelpipe.tokenizer.body_frame import present_frames
from skelpipe.tokenizer.token_store import TokenStore, TokenStoreError, write_token_store
from skelpipe.tokenizer.token_stream import crop_tokens
from skelpipe.tokenizer.train import (
    ClipDataset,
    augment_clip,
    fit_tokenizer,
    model_config,
    prepare,
    rate_metrics,
    restore,
    run_identity,
    tokenize_sample,
)
from tests.helpers import ROOT, TOKENIZER_PARAMS, build_store, make_sequences


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> SampleStore:
    path = tmp_path_factory.mktemp("tokstore")
    seqs = make_sequences(n=40, seed=11)
    for s in seqs[::3]:
        s.joints[:, 1] = 0.0  # one actor: the second person slot is absent
    build_store(path, seqs)
    return SampleStore(path / "store.zarr")


def _datasets(store: SampleStore, p: TokenizerParams = TOKENIZER_PARAMS):
    cfg = model_config(p, store)
    return cfg, *(
        ClipDataset(store, store.split(p.benchmark, part), cfg, p, part == "train")
        for part in ("train", "val")
    )


def test_prepare_restore_round_trip(store) -> None:
    sample = store.sample(0)
    x, R, origin = prepare(sample, 2, NTU25, canonical=True)
    assert x.shape == (2, len(sample), 25, 3)
    back = restore(x, R, origin, present_frames(x)).transpose(1, 0, 2, 3)
    np.testing.assert_allclose(back, sample, atol=1e-5)


def test_clips_have_the_window_and_mask_absent_persons(store) -> None:
    cfg, train, val = _datasets(store)
    for ds in (train, val):
        for k in range(len(ds)):
            x, mask, i = ds[k]
            assert x.shape == (3, TOKENIZER_PARAMS.window, 25, 2) and mask.shape == (
                TOKENIZER_PARAMS.window,
                2,
            )
            n = min(int(store.n_frames[i]), TOKENIZER_PARAMS.window)
            assert mask[:n, 0].all() and not mask[n:].any()
            assert bool(mask[:, 1].any()) == bool(np.any(store.sample(i)[:, 1] != 0))
    train.epoch = 1
    a = train[0][0]
    train.epoch = 2
    assert (
        not torch.equal(a, train[0][0])
        or store.n_frames[train.indices[0]] <= TOKENIZER_PARAMS.window
    )


def _fit(store, ckpt, stop_after: int | None = None):
    cfg, train, val = _datasets(store)
    torch.manual_seed(TOKENIZER_PARAMS.seed)
    model = SkeletonTokenizer(cfg)
    rows = []

    def on_epoch(row: dict) -> None:
        rows.append(row)
        if row["epoch"] == stop_after:
            raise Interrupt

    try:
        state = fit_tokenizer(
            model, train, val, TOKENIZER_PARAMS, ckpt, run_identity(TOKENIZER_PARAMS, cfg), on_epoch
        )
    except Interrupt:
        return None, rows
    return (model, state), rows


def test_resume_equals_uninterrupted_and_loss_falls(store, tmp_path) -> None:
    (model_a, state_a), _ = _fit(store, tmp_path / "a.pt")
    assert _fit(store, tmp_path / "b.pt", stop_after=1)[0] is None
    (model_b, state_b), rows = _fit(store, tmp_path / "b.pt")
    assert [r["epoch"] for r in rows] == [2, 3]
    assert state_a.history == state_b.history
    for ta, tb in zip(model_a.state_dict().values(), model_b.state_dict().values(), strict=True):
        torch.testing.assert_close(ta, tb, rtol=0, atol=0)
    losses = [r["train_recon"] for r in state_a.history]
    assert losses[-1] < losses[0]


def test_decode_of_tokens_equals_reconstruction(store) -> None:
    cfg, _, _ = _datasets(store)
    torch.manual_seed(0)
    model = SkeletonTokenizer(cfg)
    model.train()
    model(torch.randn(4, 3, 16, 25, 2))  # initialise the codebooks
    model.eval()
    for i in (0, 3, 7):  # lengths not divisible by the downsampling
        sample = store.sample(i)
        tokens, recon = tokenize_sample(model, sample, TOKENIZER_PARAMS)
        assert tokens.shape == (2, -(-len(sample) // 4), 2) and recon.shape == sample.shape
        x, R, origin = prepare(sample, 2, NTU25, TOKENIZER_PARAMS.body_frame)
        with torch.no_grad():
            decoded = model.decode(torch.from_numpy(tokens)[None], tokens.shape[1] * 4)
        y = decoded[0, :, : len(sample)].permute(3, 1, 2, 0).numpy()  # (M, T, V, C)
        again = restore(y, R, origin, present_frames(x)).transpose(1, 0, 2, 3)
        np.testing.assert_allclose(again, recon, atol=1e-5)
        assert np.all(recon[np.all(sample == 0, axis=(2, 3))] == 0)  # absent stays absent


def test_token_store_round_trip_and_alignment(store, tmp_path) -> None:
    rng = np.random.default_rng(0)
    tokens = [rng.integers(0, 16, size=(2, -(-int(t) // 4), 2)) for t in store.n_frames]
    attrs = {"codebook_sizes": [16, 16], "persons": 2}
    counts = write_token_store(
        tmp_path / "t.zarr", store.names, store.meta["label"], store.n_frames, tokens, attrs
    )
    assert counts["n_tokens"] == sum(t.shape[1] for t in tokens)
    t = TokenStore(tmp_path / "t.zarr", store)
    for i in range(len(store)):
        np.testing.assert_array_equal(t.tokens(i), tokens[i])
    assert t.labels.tolist() == store.meta["label"].tolist()
    names = list(reversed(store.names))
    write_token_store(tmp_path / "r.zarr", names, store.meta["label"], store.n_frames, tokens, {})
    with pytest.raises(TokenStoreError, match="names differ"):
        TokenStore(tmp_path / "r.zarr", store)


def test_crop_tokens_pads_and_resamples() -> None:
    ids = np.arange(2 * 10 * 3).reshape(2, 10, 3)
    short = crop_tokens(ids, 16, (1.0,), pad=99, rng=None)
    assert short.shape == (2, 16, 3)
    np.testing.assert_array_equal(short[:, :10], ids)
    assert np.all(short[:, 10:] == 99)
    long = crop_tokens(ids, 4, (0.5, 1.0), pad=99, rng=np.random.default_rng(0))
    assert long.shape == (2, 4, 3) and not np.any(long == 99)
    assert set(long[0, :, 0].tolist()) <= set(ids[0, :, 0].tolist())


def test_token_transformer_ignores_padding() -> None:
    cfg = TokenTransformerConfig(codebook_sizes=(16, 16), persons=2, window=12, num_classes=5)
    torch.manual_seed(0)
    net = TokenTransformer(cfg).eval()
    ids = torch.randint(0, 16, (3, 2, 8, 2))
    padded = torch.full((3, 2, 12, 2), 16)
    padded[:, :, :8] = ids
    out = net(padded)
    assert out.shape == (3, 5)
    other = padded.clone()
    other[:, :, 8:] = 16  # same padding, nothing else changes
    torch.testing.assert_close(net(other), out)
    only_first = padded.clone()
    only_first[:, 1] = 16  # an absent second person is ignored, not read as codes
    assert torch.isfinite(net(only_first)).all()


def test_rate_of_the_acceptance_configuration() -> None:
    p = dataclasses.replace(TOKENIZER_PARAMS, levels=4, codebook_size=1024, downsample=4)

    class Store:
        attrs = {"layout": "ucla20"}
        channels = ("x", "y", "z")

    cfg = model_config(p, Store())  # type: ignore[arg-type]
    assert (cfg.levels, cfg.persons) == (4, 1)
    rate = rate_metrics(cfg, UCLA20)  # 20 joints x 3 x 32 bits = 1,920 bits of float32 a frame
    assert rate == {"bits_per_frame": 10.0, "compression_ratio": 192.0}


def test_a_broken_tokenizer_folder_fails_cleanly(store, tmp_path) -> None:
    """A missing file, an unknown config key or weights of another shape: one error naming the
    folder, and the tokenize stage exits 1 with it instead of a traceback."""
    import json

    from typer.testing import CliRunner

    from skelpipe.tokenizer.io import TokenizerLoadError, load_tokenizer, save_tokenizer
    from stages.tokenize import app

    cfg, _, _ = _datasets(store)
    good = tmp_path / "good"
    save_tokenizer(SkeletonTokenizer(cfg), good)
    assert load_tokenizer(good).cfg == cfg
    broken = {
        "missing": lambda d: (d / "model.pt").unlink(),
        "unknown_key": lambda d: (d / "config.json").write_text(
            json.dumps({**json.loads((d / "config.json").read_text()), "colour": 1})
        ),
        "other_shape": lambda d: (d / "config.json").write_text(
            json.dumps(
                {**json.loads((d / "config.json").read_text()), "latent_dim": 2 * cfg.latent_dim}
            )
        ),
    }
    doc = yaml.safe_load((ROOT / "params.yaml").read_text())
    doc["tokenizer"]["reproducible"] = False  # in-process: no launcher to pin the kernels
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(doc))
    for name, damage in broken.items():
        folder = tmp_path / name
        save_tokenizer(SkeletonTokenizer(cfg), folder)
        damage(folder)
        with pytest.raises(TokenizerLoadError, match=str(folder)):
            load_tokenizer(folder)
        args = ["--params", str(params), "--store", str(store.path), "--model", str(folder)]
        args += ["--out", str(tmp_path / f"{name}.zarr"), "--metrics", str(tmp_path / "m.json")]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1, name
        assert str(folder) in result.output and "Traceback" not in result.output
        assert not (tmp_path / f"{name}.zarr").exists()


@pytest.mark.parametrize("layout", [NTU25, UCLA20], ids=lambda lo: lo.name)
def test_augmentation_mirrors_rotates_and_scales_rigidly(layout) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, layout.num_joints, 3)).astype(np.float32)
    x[1, 3:] = 0.0  # absent frames of the second person
    off = dataclasses.replace(
        TOKENIZER_PARAMS, augment_mirror=0.0, augment_yaw_deg=0.0, augment_scale=0.0
    )
    np.testing.assert_array_equal(augment_clip(x, np.random.default_rng(1), layout, off), x)
    mirror = dataclasses.replace(off, augment_mirror=1.0)
    once = augment_clip(x, np.random.default_rng(1), layout, mirror)
    left, right = layout.body_parts["left_arm"][0], layout.body_parts["right_arm"][0]
    np.testing.assert_array_equal(once[..., right, 0], -x[..., left, 0])
    np.testing.assert_array_equal(once[..., right, 1:], x[..., left, 1:])
    np.testing.assert_array_equal(augment_clip(once, np.random.default_rng(1), layout, mirror), x)
    turn = dataclasses.replace(off, augment_yaw_deg=90.0, augment_scale=0.2)
    y = augment_clip(x, np.random.default_rng(2), layout, turn)
    factor = np.linalg.norm(y[0, 0, 1] - y[0, 0, 0]) / np.linalg.norm(x[0, 0, 1] - x[0, 0, 0])
    assert 0.8 <= factor <= 1.2 and not np.isclose(factor, 1.0)
    np.testing.assert_allclose(y[..., 1], x[..., 1] * factor, rtol=1e-5, atol=1e-6)  # up stays
    dist = np.linalg.norm(y[0, :, :, None] - y[0, :, None], axis=-1)
    ref = np.linalg.norm(x[0, :, :, None] - x[0, :, None], axis=-1)
    np.testing.assert_allclose(dist, ref * factor, rtol=1e-4, atol=1e-5)
    assert np.all(y[1, 3:] == 0) and np.all(once[1, 3:] == 0)
