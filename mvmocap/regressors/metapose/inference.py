"""MetaPose at inference: checkpoints, the S1 / S1+S2 / S1+IR estimates, and the ``--method`` entry.

:func:`estimate` on :class:`~mvmocap.regressors.metapose.inputs.MetaPoseInputs` (stage 1 alone,
stage 1 + a trained optimizer, stage 1 + the iterative refiner), the slim checkpoint
(:func:`export_checkpoint`, :func:`load_optimizer`, read with ``weights_only=True``), and
:func:`frame_sets` (a method's inputs -> MetaPose's). The step to a metric, +Z-up body under
per-frame cameras (``--method metapose``) is :mod:`mvmocap.regressors.metapose.body`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mvmocap.errors import FileFormatError, InputError, MissingFileError
from mvmocap.io.torch_files import load_checkpoint_file
from mvmocap.regressors.slim import FORMAT, resolve_checkpoint, write_slim_checkpoint
from mvmocap.regressors.metapose.inputs import NUM_JOINTS, MetaPoseInputs, check_frame_sets, prepare_inputs
from mvmocap.regressors.metapose.model import NeuralOptimizer, initial_state
from mvmocap.regressors.metapose.refine import iterative_refinement

CHECKPOINT_ENV = "MVMOCAP_METAPOSE_CHECKPOINT"
SHIPPED = Path(__file__).resolve().parents[3] / "models" / "regressors" / "metapose.pt"
MODEL_KEYS = ("steps", "architecture", "layers", "bone_prior", "outlier_weight", "heatmap_components")


def export_checkpoint(run: str | Path, out: str | Path) -> Path:
    """The slim checkpoint (optimizer options + float32 weights + training config) of a
    ``train-synthetic --method metapose`` run (folder or ``checkpoint.pt``), written atomically."""
    from mvmocap.regressors.metapose.training import DEFAULT_OPTIONS
    from mvmocap.train.checkpoint import load_checkpoint

    state = load_checkpoint(run)
    options = {**DEFAULT_OPTIONS, **state["config"]["model"]}
    payload = {"format": FORMAT, "name": "metapose",
               "options": {k: options[k] for k in MODEL_KEYS},
               "views": int(state["config"]["data"].get("views", 4)),
               "weights": {k[len("optimizer."):]: v.float() for k, v in state["model"].items() if k.startswith("optimizer.")},
               "train_config": state["config"], "step": int(state["step"])}
    return write_slim_checkpoint(payload, out)


def checkpoint_file(path: str | Path | None = None) -> Path:
    """``path``, else ``$MVMOCAP_METAPOSE_CHECKPOINT``, else the shipped ``models/regressors/metapose.pt``."""
    return resolve_checkpoint(path, CHECKPOINT_ENV, SHIPPED)


def load_optimizer(path: str | Path | None = None) -> tuple[NeuralOptimizer, dict[str, Any]]:
    """The trained optimizer (eval mode, float32, CPU) and the checkpoint's metadata."""
    file = checkpoint_file(path)
    if not file.is_file():
        raise MissingFileError(file, "metapose checkpoint")
    payload = load_checkpoint_file(file, "metapose checkpoint")  # weights_only: no code runs
    if isinstance(payload, dict) and payload.get("format") == FORMAT and payload.get("name") != "metapose":
        raise FileFormatError(file, f"a checkpoint of method {payload.get('name')!r}, not metapose")
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise FileFormatError(file, f"not a metapose {FORMAT} checkpoint")
    try:
        o = payload["options"]
        components = int(o.get("heatmap_components", 0)) or (2 if float(o.get("outlier_weight", 0.0)) > 0 else 1)
        net = NeuralOptimizer(int(o["steps"]), components, NUM_JOINTS, o["architecture"], views=int(payload["views"]),
                              bone_prior=bool(o["bone_prior"]), layers=o["layers"])
        net.load_state_dict(payload["weights"])
    except (KeyError, TypeError, ValueError, AttributeError, RuntimeError) as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise FileFormatError(file, f"damaged metapose checkpoint ({type(exc).__name__}: {first})") from None
    return net.eval(), {k: v for k, v in payload.items() if k != "weights"}


def estimate(inputs: MetaPoseInputs, solver: str = "s2", optimizer: NeuralOptimizer | None = None,
             bones: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """``(joints (B, J, 3) metres in camera 0's axes, cameras (B, C, 9))`` of each frame-set.

    ``solver``: ``"s1"`` (stage 1 alone), ``"s2"`` (stage 1 + ``optimizer``), ``"ir"`` (stage 1 +
    the iterative refiner; ``bones`` adds its bone prior)."""
    joints, cameras = initial_state(inputs)
    if solver == "s1":
        return joints, cameras
    if solver == "ir":
        return iterative_refinement(inputs, joints, cameras, bones=bones)
    if solver != "s2":
        raise InputError(f"metapose solver must be 's1', 's2' or 'ir', got {solver!r}")
    if optimizer is None:
        raise InputError("metapose: stage 2 needs a trained optimizer")
    with torch.no_grad():
        states = optimizer(inputs, joints, cameras, bones)
    return states[-1] if states else (joints, cameras)


def frame_sets(method_inputs, order: list[int] | None = None) -> MetaPoseInputs:
    """:class:`MetaPoseInputs` from a :class:`mvmocap.fit.inputs.MethodInputs` (detections with monocular 3D),
    the views in ``order`` (camera indices; None: as given)."""
    kp = torch.as_tensor(method_inputs.keypoints_2d)[:, :, :NUM_JOINTS].to(torch.float32)  # (F, C, 17, 3)
    check_frame_sets(kp[..., :2], kp[..., 2])
    detections = method_inputs.extras.get("detections")
    mono = getattr(detections, "mono3d", None)
    if mono is None:
        raise InputError("metapose needs per-view monocular 3D joints (BlazePose world landmarks): "
                         "detect with the blazepose detector")
    mono = torch.from_numpy(mono).to(torch.float32).transpose(0, 1)[:, :, :NUM_JOINTS]  # (F, C, 17, 4)
    if mono.shape[:2] != kp.shape[:2]:
        raise InputError(f"metapose: monocular 3D of shape {tuple(mono.shape)} does not match the keypoints {tuple(kp.shape)}")
    if order is not None:
        kp, mono = kp[:, order], mono[:, order]
    weight = torch.where(kp[..., 2] > 0, mono[..., 3].clamp(0, 1), torch.zeros_like(kp[..., 2]))
    return prepare_inputs(kp[..., :2], kp[..., 2], mono[..., :3], weight)


def check_checkpoint(path: str | Path) -> None:
    """``RegressorSpec.checkpoint``: ``path`` loads as a metapose optimizer (weights only), else the project's error."""
    load_optimizer(Path(path))


def trained_optimizer(path: str | Path | None = None) -> NeuralOptimizer:
    """The optimizer of :func:`checkpoint_file` (``path``, else ``$MVMOCAP_METAPOSE_CHECKPOINT``, else the
    shipped one); :class:`InputError` saying how to get one when there is none."""
    file = checkpoint_file(path)
    if not file.is_file():
        raise InputError(f"metapose checkpoint {file} is missing: set {CHECKPOINT_ENV} to one, or train one with "
                         "`mvmocap train-synthetic --config examples/configs/metapose.yaml` (models/regressors/METAPOSE.md)")
    return load_optimizer(file)[0]
