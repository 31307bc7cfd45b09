"""The ``train-synthetic`` method ``metapose``: synthetic frame-sets -> stage 1 -> K refinement networks.

Per sample (all randomness from a generator seeded by the samples' indices, so validation is fixed):

* the views are shuffled, the usable ones (the dataset's ``view_valid`` and >= 4 detected joints)
  first: with ``views_min`` a sample has 2..``views`` cameras in a random order, camera 0 a usable one;
* per-view monocular 3D from :class:`mvmocap.synth.mono3d.MonocularNoise` (options ``mono_noise``);
* stage 1 (``init: s1``) or the same closed form on random monocular poses (``init: random``, the
  RND rows of Table 2);
* the refinement networks are trained ONE AFTER THE OTHER, as in the paper ("we train refinement
  steps progressively, one after the other", section 3.3; "each neural optimizer step is trained
  separately, and stop gradient is applied to all inputs", section 4): training step ``s`` of the
  run trains network ``min(s // stage_steps, K - 1)`` on the states the earlier (already trained)
  networks produce; the loss is that network's output's. A buffer counts the steps, so ``--resume``
  continues the schedule.

Losses (``loss``): ``reprojection`` (eq. 16, the true 2D projections as the paper's 2D labels; the
supervised S2; views whose detections are another person or lost, median distance to the truth above
``target_outlier_box`` boxes, are left out of the target: no input tells where the true person is in
them; 0 keeps every view) or ``likelihood`` (eq. 6 under the mixtures, no labels: S2/SS); ``bone_prior: true``
adds eq. 19 and gives the networks the subject's scale-free bone lengths, the true ones with
``bone_noise`` (std) added (section 3.3.1).

The validation ``joints3d`` are in camera 0's axes, root-relative (the method has no world): only
``pa_mpjpe`` / ``n_mpjpe`` of the loop's validation mean anything.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from mvmocap.errors import InputError
from mvmocap.regressors.metapose.inputs import MIN_VIEW_JOINTS, NUM_JOINTS, MetaPoseInputs, prepare_inputs
from mvmocap.regressors.metapose.losses import bone_loss, likelihood_loss, reprojection_loss
from mvmocap.regressors.metapose.model import BONES, NeuralOptimizer, bone_lengths, initial_state
from mvmocap.synth.mono3d import MonocularNoise, swapped_views
from mvmocap.train.base import SyntheticMethod

DEFAULT_OPTIONS: dict[str, Any] = {
    "steps": 4, "architecture": "equivariant", "layers": None, "stage_steps": 500, "loss": "reprojection",
    "bone_prior": False, "bone_noise": 0.02, "w_bone": 0.1, "init": "s1", "mono_noise": {}, "outlier_weight": 0.0,
    "heatmap_components": 0, "target_outlier_box": 0.5,
}
VIEW_KEYS = ("keypoints2d", "keypoints2d_gt", "R", "t", "K", "view_valid", "crop", "heatmaps")


def sample_generator(batch: dict) -> torch.Generator:
    """A generator that depends only on the batch's sample indices."""
    index = batch["index"].reshape(-1).tolist()
    return torch.Generator().manual_seed(sum((i + 1) * 1_000_003 ** (k % 3) for k, i in enumerate(index)) % (2**62) + 11)


def shuffled_views(batch: dict, generator: torch.Generator) -> dict:
    """The per-view entries of ``batch`` reordered per sample: a random order, usable views first."""
    usable = batch["view_valid"].bool() & ((batch["keypoints2d"][..., 2] > 0).sum(-1) >= MIN_VIEW_JOINTS)
    B, C = usable.shape
    orders = []
    for b in range(B):
        perm = torch.randperm(C, generator=generator).to(usable.device)
        orders.append(perm[torch.argsort((~usable[b, perm]).to(torch.int8), stable=True)])
    order = torch.stack(orders)  # (B, C)
    out = dict(batch)
    for key in VIEW_KEYS:
        if key not in batch:
            continue
        value = batch[key]
        index = order.reshape(B, C, *([1] * (value.dim() - 2))).expand(B, C, *value.shape[2:])
        out[key] = torch.gather(value, 1, index)
    out["view_valid"] = torch.gather(usable, 1, order)
    return out


def synthetic_inputs(batch: dict, mono_noise: MonocularNoise, init: str = "s1", bone_noise: float | None = None,
                     outlier_weight: float = 0.0, heatmap_components: int = 0
                     ) -> tuple[MetaPoseInputs, dict, Tensor | None, torch.Generator]:
    """A synthetic batch as MetaPose sees it: ``(inputs, views, bones, generator)``.

    ``views``: the batch's per-view entries in the shuffled order (:func:`shuffled_views`);
    ``init``: ``"s1"`` (monocular 3D from ``mono_noise``) or ``"random"`` (Gaussian monocular poses,
    std 0.3 m: the RND start); ``bones``: the true scale-free bone lengths plus N(0, ``bone_noise``^2)
    (None without a bone noise); ``outlier_weight``: see :func:`mvmocap.regressors.metapose.gmm.point_gmm`;
    ``heatmap_components > 0``: mixtures of that many components fitted to the batch's ``heatmaps``."""
    g = sample_generator(batch)
    views = shuffled_views(batch, g)
    kp = views["keypoints2d"][..., :NUM_JOINTS, :]
    swapped = swapped_views(kp[..., :2], views["keypoints2d_gt"][..., :NUM_JOINTS, :], kp[..., 2])
    mono3d, mono_w = mono_noise.apply(batch["joints3d"][:, :NUM_JOINTS], views["R"], views["t"], kp[..., 2], g, swapped)
    if init == "random":
        mono3d = torch.randn(mono3d.shape, generator=g).to(mono3d) * 0.3 * (mono_w[..., None] > 0)
    heatmaps = None
    if heatmap_components > 0:
        if "heatmaps" not in views:
            raise InputError("metapose heatmap mixtures need heatmaps: set data.heatmap_size")
        heatmaps = views["heatmaps"][:, :, :NUM_JOINTS]
    inputs = prepare_inputs(kp[..., :2], kp[..., 2], mono3d.to(kp), mono_w.to(kp), views["view_valid"],
                            outlier_weight=outlier_weight, heatmaps=heatmaps, crops=views["crop"],
                            components=max(heatmap_components, 1))
    bones = None
    if bone_noise is not None:
        noise = torch.randn(batch["joints3d"].shape[0], len(BONES), generator=g) * bone_noise
        bones = bone_lengths(batch["joints3d"][:, :NUM_JOINTS]) + noise.to(kp)
    return inputs, views, bones, g


class MetaPoseMethod(SyntheticMethod):
    """Options: :data:`DEFAULT_OPTIONS` (see the module docstring)."""

    data_overrides = {"render_size": 0, "render_iuv": False, "return_vertices": False}

    def __init__(self, options, data_config, body_model):
        super().__init__({**DEFAULT_OPTIONS, **dict(options)}, data_config, body_model)
        unknown = sorted(set(self.options) - set(DEFAULT_OPTIONS))
        if unknown:
            raise InputError(f"unknown metapose option(s): {', '.join(unknown)}; known: {', '.join(DEFAULT_OPTIONS)}")
        o = self.options
        if o["loss"] not in ("reprojection", "likelihood"):
            raise InputError(f"metapose loss must be 'reprojection' or 'likelihood', got {o['loss']!r}")
        if o["init"] not in ("s1", "random"):
            raise InputError(f"metapose init must be 's1' or 'random', got {o['init']!r}")
        self.mono_noise = MonocularNoise(**o["mono_noise"])
        components = int(o["heatmap_components"]) or (2 if float(o["outlier_weight"]) > 0 else 1)
        if int(o["heatmap_components"]) > 0 and not data_config.heatmap_size:
            raise InputError("metapose heatmap_components needs heatmaps: set data.heatmap_size")
        self.optimizer = NeuralOptimizer(int(o["steps"]), components, NUM_JOINTS, o["architecture"],
                                         views=data_config.views, bone_prior=bool(o["bone_prior"]), layers=o["layers"])
        self.register_buffer("trained_steps", torch.zeros((), dtype=torch.long))

    @property
    def active_step(self) -> int:
        """The refinement network being trained now (progressive schedule)."""
        return min(int(self.trained_steps) // int(self.options["stage_steps"]), len(self.optimizer.steps) - 1)

    def prepare(self, batch: dict) -> tuple[MetaPoseInputs, dict, Tensor | None, torch.Generator]:
        o = self.options
        return synthetic_inputs(batch, self.mono_noise, o["init"], float(o["bone_noise"]) if o["bone_prior"] else None,
                                float(o["outlier_weight"]), int(o["heatmap_components"]))

    def forward(self, batch: dict) -> dict[str, Any]:
        inputs, views, bones, _ = self.prepare(batch)
        joints, cameras = initial_state(inputs)
        if self.training:
            k = self.active_step
            with torch.no_grad():
                for joints, cameras in self.optimizer(inputs, joints, cameras, bones, upto=k):
                    pass
            joints, cameras = self.optimizer.step(k, inputs, joints, cameras, bones)
        else:
            states = self.optimizer(inputs, joints, cameras, bones)
            if states:
                joints, cameras = states[-1]
        return {"joints3d": joints, "cameras": cameras, "inputs": inputs, "views": views, "bones": bones}

    def loss(self, batch: dict, pred: dict) -> tuple[Tensor, dict[str, float]]:
        inputs: MetaPoseInputs = pred["inputs"]
        joints, cameras = pred["joints3d"], pred["cameras"]
        target = inputs.normalise(pred["views"]["keypoints2d_gt"][..., :NUM_JOINTS, :])
        views = inputs.view_valid & self._on_target(pred["views"], inputs, target)
        weight = views[..., None].to(joints.dtype).expand(inputs.confidence.shape)
        reprojection = reprojection_loss(joints, cameras, target, weight)
        parts = {"reprojection": float(reprojection.detach()), "stage": float(self.active_step)}
        if self.options["loss"] == "likelihood":
            loss = likelihood_loss(joints, cameras, inputs)
            parts["likelihood"] = float(loss.detach())
        else:
            loss = reprojection
        if pred["bones"] is not None:
            bl = bone_loss(joints, pred["bones"])
            parts["bone"] = float(bl.detach())
            loss = loss + float(self.options["w_bone"]) * bl
        parts["target_views"] = float(views.sum() / inputs.view_valid.sum().clamp(min=1))
        if self.training:
            self.trained_steps += 1
        return loss, parts

    def _on_target(self, views: dict, inputs: MetaPoseInputs, target: Tensor) -> Tensor:
        """``(B, C)`` bool: views whose detections are the true person (median distance to the truth
        at most ``target_outlier_box`` boxes over the detected joints); all True when the option is 0."""
        limit = float(self.options["target_outlier_box"])
        kp = views["keypoints2d"][..., :NUM_JOINTS, :]
        if limit <= 0:
            return torch.ones_like(inputs.view_valid)
        detected = kp[..., 2] > 0
        distance = (inputs.normalise(kp[..., :2]) - target).norm(dim=-1)
        ordered = torch.where(detected, distance, torch.full_like(distance, float("inf"))).sort(dim=-1).values
        count = detected.sum(-1, keepdim=True)
        median = ordered.gather(-1, ((count - 1).clamp(min=0) // 2)).squeeze(-1)  # the lower median of the detected
        return (count.squeeze(-1) > 0) & (median <= limit)
