"""Open a keypoint source by format name: the one table the ``ingest`` stage and ``skelpipe
ingest`` share."""

from __future__ import annotations

from pathlib import Path

from skelpipe.io.keypoints import KeypointSource, SourceError

FORMATS = ("pyskl", "npz", "mars", "mmfi")


def open_source(
    fmt: str, src: Path, layout: str | None, clip_frames: int, score_channel: bool = False
) -> KeypointSource:
    """Open ``src`` with the importer of ``fmt`` (``layout`` None: inferred from the data).

    Raises:
        SourceError: an unknown format, or a source unusable as a whole.
    """
    from skelpipe.io.mars import open_mars
    from skelpipe.io.mmfi import open_mmfi
    from skelpipe.io.npz_folder import open_npz_folder
    from skelpipe.io.pyskl import open_pyskl

    if fmt == "pyskl":
        return open_pyskl(src, layout=layout)
    if fmt == "npz":
        return open_npz_folder(src, layout=layout, score_channel=score_channel)
    if fmt == "mars":
        return open_mars(src, clip_frames=clip_frames)
    if fmt == "mmfi":
        return open_mmfi(src)
    raise SourceError(f"unknown format {fmt!r}; known: {', '.join(FORMATS)}")
