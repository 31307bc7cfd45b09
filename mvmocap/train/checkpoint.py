"""Checkpoints of ``train-synthetic`` runs: written atomically, read back for ``--resume`` and
for evaluation (:func:`load_estimator`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from mvmocap.errors import FileFormatError, MissingFileError
from mvmocap.io.atomic import atomic_path
from mvmocap.io.torch_files import load_checkpoint_file

CHECKPOINT_NAME = "checkpoint.pt"
FORMAT = "mvmocap-train-checkpoint/1"


def save_checkpoint(path: str | Path, state: dict[str, Any]) -> Path:
    """Write ``state`` (plus the format tag) to ``path`` through a temporary file and a rename."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)
    return path


def checkpoint_path(run: str | Path) -> Path:
    """The checkpoint file of a run folder (or ``run`` itself when it is a file)."""
    run = Path(run)
    return run / CHECKPOINT_NAME if run.is_dir() else run


def load_checkpoint(run: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint (a file, or a run folder holding ``checkpoint.pt``)."""
    path = checkpoint_path(run)
    if not path.is_file():
        raise MissingFileError(path, "training checkpoint")
    state = load_checkpoint_file(path, "training checkpoint", map_location)  # weights_only: no code runs
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise FileFormatError(path, f"not a {FORMAT} checkpoint")
    for key, kind in (("config", dict), ("model", dict), ("step", int)):
        if not isinstance(state.get(key), kind):
            raise FileFormatError(path, f"damaged {FORMAT} checkpoint: {key!r} is missing or not a {kind.__name__}")
    return state


def build_method(state: dict[str, Any], body_model=None, device: str = "cpu"):
    """The trained method (eval mode, on ``device``) and its body model from a checkpoint's ``state``."""
    from mvmocap.synth.dataset import SynthConfig, load_body
    from mvmocap.train.config import TrainConfig
    from mvmocap.train.methods import get_method

    config = TrainConfig.from_dict(state["config"])
    body = body_model if body_model is not None else load_body(config.body_model)
    cls = get_method(config.method)
    data_cfg = SynthConfig.from_dict({**config.data, **cls.data_overrides})
    method = cls(config.model, data_cfg, body.to(device=device))
    method.load_state_dict(state["model"])
    return method.to(device).eval(), body


def load_estimator(run: str | Path, device: str = "cpu"):
    """A benchmark estimator (see :mod:`mvmocap.evaluate.synthetic`) from a run folder or checkpoint.

    The estimator uses the run's own trained method; the benchmark's body model must be the one
    the run was trained with (its name is checked).
    """
    from mvmocap.errors import InputError

    state = load_checkpoint(run, map_location=device)
    cache: dict[str, Any] = {}

    def estimate(batch: dict, body_model, dev: str) -> dict:
        if "method" not in cache:
            cache["method"], _ = build_method(state, body_model=body_model, device=device)
            trained_on = state.get("body_model_name")
            if trained_on and trained_on != getattr(body_model, "name", None):
                raise InputError(f"{run} was trained with body model {trained_on!r}, the benchmark uses "
                                 f"{getattr(body_model, 'name', '?')!r}")
        method = cache["method"]
        data_cfg = method.data_config
        if data_cfg.views != batch["K"].shape[1]:
            raise InputError(f"{run} was trained with {data_cfg.views} views, the benchmark has {batch['K'].shape[1]}")
        on_device = {k: v.to(device) for k, v in batch.items()}
        if "keypoints_crop" in on_device:
            # The benchmark's crops are for its own crop size; re-express them for the method's.
            from mvmocap.synth import evidence as ev
            from mvmocap.train.mlp import crop_size

            S = crop_size(data_cfg)
            kp = on_device["keypoints2d"]
            on_device["keypoints_crop"] = torch.cat([ev.to_crop(kp[..., :2], on_device["crop"], S), kp[..., 2:]], -1)
        pred = method(on_device)
        return {"joints3d": pred["joints3d"], **({"vertices": pred["vertices"]} if "vertices" in pred else {})}

    return estimate
