"""Skeleton tokenizer: quantizer invariants, shapes, decode(encode(x)), learning, body frame and
reconstruction metrics. Tiny models only (the whole file runs in seconds)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelpipe.classify.features import rotation_matrix
from skelpipe.models.gumbel import GumbelQuantizer, gumbel_temperature
from skelpipe.models.quantizers import ResidualVQ, VectorQuantizer, VQSettings, codebook_usage
from skelpipe.models.tokenizer import (
    SkeletonTokenizer,
    tokenizer_config,
    tokenizer_loss,
    weights_from_parts,
)
from skelpipe.skeleton import NTU25, UCLA20
from skelpipe.tokenizer.body_frame import body_frame, from_body_frame, to_body_frame
from skelpipe.tokenizer.metrics import (
    acceleration_error,
    mpjpe,
    mpjpe_per_part,
    pa_mpjpe,
    pck,
    reconstruction_metrics,
)

TINY = {
    "width": 8,
    "latent_dim": 8,
    "blocks": 1,
    "decoder_blocks": 1,
    "codebook_size": 16,
    "levels": 2,
}


def _quantizer(kind: str) -> torch.nn.Module:
    if kind == "vq":
        return VectorQuantizer(8, 16)
    if kind == "vq_factorised":
        return VectorQuantizer(8, 16, VQSettings(code_dim=3))
    if kind == "rvq":
        return ResidualVQ(8, 16, levels=3, quantize_dropout=0.5)
    if kind == "rvq_factorised":
        return ResidualVQ(8, 16, levels=3, quantize_dropout=0.5, settings=VQSettings(code_dim=3))
    return GumbelQuantizer(8, 16, kl_weight=0.1)


@pytest.mark.parametrize("kind", ["vq", "vq_factorised", "rvq", "rvq_factorised", "dvae"])
def test_codes_from_indices_equal_quantized_in_eval(kind: str) -> None:
    torch.manual_seed(0)
    q = _quantizer(kind)
    for _ in range(3):  # k-means init, EMA updates, resets
        out = q(torch.randn(4, 10, 8, requires_grad=True))
        assert torch.isfinite(out.loss) and out.quantized.shape == (4, 10, 8)
    q.eval()
    with torch.no_grad():
        out = q(torch.randn(4, 10, 8))
        codes = q.codes_from_indices(out.indices)
    assert out.indices.shape == (4, 10, len(q.codebook_sizes))
    assert out.indices.dtype == torch.long and (out.indices >= 0).all()
    torch.testing.assert_close(codes, out.quantized, rtol=0, atol=1e-6)
    assert {"perplexity_0", "used_codes_0"} <= set(out.stats)


@pytest.mark.parametrize("code_dim", [0, 3])
def test_straight_through_gradient_reaches_the_encoder(code_dim: int) -> None:
    torch.manual_seed(0)
    z = torch.randn(2, 5, 8, requires_grad=True)
    rvq = ResidualVQ(8, 16, levels=2, settings=VQSettings(code_dim=code_dim))
    out = rvq(z)
    (out.quantized.sum() + out.loss).backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    for name, param in rvq.named_parameters():  # the factorised projections learn too
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_factorised_codes_are_unit_vectors_looked_up_by_cosine() -> None:
    torch.manual_seed(0)
    vq = VectorQuantizer(8, 16, VQSettings(code_dim=4))
    vq(torch.randn(3, 20, 8))
    vq.eval()
    z = torch.randn(50, 8)
    with torch.no_grad():
        out = vq(z.unsqueeze(0))
        e = torch.nn.functional.normalize(vq.proj_in(z), dim=-1)
        cos = e @ torch.nn.functional.normalize(vq.codebook, dim=-1).t()  # (50, 16)
    assert torch.equal(out.indices[0, :, 0], cos.argmax(dim=1))
    assert vq.codebook.shape == (16, 4)


def test_unused_codes_are_reset_to_batch_vectors() -> None:
    torch.manual_seed(0)
    vq = VectorQuantizer(2, 8, VQSettings(decay=0.5, dead_threshold=0.5, usage_decay=0.5))
    vq(torch.randn(1, 64, 2))  # k-means on a cloud around 0
    start = vq.codebook.clone()
    target = torch.tensor([10.0, 10.0])
    resets = 0.0
    for _ in range(8):  # the data moves away: all but one code fall idle
        out = vq((target + 0.1 * torch.randn(64, 2)).unsqueeze(0))
        resets += out.stats["reset_codes_0"]
    assert resets >= 7
    moved = (vq.codebook - start).norm(dim=1) > 1.0
    assert moved.sum() >= 7
    assert ((vq.codebook - target).norm(dim=1) < 1.0).all()  # every code now serves the data


def test_dead_threshold_scales_with_tokens_per_code() -> None:
    """1,024 codes and 512 tokens a batch: half a token per code; live codes must survive."""
    torch.manual_seed(0)
    vq = VectorQuantizer(8, 1024, VQSettings(dead_threshold=0.1))
    resets = [vq(torch.randn(1, 512, 8)).stats["reset_codes_0"] for _ in range(6)]
    assert resets[0] == 0 and resets[1] > 400  # codes k-means left empty, refilled at once
    assert max(resets[3:]) < 0.05 * 1024, resets


def test_codebook_usage_on_known_indices() -> None:
    idx = np.array([[[0, 3], [1, 3]], [[0, 3], [1, -1]]])  # (N=2, T=2, L=2)
    usage = codebook_usage(idx, (4, 8))
    assert usage["utilisation_0"] == 0.5 and usage["used_codes_0"] == 2
    assert usage["perplexity_0"] == pytest.approx(2.0)
    assert usage["utilisation_1"] == 1 / 8 and usage["perplexity_1"] == pytest.approx(1.0)


def test_rvq_dropout_trains_prefixes_but_evaluates_all_levels() -> None:
    torch.manual_seed(0)
    rvq = ResidualVQ(8, 16, levels=3, quantize_dropout=1.0)
    dropped = 0
    for _ in range(10):
        idx = rvq(torch.randn(2, 6, 8)).indices
        assert idx.shape == (2, 6, 3)
        dropped += int((idx[..., -1] < 0).all())
    assert dropped > 0
    rvq.eval()
    with torch.no_grad():
        assert (rvq(torch.randn(2, 6, 8)).indices >= 0).all()
        assert rvq.codes_from_indices(torch.full((1, 2, 3), -1)).abs().sum() == 0


def test_gumbel_temperature_schedule() -> None:
    assert gumbel_temperature(0.0, 1.0, 1 / 16) == 1.0
    assert gumbel_temperature(1.0, 1.0, 1 / 16) == pytest.approx(1 / 16)
    assert gumbel_temperature(0.5, 1.0, 1 / 16) == pytest.approx(0.25)


def _clip(layout, n: int, T: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.3 * torch.randn(n, 3, T, layout.num_joints, layout.max_persons, generator=g)


@pytest.mark.parametrize(
    ("backbone", "token_mlp"), [("gcn", 0), ("gcn", 16), ("conv1d", 16)], ids=str
)
@pytest.mark.parametrize("ds", [1, 2, 4])
@pytest.mark.parametrize("layout", [NTU25, UCLA20], ids=lambda lo: lo.name)
def test_shapes_and_decode_of_encode(layout, ds: int, backbone: str, token_mlp: int) -> None:
    torch.manual_seed(0)
    cfg = tokenizer_config(
        layout.name, downsample=ds, backbone=backbone, token_mlp=token_mlp, **TINY
    )
    model = SkeletonTokenizer(cfg)
    x = _clip(layout, 3, 8)
    out = model(x)
    assert out.recon.shape == x.shape
    assert out.indices.shape == (3, layout.max_persons, 8 // ds, 2)
    model.eval()
    with torch.no_grad():
        recon = model(x).recon
        decoded = model.decode(model.encode(x), 8)
    torch.testing.assert_close(decoded, recon, rtol=0, atol=1e-5)
    with pytest.raises(ValueError):
        model(_clip(layout, 1, 6)) if ds == 4 else model.decode(model.encode(x), 9)


@pytest.mark.parametrize("kind", ["vq", "dvae"])
def test_decode_of_encode_other_quantizers(kind: str) -> None:
    torch.manual_seed(0)
    model = SkeletonTokenizer(tokenizer_config("ucla20", quantizer=kind, downsample=2, **TINY))
    x = _clip(UCLA20, 2, 8)
    model(x)
    model.eval()
    with torch.no_grad():
        decoded, recon = model.decode(model.encode(x), 8), model(x).recon
    torch.testing.assert_close(decoded, recon, rtol=0, atol=1e-5)


def test_reconstruction_loss_falls() -> None:
    torch.manual_seed(0)
    model = SkeletonTokenizer(tokenizer_config("ucla20", downsample=2, **TINY))
    x = _clip(UCLA20, 4, 8)
    mask = torch.ones(4, 8, 1)
    weights = torch.ones(UCLA20.num_joints)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        out = model(x)
        loss, _ = tokenizer_loss(out.recon, x, mask, weights, UCLA20.body_parts, "l1", 0.5)
        opt.zero_grad()
        (loss + out.loss).backward()
        opt.step()
        losses.append(loss.item())
    assert np.mean(losses[-3:]) < 0.6 * np.mean(losses[:3]), losses


def test_token_mlp_decoder_starts_at_the_origin_and_keeps_frames_apart() -> None:
    """The MLP path decodes each token into its own ds frames: zero at initialisation, and a
    change of one token's code moves only that token's frames (the GCN branch off)."""
    torch.manual_seed(0)
    model = SkeletonTokenizer(tokenizer_config("ucla20", downsample=4, token_mlp=16, **TINY))
    dec = model.decoder
    codes = torch.randn(2, 3, 8)
    assert torch.all(dec(codes) == 0)
    torch.nn.init.normal_(dec.direct[-1].weight)
    dec.latent, dec.blocks = torch.nn.Identity(), torch.nn.Identity()
    torch.nn.init.zeros_(dec.head.weight)
    moved = codes.clone()
    moved[:, 1] += 1.0
    diff = (dec(moved) - dec(codes)).abs().amax(dim=(0, 1, 3))  # per frame
    assert torch.all(diff[4:8] > 0) and torch.all(diff[:4] == 0) and torch.all(diff[8:] == 0)


def test_conv1d_standardises_with_first_batch_statistics_and_decodes_alone() -> None:
    """DataNorm measures the present frames of the first training batch once; the decoder
    starts at the data mean and shares the statistics (a saved model decodes on its own)."""
    torch.manual_seed(0)
    cfg = tokenizer_config("ucla20", backbone="conv1d", token_mlp=16, downsample=2, **TINY)
    model = SkeletonTokenizer(cfg)
    x = _clip(UCLA20, 3, 8) + torch.tensor([1.0, 2.0, 3.0]).view(1, 3, 1, 1, 1)
    x[:, :, 6:] = 0.0  # padded frames: not part of the statistics
    norm = model.encoder.data_norm
    model(x)
    assert bool(norm.initialised)
    present = x[:, :, :6, :, 0]  # (N, C, T, V)
    expected = present.permute(1, 3, 0, 2).reshape(3, 20, -1).mean(-1)  # (C, V)
    torch.testing.assert_close(norm.mean[:, 0], expected, rtol=0, atol=1e-5)
    model(x * 5)  # later batches leave the statistics alone
    torch.testing.assert_close(norm.mean[:, 0], expected, rtol=0, atol=1e-5)
    model.eval()
    codes = torch.zeros(1, 4, cfg.latent_dim)
    assert torch.all(model.decoder.token_out[-1].weight == 0)
    torch.testing.assert_close(model.decoder(codes)[0, :, 0], expected, rtol=0, atol=1e-5)
    again = SkeletonTokenizer(cfg)
    again.load_state_dict(model.state_dict())
    again.eval()
    with torch.no_grad():
        torch.testing.assert_close(again(x).recon, model(x).recon, rtol=0, atol=0)
    with pytest.raises(ValueError, match="token_mlp"):
        tokenizer_config("ucla20", backbone="conv1d", token_mlp=0)


def test_joint_loss_is_the_mean_joint_distance() -> None:
    target = _clip(UCLA20, 2, 4)
    recon = target.clone()
    recon[:, 0] += 0.03
    recon[:, 1] += 0.04  # every joint 5 cm away
    mask, weights = torch.ones(2, 4, 1), torch.ones(UCLA20.num_joints)
    loss, _ = tokenizer_loss(recon, target, mask, weights, UCLA20.body_parts, "joint", 0.0)
    assert loss.item() == pytest.approx(0.05, rel=1e-5)
    exact = target.clone().requires_grad_(True)
    loss, _ = tokenizer_loss(exact, target, mask, weights, {}, "joint")
    loss.backward()
    assert torch.isfinite(exact.grad).all()  # zero error: a finite gradient


def test_loss_ignores_masked_entries_and_weights_joints() -> None:
    torch.manual_seed(0)
    target = _clip(NTU25, 2, 6)
    recon = target + 0.01
    mask = torch.ones(2, 6, 2)
    mask[:, :, 1] = 0  # second person absent
    mask[:, 4:] = 0  # padded frames
    weights = torch.tensor(weights_from_parts(NTU25, {"head": 2.0, "left_hand": 2.0}))
    base, parts = tokenizer_loss(recon, target, mask, weights, NTU25.body_parts, "l1", 1.0)
    noisy = recon.clone()
    noisy[..., 1] += 5.0
    noisy[:, :, 4:] -= 3.0
    again, _ = tokenizer_loss(noisy, target, mask, weights, NTU25.body_parts, "l1", 1.0)
    assert again.item() == pytest.approx(base.item())
    assert base.item() == pytest.approx(0.03, rel=1e-4)  # 3 coords x 1 cm, no velocity error
    assert parts["error_head"] == pytest.approx(0.01 * 3**0.5, rel=1e-4)
    assert weights[3] == 2.0 and weights[0] == 1.0
    with pytest.raises(ValueError, match="unknown body part"):
        weights_from_parts(NTU25, {"tail": 2.0})


def test_config_rejects_unknown_keys_and_bad_values() -> None:
    cfg = tokenizer_config("ntu25")
    assert (cfg.layout, cfg.persons, cfg.quantizer) == ("ntu25", 2, "rvq")
    with pytest.raises(ValueError, match="widht"):
        tokenizer_config("ucla20", widht=8)
    with pytest.raises(ValueError):
        tokenizer_config("ucla20", downsample=3)


def _sequence(layout, seed: int = 0) -> np.ndarray:
    """(M, T, V, 3) random joints, with absent frames and (NTU) an absent second person."""
    rng = np.random.default_rng(seed)
    M, T, V = layout.max_persons, 10, layout.num_joints
    x = rng.normal(size=(M, T, V, 3)).astype(np.float32) + np.array([0.5, 1.0, 3.0], np.float32)
    x[0, :2] = 0  # person 0 enters at frame 2
    x[0, -1] = 0
    if M > 1:
        x[1, 5:] = 0
    return x


@pytest.mark.parametrize("layout", [NTU25, UCLA20], ids=lambda lo: lo.name)
def test_body_frame_round_trip_and_distances(layout) -> None:
    x = _sequence(layout)
    R, origin = body_frame(x, layout)
    assert np.allclose(R @ R.T, np.eye(3)) and np.linalg.det(R) == pytest.approx(1.0)
    assert np.allclose(origin, x[0, 2, layout.spine_up[0]])
    y = to_body_frame(x, R, origin)
    absent = ~np.any(x != 0, axis=(-2, -1))
    assert y.dtype == np.float32 and np.all(y[absent] == 0) and np.any(y[~absent] != 0)
    back = from_body_frame(y, R, origin)
    np.testing.assert_allclose(back, x, atol=1e-5, rtol=0)
    assert np.all(back[absent] == 0)
    d_x = np.linalg.norm(x[:, :, :, None] - x[:, :, None], axis=-1)  # (M, T, V, V)
    d_y = np.linalg.norm(y[:, :, :, None] - y[:, :, None], axis=-1)
    np.testing.assert_allclose(d_y[~absent], d_x[~absent], atol=1e-5)
    up = y[0, 2:-1, layout.spine_up[1]] - y[0, 2:-1, layout.spine_up[0]]
    assert up[:, 1].mean() > 0  # the spine points along +y on average


def test_body_frame_is_view_invariant() -> None:
    x = _sequence(NTU25, seed=1)
    rot = rotation_matrix(np.array([0.3, -1.2, 0.7]))
    moved = x @ rot.T.astype(np.float32) + np.array([1.0, -2.0, 0.5], np.float32)
    moved[~np.any(x != 0, axis=(-2, -1))] = 0
    y = to_body_frame(x, *body_frame(x, NTU25))
    y_moved = to_body_frame(moved, *body_frame(moved, NTU25))
    np.testing.assert_allclose(y_moved, y, atol=1e-4)


def test_body_frame_degenerate_cases() -> None:
    R, origin = body_frame(np.zeros((2, 4, 25, 3), np.float32), NTU25)
    assert np.array_equal(R, np.eye(3)) and np.array_equal(origin, np.zeros(3))
    x = np.zeros((1, 3, 20, 3), np.float32)
    x[0, :, :, 1] = np.arange(20, dtype=np.float32) / 10  # every joint on one vertical line
    R, origin = body_frame(x, UCLA20)
    assert np.array_equal(R, np.eye(3)) and np.all(np.isfinite(origin))
    np.testing.assert_array_equal(from_body_frame(to_body_frame(x, R, origin), R, origin), x)


def test_metrics_on_hand_made_cases() -> None:
    rng = np.random.default_rng(0)
    target = rng.normal(size=(2, 5, 20, 3)) * 0.3
    mask = np.ones((2, 5), bool)
    shifted = target + np.array([0.006, 0.008, 0.0])  # 10 mm everywhere
    assert mpjpe(shifted, target, mask) == pytest.approx(10.0)
    assert pa_mpjpe(shifted, target, mask) == pytest.approx(0.0, abs=1e-6)
    assert pck(shifted, target, mask) == 1.0 and pck(target + 0.06, target, mask) == 0.0
    assert acceleration_error(shifted, target, mask) == pytest.approx(0.0, abs=1e-9)
    similar = 1.2 * target @ rotation_matrix(np.array([0.1, 0.5, -0.2])).T + 0.3
    assert mpjpe(similar, target, mask) > 50
    assert pa_mpjpe(similar, target, mask) == pytest.approx(0.0, abs=1e-6)
    garbage = shifted.copy()
    garbage[1, 3:] += 1.0
    mask[1, 3:] = False  # masked-out frames do not count
    assert mpjpe(garbage, target, mask) == pytest.approx(10.0)
    parts = mpjpe_per_part(shifted, target, mask, UCLA20.body_parts)
    assert parts["head"] == pytest.approx(10.0)
    jerk = target.copy()
    jerk[:, 2] += np.array([0.0, 0.001, 0.0])  # frame 2 is 1 mm off: errors 1, 2, 1 mm
    joint_mask = np.ones((2, 5, 20), bool)
    assert acceleration_error(jerk, target, joint_mask) == pytest.approx(4 / 3)
    metrics = reconstruction_metrics(shifted, target, mask, UCLA20.body_parts)
    assert metrics["mpjpe_mm"] == pytest.approx(10.0) and "mpjpe_mm_left_hand" in metrics
