"""detectron2 backend: Keypoint R-CNN R50-FPN (COCO keypoints) and, optionally, DensePose R-101 (IUV).

These are the detectors of the papers, for users with a GPU. detectron2 is not
on PyPI; install it from source (it needs a matching torch and a compiler)::

    pip install 'git+https://github.com/facebookresearch/detectron2.git'
    # DensePose (IUV maps) is a project inside that repository:
    pip install 'git+https://github.com/facebookresearch/detectron2.git#subdirectory=projects/DensePose'

Weights are read from ``--weights PATH`` (Keypoint R-CNN) and
``--densepose-weights PATH`` (DensePose, optional); without ``--weights``
detectron2's model-zoo URL is used, which its own cache serves offline once
downloaded (``~/.torch/iopath_cache``). Nothing here runs in the project's CI
(no detectron2 there): the conversion of detectron2's outputs to our arrays is
unit-tested with tensors shaped like detectron2's ``Instances``.

Conversions:

- ``pred_keypoints (N, 17, 3)``: x, y in detectron2's continuous image
  coordinates (pixel ``i`` covers ``[i, i + 1)``; it adds 0.5 to COCO's pixel
  indices when training), so 0.5 is subtracted to put pixel centres on integers
  like OpenCV and our cameras; and a score, the heatmap's spatial-softmax probability at its peak. That is
  not a calibrated probability (it shrinks with the box size), so confidence =
  ``score / (score + 0.05)``: 0.5 at detectron2's own display threshold (0.05),
  monotone, in [0, 1). No foot points: feet are confidence 0.
- ``pred_boxes (N, 4)`` XYXY pixels and ``scores (N,)`` -> ``boxes (N, 5)``.
- ``pred_densepose`` (chart output: ``coarse_segm (N, 2, S, S)``, ``fine_segm
  (N, 25, S, S)``, ``u, v (N, 25, S, S)`` over each box) -> IUV crops ``(N, 3, S, S)``
  uint8: I = the argmax part where the coarse segmentation says foreground
  (0 = background), U/V = that part's u, v scaled to 0..255. Computed at the
  head's S x S resolution (DensePose's own extractor resamples to the box first).
  The coarse foreground also gives the person mask (resampled into the image).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mvmocap.detect.candidates import NUM_JOINTS, Candidates
from mvmocap.detect.masks import RleMask, rle_encode
from mvmocap.errors import DependencyError, InputError, MissingFileError

KEYPOINT_CONFIG = "COCO-Keypoints/keypoint_rcnn_R_50_FPN_3x.yaml"
DENSEPOSE_CONFIG = "densepose_rcnn_R_101_FPN_s1x.yaml"
SCORE_HALF_CONFIDENCE = 0.05
INSTALL_HINT = ("install it from source: pip install 'git+https://github.com/facebookresearch/detectron2.git' "
                "(see mvmocap/detect/detectron2.py)")


def keypoint_confidence(score: np.ndarray) -> np.ndarray:
    """detectron2's keypoint score (>= 0) -> confidence in [0, 1): ``s / (s + 0.05)``."""
    score = np.clip(np.asarray(score, np.float32), 0, None)
    return score / (score + SCORE_HALF_CONFIDENCE)


def densepose_iuv(coarse_segm: np.ndarray, fine_segm: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """DensePose chart outputs ``(N, 2|25, S, S)`` -> IUV ``(N, 3, S, S)`` uint8 (see module docstring)."""
    coarse_segm, fine_segm, u, v = (np.asarray(a, np.float32) for a in (coarse_segm, fine_segm, u, v))
    n, parts = fine_segm.shape[:2]
    if coarse_segm.shape[:2] != (n, 2) or u.shape != fine_segm.shape or v.shape != fine_segm.shape or parts != 25:
        raise InputError(f"unexpected DensePose shapes: coarse {coarse_segm.shape}, fine {fine_segm.shape}, "
                         f"u {u.shape}, v {v.shape}")
    foreground = coarse_segm.argmax(1) > 0
    part = np.where(foreground, fine_segm.argmax(1), 0)  # (N, S, S), 0 = background
    pick = part[:, None]
    u_part = np.take_along_axis(u, pick, 1)[:, 0]
    v_part = np.take_along_axis(v, pick, 1)[:, 0]
    iuv = np.stack([part, np.clip(u_part, 0, 1) * 255, np.clip(v_part, 0, 1) * 255], axis=1)
    iuv[:, 1:] *= foreground[:, None]
    return np.rint(iuv).astype(np.uint8)


def mask_in_image(foreground: np.ndarray, box: np.ndarray, image_size: tuple[int, int], scale: float = 0.25) -> RleMask:
    """A box-relative ``(S, S)`` foreground -> RLE mask of the whole image at ``scale`` resolution."""
    width, height = max(int(round(image_size[0] * scale)), 1), max(int(round(image_size[1] * scale)), 1)
    canvas = np.zeros((height, width), np.uint8)
    x0, y0, x1, y1 = (np.asarray(box[:4], np.float64) * scale).tolist()
    ix0, iy0 = int(np.floor(max(x0, 0))), int(np.floor(max(y0, 0)))
    ix1, iy1 = int(np.ceil(min(x1, width))), int(np.ceil(min(y1, height)))
    if ix1 > ix0 and iy1 > iy0 and x1 > x0 and y1 > y0:
        # sample the box-relative grid at the centres of the covered image pixels
        xs = ((np.arange(ix0, ix1) + 0.5 - x0) / (x1 - x0) * foreground.shape[1]).astype(int)
        ys = ((np.arange(iy0, iy1) + 0.5 - y0) / (y1 - y0) * foreground.shape[0]).astype(int)
        xs = np.clip(xs, 0, foreground.shape[1] - 1)
        ys = np.clip(ys, 0, foreground.shape[0] - 1)
        canvas[iy0:iy1, ix0:ix1] = foreground[np.ix_(ys, xs)]
    return rle_encode(canvas > 0)


def instances_to_candidates(instances, image_size: tuple[int, int], *, person_class: int = 0,
                            min_score: float = 0.5) -> Candidates:
    """detectron2 ``Instances`` (or any object with the same fields) -> :class:`Candidates`.

    Uses ``pred_boxes`` (``.tensor`` (N, 4) or an array), ``scores (N,)``,
    ``pred_keypoints (N, 17, 3)``, optional ``pred_classes (N,)`` and optional
    ``pred_densepose`` (``coarse_segm``, ``fine_segm``, ``u``, ``v``).
    """
    def numpy(x):
        x = getattr(x, "tensor", x)
        return x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)

    has = instances.has if hasattr(instances, "has") else (lambda name: hasattr(instances, name))
    boxes = numpy(instances.pred_boxes).reshape(-1, 4).astype(np.float32)
    scores = numpy(instances.scores).reshape(-1).astype(np.float32)
    keep = scores >= min_score
    if has("pred_classes"):
        keep &= numpy(instances.pred_classes).reshape(-1) == person_class
    n = len(boxes)
    keypoints = np.zeros((n, NUM_JOINTS, 3), np.float32)
    if has("pred_keypoints"):
        kp = numpy(instances.pred_keypoints).astype(np.float32)
        if kp.shape != (n, 17, 3):
            raise InputError(f"pred_keypoints must be ({n}, 17, 3), got {kp.shape}")
        keypoints[:, :17, :2] = kp[..., :2] - 0.5
        keypoints[:, :17, 2] = keypoint_confidence(kp[..., 2])
    iuv = masks = None
    if has("pred_densepose"):
        dp = instances.pred_densepose
        coarse = numpy(dp.coarse_segm)
        iuv = densepose_iuv(coarse, numpy(dp.fine_segm), numpy(dp.u), numpy(dp.v))
        masks = [mask_in_image(coarse[i].argmax(0) > 0, boxes[i], image_size) for i in range(n)]
    idx = np.flatnonzero(keep)
    return Candidates(
        keypoints=keypoints[idx],
        boxes=np.concatenate([boxes, scores[:, None]], axis=1)[idx],
        masks=None if masks is None else [masks[i] for i in idx],
        iuv=None if iuv is None else iuv[idx],
    )


def _require_detectron2():
    try:
        import detectron2  # noqa: F401
        from detectron2 import model_zoo
        from detectron2.config import get_cfg
        from detectron2.engine import DefaultPredictor
    except ImportError:
        raise DependencyError(f"the detectron2 detector needs detectron2, which is not installed; {INSTALL_HINT}") from None
    return model_zoo, get_cfg, DefaultPredictor


class Detectron2Detector:
    """Keypoint R-CNN (+ optional DensePose) through detectron2's ``DefaultPredictor``. Not runnable in CI."""

    name = "detectron2"

    def __init__(self, *, weights: str | Path | None = None, densepose_weights: str | Path | None = None,
                 device: str = "cpu", min_score: float = 0.5):
        for path, what in ((weights, "Keypoint R-CNN weights"), (densepose_weights, "DensePose weights")):
            if path is not None and not Path(path).is_file():
                raise MissingFileError(path, what)
        self.weights = None if weights is None else Path(weights)
        self.densepose_weights = None if densepose_weights is None else Path(densepose_weights)
        self.device = device
        self.min_score = min_score
        model_zoo, get_cfg, predictor_cls = _require_detectron2()
        cfg = get_cfg()
        cfg.merge_from_file(model_zoo.get_config_file(KEYPOINT_CONFIG))
        cfg.MODEL.WEIGHTS = str(self.weights) if self.weights else model_zoo.get_checkpoint_url(KEYPOINT_CONFIG)
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = min_score
        cfg.MODEL.DEVICE = device
        self._keypoints = predictor_cls(cfg)
        self._densepose = self._densepose_predictor(get_cfg, predictor_cls) if self.densepose_weights else None

    def _densepose_predictor(self, get_cfg, predictor_cls):
        try:
            import densepose
            from densepose import add_densepose_config
        except ImportError:
            raise DependencyError("--densepose-weights needs detectron2's DensePose project; " + INSTALL_HINT) from None
        config = Path(densepose.__file__).resolve().parent.parent / "configs" / DENSEPOSE_CONFIG
        if not config.is_file():
            raise MissingFileError(config, "DensePose config (install the DensePose project from source)")
        cfg = get_cfg()
        add_densepose_config(cfg)
        cfg.merge_from_file(str(config))
        cfg.MODEL.WEIGHTS = str(self.densepose_weights)
        cfg.MODEL.ROI_HEADS.SCORE_THRESH_TEST = self.min_score
        cfg.MODEL.DEVICE = self.device
        return predictor_cls(cfg)

    @property
    def settings(self) -> dict:
        return {"config": KEYPOINT_CONFIG, "weights": str(self.weights) if self.weights else "model-zoo",
                "densepose": str(self.densepose_weights) if self.densepose_weights else None,
                "min_score": self.min_score}

    def start_camera(self, camera: str | None = None) -> None:
        pass

    def close(self) -> None:
        pass

    def process(self, image_bgr: np.ndarray) -> Candidates:
        import torch

        size = (image_bgr.shape[1], image_bgr.shape[0])
        with torch.no_grad():
            people = instances_to_candidates(self._keypoints(image_bgr)["instances"].to("cpu"), size,
                                             min_score=self.min_score)
            if self._densepose is None or len(people) == 0:
                return people
            dense = instances_to_candidates(self._densepose(image_bgr)["instances"].to("cpu"), size,
                                            min_score=self.min_score)
        return attach_densepose(people, dense)


def attach_densepose(people: Candidates, dense: Candidates, min_iou: float = 0.5) -> Candidates:
    """Give each keypoint person the IUV crop and mask of the DensePose box overlapping it most.

    The IUV crop is box-relative, so the person's box becomes the DensePose box
    (the score stays Keypoint R-CNN's). People without a match get an empty IUV and no mask.
    """
    from mvmocap.detect.tracking import box_iou

    if dense.iuv is None or len(dense) == 0:
        return people
    iou = box_iou(people.boxes, dense.boxes)
    best = iou.argmax(1)
    matched = iou[np.arange(len(people)), best] >= min_iou
    iuv = np.zeros((len(people),) + dense.iuv.shape[1:], np.uint8)
    iuv[matched] = dense.iuv[best[matched]]
    boxes = people.boxes.copy()
    boxes[matched, :4] = dense.boxes[best[matched], :4]
    masks = [dense.masks[b] if m and dense.masks is not None else None for b, m in zip(best, matched)]
    return Candidates(people.keypoints, boxes, masks=masks, iuv=iuv)
