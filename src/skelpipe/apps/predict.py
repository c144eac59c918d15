"""Classify one raw file with the trained pipeline: the very functions the stages run, in order.

raw ``.skeleton`` -> :func:`skelpipe.io.raw_sources.load_raw` ->
:func:`skelpipe.preprocess.denoise.denoise_sample` (NW-UCLA ``.json``:
:func:`skelpipe.io.nw_ucla.read_ucla_sample`, which the ``ingest`` stage stores at the denoised
level) -> :func:`skelpipe.preprocess.align.align_sample` -> per member the evaluation input of
:func:`skelpipe.training.loop.input_config` / :func:`skelpipe.classify.features.make_input` (the
token stream: :func:`skelpipe.tokenizer.train.tokenize_sample` and the centred crop of
:func:`skelpipe.tokenizer.token_stream.crop_tokens`) -> the trained weights -> the ensemble's
weighted sum (:func:`skelpipe.classify.ensemble.combine`) with the weights the ``ensemble`` stage
wrote.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from skelpipe.class_names import action_code
from skelpipe.classify.ensemble import combine
from skelpipe.classify.features import make_input
from skelpipe.datasets import class_names, get_dataset
from skelpipe.io.ntu_format import IMAGE_SIZE
from skelpipe.io.nw_ucla import read_ucla_sample
from skelpipe.io.raw_sources import Rejected, list_raw_files, load_raw
from skelpipe.models import build_model
from skelpipe.params import AlignParams, DenoiseParams, TokenizerParams, TrainParams
from skelpipe.preprocess.align import align_sample
from skelpipe.preprocess.chain import denoise_records
from skelpipe.preprocess.denoise import DenoiseError
from skelpipe.skeleton import Layout, get_layout
from skelpipe.tokenizer.token_stream import crop_tokens
from skelpipe.training.loop import input_config

TOKENS = "tokens"  # the ensemble member name of the token stream


class PredictError(ValueError):
    """Trained outputs that cannot be loaded or do not fit the input."""


@dataclass(frozen=True)
class PipelineParams:
    """The params sections prediction replays (the same ones the stages read)."""

    dataset: str  # shard.dataset: classes and skeleton layout
    denoise: DenoiseParams | None  # None for NW-UCLA (no denoise stage)
    align: AlignParams
    train: TrainParams  # GCN streams: preset, window, p_interval_eval
    token_stream: TrainParams | None  # the token classifier's window / p_interval_eval
    tokenizer: TokenizerParams | None  # body_frame


@dataclass(frozen=True)
class Prediction:
    """One ranked class."""

    label: int  # 0-based
    code: str  # A001 / a08
    name: str  # from skelpipe.class_names
    score: float  # the ensemble's weighted score sum (what it ranks by)
    probability: float  # softmax of the ensemble scores over all classes


def load_sample(path: Path, p: PipelineParams) -> tuple[str, np.ndarray] | Rejected:
    """A raw file as the store holds it: (name, joints (T, M, V, 3)), or why it was rejected."""
    if path.suffix == ".json":
        got = read_ucla_sample(path)
        if isinstance(got, Rejected):
            return got
        name, joints = got
        n_actors = 1
    else:
        try:
            files, bad, _ = list_raw_files([path])
        except FileNotFoundError as err:
            return Rejected(path.name, str(path), None, str(err).split(": ", 1)[-1])
        if len(files) + len(bad) != 1:  # a folder or an archive
            n = len(files) + len(bad)
            reason = f"holds {n} raw files; predict takes .skeleton files (extract them)"
            return Rejected(path.name, str(path), None, reason)
        if bad:
            return bad[0]
        raw = load_raw(files[0])
        if isinstance(raw, Rejected):
            return raw
        if p.denoise is None:
            return Rejected(raw.name, str(path), None, f"{p.dataset} models do not take NTU files")
        try:
            d = denoise_records(raw, p.denoise)
        except DenoiseError as err:
            return Rejected(raw.name, str(path), None, str(err), "denoise")
        name, joints, n_actors = raw.name, d.joints, d.n_actors
    layout = get_layout(get_dataset(p.dataset).layout)
    if joints.shape[2] != layout.num_joints:
        reason = f"{joints.shape[2]}-joint skeleton; the {p.dataset} models take {layout.name}"
        return Rejected(name, str(path), None, reason)
    coords = "xyz" if p.denoise is None else p.denoise.coords
    image_size = IMAGE_SIZE.get(coords)  # 2-D models: the same pixels -> [-1, 1] as training
    return name, align_sample(joints, n_actors, p.align, layout, image_size)


def _load_state(net: nn.Module, path: Path) -> nn.Module:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        net.load_state_dict(state)
    except FileNotFoundError:
        raise PredictError(f"{path}: missing (has the stage producing it run?)") from None
    except (OSError, RuntimeError, KeyError) as err:
        msg = " ".join(line.strip() for line in str(err).splitlines()[:2])[:240]
        raise PredictError(f"{path}: does not fit the params' model ({msg})") from None
    return net.eval()


class EnsemblePredictor:
    """The trained ensemble members with a nonzero weight, ready to score samples."""

    def __init__(
        self, models: Path, weights: dict[str, float], p: PipelineParams, tokenizer: Path
    ) -> None:
        self.p, self.models = p, Path(models)
        self.layout: Layout = get_layout(get_dataset(p.dataset).layout)
        self.members = [m for m, w in weights.items() if w != 0]
        if not self.members:
            raise PredictError("every ensemble weight is 0")
        self.weights = np.array([weights[m] for m in self.members], dtype=np.float64)
        self.nets = {m: self._load(m, Path(tokenizer)) for m in self.members}

    def _load(self, member: str, tokenizer: Path) -> nn.Module:
        folder = self.models / member
        if member == TOKENS:
            return self._load_token_stream(folder, tokenizer)
        model, _, stream = member.rpartition("-")
        try:
            net = build_model(model, self.p.dataset, self.p.train.preset)
            input_config(self.p.train, stream, False)
        except ValueError as err:
            raise PredictError(f"ensemble member {member!r}: {err}") from None
        return _load_state(net, folder / "model.pt")

    def _load_token_stream(self, folder: Path, tokenizer: Path) -> nn.Module:
        from skelpipe.models.token_transformer import TokenTransformer, TokenTransformerConfig
        from skelpipe.tokenizer.io import TokenizerLoadError, load_tokenizer

        if self.p.token_stream is None or self.p.tokenizer is None:
            raise PredictError("member 'tokens' needs the token_stream and tokenizer params")
        try:
            self.tokenizer = load_tokenizer(tokenizer)
        except TokenizerLoadError as err:
            raise PredictError(str(err)) from None
        cfg = TokenTransformerConfig(
            codebook_sizes=tuple(self.tokenizer.codebook_sizes),
            persons=self.tokenizer.cfg.persons,
            window=self.p.token_stream.window,
            num_classes=get_dataset(self.p.dataset).num_classes,
        )
        return _load_state(TokenTransformer(cfg), folder / "model.pt")

    @torch.no_grad()
    def member_scores(self, sample: np.ndarray) -> np.ndarray:
        """Scores (S, 1, K) of every member for one aligned sample (T, M, V, 3)."""
        out = []
        for m in self.members:
            if m == TOKENS:
                from skelpipe.tokenizer.train import tokenize_sample

                ts, tp = self.p.token_stream, self.p.tokenizer
                ids = tokenize_sample(self.tokenizer, sample, tp)[0]
                pad = self.tokenizer.codebook_sizes[0]
                x = crop_tokens(ids, ts.window, ts.p_interval_eval, pad, None)
            else:
                stream = m.rpartition("-")[2]
                x = make_input(sample, input_config(self.p.train, stream, False), self.layout, None)
            out.append(self.nets[m](torch.from_numpy(x)[None]).float().numpy())
        return np.stack(out)

    def predict(self, sample: np.ndarray, top: int = 5) -> list[Prediction]:
        """The ``top`` best classes for one aligned sample (T, M, V, 3), best first."""
        scores = combine(self.member_scores(sample), self.weights)[0]  # (K,)
        prob = np.exp(scores - scores.max())
        prob /= prob.sum()
        names = class_names(self.p.dataset)
        order = np.argsort(-scores, kind="stable")[: max(top, 1)]
        ds = self.p.dataset
        return [
            Prediction(int(k), action_code(ds, int(k)), names[k], float(scores[k]), float(prob[k]))
            for k in order
        ]


def read_weights(path: Path) -> dict[str, float]:
    """The ensemble stage's ``weights.json`` (member -> weight)."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PredictError(f"{path}: missing (has the ensemble stage run?)") from None
    except (OSError, json.JSONDecodeError) as err:
        raise PredictError(f"{path}: unreadable ({err})") from None
    if not isinstance(raw, dict) or not all(isinstance(w, int | float) for w in raw.values()):
        raise PredictError(f"{path}: expected a JSON object of member -> weight")
    return {str(k): float(w) for k, w in raw.items()}
