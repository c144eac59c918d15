"""Load a pickle of plain containers and numpy arrays without running code from the file.

``pickle.load`` calls whatever global a file names (``os.system``, ``subprocess.Popen``, ...), so a
downloaded annotation pickle is code, not data. :func:`load_pickle` resolves globals from a fixed
allow-list (what numpy arrays, scalars and dtypes need, old ``numpy.core`` and new ``numpy._core``
spellings, plus ``_codecs.encode`` that protocol 2 uses for bytes) and refuses everything else
before it is imported or called. Dicts, lists, tuples, strings and numbers need no global.
"""

from __future__ import annotations

import codecs
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from numpy._core import multiarray, numeric

from skelpipe.io.keypoints import SourceError


def _encode_latin1(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol 2 uses it for bytes; no other codec is looked up."""
    if encoding != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError(f"_codecs.encode with {encoding!r} is not bytes data")
    return codecs.encode(text, "latin1")


def _allowed_globals() -> dict[tuple[str, str], Any]:
    """(module, name) -> object; numpy.core (numpy < 2 pickles) maps to numpy._core's objects."""
    core = {
        ("multiarray", "_reconstruct"): multiarray._reconstruct,
        ("multiarray", "scalar"): multiarray.scalar,
        ("numeric", "_frombuffer"): numeric._frombuffer,  # protocol 5 arrays
    }
    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("_codecs", "encode"): _encode_latin1,  # protocol 2 bytes
    }
    for builtin in (set, frozenset, bytearray, complex):
        # protocols 0-2 spell the module the Python 2 way
        for module in ("builtins", "__builtin__"):
            allowed[(module, builtin.__name__)] = builtin
    for package in ("numpy.core", "numpy._core"):
        for (module, name), obj in core.items():
            allowed[(f"{package}.{module}", name)] = obj
    return allowed


_ALLOWED = _allowed_globals()


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, source: str) -> None:
        super().__init__(file)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        # Looked up, never imported: a refused name is not even loaded, let alone called.
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise SourceError(
                f"{self._source}: pickle refers to {module}.{name}, which is not a numpy array "
                "or plain container; refused (not executed). Only data pickles are read."
            ) from None


def load_pickle(path: str | Path) -> Any:
    """Unpickle ``path`` allowing only plain containers, numbers, strings and numpy data.

    The whole file is read into memory: a pickle has no index, so there is no way to read one
    annotation at a time.

    Raises:
        SourceError: the file is missing, truncated or corrupt, or names a global outside the
            allow-list (the message gives ``module.name``; it is never executed).
    """
    source = str(path)
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below, errors mapped to SourceError
    except OSError as err:
        raise SourceError(f"{source}: cannot open: {err.strerror or err}") from None
    with fh:
        try:
            return _RestrictedUnpickler(fh, source).load()
        except SourceError:
            raise
        except EOFError:
            raise SourceError(f"{source}: truncated pickle (ends before its STOP opcode)") from None
        except Exception as err:  # any failure of an untrusted byte stream is a bad file
            reason = f"{type(err).__name__}: {err}"
            raise SourceError(f"{source}: not a readable pickle ({reason})") from None
