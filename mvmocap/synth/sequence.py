"""A synthetic multi-view capture of one motion clip, as the detection stage would hand it on.

:func:`synthetic_capture` puts a clip (:mod:`mvmocap.synth.motion`) on the floor, films it with a
sampled rig (:func:`mvmocap.synth.rig_sampler.sample_rig`: 2..8 cameras, a rig family, the
family's lens distortion) aimed at the clip's mean pelvis, and turns it into
:class:`mvmocap.detect.detections.Detections` (COCO-23 keypoints on the distorted images, boxes,
person masks) in one of three conditions:

* ``clean``: the exact projections, confidence 1;
* ``noisy``: the realistic detector model (:class:`mvmocap.synth.realistic.RealisticNoise`, fitted
  on BlazePose: errors with outliers, confidence tied to the error, correlated in time) without
  self-occlusion and without faults;
* ``occluded``: the whole model: z-buffer self-occlusion (:func:`mvmocap.synth.occlusion.joint_visibility`:
  hidden joints get larger errors and lower confidences) and the faults at their fitted or prior
  rates (whole-view and single-limb left/right swaps, the person lost in a view for a stretch, a
  wrong person's skeleton, keypoints outside the image).

The six foot points take their ankle's error scale and confidence offset.

In every condition a joint that projects outside its image or behind its camera has confidence 0
(x = y = 0). Masks (``mask_side`` > 0) are the body's silhouette rendered over the whole image at
a reduced size (longer side ``mask_side`` px), run-length encoded as a detector's masks are; a view
in which no joint is seen has no mask.

The ground truth (joints, vertices, parameters) comes with it. Capture ``index`` of seed ``seed``
depends only on ``(seed, index)`` and the configuration. Conventions: OpenCV cameras,
``x_cam = R x_world + t``, metres, world +Z up, pixels as OpenCV's.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from mvmocap.detect.detections import Detections
from mvmocap.detect.masks import RleMask, rle_encode
from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.synth import evidence as ev
from mvmocap.synth.motion import MotionConfig, PosedClip, clip_generator, pose_clip, sample_clip
from mvmocap.synth.rasterize import body_winding_sign, rasterize, silhouette, vertices_to_screen
from mvmocap.synth.occlusion import joint_visibility
from mvmocap.synth.realistic import RealisticNoise
from mvmocap.synth.rig_sampler import MAX_CAMERAS, TRAINING_RIG_FAMILIES, sample_rig

CONDITIONS = ("clean", "noisy", "occluded")
CAPTURE_SEED_OFFSET = 77_777  # the rig and evidence generator of a capture, apart from its clip's
# COCO-23 foot points (big toe, small toe, heel; left then right) take their ankle's noise.
_FOOT_ANKLE = (15, 15, 15, 16, 16, 16)
OCCLUSION_RESOLUTION = 64  # px of the z-buffer rendered over the body's box per view


@dataclass(frozen=True)
class SequenceConfig:
    """One benchmark cell's captures.

    Attributes:
        cameras: cameras per capture (2..8).
        condition: one of :data:`CONDITIONS`.
        rig_families: families the rig is drawn from (uniformly among those allowing ``cameras``;
            default: the training families, not the held-out ``high_wide``).
        motion: the clips (frames, fps, pose families).
        mask_side: longer side (px) of the rendered person masks; 0 = no masks.
    """

    cameras: int = 4
    condition: str = "noisy"
    rig_families: tuple[str, ...] = TRAINING_RIG_FAMILIES
    motion: MotionConfig = field(default_factory=MotionConfig)
    mask_side: int = 0

    def __post_init__(self) -> None:
        if not 2 <= self.cameras <= 8:
            raise InputError(f"a capture needs 2..8 cameras, got {self.cameras}")
        if self.condition not in CONDITIONS:
            raise InputError(f"unknown condition {self.condition!r}; known: {', '.join(CONDITIONS)}")
        unknown = [f for f in self.rig_families if f not in MAX_CAMERAS]
        if unknown or not self.rig_families:
            raise InputError(f"unknown rig family {', '.join(unknown) or '(none given)'}; known: {', '.join(MAX_CAMERAS)}")
        if not any(MAX_CAMERAS[f] >= self.cameras for f in self.rig_families):
            raise InputError(f"no rig family among {', '.join(self.rig_families)} allows {self.cameras} cameras")
        if not 0 <= self.mask_side <= 2000:
            raise InputError(f"mask_side must be in 0..2000 px, got {self.mask_side}")


@dataclass(frozen=True)
class SyntheticCapture:
    """A capture and its ground truth.

    Attributes:
        detections: the 2D evidence, cameras named as ``rig`` (``keypoints (C, T, 23, 3)``).
        rig: the true cameras.
        rig_family: the family the rig was drawn from.
        condition: the evidence's condition.
        posed: the clip on the floor: parameters (``posed.clip``, ``posed.transl``), world
            ``vertices (T, V, 3)``, ``coco23 (T, 23, 3)`` metres.
        visible: ``(T, C, 23)`` bool, the joints the evidence reports (confidence > 0).
        hidden: ``(T, C, 23)`` bool, the joints behind the body in the z-buffer (``occluded`` only,
            else None); the evidence reports most of them, with larger errors and lower confidences.
    """

    detections: Detections
    rig: CameraRig
    rig_family: str
    condition: str
    posed: PosedClip
    visible: Tensor
    hidden: Tensor | None = None

    @property
    def joints17(self) -> Tensor:
        """``(T, 17, 3)`` true COCO-17 joints, world metres."""
        return self.posed.coco23[:, :17]

    @property
    def num_frames(self) -> int:
        return int(self.posed.coco23.shape[0])


def _capture_generator(seed: int, index: int) -> torch.Generator:
    base = clip_generator(seed, index).initial_seed()
    return torch.Generator().manual_seed(base + CAPTURE_SEED_OFFSET)


def synthetic_capture(body_model, config: SequenceConfig, seed: int, index: int) -> SyntheticCapture:
    """Capture ``index`` of seed ``seed`` (see the module docstring)."""
    posed = pose_clip(sample_clip(seed, index, config.motion), body_model)
    g = _capture_generator(seed, index)
    centre = posed.joints[:, 0].double().mean(0)
    rig, family = sample_rig(config.cameras, centre, g, families=config.rig_families)
    pixels = rig.project(posed.coco23.double())  # (T, C, 23, 2), distorted, as detected
    keypoints, hidden = condition_evidence(config.condition, pixels, posed, rig, body_model, g)
    keypoints = _outside_unseen(keypoints, pixels, posed.coco23.double(), rig)
    visible = keypoints[..., 2] > 0
    masks = render_masks(posed.vertices, body_model, rig, config.mask_side) if config.mask_side else None
    detections = _detections(keypoints, rig, config.motion.fps, f"synthetic-{config.condition}", masks, visible)
    return SyntheticCapture(detections, rig, family, config.condition, posed, visible, hidden)


def condition_evidence(condition: str, pixels: Tensor, posed: PosedClip, rig: CameraRig, body_model,
                       generator: torch.Generator) -> tuple[Tensor, Tensor | None]:
    """Keypoints ``(T, C, 23, 3)`` (px + confidence) for the exact projections ``pixels (T, C, 23, 2)``
    of ``posed.coco23`` in ``rig``, and the z-buffer's hidden joints ``(T, C, 23)`` (None unless ``occluded``)."""
    if condition == "clean":
        return torch.cat([pixels, torch.ones_like(pixels[..., :1])], -1), None
    noise = condition_noise(condition)
    visible = None
    if condition == "occluded":
        T, C = pixels.shape[:2]
        has_dist = bool(rig.dist.abs().max() > 0)
        expand = lambda x: x.to(torch.float32).expand((T,) + tuple(x.shape))  # noqa: E731
        visible = joint_visibility(posed.vertices, body_model.faces, posed.coco23, expand(rig.K), expand(rig.R),
                                   expand(rig.t), None, expand(rig.dist) if has_dist else None,
                                   resolution=OCCLUSION_RESOLUTION, cull=body_winding_sign(body_model))
    box = ev.keypoint_box_size(pixels[..., :17, :])
    points, conf = noise.apply(pixels, box, visible, rig.sizes, generator)
    return torch.cat([points, conf[..., None]], -1), None if visible is None else ~visible


def condition_noise(condition: str) -> RealisticNoise:
    """The detector model of a noisy condition, extended to the 23 joints (feet as their ankles)."""
    fitted = RealisticNoise()
    sigma = tuple(fitted.sigma[:17]) + tuple(fitted.sigma[a] for a in _FOOT_ANKLE)
    offset = tuple(fitted.confidence_offset[:17]) + tuple(fitted.confidence_offset[a] for a in _FOOT_ANKLE)
    noise = replace(fitted, sigma=sigma, confidence_offset=offset)
    if condition == "noisy":
        noise = replace(noise, swap_rate=0.0, limb_swap_rate=0.0, lost_rate=0.0, wrong_person_rate=0.0,
                        source=fitted.source + "; no occlusion, no faults")
    return noise


def _outside_unseen(keypoints: Tensor, pixels: Tensor, joints: Tensor, rig: CameraRig) -> Tensor:
    """Confidence 0 (and x = y = 0) where the true joint is outside its image or behind the camera."""
    size = rig.sizes.to(pixels.dtype)[None, :, None]  # (1, C, 1, 2)
    inside = ((pixels >= -0.5) & (pixels <= size - 0.5)).all(-1)
    seen = inside & (rig.depths(joints) > 0.05)
    return keypoints * seen[..., None].to(keypoints.dtype)


def render_masks(vertices: Tensor, body_model, rig: CameraRig, side: int, chunk: int = 64) -> list[list[RleMask]]:
    """Silhouettes ``masks[c][t]`` of ``vertices (T, V, 3)`` in every camera, over the whole image at a
    reduced size (longer side ``side`` px), run-length encoded."""
    T, C = vertices.shape[0], len(rig)
    cull = body_winding_sign(body_model)
    out: list[list[RleMask]] = [[] for _ in range(C)]
    for c in range(C):
        width, height = (int(v) for v in rig.sizes[c].tolist())
        scale = side / max(width, height)
        w, h = max(1, round(width * scale)), max(1, round(height * scale))
        K, R, t, dist = (x[c].float() for x in (rig.K, rig.R, rig.t, rig.dist))
        for lo in range(0, T, chunk):
            part = vertices[lo:lo + chunk].float()
            B = part.shape[0]
            screen = vertices_to_screen(part, K.expand(B, 3, 3), R.expand(B, 3, 3), t.expand(B, 3),
                                        dist.expand(B, 5) if bool(dist.abs().max() > 0) else None)
            # full-image pixel centres -> the reduced image's (pixel edges scale, centres sit half a pixel in)
            xy = (screen[..., :2] + 0.5) * torch.tensor([w / width, h / height]) - 0.5
            frags = rasterize(torch.cat([xy, screen[..., 2:]], -1), body_model.faces, (h, w), cull=cull)
            for m in silhouette(frags).numpy():
                out[c].append(rle_encode(m))
    return out


def _detections(keypoints: Tensor, rig: CameraRig, fps: float, detector: str, masks, visible: Tensor) -> Detections:
    """:class:`Detections` of keypoints ``(T, C, 23, 3)``: boxes around the seen joints (score 1,
    0 = nobody), masks only in views with a seen joint."""
    kp = keypoints.permute(1, 0, 2, 3).float()  # (C, T, 23, 3)
    seen = visible.permute(1, 0, 2)
    box = ev.bounding_boxes(kp[..., :2], seen)
    anyone = seen.any(-1)
    boxes = torch.cat([box, anyone[..., None].float()], -1)
    C, T = kp.shape[:2]
    if masks is not None:
        masks = [[masks[c][t] if bool(anyone[c, t]) else None for t in range(T)] for c in range(C)]
    return Detections(
        camera_names=tuple(rig.names), frame_ids=np.arange(T), keypoints=kp.numpy().astype(np.float32),
        boxes=boxes.numpy().astype(np.float32), image_sizes=rig.sizes.round().to(torch.int64).numpy(),
        fps=np.full(C, float(fps)), detector=detector, masks=masks,
    )


__all__ = ["CONDITIONS", "SequenceConfig", "SyntheticCapture", "condition_evidence", "condition_noise", "render_masks",
           "synthetic_capture"]
