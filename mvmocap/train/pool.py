"""A fixed pool of generated training samples, for methods whose training step is much cheaper than
generating a sample (MetaPose: a step takes ~0.2 s, generating its 64 frame-sets ~0.9 s on one core).

With ``pool_size: N`` in a training config the run generates N samples once (the same samples a run
without a pool would draw first) and then cycles through them; each batch's ``"index"`` stays the
running sample index, so methods that draw their own per-sample randomness from it (MetaPose's view
order and monocular noise) still see new draws on every pass. With ``pool_cache: DIR`` the pool is
saved there under a name derived from everything it depends on, and later runs with the same data
options, body model, seed and size load it instead of regenerating it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor

from mvmocap.errors import FileFormatError
from mvmocap.io.atomic import atomic_path
from mvmocap.io.torch_files import load_checkpoint_file

POOL_FORMAT = "mvmocap-sample-pool/1"
CHUNK = 64


class PooledSamples(torch.utils.data.Dataset):
    """``length`` samples served cyclically from ``pool`` (a collated batch of N samples)."""

    def __init__(self, pool: dict[str, Tensor], length: int):
        self.pool = pool
        self.size = int(pool["index"].shape[0])
        self.length = int(length)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, indices) -> dict[str, Tensor]:
        running = torch.as_tensor([int(i) for i in indices], dtype=torch.long)
        rows = running % self.size
        batch = {key: value[rows] for key, value in self.pool.items()}
        batch["index"] = running
        return batch


def pool_key(data_options: dict[str, Any], body_name: str | None, seed: int, size: int) -> str:
    """A short hash of everything a pool's samples depend on."""
    text = json.dumps({"data": data_options, "body": body_name, "seed": int(seed), "size": int(size),
                       "format": POOL_FORMAT}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def generate_pool(dataset, size: int, report: Callable[[int], None] | None = None) -> dict[str, Tensor]:
    """The first ``size`` samples of ``dataset`` (a :class:`SyntheticMultiView`) as one collated batch."""
    chunks = []
    for start in range(0, size, CHUNK):
        chunks.append(dataset.batch(list(range(start, min(size, start + CHUNK)))))
        if report is not None:
            report(min(size, start + CHUNK))
    return {key: torch.cat([c[key] for c in chunks]) for key in chunks[0]}


def load_or_generate_pool(dataset, size: int, cache_dir: str | Path | None, key: str,
                          report: Callable[[int], None] | None = None) -> dict[str, Tensor]:
    """The pool from ``cache_dir/pool-<key>.pt`` when it is there, else generated (and saved there)."""
    file = Path(cache_dir) / f"pool-{key}.pt" if cache_dir else None
    if file is not None and file.is_file():
        payload = load_checkpoint_file(file, "sample pool")  # weights_only: no code runs
        if not isinstance(payload, dict) or payload.get("format") != POOL_FORMAT or payload.get("key") != key:
            raise FileFormatError(file, f"not a {POOL_FORMAT} file for this config (delete it to regenerate)")
        return payload["samples"]
    pool = generate_pool(dataset, size, report)
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(file) as tmp:
            torch.save({"format": POOL_FORMAT, "key": key, "samples": pool}, tmp)
    return pool
