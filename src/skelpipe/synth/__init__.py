"""Synthetic raw NTU RGB+D: the project's embedded default dataset.

A procedural 25-joint Kinect body (per-subject bone lengths and style) performs real NTU action
classes, is recorded by the three cameras of a setup and written in the exact ``.skeleton`` text
format, with sensor jitter, tracking states and planted denoising cases listed in a manifest.
Modules, in data order: ``body`` (skeleton, kinematics), ``timeline`` and ``actions`` (motion per
action code), ``scene`` (one performance in the world), ``camera``, ``render`` and ``noise`` (what
one Kinect reports), ``sample`` (one file), ``generate`` (the plan, parallel writing, manifest).
"""

from skelpipe.synth.actions import ACTIONS, Action
from skelpipe.synth.generate import (
    MANIFEST,
    check_params,
    generate_performance,
    generate_sample,
    newline_of,
    plan,
    sample_names,
    summarize,
    write_dataset,
)

__all__ = [
    "ACTIONS", "MANIFEST", "Action", "check_params", "generate_performance", "generate_sample",
    "newline_of", "plan", "sample_names", "summarize", "write_dataset",
]  # fmt: skip
