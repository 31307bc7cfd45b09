"""The CRA network (paper sec. 3.3-3.4, Fig. 2): two streams, coarse-to-fine regressors, alignment, fusion.

``Theta = [root 6D (6), 23 joint rotations 6D (138), betas (10), weak camera (s, tx, ty) (3)]``
(157 numbers, the paper's). The root rotation maps the body's rest frame to the *camera's* axes
(:class:`mvmocap.regressors.cra.views.ViewBodies`). ``Theta_0``: a rest-pose body standing upright
and facing the camera, mean shape, ``s = 1``, ``t = 0``.

Per stream (J: heatmaps; M: dense IUV or silhouette): ``Theta^X = R2(phi_L; R1(phi_G; Theta_0))``
(eq. 2), each ``R`` an IEF regressor (``iterations`` residual updates sharing weights). The fusion
regressor (eq. 5) reads ``phi_L^J``, ``phi_L^M``, both predictions and, in the full model, the
alignment features ``D_J`` and ``D_M`` of both predictions against both pieces of evidence; it
starts from the mean of ``Theta^J`` and ``Theta^M``.

Variants (the paper's Table 4 rows): ``j`` (J stream alone), ``dense`` (M stream alone),
``concat`` (one encoder on the stacked inputs), ``two`` (two streams and the fusion regressor
without alignment features), ``cra`` (the full model).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from mvmocap.regressors.cra import alignment
from mvmocap.regressors.cra.encoder import FEATURE_SIDE, StreamEncoder
from mvmocap.regressors.cra.inputs import NUM_JOINTS, ViewEvidence

NUM_BODY_JOINTS = 23
NUM_BETAS = 10
THETA_SIZE = 6 + 6 * NUM_BODY_JOINTS + NUM_BETAS + 3
VARIANTS = ("j", "dense", "concat", "two", "cra")
# Rest frame (y up, z = front) -> OpenCV camera axes (y down, z forward) of a body facing the camera.
FACING_CAMERA = ((1.0, 0.0, 0.0), (0.0, -1.0, 0.0), (0.0, 0.0, -1.0))

DEFAULT_OPTIONS: dict[str, Any] = {
    "variant": "cra",
    "parts": 1,            # 1: CRA-S (silhouette); 24: the IUV model
    "crop": 64,
    "sigma": 1.5,          # heatmap Gaussian, crop px
    "width": 16,
    "perceptrons": [32, 16, 8],
    "hidden": 512,         # R1 / R2 hidden width (the paper's)
    "fuse_hidden": 1024,
    "iterations": 2,       # IEF updates of each regressor
    "render_stride": 2,    # every n-th vertex splatted for D_M
    "dm_eps": alignment.DM_EPS,
}


def initial_theta(batch: int, dtype=torch.float32, device=None) -> Tensor:
    """``Theta_0 (batch, 157)``."""
    from mvmocap.geometry.rotations import matrix_to_rotation_6d

    eye = matrix_to_rotation_6d(torch.eye(3, dtype=dtype, device=device))
    root = matrix_to_rotation_6d(torch.tensor(FACING_CAMERA, dtype=dtype, device=device))
    cam = torch.tensor([1.0, 0.0, 0.0], dtype=dtype, device=device)
    theta = torch.cat([root, eye.repeat(NUM_BODY_JOINTS), torch.zeros(NUM_BETAS, dtype=dtype, device=device), cam])
    return theta.expand(batch, -1).clone()


def split_theta(theta: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """``(root 6D (..., 6), body 6D (..., 23, 6), betas (..., 10), camera (..., 3))``."""
    body_end = 6 + 6 * NUM_BODY_JOINTS
    return (theta[..., :6], theta[..., 6:body_end].reshape(*theta.shape[:-1], NUM_BODY_JOINTS, 6),
            theta[..., body_end:body_end + NUM_BETAS], theta[..., -3:])


@dataclass(frozen=True)
class BodyDecoder:
    """What turns ``Theta`` into a body: the body model, each vertex's compact IUV ``(V, 3)``
    (``(part / 24, U, V)``, or ``(1, 0, 0)`` for CRA-S) and surface share (the splat's weights),
    read every ``stride``-th vertex."""

    body_model: Any
    attributes: Tensor
    weights: Tensor
    stride: int = 2

    @classmethod
    def for_body(cls, body_model, parts: int, stride: int = 2) -> "BodyDecoder":
        V = body_model.num_vertices
        if parts == 1:
            attributes = torch.tensor([1.0, 0.0, 0.0]).expand(V, 3).clone()
        else:
            from mvmocap.synth.part_uv import body_part_uv

            puv = body_part_uv(body_model)
            attributes = torch.cat([(puv.vertex_parts.float() / 24.0)[:, None], puv.vertex_uv.float()], -1)
        template = body_model(global_orient=torch.zeros(1, 3)).vertices[0, :V].detach().float()
        weights = alignment.vertex_areas(template, body_model.faces.long())[::stride]
        return cls(body_model, attributes[::stride].contiguous(), (weights / weights.mean()).contiguous(), stride)

    def decode(self, theta: Tensor) -> dict[str, Tensor]:
        """``Theta (N, 157)`` -> rotations, betas, camera, root-relative camera-axes ``joints (N, 17, 3)``
        and ``vertices (N, V / stride, 3)`` metres, ``joints2d (N, 17, 2)`` normalised crop coordinates."""
        from mvmocap.geometry.rotations import rotation_6d_to_matrix

        root6, body6, betas, camera = split_theta(theta)
        root, body = rotation_6d_to_matrix(root6), rotation_6d_to_matrix(body6)
        out = self.body_model(global_orient=root, body_pose=body, betas=betas)
        joints = out.coco23[:, :NUM_JOINTS]
        origin = alignment.root_of(joints)
        joints = joints - origin
        vertices = out.vertices[:, : self.body_model.num_vertices: self.stride] - origin
        return {"global_orient": root, "body_pose": body, "betas": betas, "camera": camera, "joints": joints,
                "vertices": vertices, "joints2d": alignment.weak_project(joints, camera)}

    def render(self, decoded: dict[str, Tensor], size: int = FEATURE_SIDE) -> Tensor:
        """The compact IUV map ``(N, 3, size, size)`` of a decoded body (differentiable)."""
        xy = alignment.weak_project(decoded["vertices"], decoded["camera"])
        return alignment.splat_compact_iuv(xy, decoded["vertices"][..., 2], self.attributes.to(xy), size,
                                           self.weights.to(xy))


class IEFRegressor(nn.Module):
    """``R(phi; Theta) -> Theta``: ``iterations`` updates ``Theta += MLP([phi, Theta])`` (two hidden
    layers, the paper's regressor), one MLP shared by the iterations."""

    def __init__(self, features: int, hidden: int, iterations: int, inputs_theta: int = 1):
        super().__init__()
        self.iterations = iterations
        self.mlp = nn.Sequential(
            nn.Linear(features + inputs_theta * THETA_SIZE, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, THETA_SIZE),
        )
        nn.init.zeros_(self.mlp[-1].bias)
        self.mlp[-1].weight.data.mul_(0.01)

    def forward(self, features: Tensor, theta: Tensor, context: Tensor | None = None) -> Tensor:
        for _ in range(self.iterations):
            extra = [theta] if context is None else [theta, context]
            theta = theta + self.mlp(torch.cat([features] + extra, -1))
        return theta


class Stream(nn.Module):
    """One representation's encoder and its coarse-to-fine regressors (eq. 2)."""

    def __init__(self, in_channels: int, options: dict[str, Any]):
        super().__init__()
        self.encoder = StreamEncoder(in_channels, int(options["crop"]), int(options["width"]),
                                     tuple(int(c) for c in options["perceptrons"]))
        hidden, iterations = int(options["hidden"]), int(options["iterations"])
        self.r1 = IEFRegressor(self.encoder.channels, hidden, iterations)
        self.r2 = IEFRegressor(self.encoder.local_size, hidden, iterations)

    def forward(self, evidence: Tensor) -> tuple[Tensor, Tensor]:
        """``(Theta (N, 157), phi_L (N, C_L * 64))``."""
        phi_g, phi_l = self.encoder(evidence)
        theta0 = initial_theta(evidence.shape[0], evidence.dtype, evidence.device)
        return self.r2(phi_l, self.r1(phi_g, theta0)), phi_l


def alignment_features(decoder: BodyDecoder, decoded: dict[str, Tensor], evidence: ViewEvidence, eps: float) -> Tensor:
    """``[D_J (N, 34), D_M (N, 3 * 64)]`` flattened, of one decoded prediction against both pieces of evidence."""
    d_j = alignment.joint_discrepancy(decoded["joints2d"], evidence.joints, evidence.confidence)
    rendered = decoder.render(decoded)
    target = alignment.downsample_evidence(evidence.compact, FEATURE_SIDE)
    d_m = alignment.map_discrepancy(rendered, target, eps)
    return torch.cat([d_j.flatten(1), d_m.flatten(1)], -1)


ALIGNMENT_SIZE = 2 * NUM_JOINTS + 3 * FEATURE_SIDE * FEATURE_SIDE


class CRANet(nn.Module):
    """Evidence -> ``{"theta": final (N, 157), "stream_thetas": [Theta^J, Theta^M] (fused variants),
    "features": [alignment features of Theta^J, Theta^M] (``cra``)}``."""

    def __init__(self, options: dict[str, Any] | None = None):
        super().__init__()
        self.options = {**DEFAULT_OPTIONS, **(options or {})}
        variant = self.options["variant"]
        if variant not in VARIANTS:
            raise ValueError(f"unknown CRA variant {variant!r}; known: {', '.join(VARIANTS)}")
        dense_channels = int(self.options["parts"]) + 2
        if variant in ("j", "two", "cra"):
            self.joint_stream = Stream(NUM_JOINTS, self.options)
        if variant in ("dense", "two", "cra"):
            self.dense_stream = Stream(dense_channels, self.options)
        if variant == "concat":
            self.concat_stream = Stream(NUM_JOINTS + dense_channels, self.options)
        if variant in ("two", "cra"):
            local = self.joint_stream.encoder.local_size + self.dense_stream.encoder.local_size
            extra = 2 * ALIGNMENT_SIZE if variant == "cra" else 0
            self.fuse = IEFRegressor(local + extra, int(self.options["fuse_hidden"]), 1, inputs_theta=3)

    @property
    def variant(self) -> str:
        return self.options["variant"]

    def forward(self, evidence: ViewEvidence, decoder: BodyDecoder | None = None) -> dict[str, Any]:
        v = self.variant
        if v == "j":
            return {"theta": self.joint_stream(evidence.heatmaps)[0]}
        if v == "dense":
            return {"theta": self.dense_stream(evidence.dense)[0]}
        if v == "concat":
            return {"theta": self.concat_stream(torch.cat([evidence.heatmaps, evidence.dense], 1))[0]}
        theta_j, phi_j = self.joint_stream(evidence.heatmaps)
        theta_m, phi_m = self.dense_stream(evidence.dense)
        features = [phi_j, phi_m]
        out: dict[str, Any] = {"stream_thetas": [theta_j, theta_m]}
        if v == "cra":
            if decoder is None:
                raise ValueError("the cra variant needs a BodyDecoder for its alignment features")
            eps = float(self.options["dm_eps"])
            aligned = [alignment_features(decoder, decoder.decode(th), evidence, eps) for th in (theta_j, theta_m)]
            features += aligned
            out["features"] = aligned
        start = 0.5 * (theta_j + theta_m)
        out["theta"] = self.fuse(torch.cat(features, -1), start, torch.cat([theta_j, theta_m], -1))
        return out
