"""The reference method: a small MLP from multi-view 2D joints to SMPL parameters.

It exists to prove the training loop end to end, not to be good. Input per view: the 17
detector-like joints in crop coordinates scaled to [-1, 1] with their confidences, and the
view's rotation relative to camera 1 (``R_n R_1^T``); views are concatenated in rig order
(missing views are zeros). Output: the body's orientation in camera 1's frame, the 23 joint
rotations (6D representation) and 10 betas. In the world: orientation ``R_1^T R``, translation
placing the predicted pelvis (mid-hip) on the triangulated mid-hip of the 2D joints.
Loss: root-aligned COCO-17 joint error (m) + rotation-matrix MSE + beta MSE.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mvmocap.geometry.rotations import rotation_6d_to_matrix
from mvmocap.geometry.triangulation import triangulate
from mvmocap.train.base import SyntheticMethod

HIPS = (11, 12)
_IDENTITY_6D = torch.tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])


def crop_size(data_config) -> int:
    return data_config.render_size or data_config.heatmap_size or 256


class MultiViewJointsMLP(SyntheticMethod):
    """Options: ``hidden`` (512), ``layers`` (2), ``dropout`` (0.0), loss weights ``w_joints`` (1.0),
    ``w_rot`` (0.5), ``w_betas`` (0.01)."""

    def __init__(self, options, data_config, body_model):
        super().__init__(options, data_config, body_model)
        views = data_config.views
        hidden = int(self.options.get("hidden", 512))
        layers = int(self.options.get("layers", 2))
        dropout = float(self.options.get("dropout", 0.0))
        dims = [views * (17 * 3 + 9)] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:]):
            blocks += [nn.Linear(a, b), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout > 0 else [])
        self.trunk = nn.Sequential(*blocks)
        self.head = nn.Linear(dims[-1], 6 + 23 * 6 + 10)
        nn.init.zeros_(self.head.bias)
        self.head.weight.data.mul_(0.01)
        self.register_buffer("identity_6d", _IDENTITY_6D.clone(), persistent=False)

    def features(self, batch: dict) -> Tensor:
        """``(B, C * (17 * 3 + 9))`` network input."""
        S = crop_size(self.data_config)
        kp = batch["keypoints_crop"]
        xy = kp[..., :2] / S * 2 - 1
        conf = kp[..., 2:]
        joints = torch.cat([xy * conf, conf], -1).flatten(-2)  # (B, C, 51)
        R = batch["R"]
        rel = (R @ R[:, :1].transpose(-1, -2)).flatten(-2)  # (B, C, 9)
        valid = batch["view_valid"].to(joints.dtype)[..., None]
        return (torch.cat([joints, rel], -1) * valid).flatten(1)

    def forward(self, batch: dict) -> dict[str, Tensor]:
        out = self.head(self.trunk(self.features(batch)))
        B = out.shape[0]
        rot6 = torch.cat([out[:, :6], out[:, 6 : 6 + 138]], -1).reshape(B, 24, 6) + self.identity_6d
        R = rotation_6d_to_matrix(rot6)  # (B, 24, 3, 3)
        R1 = batch["R"][:, 0]
        global_world = R1.transpose(-1, -2) @ R[:, 0]
        betas = out[:, 144:154]
        body = self.body_model(global_orient=global_world, body_pose=R[:, 1:], betas=betas)
        joints = body.coco23[:, :17]
        transl = self._translation(batch, joints)
        return {
            "global_orient_cam1": R[:, 0], "global_orient": global_world, "body_pose": R[:, 1:], "betas": betas,
            "transl": transl, "joints3d": joints + transl[:, None], "vertices": body.vertices + transl[:, None],
        }

    @staticmethod
    def _translation(batch: dict, joints: Tensor) -> Tensor:
        """Metres ``(B, 3)`` that put the predicted mid-hip on the triangulated one (0 if untriangulable)."""
        with torch.no_grad():
            kp = batch["keypoints2d"][..., list(HIPS), :]  # (B, C, 2, 3)
            hips = triangulate(kp[..., :2], kp[..., 2], batch["K"], batch["dist"], batch["R"], batch["t"])
            ok = ((kp[..., 2] > 0).sum(-2) >= 2).all(-1)  # (B,)
            target = hips.mean(-2)
        pelvis = joints[:, list(HIPS)].mean(-2).detach()
        return torch.where(ok[:, None], target - pelvis, torch.zeros_like(target))

    def loss(self, batch: dict, pred: dict) -> tuple[Tensor, dict[str, float]]:
        w_j = float(self.options.get("w_joints", 1.0))
        w_r = float(self.options.get("w_rot", 0.5))
        w_b = float(self.options.get("w_betas", 0.01))
        from mvmocap.geometry.rotations import axis_angle_to_matrix

        gt_R1 = batch["R"][:, 0] @ axis_angle_to_matrix(batch["global_orient"])
        gt_body = axis_angle_to_matrix(batch["body_pose"])
        rot = ((pred["global_orient_cam1"] - gt_R1) ** 2).mean() + ((pred["body_pose"] - gt_body) ** 2).mean()
        p = pred["joints3d"] - pred["joints3d"][:, list(HIPS)].mean(-2, keepdim=True)
        g = batch["joints3d"] - batch["joints3d"][:, list(HIPS)].mean(-2, keepdim=True)
        joints = (p - g).norm(dim=-1).mean()
        betas = ((pred["betas"] - batch["betas"]) ** 2).mean()
        total = w_j * joints + w_r * rot + w_b * betas
        return total, {"loss_joints_m": float(joints.detach()), "loss_rot": float(rot.detach()), "loss_betas": float(betas.detach())}
