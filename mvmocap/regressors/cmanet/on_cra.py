"""``--method cmanet``: CMANet's inter-view module (IEV) on CRA's per-view bodies.

CMANet (../shared/papers/cmanet-selfsupervised-multiview.txt) trains in two stages: the intra-view
module (a single-view regressor, per view) first, then, with it frozen, an inter-view module that
fuses the views in a canonical space (per view: global orientation and camera; shared: body pose and
shape). Here stage 1 is the project's pretrained single-view regressor CRA (frozen; its output is
:class:`~mvmocap.regressors.cra.views.ViewBodies`, whose fields are exactly the canonical space's
per-view inputs) and stage 2 is :class:`ViewFusion`:

* CMANet's IEV (:class:`~mvmocap.regressors.cmanet.model.InterView`, the library module's): a token per
  view from its features (here: the view's own 23 joint rotations in 6D, betas and CRA's alignment
  residual) and its canonical start (orientation in camera axes, weak camera ``(s, tx, ty)``, the shared
  start body), one self-attention layer over the views (views that did not see the person masked), a
  per-view head (orientation, weak camera) and a pooled head (body pose, shape);
* the start ("we select the one with least 2D reprojection error as the initial view-independent
  shape and body pose"): CRA's per-view orientations and cameras, and the body of the view with the
  least alignment residual (CRA's own measure of its misalignment with the view's evidence); the
  heads start at zero, so the untrained module returns that start.

The canonical result goes back into a :class:`ViewBodies` (each view: its refined orientation and
camera, the shared pose and shape) and into the world by CRA's
:func:`~mvmocap.regressors.cra.multiview.fuse_views` (orientations through the calibrated cameras,
translation from the triangulated joints): ``--method cmanet`` needs the calibration at that step only.

Stage 2's loss (paper eq. 4-6, alpha = gamma = 1): each view's weak-perspective projection of the
refined body against its detected keypoints (crop units, confidence-weighted) plus the canonical
parameters against the uncalibrated multi-view SMPLify (:func:`mvmocap.fit.uncalibrated.fit_views`,
started from CRA's views, then from the module's result at each refit of ``mvmocap adapt --method cmanet``:
:mod:`mvmocap.regressors.cmanet.adaptation`, which trains it). No 3D label is read.

Shapes: ``F`` frames, ``C`` views. Rotations as matrices; 6D = the first two columns.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from mvmocap.errors import FileFormatError, InputError
from mvmocap.geometry.rotations import matrix_to_rotation_6d, rotation_6d_to_matrix
from mvmocap.regressors.cmanet.model import BODY, Canonical, InterView
from mvmocap.regressors.cra.alignment import root_of, weak_project
from mvmocap.regressors.cra.views import ViewBodies

FORMAT = "mvmocap-cmanet-on-cra/1"
CHECKPOINT_ENV = "MVMOCAP_CMANET_CHECKPOINT"
NUM_BETAS = 10
FEATURES = BODY + 1  # a view's own pose (6D) and betas, and its residual
DEFAULT_OPTIONS = {"model": 128, "heads": 4}
SHIPPED = Path(__file__).resolve().parents[3] / "models" / "regressors" / "cmanet.pt"  # models/regressors/CMANET.md
UNSEEN_VIEW_DEPTH_M = 5.0  # the placeholder translation of a view without the person (no weight in the fit)


def _betas(views: ViewBodies) -> Tensor:
    b = views.betas[..., :NUM_BETAS]
    return torch.cat([b, b.new_zeros(*b.shape[:-1], NUM_BETAS - b.shape[-1])], -1) if b.shape[-1] < NUM_BETAS else b


def view_features(views: ViewBodies) -> Tensor:
    """``(F, C, FEATURES)`` float32: what each view says beyond the canonical start, its own body (23
    joint rotations in 6D, betas) and its alignment residual: the IEV's per-view features (CMANet's
    IRV features; here CRA is the IRV)."""
    F, C = views.valid.shape
    parts = [matrix_to_rotation_6d(views.body_pose).reshape(F, C, -1), _betas(views), views.residual[..., None]]
    return torch.cat([p.float() for p in parts], -1)


def screened_view(views: ViewBodies) -> Tensor:
    """``(F,)`` the view with the least alignment residual among those that saw the person (0 if none)."""
    residual = torch.where(views.valid, views.residual.float(), torch.full_like(views.residual.float(), float("inf")))
    return residual.argmin(-1)


def canonical_start(views: ViewBodies) -> Canonical:
    """The canonical start: each view's orientation (6D) and weak camera, the screened view's pose and shape."""
    F = views.num_frames
    per_view = torch.cat([matrix_to_rotation_6d(views.global_orient).float(), views.weak_camera.float()], -1)
    body = torch.cat([matrix_to_rotation_6d(views.body_pose).reshape(F, views.num_views, -1).float(),
                      _betas(views).float()], -1)
    return Canonical(per_view, body[torch.arange(F), screened_view(views)])


class ViewFusion(nn.Module):
    """The IEV (:class:`mvmocap.regressors.cmanet.model.InterView`: one attention layer over the views'
    tokens, a per-view and a pooled head) on CRA's views. ``forward(views) -> ViewBodies`` (refined,
    same frames and views; each view its orientation and camera, all the shared pose and shape)."""

    def __init__(self, options: dict | None = None):
        super().__init__()
        self.options = {**DEFAULT_OPTIONS, **(options or {})}
        self.inter = InterView(FEATURES, int(self.options["model"]), int(self.options["heads"]))

    def forward(self, views: ViewBodies) -> ViewBodies:
        F, C = views.valid.shape
        out = self.inter(view_features(views), canonical_start(views), views.valid)
        pose = rotation_6d_to_matrix(out.body[:, :23 * 6].reshape(F, 23, 6))
        return ViewBodies(
            global_orient=rotation_6d_to_matrix(out.view[..., :6]), body_pose=pose[:, None].expand(F, C, 23, 3, 3),
            betas=out.body[:, None, 23 * 6:].expand(F, C, NUM_BETAS), weak_camera=out.view[..., 6:],
            crops=views.crops.float(), residual=views.residual.float(), valid=views.valid)


# -- stage 2: targets and loss -----------------------------------------------------------------------
@dataclass
class CaptureViews:
    """One capture as stage 2 trains on it (no ground truth): CRA's views, the keypoints in each
    view's crop units ``uv (F, C, 17, 2)`` with ``confidence (F, C, 17)``, and the uncalibrated MV-SMPLify
    targets ``orient (F, C, 3, 3)`` (camera axes), ``pose (F, 23, 3, 3)``, ``betas (F, 10)``."""

    views: ViewBodies
    uv: Tensor
    confidence: Tensor
    orient: Tensor
    pose: Tensor
    betas: Tensor

    def frames(self, idx: Tensor) -> "CaptureViews":
        return CaptureViews(self.views.frames(idx), self.uv[idx], self.confidence[idx], self.orient[idx], self.pose[idx], self.betas[idx])


def view_keypoints(inputs, views: ViewBodies) -> tuple[Tensor, Tensor, Tensor]:
    """The detections as stage 2 reads them: ``(kp23, uv, confidence)``: ``kp23 (F, C, 23, 3)`` float64
    undistorted (CRA's pinhole) pixels + confidence (0 on views CRA did not run on), ``uv (F, C, 17, 2)``
    COCO-17 in each view's crop units (``[-1, 1]`` across the crop), ``confidence (F, C, 17)``."""
    from mvmocap.regressors.crops import undistorted_keypoints

    _, _, ideal, conf = undistorted_keypoints(inputs, joints=23)  # CRA's pinhole pixels
    kp23 = torch.cat([ideal, (conf * views.valid[..., None].to(torch.float64))[..., None]], -1)  # (F, C, 23, 3)
    ideal, conf = kp23[..., :17, :2], kp23[..., :17, 2]
    crops = views.crops.to(torch.float64)
    side = crops[..., 2:].clamp(min=1.0)
    uv = (ideal - crops[..., None, :2]) / (side[..., None, :] / 2)
    return kp23, uv.float(), conf.float()


def view_targets(kp23: Tensor, views: ViewBodies, K: Tensor, body_model, fit_config=None, share_body: bool = True
                 ) -> tuple[Tensor, Tensor, Tensor]:
    """The uncalibrated MV-SMPLify (shared pose and shape; :func:`mvmocap.fit.uncalibrated.fit_views`) of
    ``kp23`` (:func:`view_keypoints`) started from ``views`` (translations from their weak cameras;
    ``K (C, 3, 3)`` the pinhole intrinsics) -> float32 ``orient (F, C, 3, 3)`` camera axes,
    ``pose (F, 23, 3, 3)``, ``betas (F, 10)``. ``share_body=False``: SMPLify of each view alone (stage 1's
    targets), ``pose (F, C, 23, 3, 3)`` and ``betas (F, C, 10)``."""
    from mvmocap.fit.uncalibrated import ViewStart, fit_views, translation_from_weak_camera

    K = K.to(torch.float64)
    focal, principal = K[:, 0, 0], K[:, :2, 2]
    crops = views.crops.to(torch.float64)
    body = body_model.to(dtype=torch.float64)
    transl = translation_from_weak_camera(views.weak_camera.to(torch.float64), crops, focal, principal)
    # A view CRA did not run on has no crop (side 0): an infinite translation would turn its zero-confidence
    # reprojection terms into NaN (inf x 0); it gets a finite one (its keypoints have no weight anyway).
    usable = views.valid[..., None] & torch.isfinite(transl).all(-1, keepdim=True)
    transl = torch.where(usable, transl, transl.new_tensor([0.0, 0.0, UNSEEN_VIEW_DEPTH_M]))
    start = ViewStart(views.global_orient.to(torch.float64), views.body_pose.to(torch.float64),
                      _betas(views).to(torch.float64), transl)
    fit = fit_views(body, kp23, focal, principal, start, fit_config, share_body=share_body)
    return (fit.global_orient.float().detach(), fit.body_pose.float().detach(),
            fit.betas[..., :NUM_BETAS].float().detach())


def capture_views(inputs, views: ViewBodies, body_model, fit_config=None) -> CaptureViews:
    """Stage 2's data of one capture (``MethodInputs`` and CRA's ``views`` of it): the crop keypoints and
    the uncalibrated MV-SMPLify of the views (started from them; the translations from their weak cameras)."""
    kp23, uv, conf = view_keypoints(inputs, views)
    orient, pose, betas = view_targets(kp23, views, inputs.rig.K.cpu(), body_model, fit_config)
    return CaptureViews(views, uv, conf, orient, pose, betas)


def weak_projections(bodies: ViewBodies, body_model) -> Tensor:
    """``(F, C, 17, 2)`` crop units: each view's body (COCO-17, root-relative) through its weak camera,
    as CRA projects it (:func:`mvmocap.regressors.cra.alignment.weak_project`)."""
    F, C = bodies.valid.shape
    out = body_model(global_orient=bodies.global_orient.reshape(F * C, 3, 3),
                     body_pose=bodies.body_pose.reshape(F * C, 23, 3, 3), betas=bodies.betas.reshape(F * C, -1))
    joints = out.coco23[:, :17].reshape(F, C, 17, 3).float()
    return weak_project(joints - root_of(joints), bodies.weak_camera.float())


def stage2_parts(refined: ViewBodies, data: CaptureViews, body_model) -> dict[str, tuple[Tensor, Tensor]]:
    """Stage 2's terms as ``{name: (sum, count)}`` (each term is ``sum / count``; under several processes
    the counts are summed over them first): ``2d`` (eq. 4: each view's weak projection of the refined
    body against its keypoints, crop units, confidence-weighted), ``orient``, ``pose``, ``betas`` (eq. 5:
    the canonical parameters against the multi-view SMPLify's: rotations as matrices, the per-view
    orientations of the views that saw the person)."""
    F = refined.valid.shape[0]
    projected = weak_projections(refined, body_model)
    w = data.confidence
    seen = refined.valid.float()
    frames = torch.tensor(float(F))
    return {
        "2d": ((w * ((projected - data.uv) ** 2).sum(-1)).sum(), w.sum()),
        "orient": ((((refined.global_orient - data.orient) ** 2).sum((-1, -2)) * seen).sum(), seen.sum()),
        "pose": (((refined.body_pose[:, 0] - data.pose) ** 2).sum((-1, -2, -3)).sum(), frames),
        "betas": (((refined.betas[:, 0] - data.betas) ** 2).sum(-1).sum(), frames),
    }


def stage2_combine(parts: dict[str, tuple[Tensor, Tensor]], counts: dict[str, Tensor] | None = None
                   ) -> tuple[Tensor, dict[str, float]]:
    """Eq. 6 = eq. 4 + eq. 5 (alpha = gamma = 1; betas weighed 0.001 as SPIN) from :func:`stage2_parts`;
    ``counts``: the denominators to use (the whole step's, under several processes; default the parts')."""
    counts = counts or {k: c for k, (_, c) in parts.items()}
    term = {k: s / counts[k].clamp(min=1e-6 if k == "2d" else 1.0) for k, (s, _) in parts.items()}
    loss_smpl = term["orient"] + term["pose"] + 0.001 * term["betas"]
    total = term["2d"] + loss_smpl
    return total, {"loss": float(total.detach()), "loss_2d": float(term["2d"].detach()),
                   "loss_smpl": float(loss_smpl.detach())}


def stage2_step_loss(parts: dict[str, tuple[Tensor, Tensor]], shards=None) -> tuple[Tensor, dict[str, float]]:
    """:func:`stage2_combine` of one step's ``parts``; under ``torchrun`` (``shards`` enabled: each process has
    its share of the step's frames) every term's denominator is the whole step's, so the summed gradients
    are those of one process taking all the frames."""
    counts = None
    if shards is not None and shards.enabled:
        summed = shards.total(torch.stack([c.detach().to(torch.float64) for _, c in parts.values()]))
        counts = {k: summed[i].float() for i, k in enumerate(parts)}
    return stage2_combine(parts, counts)


def stage2_loss(refined: ViewBodies, data: CaptureViews, body_model) -> tuple[Tensor, dict[str, float]]:
    """Eq. 6 = eq. 4 (each view's weak projection against its keypoints, crop units, confidence-weighted
    mean) + eq. 5 (the canonical parameters against the multi-view SMPLify's: rotations as matrices, the
    per-view orientations of the views that saw the person, betas weighed 0.001 as SPIN)."""
    return stage2_combine(stage2_parts(refined, data, body_model))


# -- checkpoints and the method ------------------------------------------------------------------------
def save_fusion(model: ViewFusion, out: str | Path, extra: dict | None = None) -> Path:
    """The slim checkpoint (options + float32 weights), written atomically."""
    from mvmocap.regressors.slim import write_slim_checkpoint

    weights = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    return write_slim_checkpoint({"format": FORMAT, "name": "cmanet", "options": dict(model.options),
                                  "weights": weights, **(extra or {})}, out)


def checkpoint_file(path: str | Path | None = None) -> Path:
    """``path`` (a run folder means its ``checkpoint.pt``), else ``$MVMOCAP_CMANET_CHECKPOINT``, else the shipped
    ``models/regressors/cmanet.pt`` (trained on synthetic captures: models/regressors/CMANET.md; adapt it to
    your captures with ``mvmocap adapt RUN... --method cmanet --checkpoint models/regressors/cmanet.pt``)."""
    import os

    chosen = path or os.environ.get(CHECKPOINT_ENV)
    if not chosen:
        if not SHIPPED.is_file():  # a source tree without the model files
            raise InputError(f"--method cmanet needs a checkpoint (--checkpoint FILE or ${CHECKPOINT_ENV}): the shipped "
                             f"{SHIPPED} is missing; mvmocap adapt RUN... --method cmanet --out DIR trains one")
        return SHIPPED
    chosen = Path(chosen)
    return chosen / "checkpoint.pt" if chosen.is_dir() else chosen


def fusion_weights(payload: Any) -> tuple[dict, dict] | None:
    """``(options, weights)`` of a cmanet checkpoint payload: a slim export (:func:`save_fusion`) or an
    ``mvmocap adapt --method cmanet`` run's ``checkpoint.pt`` (its ``net.`` weights); None for anything else."""
    from mvmocap.regressors.slim import RUN_FORMAT

    if not isinstance(payload, dict):
        return None
    if payload.get("format") == FORMAT:
        return dict(payload.get("options") or {}), payload.get("weights")
    config = payload.get("config")
    if payload.get("format") == RUN_FORMAT and isinstance(config, dict) and config.get("method") == "cmanet":
        model = payload.get("model") if isinstance(payload.get("model"), dict) else {}
        return dict(config.get("model") or {}), {k[len("net."):]: v for k, v in model.items() if k.startswith("net.")}
    return None


def read_fusion(file: str | Path) -> ViewFusion:
    """The :class:`ViewFusion` stored in ``file`` (a slim export or an adapt run's ``checkpoint.pt``), loaded
    weights-only, in train mode; another method's or a damaged file -> :class:`FileFormatError` naming it."""
    from mvmocap.io.torch_files import load_checkpoint_file
    from mvmocap.regressors.slim import checkpoint_owner

    payload = load_checkpoint_file(file, "cmanet checkpoint")
    found = fusion_weights(payload)
    if found is None:
        owner = checkpoint_owner(payload)
        raise FileFormatError(file, f"not a cmanet checkpoint ({FORMAT} or a cmanet adapt run)"
                              + (f"; a checkpoint of method {owner!r}, not cmanet" if owner else ""))
    try:
        options = {k: int(v) for k, v in found[0].items() if k in DEFAULT_OPTIONS}
        model = ViewFusion(options)
        model.load_state_dict(found[1])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise FileFormatError(file, f"damaged cmanet checkpoint ({type(exc).__name__})") from None
    return model


def load_fusion(path: str | Path | None = None) -> ViewFusion:
    """The trained :class:`ViewFusion` (eval mode) of :func:`checkpoint_file` ``(path)``, see :func:`read_fusion`."""
    return read_fusion(checkpoint_file(path)).eval()


def check_checkpoint(path: str | Path) -> None:
    """``RegressorSpec.checkpoint``: ``path`` loads as a cmanet checkpoint, else the project's error."""
    load_fusion(Path(path))


def regress(inputs) -> Any:
    """``RegressorSpec.regress``: CRA's views (its default checkpoint) -> :class:`ViewFusion` (``--checkpoint``,
    else ``$MVMOCAP_CMANET_CHECKPOINT``, else the shipped one) -> the world
    (:func:`~mvmocap.regressors.cra.multiview.fuse_views`)."""
    from mvmocap.regressors.cra.inference import checkpoint_file as cra_checkpoint, predict_views
    from mvmocap.regressors.cra.multiview import fuse_views

    fusion = load_fusion(inputs.extras.get("checkpoint"))
    views = predict_views(replace(inputs, extras={**inputs.extras, "checkpoint": None}), checkpoint=cra_checkpoint(None))
    with torch.no_grad():
        refined = fusion(views)
    params, _ = fuse_views(refined, inputs)
    return params
