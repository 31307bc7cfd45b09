"""The multi-view use of per-view bodies (:class:`~mvmocap.regressors.cra.views.ViewBodies`): one body in the world.

A single-view regressor (CRA) says, for every view that sees the person, a body in that camera's
axes. :func:`fuse_views` turns them into one :class:`~mvmocap.body.params.BodyParams` per frame:

* **orientation**: each view's root rotation goes into the world through its camera,
  ``R_world = R_c^T @ global_orient[:, c]``; the views' world rotations are averaged;
* **body pose**: per joint, the same average of the views' relative rotations (they do not depend
  on the camera);
* the average is the weighted chordal L2 mean (:func:`mvmocap.geometry.rotation_mean.chordal_mean`),
  refined by one step of the geodesic mean (:func:`average_rotations`),
  each view weighted by its alignment residual ``r >= 0`` (the network's misalignment with its own
  evidence): ``w = 1 / (r + residual_scale)``, normalised per frame, 0 for views that did not see
  the person. ``residual_scale`` (0.1, the network's typical residual) keeps a perfect view from
  taking all the weight: a view with the typical residual counts half as much as a perfect one;
* **shape**: one ``betas`` for the sequence, the weighted mean over every (frame, view);
* **translation**, by what the frame offers:

  1. triangulated joints (``inputs.joints3d``, at least ``inputs.config.min_joints`` of them): the
     least-squares translation of the posed body onto them (the weighted mean offset);
  2. else the 2D keypoints of the cameras that see the person (usually one): the posed body, its
     size set by the sequence (the scale between the triangulated joints and the posed body on the
     multi-view frames, :func:`body_scale`), and its keypoints give the translation as a linear
     least squares, a PnP whose 3D points are known up to that translation
     (:func:`translation_from_pixels`);
  3. else the best view's weak-perspective camera, its crop and the camera's focal length
     (:func:`translation_from_weak_camera`).

Frames that no view saw get ``valid = False`` and parameters interpolated from their neighbours.

Conventions: OpenCV cameras, ``x_cam = R x_world + t``, metres, world +Z up, pixels. Everything
here is pure torch, batched over frames, and differentiable in the views' rotations, betas and
cameras (the SVD projection of the rotation mean and the linear solves).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor

from mvmocap.body.params import BodyParams, fill_invalid_frames
from mvmocap.errors import InputError
from mvmocap.fit.inputs import MethodInputs
from mvmocap.fit.model import KeypointModel
from mvmocap.fit.uncalibrated import translation_from_weak_camera as weak_camera_root
from mvmocap.geometry.frame_rig import FrameRig
from mvmocap.geometry.projection import undistort_points
from mvmocap.geometry.rotation_mean import chordal_mean
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mvmocap.keypoints import COCO23
from mvmocap.regressors.cra.views import ViewBodies

# w = 1 / (residual + RESIDUAL_SCALE): a view whose residual (the network's units) is RESIDUAL_SCALE weighs half
# as much as a perfect one. The CRA network's mean residual is about 0.1 (0.097 on synthetic views, 0.165 on
# the real capture: helper cra's docs/cra_handoff.md, benchmarks/cra_demo_views.py on branch cra).
RESIDUAL_SCALE = 0.1
MIN_PIXEL_JOINTS = 4  # confident 2D joints (over the cameras) for the translation from pixels (3 unknowns, 2 rows each)
PNP_REWEIGHTS = 2  # re-solves of the PnP with each row divided by its point's depth (the algebraic -> image error)
HIPS = (COCO23.index("left_hip"), COCO23.index("right_hip"))

# FusionInfo.translation_source codes
NO_VIEW, TRIANGULATED, FROM_PIXELS, WEAK_CAMERA = 0, 1, 2, 3


@dataclass(frozen=True)
class FusionInfo:
    """How :func:`fuse_views` built each frame.

    Attributes:
        weights: ``(F, C)`` the views' weights in the rotation averages (sum 1 over the views of a
            frame that some view saw, else 0).
        translation_source: ``(F,)`` int64, :data:`TRIANGULATED`, :data:`FROM_PIXELS`,
            :data:`WEAK_CAMERA` or :data:`NO_VIEW` (interpolated).
        multi_view: ``(F,)`` bool, the frames with enough triangulated joints.
        body_scale: the size of the triangulated body over the posed one (1 without multi-view frames).
    """

    weights: Tensor
    translation_source: Tensor
    multi_view: Tensor
    body_scale: float


# -- the pieces (pure, batched) ------------------------------------------------------------------------------
def view_weights(residual: Tensor, valid: Tensor, residual_scale: float = RESIDUAL_SCALE) -> Tensor:
    """``(..., C)`` weights of the views from their residuals ``(..., C)`` >= 0 and ``valid (..., C)``:
    ``1 / (residual + residual_scale)`` normalised over ``C``; 0 for invalid views (all 0 if none is valid)."""
    raw = valid.to(residual.dtype) / (residual.clamp(min=0) + residual_scale)
    return raw / raw.sum(-1, keepdim=True).clamp(min=torch.finfo(raw.dtype).tiny)


def world_orientations(global_orient: Tensor, R_cameras: Tensor) -> Tensor:
    """The views' root rotations in the world: ``R_c^T @ global_orient``.

    Args:
        global_orient: ``(..., C, 3, 3)`` body rest frame -> camera ``c``'s axes.
        R_cameras: ``(C, 3, 3)`` or ``(..., C, 3, 3)`` (cameras per frame), world -> camera.

    Returns ``(..., C, 3, 3)`` body rest frame -> world.
    """
    return R_cameras.transpose(-1, -2) @ global_orient


def average_rotations(rotations: Tensor, weights: Tensor) -> Tensor:
    """Weighted mean ``(..., 3, 3)`` of ``rotations (..., C, 3, 3)`` with ``weights (..., C)`` (summing to 1).

    The chordal L2 mean (:func:`mvmocap.geometry.rotation_mean.chordal_mean`, an SVD projection)
    is taken without gradient, then refined by one Gauss-Newton step of the geodesic mean,
    ``R_0 exp(sum_c w_c log(R_0^T R_c))``, through which the gradients flow: the SVD's own gradient
    is undefined where its singular values coincide, as they do when the views agree exactly.
    Identical views give that rotation; the step moves the chordal mean by a second-order amount."""
    with torch.no_grad():
        start = chordal_mean(rotations, weights)
    offsets = matrix_to_axis_angle(start.unsqueeze(-3).transpose(-1, -2) @ rotations)  # (..., C, 3)
    step = (offsets * weights[..., None]).sum(-2)
    return start @ axis_angle_to_matrix(step)


def fused_betas(betas: Tensor, weights: Tensor) -> Tensor:
    """One shape ``(B,)``: the mean of ``betas (F, C, B)`` weighted by ``weights (F, C)`` (zeros if all are 0)."""
    total = weights.sum()
    return (betas * weights[..., None]).sum((0, 1)) / total.clamp(min=torch.finfo(betas.dtype).tiny)


def translation_from_joints(posed: Tensor, joints3d: Tensor, confidence: Tensor) -> Tensor:
    """Least-squares translation ``(F, 3)`` m taking the posed body ``(F, J, 3)`` (world axes, no
    translation) onto triangulated ``joints3d (F, J, 3)`` with ``confidence (F, J)``: their weighted
    mean offset (0 where no joint is confident)."""
    w = confidence.clamp(min=0)[..., None]
    return ((joints3d - posed) * w).sum(-2) / w.sum(-2).clamp(min=torch.finfo(posed.dtype).tiny)


def body_scale(posed: Tensor, joints3d: Tensor, confidence: Tensor) -> Tensor:
    """Size of the triangulated body over the posed one, ``()``: per frame the ratio of their RMS spreads
    about their centroids, ``sqrt(sum w |Y - mean Y|^2 / sum w |X - mean X|^2)`` over the confident joints
    (``posed X``, ``joints3d Y``: ``(F, J, 3)``, ``confidence (F, J)``), then the median over frames (1 if
    there is no frame). Not the least-squares scale ``<X, Y> / |X|^2``: a per-view network's pose errors
    turn limbs without changing their lengths, and would shrink that one (regression dilution)."""
    if posed.shape[0] == 0:
        return posed.new_ones(())
    w = confidence.clamp(min=0)[..., None]
    total = w.sum(-2, keepdim=True).clamp(min=torch.finfo(posed.dtype).tiny)
    X = posed - (posed * w).sum(-2, keepdim=True) / total
    Y = joints3d - (joints3d * w).sum(-2, keepdim=True) / total
    tiny = torch.finfo(posed.dtype).tiny
    scale = ((w * Y * Y).sum((-1, -2)) / (w * X * X).sum((-1, -2)).clamp(min=tiny)).clamp(min=tiny).sqrt()
    return scale.median()


def translation_from_pixels(posed: Tensor, keypoints_2d: Tensor, K: Tensor, dist: Tensor | None, R: Tensor,
                            t: Tensor, min_joints: int = MIN_PIXEL_JOINTS) -> tuple[Tensor, Tensor]:
    """The translation ``T`` that puts the posed body on its 2D keypoints: a PnP with known rotation.

    With the body's points ``X_k`` (world axes, untranslated), camera ``c`` sees ``Y = R_c X_k + t_c +
    R_c T``; an undistorted normalised observation ``(a, b)`` gives two equations linear in ``T``:
    ``(r_1 - a r_3) . T = a Y_z - Y_x`` and ``(r_2 - b r_3) . T = b Y_z - Y_y`` (``r_i`` the rows of
    ``R_c``). They are solved in the confidence-weighted least-squares sense over every camera and
    keypoint, then re-solved ``PNP_REWEIGHTS`` times with each row divided by its point's depth, so
    that the residuals are image-plane errors.

    Args:
        posed: ``(F, J, 3)`` metres, world axes, the body's keypoints without translation.
        keypoints_2d: ``(F, C, J, 3)`` pixels (as detected, distorted) + confidence.
        K: ``(F, C, 3, 3)`` px; dist ``(F, C, 5)`` or None; R ``(F, C, 3, 3)``; t ``(F, C, 3)`` metres
            (:func:`rig_tensors`).
        min_joints: the fewest confident keypoints (over the cameras) for a frame to be solved.

    Returns:
        ``T (F, 3)`` metres (0 where not solved) and ``ok (F,)`` bool.
    """
    ab = undistort_points(keypoints_2d[..., :2], K, dist)  # (F, C, J, 2)
    w = keypoints_2d[..., 2].clamp(min=0)  # (F, C, J)
    # f: frame, c: camera, j: keypoint, i/k: coordinates
    Y = torch.einsum("fcik,fjk->fcji", R, posed) + t[:, :, None, :]  # (F, C, J, 3)
    rows_x = R[..., None, 0, :] - ab[..., 0:1] * R[..., None, 2, :]  # (F, C, J, 3)
    rows_y = R[..., None, 1, :] - ab[..., 1:2] * R[..., None, 2, :]
    rhs_x = ab[..., 0] * Y[..., 2] - Y[..., 0]
    rhs_y = ab[..., 1] * Y[..., 2] - Y[..., 1]
    rows = torch.stack([rows_x, rows_y], -2)  # (F, C, J, 2, 3)
    rhs = torch.stack([rhs_x, rhs_y], -1)  # (F, C, J, 2)
    ok = (w > 0).sum((-1, -2)) >= min_joints
    eye = torch.eye(3, dtype=posed.dtype, device=posed.device)
    weight = w
    T = posed.new_zeros(posed.shape[0], 3)
    for _ in range(PNP_REWEIGHTS + 1):
        # f: frame, c: camera, j: keypoint, r: equation, a/b: unknowns
        A = torch.einsum("fcj,fcjra,fcjrb->fab", weight, rows, rows)
        b = torch.einsum("fcj,fcjra,fcjr->fa", weight, rows, rhs)
        A = torch.where(ok[:, None, None], A, eye)  # unsolved frames: a harmless system
        T = torch.linalg.solve(A, b)
        depth = Y[..., 2] + torch.einsum("fck,fk->fc", R[..., 2, :], T)[..., None]  # (F, C, J)
        weight = w / depth.clamp(min=0.1) ** 2
    return torch.where(ok[:, None], T, torch.zeros_like(T)), ok


def translation_from_weak_camera(posed: Tensor, weak_camera: Tensor, crops: Tensor, K: Tensor, R: Tensor,
                                 t: Tensor, view: Tensor) -> Tensor:
    """Translation ``(F, 3)`` m from one view's weak-perspective camera, its crop and focal length.

    The network projects the body's root-relative points ``X`` (camera axes) into the crop as
    ``s (X_xy + (tx, ty))`` in crop units (``[-1, 1]`` spans the crop's ``side`` px). A pinhole of
    focal length ``f`` px sees the same size at depth ``z = 2 f / (s side)``; the root (the mid-hip)
    appears at ``crop centre + side / 2 * s (tx, ty)`` px. That ray at that depth, taken back into
    the world, is where the posed body's mid-hip goes.

    Args:
        posed: ``(F, J, 3)`` the body's keypoints without translation, world axes (COCO-23).
        weak_camera: ``(F, C, 3)`` ``(s, tx, ty)``; crops: ``(F, C, 3)`` centre x, y and side, px.
        K, R, t: the cameras ``(F, C, ...)`` (:func:`rig_tensors`).
        view: ``(F,)`` long, the view to read in each frame.
    """
    F = posed.shape[0]
    frames = torch.arange(F, device=posed.device)
    K_v, R_v, t_v = K[frames, view], R[frames, view], t[frames, view]
    focal = (K_v[:, 0, 0] + K_v[:, 1, 1]) / 2
    root_camera = weak_camera_root(weak_camera[frames, view], crops[frames, view], focal, K_v[:, :2, 2])
    root_world = (R_v.transpose(-1, -2) @ (root_camera - t_v)[..., None])[..., 0]
    return root_world - posed[:, list(HIPS)].mean(-2)


def rig_tensors(rig, num_frames: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``K (F, C, 3, 3)``, ``dist (F, C, 5)``, ``R (F, C, 3, 3)``, ``t (F, C, 3)`` of a
    :class:`CameraRig` (repeated over the frames) or a :class:`FrameRig` (as it is)."""
    if isinstance(rig, FrameRig):
        return rig.K, rig.dist, rig.R, rig.t
    return tuple(x.expand(num_frames, *x.shape) for x in (rig.K, rig.dist, rig.R, rig.t))


# -- the fusion ------------------------------------------------------------------------------------------
def _check(views: ViewBodies, inputs: MethodInputs) -> None:
    if not isinstance(views, ViewBodies):
        raise InputError(f"fuse_views takes ViewBodies, got {type(views).__name__}")
    F, C = views.valid.shape
    kp = torch.as_tensor(inputs.keypoints_2d)
    if kp.dim() != 4 or tuple(kp.shape[:2]) != (F, C):
        raise InputError(f"the views cover {F} frames x {C} cameras, the keypoints {tuple(kp.shape[:2])}")
    if len(inputs.rig) != C:
        raise InputError(f"the views have {C} cameras, the rig {len(inputs.rig)}")


def _triangulated(inputs: MethodInputs, dtype: torch.dtype, device) -> tuple[Tensor, Tensor]:
    """The inputs' triangulated joints and their confidence (triangulated here if the inputs have none)."""
    if inputs.joints3d is not None:
        joints = torch.as_tensor(inputs.joints3d).to(dtype=dtype, device=device)
        if inputs.joints3d_confidence is None:
            seen = (torch.as_tensor(inputs.keypoints_2d)[..., 2] > 0).sum(1) >= 2
            return joints, seen.to(dtype=dtype, device=device)
        return joints, torch.as_tensor(inputs.joints3d_confidence).to(dtype=dtype, device=device)
    kp = torch.as_tensor(inputs.keypoints_2d).to(dtype=dtype, device=device)
    tri = inputs.rig.to(dtype=dtype, device=device).triangulate_robust(kp[..., :2], kp[..., 2])
    return tri.points, tri.confidence


def fuse_views(views: ViewBodies, inputs: MethodInputs,
               residual_scale: float = RESIDUAL_SCALE) -> tuple[BodyParams, FusionInfo]:
    """One body per frame from the per-view bodies of ``F`` frames and ``C`` views (the module docstring).

    Args:
        views: :class:`ViewBodies` ``(F, C, ...)``, cameras in ``inputs.rig``'s order.
        inputs: the frames' :class:`MethodInputs`: ``keypoints_2d (F, C, 23, 3)``, the calibrated
            ``rig``, the ``body_model``, triangulated ``joints3d`` (triangulated here if None) and
            ``config.min_joints`` (the triangulated joints that make a frame multi-view).
        residual_scale: see :func:`view_weights`.

    Returns:
        :class:`BodyParams` (world, the views' dtype) and :class:`FusionInfo`.

    Raises:
        :class:`InputError` when the views and the inputs disagree on frames or cameras.
    """
    _check(views, inputs)
    dtype, device = views.global_orient.dtype, views.global_orient.device
    rig = inputs.rig.to(dtype=dtype, device=device)
    F = views.num_frames
    weights = view_weights(views.residual.to(dtype), views.valid, residual_scale)
    seen = views.valid.any(-1)
    orient = average_rotations(world_orientations(views.global_orient, rig_tensors(rig, F)[2]), weights)  # (F, 3, 3)
    pose = average_rotations(views.body_pose.transpose(1, 2), weights[:, None, :])  # (F, 23, 3, 3)
    model = KeypointModel(inputs.body_model, dtype=dtype, device=device)
    betas = _padded(fused_betas(views.betas.to(dtype), weights), model.num_betas)
    pose_aa = matrix_to_axis_angle(pose)
    posed = model(orient, pose_aa, betas, torch.zeros(F, 3, dtype=dtype, device=device))  # (F, 23, 3)

    joints3d, confidence = _triangulated(inputs, dtype, device)
    confidence = confidence.clamp(0, 1) * model.available.to(dtype)
    multi_view = (confidence > 0).sum(-1) >= inputs.config.min_joints
    from_joints = translation_from_joints(posed, joints3d, confidence)
    scale = body_scale(posed[multi_view], joints3d[multi_view], confidence[multi_view])
    root = posed[:, list(HIPS)].mean(-2, keepdim=True)
    sized = root + scale * (posed - root)  # the sequence's body size, about the mid-hip
    kp = torch.as_tensor(inputs.keypoints_2d).to(dtype=dtype, device=device)
    kp = torch.cat([kp[..., :2], kp[..., 2:] * model.available.to(dtype)[:, None]], -1)
    K, dist, R, t = rig_tensors(rig, F)
    from_pixels, pixels_ok = translation_from_pixels(sized, kp, K, dist, R, t)
    best_view = torch.where(views.valid, weights, torch.full_like(weights, -1.0)).argmax(-1)
    from_weak = translation_from_weak_camera(posed, views.weak_camera.to(dtype), views.crops.to(dtype), K, R, t,
                                             best_view)

    source = torch.full((F,), WEAK_CAMERA, dtype=torch.long, device=device)
    source = torch.where(pixels_ok, torch.full_like(source, FROM_PIXELS), source)
    source = torch.where(multi_view, torch.full_like(source, TRIANGULATED), source)
    source = torch.where(seen, source, torch.full_like(source, NO_VIEW))
    transl = torch.where((source == FROM_PIXELS)[:, None], from_pixels, from_weak)
    transl = torch.where((source == TRIANGULATED)[:, None], from_joints, transl)
    transl = torch.where(seen[:, None], transl, torch.zeros_like(transl))  # unseen: filled from neighbours below

    params = BodyParams(matrix_to_axis_angle(orient), pose_aa, betas, transl, seen)
    if bool(seen.any()) and not bool(seen.all()):
        params = fill_invalid_frames(params, seen)
    info = FusionInfo(weights=weights, translation_source=source, multi_view=multi_view,
                      body_scale=float(scale.detach()))
    return params, info


def _padded(betas: Tensor, num_betas: int) -> Tensor:
    """``betas (B,)`` zero-padded or truncated to ``num_betas``."""
    if betas.shape[0] >= num_betas:
        return betas[:num_betas]
    return torch.cat([betas, betas.new_zeros(num_betas - betas.shape[0])])


def regress_with(predict_views: Callable[[MethodInputs], ViewBodies]) -> Callable[[MethodInputs], BodyParams]:
    """A regressor for the registry (``RegressorSpec.regress``) from a per-view predictor:
    ``inputs -> fuse_views(predict_views(inputs), inputs)``'s body."""
    def regress(inputs: MethodInputs) -> BodyParams:
        params, _ = fuse_views(predict_views(inputs), inputs)
        return params

    return regress


__all__ = ["FusionInfo", "average_rotations", "body_scale", "rig_tensors", "fuse_views", "fused_betas", "regress_with",
           "translation_from_joints", "translation_from_pixels", "translation_from_weak_camera", "view_weights",
           "world_orientations"]
