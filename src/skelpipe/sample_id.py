"""Sample names of NTU RGB+D (``S001C002P003R002A013``) and NW-UCLA (``a01_s01_e00_v01``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NTU_RE = re.compile(r"^S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})$")
_UCLA_RE = re.compile(r"^a(\d{2})_s(\d{2})_e(\d{2})_v(\d{2})$")

#: NW-UCLA action codes present in the dataset (a07 and a10 do not exist), in label order.
UCLA_ACTIONS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)


class SampleNameError(ValueError):
    """A file name that is not a sample name of the expected dataset."""


@dataclass(frozen=True, order=True)
class SampleId:
    """The identifiers encoded in a sample name.

    For NW-UCLA, ``camera`` holds the view, ``replication`` the repetition and ``setup`` is 0.
    """

    setup: int
    camera: int
    subject: int
    replication: int
    action: int
    dataset: str = "ntu"

    @classmethod
    def from_name(cls, name: str) -> SampleId:
        """Parse an NTU (``SsssCcccPpppRrrrAaaa``) or NW-UCLA (``aAA_sSS_eEE_vVV``) name."""
        m = _NTU_RE.match(name)
        if m:
            s, c, p, r, a = (int(g) for g in m.groups())
            return cls(setup=s, camera=c, subject=p, replication=r, action=a, dataset="ntu")
        m = _UCLA_RE.match(name)
        if m:
            a, s, e, v = (int(g) for g in m.groups())
            return cls(setup=0, camera=v, subject=s, replication=e, action=a, dataset="nw_ucla")
        raise SampleNameError(
            f"{name!r} is not a sample name (expected NTU 'SsssCcccPpppRrrrAaaa' "
            "or NW-UCLA 'aAA_sSS_eEE_vVV')"
        )

    @classmethod
    def from_ntu_name(cls, name: str) -> SampleId:
        """Parse an NTU name only; NW-UCLA names are rejected."""
        m = _NTU_RE.match(name)
        if not m:
            raise SampleNameError(f"{name!r} is not an NTU sample name (SsssCcccPpppRrrrAaaa)")
        return cls.from_name(name)

    @property
    def name(self) -> str:
        if self.dataset == "nw_ucla":
            return (
                f"a{self.action:02d}_s{self.subject:02d}_e{self.replication:02d}_v{self.camera:02d}"
            )
        return (
            f"S{self.setup:03d}C{self.camera:03d}P{self.subject:03d}"
            f"R{self.replication:03d}A{self.action:03d}"
        )

    def label(self) -> int:
        """0-based class label: NTU action - 1; NW-UCLA index in :data:`UCLA_ACTIONS`."""
        if self.dataset == "nw_ucla":
            if self.action not in UCLA_ACTIONS:
                raise SampleNameError(f"{self.name!r}: NW-UCLA has no action a{self.action:02d}")
            return UCLA_ACTIONS.index(self.action)
        return self.action - 1
