"""Stage results cached in the output folder, keyed by a hash of what produced them.

A rerun with the same inputs and settings reuses a stage; anything else recomputes it.
Entries are ``.npz`` files written atomically, so an interrupted run leaves either the
old complete entry or none.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from mvmocap.io.atomic import atomic_path


def stage_key(*parts: Any) -> str:
    """A stable hash of JSON-serialisable parts (arrays are hashed by content)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
            digest.update(str((part.dtype, part.shape)).encode())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:32]


class StageCache:
    """``OUT/stages/<name>.npz`` entries holding arrays and the key that made them."""

    def __init__(self, out_dir: Path):
        self.folder = Path(out_dir) / "stages"

    def load(self, name: str, key: str) -> dict[str, np.ndarray] | None:
        path = self.folder / f"{name}.npz"
        if not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data.get("_key", "")) != key:
                    return None
                return {k: data[k] for k in data.files if k != "_key"}
        except Exception:  # unreadable (truncated, damaged): recompute
            return None

    def save(self, name: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.folder / f"{name}.npz") as tmp:
            np.savez(tmp, _key=np.array(key), **arrays)
