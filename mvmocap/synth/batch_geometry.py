"""The reconstruct pipeline's geometry on a synthetic batch (:class:`mvmocap.synth.dataset.SyntheticMultiView`):
each sample's rig, its detections after the multi-view left/right repair, their robust triangulation.

Used by the synthetic benchmark (:mod:`mvmocap.evaluate.synthetic`) and by regressors that refine
their output towards the joints the pipeline would triangulate.
"""

from __future__ import annotations

import torch


def batch_rig(batch: dict, i: int):
    """The :class:`~mvmocap.geometry.camera.CameraRig` of sample ``i`` of a benchmark batch (float64)."""
    from mvmocap.geometry.camera import CameraRig

    C = batch["K"].shape[1]
    return CameraRig(tuple(f"cam{c + 1}" for c in range(C)), batch["K"][i].double(), batch["dist"][i].double(),
                     batch["R"][i].double(), batch["t"][i].double(), batch["image_size"][i].double())


def side_flips(batch: dict, i: int, rig=None) -> torch.Tensor:
    """``(C,)`` bool: the views of sample ``i`` whose left and right the pipeline's multi-view repair
    (:func:`mvmocap.detect.left_right.left_right_flips`) exchanges."""
    from mvmocap.detect.left_right import left_right_flips

    rig = rig if rig is not None else batch_rig(batch, i)
    C = batch["K"].shape[1]
    kp = torch.zeros(C, 23, 3, dtype=torch.float64)
    kp[:, :17] = batch["keypoints2d"][i, :, :17].double()
    return torch.as_tensor(left_right_flips(kp[:, None].numpy(), rig))[:, 0]


def coco23_with_repaired_sides(batch: dict, i: int, rig=None) -> torch.Tensor:
    """Sample ``i``'s detections as ``(C, 23, 3)`` (feet empty), after the pipeline's multi-view
    left/right repair (:func:`side_flips`)."""
    from mvmocap.keypoints import COCO23, flip_permutation

    C = batch["K"].shape[1]
    kp = torch.zeros(C, 23, 3, dtype=torch.float64)
    kp[:, :17] = batch["keypoints2d"][i, :, :17].double()
    perm = list(flip_permutation(COCO23))
    return torch.where(side_flips(batch, i, rig)[:, None, None], kp[:, perm], kp)


def triangulate_batch(batch: dict, repair: bool = True):
    """The pipeline's robust triangulation of a batch's COCO-17 detections (after the multi-view
    left/right repair when ``repair``): a :class:`~mvmocap.geometry.triangulation.TriangulationResult`,
    points ``(B, 17, 3)`` metres and confidences ``(B, 17)`` (float64)."""
    from mvmocap.geometry.triangulation import triangulate_robust

    kp = batch["keypoints2d"].to(torch.float64)
    if repair:
        kp = torch.stack([coco23_with_repaired_sides(batch, i)[:, :17] for i in range(kp.shape[0])])
    return triangulate_robust(
        kp[..., :2], kp[..., 2], batch["K"].double(), batch["dist"].double(), batch["R"].double(), batch["t"].double(),
    )
