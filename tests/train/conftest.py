"""A tiny training config on the toy body: a few steps of the reference MLP."""

from __future__ import annotations

import pytest
import yaml

TINY = {
    "method": "mlp",
    "seed": 0,
    "body_model": "toy",
    "steps": 6,
    "batch_size": 4,
    "lr": 1.0e-3,
    "log_every": 2,
    "val_every": 3,
    "val_size": 6,
    "checkpoint_every": 3,
    "data": {"views": 2},
    "model": {"hidden": 32, "layers": 1},
}


@pytest.fixture
def tiny_config(tmp_path):
    def write(**changes):
        cfg = {**TINY, **changes}
        path = tmp_path / f"cfg_{len(list(tmp_path.glob('cfg_*.yaml')))}.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    return write
