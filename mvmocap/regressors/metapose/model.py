"""MetaPose stage 2: the neural optimizer (section 3.3, figure 6) and its non-equivariant baseline.

The state is the pose ``joints (B, J, 3)`` metres (camera 0's axes, root-relative) and one weak
camera per view ``cameras (B, C, 9)`` (:func:`mvmocap.geometry.weak_projection.weak_camera_vector`:
6D rotation, log scale, shift). Refinement step ``i`` is its own network ``F_i`` (eq. 14-15, 17):
``dJ, dC = F_i(J, C, G, K, L)``; ``J <- J + dJ``, ``C <- C + dC``. Its inputs, all detached ("stop
gradient is applied to all inputs", section 4), are per view the row

    [J (J*3), L (J), (bone lengths B, with the bone prior), C_c (9), G_c (J*M*4), K_c (J*2)]

with the view-invariant ``J``, ``L`` (the per-joint log-likelihood of the current projections under
the mixtures, averaged over the views) and ``B`` copied into every row (figure 6).

* :class:`EquivariantStep`: dense SELU layers over the rows with "CC" blocks that concatenate the
  rows' mean and std over the views to every row (the paper's ``[512, 512, CC, 512, 512, CC, 512]``);
  ``dC`` per row from a linear head, ``dJ`` from an MLP on the rows' mean: shuffling the views
  shuffles ``dC`` and leaves ``dJ`` unchanged (eq. 18).
* :class:`MLPStep`: the S2/MLP baseline of Table 5: the C rows concatenated in order into one
  vector, ``L`` dense 512 layers and a dense 128 layer, all SELU; a fixed camera count.

Missing views (``view_valid`` False) are left out of the pooled moments and their updates are zero.
The output heads start at zero, so an untrained step leaves the state as it is (steps are trained
one after the other).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mvmocap.geometry.weak_projection import CAMERA_VECTOR_SIZE, weak_camera_from_vector, weak_camera_vector, weak_project
from mvmocap.keypoints import COCO17_LIMBS
from mvmocap.regressors.metapose.gmm import gmm_log_likelihood
from mvmocap.regressors.metapose.inputs import MetaPoseInputs

BONES = COCO17_LIMBS[:12]  # arms, legs, torso (the face's edges are not bones)
LOGLIK_RANGE = (-50.0, 10.0)  # log-likelihoods are clamped to this and divided by 10 as inputs
DEFAULT_LAYERS = (256, 256, "CC", 256, 256, "CC", 256)


def bone_lengths(joints: Tensor) -> Tensor:
    """Scale-free bone lengths ``b_N (..., E)`` of ``joints (..., 17, 3)`` (section 3.3.1): each bone over their mean."""
    b = torch.stack([(joints[..., i, :] - joints[..., k, :]).norm(dim=-1) for i, k in BONES], -1)
    return b / b.mean(-1, keepdim=True).clamp(min=1e-9)


def project_state(joints: Tensor, cameras: Tensor) -> Tensor:
    """``K (B, C, J, 2)``: ``joints (B, J, 3)`` seen by ``cameras (B, C, 9)``."""
    R, scale, shift = weak_camera_from_vector(cameras)
    return weak_project(joints[:, None], R, scale, shift)


def joint_log_likelihood(projections: Tensor, inputs: MetaPoseInputs) -> Tensor:
    """``L (B, J)``: each joint's log-likelihood under the views' mixtures, averaged over the valid views."""
    ll = gmm_log_likelihood(projections, inputs.gmm)  # (B, C, J)
    w = inputs.view_valid[..., None].to(ll.dtype)
    return (ll * w).sum(1) / w.sum(1).clamp(min=1)


def step_rows(inputs: MetaPoseInputs, joints: Tensor, cameras: Tensor, bones: Tensor | None) -> tuple[Tensor, Tensor]:
    """``(shared (B, S), views (B, C, V))``: the detached inputs of one refinement step (module docstring)."""
    joints, cameras = joints.detach(), cameras.detach()
    K = project_state(joints, cameras)
    L = joint_log_likelihood(K, inputs).clamp(*LOGLIK_RANGE) / 10.0
    shared = [joints.flatten(1), L] + ([bones] if bones is not None else [])
    views = torch.cat([cameras, inputs.gmm.features(), K.flatten(2)], -1)
    return torch.cat(shared, -1), views * inputs.view_valid[..., None].to(views.dtype)


def _dense(n_in: int, n_out: int, zero: bool = False) -> nn.Linear:
    layer = nn.Linear(n_in, n_out)
    if zero:
        nn.init.zeros_(layer.weight)
    else:  # LeCun normal, SELU's self-normalising initialisation
        nn.init.normal_(layer.weight, std=n_in**-0.5)
    nn.init.zeros_(layer.bias)
    return layer


def pooled_moments(x: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and std ``(B, 1, D)`` of ``x (B, C, D)`` over the ``valid (B, C)`` views."""
    w = valid[..., None].to(x.dtype)
    n = w.sum(1, keepdim=True).clamp(min=1)
    mean = (x * w).sum(1, keepdim=True) / n
    var = (((x - mean) ** 2) * w).sum(1, keepdim=True) / n
    return mean, (var + 1e-6).sqrt()


class EquivariantStep(nn.Module):
    """One permutation-equivariant refinement step (figure 6)."""

    def __init__(self, shared_size: int, view_size: int, joints: int, layers=DEFAULT_LAYERS):
        super().__init__()
        self.layers = nn.ModuleList()
        self.kinds: list[str] = []
        width = shared_size + view_size
        for spec in layers:
            if spec == "CC":
                self.kinds.append("CC")
                self.layers.append(nn.Identity())
                width *= 3
            else:
                self.kinds.append("dense")
                self.layers.append(_dense(width, int(spec)))
                width = int(spec)
        self.camera_head = _dense(width, CAMERA_VECTOR_SIZE, zero=True)
        self.pose_head = nn.Sequential(_dense(width, width), nn.SELU(), _dense(width, joints * 3, zero=True))

    def forward(self, shared: Tensor, views: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        """``shared (B, S)``, ``views (B, C, V)``, ``valid (B, C)`` -> ``dJ (B, J, 3)``, ``dC (B, C, 9)``."""
        x = torch.cat([shared[:, None].expand(-1, views.shape[1], -1), views], -1)
        for kind, layer in zip(self.kinds, self.layers):
            if kind == "CC":
                mean, std = pooled_moments(x, valid)
                x = torch.cat([x, mean.expand_as(x), std.expand_as(x)], -1)
            else:
                x = nn.functional.selu(layer(x))
        mask = valid[..., None].to(x.dtype)
        dC = self.camera_head(x) * mask
        pooled, _ = pooled_moments(x, valid)
        dJ = self.pose_head(pooled[:, 0])
        return dJ.reshape(shared.shape[0], -1, 3), dC


class MLPStep(nn.Module):
    """One non-equivariant refinement step for exactly ``views`` cameras (the S2/MLP baseline)."""

    def __init__(self, shared_size: int, view_size: int, joints: int, views: int, layers: int = 2, width: int = 512):
        super().__init__()
        self.views = views
        blocks: list[nn.Module] = []
        n = shared_size + views * (view_size + 1)
        for _ in range(layers):
            blocks += [_dense(n, width), nn.SELU()]
            n = width
        blocks += [_dense(n, 128), nn.SELU()]
        self.body = nn.Sequential(*blocks)
        self.head = _dense(128, views * CAMERA_VECTOR_SIZE + joints * 3, zero=True)

    def forward(self, shared: Tensor, views: Tensor, valid: Tensor) -> tuple[Tensor, Tensor]:
        B, C, _ = views.shape
        if C != self.views:
            from mvmocap.errors import InputError

            raise InputError(f"this MetaPose MLP step was built for {self.views} cameras, got {C}")
        x = torch.cat([shared, torch.cat([views, valid[..., None].to(views.dtype)], -1).flatten(1)], -1)
        out = self.head(self.body(x))
        dC = out[:, : C * CAMERA_VECTOR_SIZE].reshape(B, C, CAMERA_VECTOR_SIZE) * valid[..., None].to(out.dtype)
        return out[:, C * CAMERA_VECTOR_SIZE:].reshape(B, -1, 3), dC


class NeuralOptimizer(nn.Module):
    """``steps`` refinement networks applied in turn (eq. 14-15).

    Args:
        steps: K. components: M of the mixtures. joints: J.
        architecture: ``"equivariant"`` or ``"mlp"`` (then ``views`` is required).
        bone_prior: the networks also read the subject's scale-free bone lengths (section 3.3.1).
        layers: the equivariant layer list (ints and ``"CC"``) or, for ``"mlp"``, the number of 512 layers.
    """

    def __init__(self, steps: int = 4, components: int = 1, joints: int = 17, architecture: str = "equivariant",
                 views: int | None = None, bone_prior: bool = False, layers=None):
        super().__init__()
        from mvmocap.errors import InputError

        if architecture not in ("equivariant", "mlp"):
            raise InputError(f"metapose architecture must be 'equivariant' or 'mlp', got {architecture!r}")
        if architecture == "mlp" and not views:
            raise InputError("the metapose MLP baseline needs a fixed number of views")
        self.architecture, self.bone_prior, self.joints = architecture, bone_prior, joints
        shared = joints * 3 + joints + (len(BONES) if bone_prior else 0)
        view = CAMERA_VECTOR_SIZE + joints * components * 4 + joints * 2
        if architecture == "equivariant":
            make = lambda: EquivariantStep(shared, view, joints, tuple(layers or DEFAULT_LAYERS))  # noqa: E731
        else:
            make = lambda: MLPStep(shared, view, joints, int(views), int(layers or 2))  # noqa: E731
        self.steps = nn.ModuleList([make() for _ in range(steps)])

    def forward(self, inputs: MetaPoseInputs, joints: Tensor, cameras: Tensor, bones: Tensor | None = None,
                upto: int | None = None) -> list[tuple[Tensor, Tensor]]:
        """The states after each step ``[(joints (B, J, 3), cameras (B, C, 9)), ...]`` (``upto``: the first steps only)."""
        if self.bone_prior and bones is None:
            from mvmocap.errors import InputError

            raise InputError("this MetaPose model was trained with the bone-length prior: give the subject's bone lengths")
        states = []
        for index in range(upto if upto is not None else len(self.steps)):
            joints, cameras = self.step(index, inputs, joints, cameras, bones)
            states.append((joints, cameras))
        return states

    def step(self, index: int, inputs: MetaPoseInputs, joints: Tensor, cameras: Tensor,
             bones: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Refinement step ``index`` alone: the next ``(joints, cameras)`` (gradients reach only its network)."""
        shared, views = step_rows(inputs, joints, cameras, bones if self.bone_prior else None)
        dJ, dC = self.steps[index](shared, views, inputs.view_valid)
        return joints.detach() + dJ, weak_camera_vector(*weak_camera_from_vector(cameras.detach() + dC))


def initial_state(inputs: MetaPoseInputs) -> tuple[Tensor, Tensor]:
    """Stage 1 (:func:`mvmocap.calibrate.init_procrustes.weak_cameras_from_mono3d`) as a state
    ``(joints (B, J, 3), cameras (B, C, 9))``."""
    from mvmocap.calibrate.init_procrustes import weak_cameras_from_mono3d

    R, scale, shift, joints = weak_cameras_from_mono3d(inputs.mono3d, inputs.mono_weight, inputs.keypoints,
                                                       inputs.confidence)
    return joints, weak_camera_vector(R, scale, shift)
