"""CMANet's labelled source stream: the drift guard of ``mvmocap adapt --method cmanet --synthetic-every N``.

The shipped inter-view module was trained on synthetic captures of one domain (``benchmarks/cmanet_train.py``,
models/regressors/CMANET.md): clips of the default pose families filmed by rigs of the training rig families,
3, 4 or 5 cameras, ``noisy`` and ``occluded`` detections with rendered person masks. :func:`source_sequence`
is that domain (the benchmark makes its captures with it). While adapting to a user's captures, every
``--synthetic-every`` steps a batch of frames from a few captures of that domain (other seeds than the
training's) adds stage 2's loss with the *true* parameters as its targets (:func:`labelled_views`): the
views' orientations in camera axes, the body pose and the shape, in place of the multi-view SMPLify's. It is
the volumetric drift guard's counterpart (that one replays the network's own synthetic training loss).

Shapes: ``F`` frames, ``C`` views. Rotations as matrices.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor

from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.regressors.cmanet.on_cra import NUM_BETAS, CaptureViews, stage2_parts, stage2_step_loss, view_keypoints
from mvmocap.regressors.cra.views import ViewBodies
from mvmocap.synth.motion import MotionConfig
from mvmocap.synth.pose_sampler import FAMILIES
from mvmocap.synth.rig_sampler import TRAINING_RIG_FAMILIES
from mvmocap.synth.sequence import SequenceConfig

SOURCE_CAMERAS = (3, 4, 5)
SOURCE_CONDITIONS = ("noisy", "occluded")
SOURCE_MASK_SIDE = 480  # px, the rendered masks' longer side (CRA-S reads silhouettes)
SOURCE_FRAMES = 60
SOURCE_CAPTURES = 4  # the drift guard's captures (SOURCE_FRAMES each)
SOURCE_SEED_OFFSET = 9_100_000  # the drift guard's captures, apart from the training's (24) and test's (2400) seeds


def source_sequence(index: int, frames: int = SOURCE_FRAMES, mask_side: int = SOURCE_MASK_SIDE) -> SequenceConfig:
    """Capture ``index`` of the shipped module's training domain: cameras and condition cycle with ``index``."""
    return SequenceConfig(cameras=SOURCE_CAMERAS[index % len(SOURCE_CAMERAS)],
                          condition=SOURCE_CONDITIONS[index % len(SOURCE_CONDITIONS)],
                          rig_families=TRAINING_RIG_FAMILIES, mask_side=mask_side,
                          motion=MotionConfig(frames=frames, pose_families=FAMILIES))


def source_sequences() -> list[SequenceConfig]:
    """The drift guard's captures: :data:`SOURCE_CAPTURES` of :data:`SOURCE_FRAMES` frames each."""
    return [source_sequence(index, SOURCE_FRAMES, SOURCE_MASK_SIDE) for index in range(SOURCE_CAPTURES)]


def camera_orientations(global_orient_world: Tensor, R_cameras: Tensor) -> Tensor:
    """``global_orient_world (F, 3, 3)`` (body rest frame -> world) and ``R_cameras (C, 3, 3)`` (world -> camera)
    -> ``(F, C, 3, 3)`` body rest frame -> each camera's axes (``R_c @ R``; the inverse of
    :func:`~mvmocap.regressors.cra.multiview.world_orientations`)."""
    return R_cameras[None] @ global_orient_world[:, None]


def true_view_parameters(truth, inputs) -> tuple[Tensor, Tensor, Tensor]:
    """The true parameters of a :class:`~mvmocap.synth.sequence.SyntheticCapture` ``truth`` as stage 1 and 2
    compare them, float32: ``orient (F, C, 3, 3)`` body rest frame -> the axes of each camera of ``inputs.rig``,
    ``pose (F, 23, 3, 3)``, ``betas (F, 10)``."""
    clip = truth.posed.clip
    F = int(clip.body_pose.shape[0])
    R = inputs.rig.R.detach().cpu().to(torch.float64)
    orient = camera_orientations(axis_angle_to_matrix(clip.global_orient.to(torch.float64)), R)
    pose = axis_angle_to_matrix(clip.body_pose.to(torch.float64))
    betas = clip.betas.to(torch.float64)[..., :NUM_BETAS].expand(F, -1)
    return orient.float(), pose.float(), betas.float()


def labelled_views(truth, inputs, views: ViewBodies) -> CaptureViews:
    """Stage 2's data of a synthetic capture with its true parameters (:func:`true_view_parameters`) as the
    targets: ``truth`` a :class:`~mvmocap.synth.sequence.SyntheticCapture`, ``inputs`` its ``MethodInputs``
    (the cameras in the order of ``views``), ``views`` CRA's views of it. The keypoints are the capture's
    detections, as for any capture (:func:`~mvmocap.regressors.cmanet.on_cra.view_keypoints`)."""
    _, uv, confidence = view_keypoints(inputs, views)
    return CaptureViews(views, uv, confidence, *true_view_parameters(truth, inputs))


class SourceFrames:
    """The drift guard's frames: ``usable`` one ``(F,)`` bool mask per labelled capture (the frames a step may
    take), ``batch`` frames per step, drawn from ``(seed, step)`` only (a resumed or ``torchrun`` run draws
    the same; each process then takes its share)."""

    def __init__(self, usable: list[Tensor], batch: int, seed: int):
        self.usable = [torch.nonzero(mask).flatten() for mask in usable]
        if not any(len(u) for u in self.usable):
            raise ValueError("no labelled source frame is usable (seen by enough views)")
        self.batch = int(batch)
        self.seed = int(seed)

    def frames_of_step(self, step: int) -> tuple[int, Tensor]:
        """Step ``step``'s capture (in proportion to its usable frames) and ``batch`` of its usable frames."""
        g = torch.Generator().manual_seed(SOURCE_SEED_OFFSET + self.seed * 1_000_003 + int(step))
        which = int(torch.multinomial(torch.tensor([float(len(u)) for u in self.usable]), 1, generator=g))
        frames = self.usable[which]
        pick = (torch.randperm(len(frames), generator=g)[:self.batch] if len(frames) >= self.batch
                else torch.randint(len(frames), (self.batch,), generator=g))
        return which, frames[pick]


def stage2_source_loss(net, body_model, captures: list[CaptureViews], batch: int, seed: int, shards=None
                       ) -> Callable[[int], Tensor]:
    """The drift guard of stage 2: step -> stage 2's loss (eq. 6) of ``net`` on that step's labelled frames
    (:func:`labelled_views` ``captures``; frames at least two views saw); under ``torchrun`` each process takes
    its share and every term's denominator is the whole step's (as the captures' loss)."""
    frames = SourceFrames([c.views.valid.sum(-1) >= 2 for c in captures], batch, seed)

    def step_loss(step: int) -> Tensor:
        which, idx = frames.frames_of_step(step)
        if shards is not None and shards.enabled:
            idx = shards.mine(idx)
        data = captures[which].frames(idx)
        return stage2_step_loss(stage2_parts(net(data.views), data, body_model), shards)[0]

    return step_loss
