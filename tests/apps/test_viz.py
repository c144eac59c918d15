"""PNG strips of skeletons, 3-D and 2-D."""

from __future__ import annotations

import numpy as np
import pytest

from skelpipe.apps.viz import save_strips
from skelpipe.skeleton import COCO17, NTU25


@pytest.mark.parametrize(("layout", "channels"), [(NTU25, 3), (COCO17, 2)])
def test_strips_of_any_channel_count_are_written(tmp_path, layout, channels) -> None:
    rng = np.random.default_rng(0)
    rows = [rng.normal(size=(5, 2, layout.num_joints, channels)).astype(np.float32)] * 2
    path = tmp_path / "strip.png"
    save_strips(path, rows, ["original", "reconstruction"], layout, styles=["-", "--"])
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
