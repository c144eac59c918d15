"""CPU training speed of our models against their official implementations, side by side.

    python benchmarks/official_speed.py --pyskl PYSKL --ctrgcn CTR-GCN --blockgcn BLOCKGCN
    python benchmarks/official_speed.py --pyskl PYSKL --models stgcn,ctrgcn --repeats 5
    python benchmarks/official_speed.py --pyskl PYSKL --preset cpu      # at the cpu preset's size
    python benchmarks/official_speed.py --blockgcn BLOCKGCN --topo-path /tmp/topo  # pip --target

Each ``--pyskl`` / ``--ctrgcn`` / ``--blockgcn`` is a local clone of kennymckormick/pyskl,
Uason-Chen/CTR-GCN or ZhouYuxuanYX/BlockGCN: a work tree, or a bare git directory (the files
needed are exported with ``git archive HEAD``). The official modules are imported from there at
run time; mmcv (``mmcv``, ``mmcv.cnn``, ``mmcv.runner``, ``mmcv.utils``), PYSKL's package
``__init__`` files and, when not installed, ``einops`` are replaced by minimal stand-ins written
to a temp dir. BlockGCN's persistence layer needs torch-topological (install it, e.g.
``pip install --target /tmp/topo torch-topological ...``, and pass ``--topo-path``); without it
that layer is replaced by our own MST (``skelpipe.models.blockgcn``) and the row says so.

Measured as ``train_speed.py`` does: forward + backward + SGD step on a fixed synthetic batch,
batch 16, T = 64, NTU layout (25 joints x 2 persons), 2 threads, ``configure_cpu_runtime``; NTU60
paper configuration (``configs/<algo>/..._ntu60_xsub_3dkp/j.py``, head GCNHead). PoseConv3D
(``configs/posec3d/slowonly_r50_ntu60_xsub/joint.py``, I3DHead) runs on 17 x 56 x 56 heatmaps of
48 frames (``--posec3d-frames``); ours renders them from keypoints inside the model, so it is
timed with the render and, as ``ours_no_render``, on the same heatmaps as the official model.
``--preset cpu`` builds the official models at the cpu preset's width and depth where their
constructor takes them; the others are skipped with the reason.

Every (model, implementation, repeat) runs in a fresh process, official and ours alternating
which goes first; the figures are medians over ``--repeats``. Prints one JSON line per model
(samples/s both ways, ours / official, parameter counts) and a summary table.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.abc
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from skelpipe.models import build_model, model_config, registry
from skelpipe.models.config import ModelConfig
from skelpipe.training.runtime import configure_cpu_runtime

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import time_training  # noqa: E402

NUM_CLASSES = 60  # NTU60
PARAMS_TOLERANCE = 0.005  # the two parameter counts should agree within 0.5 %
HEATMAP_CHANNELS = 17  # PoseConv3D's COCO joint maps
# the files each official clone must provide (the first one tells a work tree from a git dir)
SOURCE_PATHS = {
    "pyskl": ["pyskl/models", "pyskl/utils/graph.py"],
    "ctrgcn": ["model/ctrgcn.py", "graph"],
    "blockgcn": ["model/BlockGCN.py", "graph"],
}

# ---- stand-ins, written to <tmp>/stubs (they shadow nothing that is installed) ----------------
MMCV_UTILS = '''
from torch.nn.modules.batchnorm import _BatchNorm  # noqa: F401


class Registry:
    """mmcv's Registry: name -> class, ``build(dict(type=name, **kwargs))``."""

    def __init__(self, name, parent=None, build_func=None, scope=None):
        self.name, self._modules = name, {}

    def register_module(self, name=None, force=False, module=None):
        def register(cls):
            self._modules[name if isinstance(name, str) else cls.__name__] = cls
            return cls
        if isinstance(name, type):
            return register(name)
        return register(module) if module is not None else register

    def __contains__(self, key):
        return key in self._modules

    def get(self, key):
        return self._modules.get(key)

    def build(self, cfg):
        args = dict(cfg)
        return self._modules[args.pop("type")](**args)
'''
MMCV_CNN = '''
from torch import nn
from mmcv.utils import Registry

MODELS = Registry("model")
NORMS = {"BN": nn.BatchNorm2d, "BN1d": nn.BatchNorm1d, "BN2d": nn.BatchNorm2d,
         "BN3d": nn.BatchNorm3d, "SyncBN": nn.BatchNorm2d, "IN": nn.InstanceNorm2d}
ACTS = {"ReLU": nn.ReLU, "LeakyReLU": nn.LeakyReLU, "ReLU6": nn.ReLU6, "ELU": nn.ELU,
        "PReLU": nn.PReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "GELU": nn.GELU,
        "SiLU": nn.SiLU, "Swish": nn.SiLU, "HSigmoid": nn.Hardsigmoid, "HSwish": nn.Hardswish}
INPLACE = ("ReLU", "LeakyReLU", "ReLU6", "ELU")
CONVS = {"Conv": nn.Conv2d, "Conv1d": nn.Conv1d, "Conv2d": nn.Conv2d, "Conv3d": nn.Conv3d}


def build_norm_layer(cfg, num_features, postfix=""):
    cfg = dict(cfg)
    kind, requires_grad = cfg.pop("type"), cfg.pop("requires_grad", True)
    layer = NORMS[kind](num_features, **cfg)
    for p in layer.parameters():
        p.requires_grad = requires_grad
    return ("in" if kind == "IN" else "bn") + str(postfix), layer


def build_activation_layer(cfg):
    cfg = dict(cfg)
    return ACTS[cfg.pop("type")](**cfg)


def build_conv_layer(cfg, *args, **kwargs):
    cfg = dict(cfg or {"type": "Conv2d"})
    return CONVS[cfg.pop("type")](*args, **kwargs, **cfg)


def constant_init(module, val, bias=0):
    if getattr(module, "weight", None) is not None:
        nn.init.constant_(module.weight, val)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def normal_init(module, mean=0, std=1, bias=0):
    nn.init.normal_(module.weight, mean, std)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


def kaiming_init(module, a=0, mode="fan_out", nonlinearity="relu", bias=0,
                 distribution="normal"):
    init = nn.init.kaiming_uniform_ if distribution == "uniform" else nn.init.kaiming_normal_
    init(module.weight, a=a, mode=mode, nonlinearity=nonlinearity)
    if getattr(module, "bias", None) is not None:
        nn.init.constant_(module.bias, bias)


class ConvModule(nn.Module):
    """conv -> norm -> activation, as mmcv builds it (bias="auto": no bias before a norm)."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias="auto", conv_cfg=None, norm_cfg=None,
                 act_cfg=dict(type="ReLU"), inplace=True, order=("conv", "norm", "act")):
        super().__init__()
        bias = norm_cfg is None if bias == "auto" else bias
        self.order, self.norm_name, self.activate = order, None, None
        self.conv = build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size,
                                     stride=stride, padding=padding, dilation=dilation,
                                     groups=groups, bias=bias)
        if norm_cfg is not None:
            after = order.index("norm") > order.index("conv")
            channels = out_channels if after else in_channels
            self.norm_name, norm = build_norm_layer(norm_cfg, channels)
            self.add_module(self.norm_name, norm)
        if act_cfg is not None:
            act_cfg = dict(act_cfg)
            if act_cfg["type"] in INPLACE:
                act_cfg.setdefault("inplace", inplace)
            self.activate = build_activation_layer(act_cfg)
        kaiming_init(self.conv)
        if self.norm_name:
            constant_init(getattr(self, self.norm_name), 1)

    def forward(self, x):
        for step in self.order:
            if step == "conv":
                x = self.conv(x)
            elif step == "norm" and self.norm_name:
                x = getattr(self, self.norm_name)(x)
            elif step == "act" and self.activate is not None:
                x = self.activate(x)
        return x
'''
MMCV_RUNNER = """
def load_checkpoint(*args, **kwargs):
    raise NotImplementedError("stand-in mmcv.runner: no checkpoints in the speed benchmark")


_load_checkpoint = load_checkpoint
"""
# PYSKL's package __init__ files import its whole stack; these shells point the packages at the
# official directories and load only what the models need.
PYSKL_SHELL = "__path__.append({path!r})\n"
PYSKL_UTILS = (
    PYSKL_SHELL
    + """from .graph import *  # noqa: F401, F403


def cache_checkpoint(filename, cache_dir=".cache"):
    return filename


def get_root_logger(*args, **kwargs):
    import logging
    return logging.getLogger("pyskl")
"""
)
PYSKL_BUILDER = """
from torch import nn
from mmcv.utils import Registry

MODELS = Registry("models")
BACKBONES = HEADS = RECOGNIZERS = LOSSES = MODELS


def build_loss(cfg):
    return nn.CrossEntropyLoss()  # the heads only keep it; it has no parameters
"""
PYSKL_CORE = """
def top_k_accuracy(*args, **kwargs):
    raise NotImplementedError("stand-in pyskl.core")
"""
# fallbacks, placed after the real packages on sys.path
EINOPS = '''
import math
import re


def _axes(side):
    return [(group or name).split() for group, name in re.findall(r"\\(([^)]*)\\)|(\\S+)", side)]


def rearrange(tensor, pattern, **sizes):
    """einops.rearrange for reshape / transpose patterns such as "n c t v m -> (n m t) v c"."""
    left, right = (_axes(side) for side in pattern.split("->"))
    known = dict(sizes)
    for group, dim in zip(left, tensor.shape):
        free = [a for a in group if a not in known]
        if free:
            known[free[0]] = dim // math.prod(known[a] for a in group if a in known)
    axes = [a for group in left for a in group]
    x = tensor.reshape([known[a] for a in axes])
    x = x.permute([axes.index(a) for group in right for a in group])
    return x.reshape([math.prod(known[a] for a in group) for group in right])


def repeat(*args, **kwargs):
    raise NotImplementedError("stand-in einops: rearrange only")
'''
TOPO_NN = '''
from torch import nn

from skelpipe.models.blockgcn import mst_edge_lengths, row_distances


class VietorisRipsComplex(nn.Module):
    """0-dim Vietoris-Rips persistence of the rows of (N, V, V) as its (N, V - 1) deaths: our MST
    (births are all 0 and ``make_tensor`` below passes them through)."""

    def __init__(self, dim=0, **kwargs):
        super().__init__()
        assert dim == 0, "stand-in torch_topological: dim 0 only"

    def forward(self, x):
        return mst_edge_lengths(row_distances(x.detach()))
'''
TOPO_DATA = "def make_tensor(x):\n    return x\n"
TOPO_LAYERS = "from skelpipe.models.blockgcn import StructureElements as StructureElementLayer\n"


def write_files(root: Path, files: dict[str, str]) -> None:
    """Write ``{relative path: source}`` under ``root``."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def write_stubs(root: Path, pyskl: Path | None) -> None:
    """The mmcv and PYSKL stand-ins in ``root / "stubs"``, fallbacks in ``root / "fallback"``."""
    stubs = {
        "mmcv/__init__.py": "",
        "mmcv/utils.py": MMCV_UTILS,
        "mmcv/cnn.py": MMCV_CNN,
        "mmcv/runner.py": MMCV_RUNNER,
    }
    if pyskl is not None:
        official = pyskl / "pyskl"
        stubs["pyskl/__init__.py"] = PYSKL_SHELL.format(path=str(official))
        stubs["pyskl/utils/__init__.py"] = PYSKL_UTILS.format(path=str(official / "utils"))
        stubs["pyskl/core/__init__.py"] = PYSKL_CORE
        stubs["pyskl/models/builder.py"] = PYSKL_BUILDER
        for pkg in ("models", "models/gcns", "models/cnns", "models/heads"):
            stubs[f"pyskl/{pkg}/__init__.py"] = PYSKL_SHELL.format(path=str(official / pkg))
    write_files(root / "stubs", stubs)
    fallback = {
        "torch_topological/__init__.py": "",
        "torch_topological/nn/__init__.py": TOPO_NN,
        "torch_topological/nn/data.py": TOPO_DATA,
        "torch_topological/nn/layers.py": TOPO_LAYERS,
    }
    if importlib.util.find_spec("einops") is None:
        fallback["einops.py"] = EINOPS
    write_files(root / "fallback", fallback)


def resolve_source(name: str, path: Path, workdir: Path) -> tuple[Path, str]:
    """(directory holding the official files, its commit): ``path`` itself when it is a work
    tree, else the files exported from the git directory ``path`` into ``workdir``."""
    needed = SOURCE_PATHS[name]
    git = (
        ["git", "-C", str(path)] if (path / needed[0]).exists() else ["git", "--git-dir", str(path)]
    )
    rev = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True)
    commit = rev.stdout.strip() if rev.returncode == 0 else "unknown"
    if (path / needed[0]).exists():
        return path, commit
    dest = workdir / "src" / name
    dest.mkdir(parents=True)
    archive = subprocess.run([*git, "archive", "HEAD", *needed], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest, commit


# ---- the official models, wrapped to take our (N, C, T, V, M) input and return logits --------
class PysklRecognizer(nn.Module):
    """PYSKL backbone + head (what RecognizerGCN / Recognizer3D run in training)."""

    def __init__(self, backbone: nn.Module, head: nn.Module, gcn: bool) -> None:
        super().__init__()
        self.backbone, self.head, self.gcn = backbone, head, gcn
        backbone.init_weights()
        head.init_weights()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.gcn:  # (N, C, T, V, M) -> PYSKL's keypoint layout (N, M, T, V, C)
            x = x.permute(0, 4, 2, 3, 1).contiguous()
        return self.head(self.backbone(x))


class OfficialBlockGCN(nn.Module):
    """BlockGCN's ``Model.forward(x, y, joint)``; the topology comes from the joints (= x)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x, None, x)[0]


class NoRender(nn.Module):
    """Our PoseConv3D on heatmaps (N, K, T, H, W), without its keypoint renderer."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, heatmaps: torch.Tensor) -> torch.Tensor:
        m = self.model
        return m.fc(m.drop(m.features(heatmaps)))


def pyskl_depth(cfg: ModelConfig) -> dict[str, Any]:
    """PYSKL's width / depth arguments for our ``width`` and ``stage_blocks`` (paper preset:
    base_channels 64, num_stages 10, inflate and down stages [5, 8], PYSKL's defaults)."""
    starts = [1 + sum(cfg.stage_blocks[:i]) for i in range(1, len(cfg.stage_blocks))]
    return {
        "base_channels": cfg.width,
        "num_stages": sum(cfg.stage_blocks),
        "inflate_stages": starts,
        "down_stages": starts,
    }


def gcn_head(cfg: ModelConfig, channels: int) -> nn.Module:
    from pyskl.models.heads.simple_head import GCNHead

    return GCNHead(num_classes=NUM_CLASSES, in_channels=channels, dropout=cfg.dropout)


def pyskl_graph_gcn(name: str, cfg: ModelConfig) -> nn.Module:
    """ST-GCN, ST-GCN++, AAGCN, CTR-GCN or DG-STGCN as their ntu60_xsub_3dkp/j.py configs."""
    kwargs: dict[str, Any] = {"graph_cfg": {"layout": "nturgb+d", "mode": "spatial"}}
    if name == "stgcn":
        kwargs["graph_cfg"]["mode"] = "stgcn_spatial"
    elif name == "stgcnpp":
        kwargs.update(gcn_adaptive="init", gcn_with_res=True, tcn_type="mstcn")
    elif name == "dgstgcn":
        ms = [(3, d) for d in cfg.tcn_dilations] + [("max", 3), "1x1"]
        graph = {"mode": "random", "num_filter": cfg.num_groups}
        graph.update(init_off=cfg.graph_init_offset, init_std=cfg.graph_init_std)
        kwargs["graph_cfg"].update(graph)
        kwargs.update(gcn_ratio=cfg.gcn_ratio, tcn_ms_cfg=ms)
        kwargs.update(gcn_ctr="T" if cfg.ctr else None, gcn_ada="T" if cfg.ada else None)
    module, cls = {
        "stgcn": ("stgcn", "STGCN"),
        "stgcnpp": ("stgcn", "STGCN"),
        "aagcn": ("aagcn", "AAGCN"),
        "ctrgcn": ("ctrgcn", "CTRGCN"),
        "dgstgcn": ("dgstgcn", "DGSTGCN"),
    }[name]
    backbone_cls = getattr(importlib.import_module(f"pyskl.models.gcns.{module}"), cls)
    backbone = backbone_cls(**kwargs, **pyskl_depth(cfg))
    channels = cfg.width * 2 ** (len(cfg.stage_blocks) - 1)
    return PysklRecognizer(backbone, gcn_head(cfg, channels), gcn=True)


class SourcePatch(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports module ``name`` from ``path`` with ``old`` replaced by ``new`` in its source."""

    def __init__(self, name: str, path: Path, old: str, new: str) -> None:
        self.name, self.path, self.old, self.new = name, path, old, new
        self.count = path.read_text().count(old)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        return importlib.util.spec_from_file_location(fullname, self.path, loader=self)

    def create_module(self, spec: Any) -> None:
        return None

    def exec_module(self, module: Any) -> None:
        source = self.path.read_text().replace(self.old, self.new)
        exec(compile(source, str(self.path), "exec"), module.__dict__)


def pyskl_msg3d(cfg: ModelConfig, root: Path) -> tuple[nn.Module, str]:
    """PYSKL's MS-G3D; its ``out += res`` on a ReLU output (res = 0 where there is no residual)
    breaks backward (PYSKL issue #242), so it is imported with the usual fix, ``out = out + res``.
    """
    rel = "pyskl/models/gcns/utils/msg3d_utils.py"
    patch = SourcePatch(rel[:-3].replace("/", "."), root / rel, "out += res", "out = out + res")
    sys.meta_path.insert(0, patch)
    from pyskl.models.gcns.msg3d import MSG3D

    backbone = MSG3D(
        graph_cfg={"layout": "nturgb+d", "mode": "binary_adj"},
        base_channels=cfg.width,
        num_gcn_scales=cfg.gcn_scales,
        num_g3d_scales=cfg.g3d_scales,
        tcn_dropout=cfg.tcn_dropout,
    )
    note = f"official patched at import: 'out += res' -> 'out = out + res' ({patch.count}x)"
    return PysklRecognizer(backbone, gcn_head(cfg, cfg.width * 4), gcn=True), note


def pyskl_posec3d(cfg: ModelConfig) -> nn.Module:
    """ResNet3dSlowOnly + I3DHead as configs/posec3d/slowonly_r50_ntu60_xsub/joint.py."""
    from pyskl.models.cnns.resnet3d_slowonly import ResNet3dSlowOnly
    from pyskl.models.heads.simple_head import I3DHead

    n = len(cfg.stage_blocks)
    backbone = ResNet3dSlowOnly(
        in_channels=HEATMAP_CHANNELS,
        base_channels=cfg.width,
        num_stages=n,
        out_indices=(n - 1,),
        stage_blocks=cfg.stage_blocks,
        conv1_stride=(1, 1),
        pool1_stride=(1, 1),
        inflate=cfg.inflate,
        spatial_strides=cfg.spatial_strides,
        temporal_strides=cfg.temporal_strides,
    )
    channels = cfg.width * 2 ** (n - 1) * 4
    head = I3DHead(num_classes=NUM_CLASSES, in_channels=channels, dropout=cfg.dropout)
    return PysklRecognizer(backbone, head, gcn=False)


def load_file_module(name: str, root: Path, rel: str) -> Any:
    """Import ``root / rel`` as module ``name``, with ``root`` on sys.path (for ``graph``)."""
    sys.path.insert(0, str(root))
    spec = importlib.util.spec_from_file_location(name, root / rel)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def repo_model(source: str, root: Path) -> nn.Module:
    """The ``Model`` of the official CTR-GCN or BlockGCN repository (NTU60 xsub yaml)."""
    rel = SOURCE_PATHS[source][0]
    module = load_file_module(f"official_{source}", root, rel)
    net = module.Model(
        num_class=NUM_CLASSES,
        num_point=25,
        num_person=2,
        graph="graph.ntu_rgb_d.Graph",
        graph_args={"labeling_mode": "spatial"},
    )
    return OfficialBlockGCN(net) if source == "blockgcn" else net


# ---- what is compared ------------------------------------------------------------------------
@dataclass(frozen=True)
class Comparison:
    """One row: our ``model`` against ``official`` from the clone named by ``--<source>``.

    ``passes``: our config fields the official constructor is given; any other field that
    differs from the paper preset means the official model cannot be built at that preset.
    """

    key: str
    model: str
    source: str
    official: str
    passes: frozenset[str]


FIXED_FIELDS = {"num_classes", "in_channels", "layout", "preset"}  # set by the dataset / name
GCN = frozenset({"width", "stage_blocks", "dropout"})
DG = GCN | {"num_groups", "gcn_ratio", "ctr", "ada", "graph_init_offset", "graph_init_std"}
POSE = GCN | {"inflate", "spatial_strides", "temporal_strides", "heatmap_size"}
COMPARISONS = [
    Comparison("stgcn", "stgcn", "pyskl", "pyskl gcns/stgcn.py", GCN),
    Comparison("stgcnpp", "stgcnpp", "pyskl", "pyskl gcns/stgcn.py (ST-GCN++)", GCN),
    Comparison("aagcn", "aagcn", "pyskl", "pyskl gcns/aagcn.py", GCN),
    Comparison(
        "msg3d",
        "msg3d",
        "pyskl",
        "pyskl gcns/msg3d.py",
        frozenset({"width", "dropout", "gcn_scales", "g3d_scales", "tcn_dropout"}),
    ),
    Comparison("dgstgcn", "dgstgcn", "pyskl", "pyskl gcns/dgstgcn.py", DG | {"tcn_dilations"}),
    Comparison("ctrgcn@pyskl", "ctrgcn", "pyskl", "pyskl gcns/ctrgcn.py", GCN),
    Comparison("ctrgcn@official", "ctrgcn", "ctrgcn", "CTR-GCN model/ctrgcn.py", frozenset()),
    Comparison("posec3d", "posec3d", "pyskl", "pyskl resnet3d_slowonly.py+I3DHead", POSE),
    Comparison("blockgcn", "blockgcn", "blockgcn", "BlockGCN model/BlockGCN.py", frozenset()),
]
BY_KEY = {c.key: c for c in COMPARISONS}


def our_config(comp: Comparison, preset: str) -> ModelConfig:
    """Our NTU60 config; PoseConv3D on the 17 COCO joints, as PYSKL's NTU60 config."""
    overrides = {"layout": "coco17"} if comp.model == "posec3d" else {}
    return model_config(comp.model, "ntu60", preset, **overrides)


def skip_reason(comp: Comparison, preset: str, roots: dict[str, Path | None]) -> str | None:
    """Why ``comp`` cannot be timed, or None."""
    if comp.model not in registry:
        return f"ours not registered: build_model has no {comp.model!r} yet"
    if roots.get(comp.source) is None:
        return f"official code not given (--{comp.source})"
    cfg, paper = our_config(comp, preset), our_config(comp, "paper")
    differ = [
        f"{name}={getattr(cfg, name)} (official: {getattr(paper, name)})"
        for name in vars(cfg)
        if name not in FIXED_FIELDS | comp.passes and getattr(cfg, name) != getattr(paper, name)
    ]
    if comp.model == "msg3d" and cfg.stage_blocks != (1, 1, 1):  # one STGC block per stage
        differ.append(f"stage_blocks={cfg.stage_blocks} (official: (1, 1, 1))")
    if differ:
        return f"official constructor has no argument for our {preset} {', '.join(differ)}"
    return None


# ---- one timed run (a fresh process) ---------------------------------------------------------
def setup_paths(workdir: Path, topo_paths: list[Path]) -> None:
    """Stand-ins first, then ``--topo-path``; the fallbacks only after everything installed."""
    sys.path.insert(0, str(workdir / "stubs"))
    for i, path in enumerate(topo_paths, start=1):
        sys.path.insert(i, str(path))
    sys.path.append(str(workdir / "fallback"))


def fallback_note(workdir: Path) -> str:
    """Which BlockGCN dependencies came from the fallbacks."""
    import einops
    import torch_topological

    fallback = str(workdir / "fallback")
    notes = []
    if torch_topological.__file__.startswith(fallback):
        notes.append("persistence: our MST in place of torch-topological (not importable)")
    else:
        notes.append("persistence: torch-topological")
    if einops.__file__.startswith(fallback):
        notes.append("einops: stand-in rearrange")
    return "; ".join(notes)


def build(
    comp: Comparison, impl: str, cfg: ModelConfig, args: argparse.Namespace
) -> tuple[nn.Module, str]:
    """(model, note) for ``impl`` in official / ours / ours_no_render."""
    torch.manual_seed(0)
    if impl != "official":
        model = build_model(comp.model, "ntu60", args.preset, layout=cfg.layout)
        return (NoRender(model) if impl == "ours_no_render" else model), ""
    root = getattr(args, comp.source)
    if comp.source != "pyskl":
        model = repo_model(comp.source, root)
        return model, fallback_note(args.workdir) if comp.source == "blockgcn" else ""
    if comp.model == "msg3d":
        return pyskl_msg3d(cfg, root)
    if comp.model == "posec3d":
        return pyskl_posec3d(cfg), ""
    return pyskl_graph_gcn(comp.model, cfg), ""


def make_batch(
    comp: Comparison, impl: str, cfg: ModelConfig, args: argparse.Namespace
) -> torch.Tensor:
    """Keypoints (N, 3, T, V, M), or for PoseConv3D heatmaps (N, 17, T, H, W) except ours."""
    g = torch.Generator().manual_seed(0)
    if comp.model != "posec3d":
        return torch.randn(args.batch, 3, args.frames, 25, 2, generator=g)
    T = args.posec3d_frames
    if impl == "ours":  # COCO keypoints in pixels, score 1
        x = torch.rand(args.batch, 3, T, HEATMAP_CHANNELS, 2, generator=g) * 500
        x[:, 2] = 1.0
        return x
    size = cfg.heatmap_size
    return torch.rand(args.batch, HEATMAP_CHANNELS, T, size, size, generator=g)


def worker(args: argparse.Namespace) -> None:
    """Time one implementation of one comparison; print one JSON line."""
    comp = BY_KEY[args.worker]
    configure_cpu_runtime(args.threads)
    setup_paths(args.workdir, args.topo_path)
    cfg = our_config(comp, args.preset)
    model, note = build(comp, args.impl, cfg, args)
    x = make_batch(comp, args.impl, cfg, args)
    y = torch.randint(0, NUM_CLASSES, (args.batch,), generator=torch.Generator().manual_seed(1))
    times = time_training(model, iter(lambda: (x, y), None), args.steps)
    row = {
        "impl": args.impl,
        "samples_per_s": args.batch / statistics.median(times),
        "params": sum(p.numel() for p in model.parameters()),
        "note": note,
    }
    print(json.dumps(row), flush=True)


# ---- the driver ------------------------------------------------------------------------------
class WorkerError(RuntimeError):
    """A timed run exited non-zero."""


def run_worker(comp: Comparison, impl: str, args: argparse.Namespace, roots: dict) -> dict:
    """One fresh process timing ``impl`` of ``comp``; its JSON row."""
    cmd = [sys.executable, __file__, "--worker", comp.key, "--impl", impl]
    cmd += ["--workdir", str(args.workdir), "--preset", args.preset, "--threads", str(args.threads)]
    cmd += ["--batch", str(args.batch), "--frames", str(args.frames), "--steps", str(args.steps)]
    cmd += ["--posec3d-frames", str(args.posec3d_frames)]
    cmd += [a for path in args.topo_path for a in ("--topo-path", str(path))]
    cmd += [f"--{comp.source}", str(roots[comp.source])]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        lines = out.stderr.strip().splitlines() or ["no output"]
        raise WorkerError(f"{impl}: {lines[-1]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def timed_row(comp: Comparison, args: argparse.Namespace, roots: dict) -> dict:
    """Medians over ``--repeats`` of official and ours, alternating which runs first."""
    impls = ["official", "ours"] + (["ours_no_render"] if comp.model == "posec3d" else [])
    runs: dict[str, list[dict]] = {impl: [] for impl in impls}
    for r in range(args.repeats):
        for impl in impls if r % 2 == 0 else impls[::-1]:
            runs[impl].append(run_worker(comp, impl, args, roots))
    rate = {impl: statistics.median(x["samples_per_s"] for x in runs[impl]) for impl in impls}
    p_off, p_ours = runs["official"][0]["params"], runs["ours"][0]["params"]
    rel = (p_ours - p_off) / p_off
    row = {
        "official_samples_per_s": round(rate["official"], 3),
        "ours_samples_per_s": round(rate["ours"], 3),
        "ours_over_official": round(rate["ours"] / rate["official"], 3),
        "official_params": p_off,
        "ours_params": p_ours,
        "params_rel_diff": round(rel, 5),
        "params_agree": abs(rel) <= PARAMS_TOLERANCE,
    }
    if "ours_no_render" in rate:
        row["ours_no_render_samples_per_s"] = round(rate["ours_no_render"], 3)
        row["ours_no_render_over_official"] = round(rate["ours_no_render"] / rate["official"], 3)
    row["note"] = runs["official"][0]["note"]
    return row


def compare(comp: Comparison, args: argparse.Namespace, roots: dict, commits: dict) -> dict:
    """The JSON row of one comparison: timed, skipped (with the reason) or failed."""
    frames = args.posec3d_frames if comp.model == "posec3d" else args.frames
    row = {"model": comp.model, "official": comp.official, "preset": args.preset}
    row.update(batch=args.batch, frames=frames, threads=args.threads, repeats=args.repeats)
    reason = skip_reason(comp, args.preset, roots)
    if reason:
        return {**row, "skipped": reason}
    row["official_commit"] = commits[comp.source]
    try:
        return {**row, **timed_row(comp, args, roots)}
    except WorkerError as err:
        return {**row, "failed": str(err)}


def print_table(rows: list[dict]) -> None:
    """The summary: one line per comparison."""
    head = ("model", "official", "off/s", "ours/s", "ours/off", "params off", "params ours", "diff")
    fmt = "{:<9} {:<36} {:>8} {:>8} {:>8} {:>11} {:>11} {:>8}  {}"
    print("\n" + fmt.format(*head, "note"))
    for r in rows:
        if "ours_samples_per_s" not in r:
            print(fmt.format(r["model"], r["official"], *[""] * 6, r.get("skipped") or r["failed"]))
            continue
        note = r["note"]
        if "ours_no_render_samples_per_s" in r:
            note = f"ours without the render {r['ours_no_render_samples_per_s']}/s; {note}"
        nums = (r["official_samples_per_s"], r["ours_samples_per_s"], r["ours_over_official"])
        diff = f"{100 * r['params_rel_diff']:+.2f}%"
        print(
            fmt.format(
                r["model"],
                r["official"],
                *nums,
                r["official_params"],
                r["ours_params"],
                diff,
                note.strip("; "),
            )
        )


def selected(models: str) -> list[str]:
    """Our model names to report: every compared model, then the rest of the registry."""
    known = list(dict.fromkeys([c.model for c in COMPARISONS] + list(registry)))
    names = known if models == "all" else models.split(",")
    unknown = sorted(set(names) - set(known))
    if unknown:
        sys.exit(f"unknown models {unknown}; known: {known}")
    return names


def drive(args: argparse.Namespace) -> None:
    """Resolve the clones, write the stand-ins, run every comparison, print rows and table."""
    with tempfile.TemporaryDirectory(prefix="skelpipe-official-") as tmp:
        args.workdir = Path(tmp)
        roots: dict[str, Path | None] = {}
        commits: dict[str, str] = {}
        for source in SOURCE_PATHS:
            given = getattr(args, source)
            roots[source], commits[source] = (
                resolve_source(source, given, args.workdir) if given else (None, "")
            )
        write_stubs(args.workdir, roots["pyskl"])
        rows = []
        for name in selected(args.models):
            comps = [c for c in COMPARISONS if c.model == name]
            if not comps:
                row = {"model": name, "preset": args.preset}
                rows.append({**row, "official": "-", "skipped": "no official code wired in"})
                print(json.dumps(rows[-1]), flush=True)
            for comp in comps:
                rows.append(compare(comp, args, roots, commits))
                print(json.dumps(rows[-1]), flush=True)
    print_table(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pyskl", type=Path, help="clone of kennymckormick/pyskl (tree or git dir)")
    ap.add_argument("--ctrgcn", type=Path, help="clone of Uason-Chen/CTR-GCN")
    ap.add_argument("--blockgcn", type=Path, help="clone of ZhouYuxuanYX/BlockGCN")
    ap.add_argument(
        "--topo-path",
        type=Path,
        action="append",
        default=[],
        help="extra import path holding torch-topological (e.g. a pip --target dir)",
    )
    ap.add_argument("--models", default="all", help="comma-separated model names, or all")
    ap.add_argument("--preset", default="paper", choices=["paper", "cpu"])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--frames", type=int, default=64)
    ap.add_argument("--posec3d-frames", type=int, default=48, help="PoseConv3D's clip length")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3, help="fresh-process runs per side")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--impl", help=argparse.SUPPRESS)
    ap.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        return worker(args)
    drive(args)


if __name__ == "__main__":
    main()
