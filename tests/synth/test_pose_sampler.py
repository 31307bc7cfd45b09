import math

import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.synth.pose_sampler import (
    ALL_FAMILIES,
    EXTRA_FAMILIES,
    FAMILIES,
    FAMILY_TILT,
    JOINT_LIMITS,
    tilt_off_vertical,
    floor_translation,
    plausibility,
    sample_poses,
)


def test_shapes_families_and_determinism():
    a = sample_poses(12, torch.Generator().manual_seed(3))
    b = sample_poses(12, torch.Generator().manual_seed(3))
    c = sample_poses(12, torch.Generator().manual_seed(4))
    assert a.global_orient.shape == (12, 3) and a.body_pose.shape == (12, 23, 3) and a.family.shape == (12,)
    assert torch.equal(a.body_pose, b.body_pose) and torch.equal(a.global_orient, b.global_orient)
    assert not torch.allclose(a.body_pose, c.body_pose)
    assert a.family.min() >= 0 and a.family.max() < len(FAMILIES)


def test_joint_limits_hold():
    s = sample_poses(200, torch.Generator().manual_seed(0))
    pose = torch.cat([torch.zeros(200, 1, 3, dtype=s.body_pose.dtype), s.body_pose], 1)
    for j, limits in JOINT_LIMITS.items():
        for k, (lo, hi) in enumerate(limits):
            assert pose[:, j, k].min() >= lo - 1e-9 and pose[:, j, k].max() <= hi + 1e-9


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_upright_on_the_floor(toy_body, family):
    g = torch.Generator().manual_seed(1)
    s = sample_poses(16, g, families=(family,))
    assert torch.all(s.family == FAMILIES.index(family))
    out = toy_body(global_orient=s.global_orient.float(), body_pose=s.body_pose.float())
    t = floor_translation(out.vertices, g).float()
    verts = out.vertices + t[:, None]
    joints = out.joints + t[:, None]
    assert torch.allclose(verts[..., 2].amin(-1), torch.zeros(16), atol=1e-5)
    # Head above pelvis: +Z is up in the world.
    assert torch.all(joints[:, 15, 2] > joints[:, 0, 2])
    horizontal = (joints[:, 0, :2]).norm(dim=-1)
    assert horizontal.max() < 1.0


def test_yaw_is_spread_over_the_circle(toy_body):
    s = sample_poses(400, torch.Generator().manual_seed(2), families=("standing",))
    out = toy_body(global_orient=s.global_orient.float(), body_pose=s.body_pose.float())
    front = out.joints[:, 1] - out.joints[:, 2]  # right hip -> left hip
    yaw = torch.atan2(front[:, 1], front[:, 0])
    hist = torch.histc(yaw, bins=4, min=-math.pi, max=math.pi)
    assert hist.min() > 60


def test_plausibility_flags_a_forearm_through_the_torso():
    joints = torch.zeros(2, 24, 3)
    joints[:, 12] = torch.tensor([0.0, 0.0, 0.5])  # neck above pelvis
    for side, (sh, el, wr, hip, kn, an) in enumerate([(16, 18, 20, 1, 4, 7), (17, 19, 21, 2, 5, 8)]):
        x = 0.2 if side == 0 else -0.2
        joints[:, sh] = torch.tensor([x, 0.0, 0.45])
        joints[:, el] = torch.tensor([x + 0.05 * (1 if x > 0 else -1), 0.0, 0.2])
        joints[:, wr] = torch.tensor([x + 0.1 * (1 if x > 0 else -1), 0.0, 0.0])
        joints[:, hip] = torch.tensor([x / 2, 0.0, -0.1])
        joints[:, kn] = torch.tensor([x / 2, 0.0, -0.5])
        joints[:, an] = torch.tensor([x / 2, 0.0, -0.9])
    joints[:, 15] = torch.tensor([0.0, 0.0, 0.65])
    joints[1, 20] = torch.tensor([-0.05, 0.0, 0.1])  # left wrist through the belly
    joints[1, 18] = torch.tensor([0.1, 0.05, 0.2])
    coco = torch.zeros(2, 23, 3)
    coco[:, 15:17, 2] = -0.9
    flags = plausibility(joints, coco)
    assert flags["self_penetration"].tolist() == [False, True]
    assert flags["lowest_not_foot"].tolist() == [False, False]


def test_rejects_unknown_family():
    with pytest.raises(InputError):
        sample_poses(2, torch.Generator(), families=("flying",))


def test_one_generator_per_sample_matches_single_draws():
    gens = [torch.Generator().manual_seed(100 + i) for i in range(5)]
    batched = sample_poses(5, gens)
    for i in range(5):
        alone = sample_poses(1, torch.Generator().manual_seed(100 + i))
        assert batched.family[i] == alone.family[0]
        assert torch.allclose(batched.body_pose[i], alone.body_pose[0], atol=1e-9)
        assert torch.allclose(batched.global_orient[i], alone.global_orient[0], atol=1e-9)
    with pytest.raises(InputError):
        sample_poses(3, gens)


def _tilt_deg(global_orient: torch.Tensor) -> torch.Tensor:
    """Angle (deg) between the body's rest up axis (+y) turned into the world and the world's +Z."""
    from mvmocap.geometry.rotations import axis_angle_to_matrix

    up = axis_angle_to_matrix(global_orient)[..., :, 1]
    return torch.rad2deg(torch.acos(up[..., 2].clamp(-1, 1)))


def test_default_families_stay_upright():
    s = sample_poses(100, torch.Generator().manual_seed(5))
    assert _tilt_deg(s.global_orient).max() < 1e-4  # acos near 1 amplifies rounding


@pytest.mark.parametrize("family", EXTRA_FAMILIES)
def test_extra_families_tilt_within_their_range_and_stay_plausible(toy_body, family):
    s = sample_poses(64, torch.Generator().manual_seed(6), families=(family,))
    assert torch.all(s.family == ALL_FAMILIES.index(family))
    lo, hi = FAMILY_TILT.get(family, (0.0, 0.0))
    tilt = _tilt_deg(s.global_orient)
    assert tilt.min() >= math.degrees(lo) - 1e-6 and tilt.max() <= math.degrees(hi) + 1e-4
    assert tilt.max() - tilt.min() >= 0.5 * math.degrees(hi - lo)  # spread, not a constant
    pose = torch.cat([torch.zeros(64, 1, 3, dtype=s.body_pose.dtype), s.body_pose], 1)
    for j, limits in JOINT_LIMITS.items():
        for k, (a, b) in enumerate(limits):
            assert pose[:, j, k].min() >= a - 1e-9 and pose[:, j, k].max() <= b + 1e-9
    out = toy_body(global_orient=s.global_orient.float(), body_pose=s.body_pose.float())
    assert torch.all(out.joints[:, 15, 2] > out.joints[:, 0, 2])  # still head over pelvis


def test_leg_raise_lifts_one_knee_high(toy_body):
    s = sample_poses(64, torch.Generator().manual_seed(7), families=("leg_raise",))
    out = toy_body(global_orient=s.global_orient.float(), body_pose=s.body_pose.float())
    knees = out.joints[:, [4, 5], 2] - out.joints[:, [1, 2], 2]  # knee height over its hip
    # the raised thigh is flexed by >= 0.5 rad: its knee rises well above a hanging knee's -0.37 m
    assert float((knees.amax(-1) > knees.amin(-1) + 0.04).float().mean()) > 0.9


def test_tilt_off_vertical_is_a_rotation_about_a_horizontal_axis():
    R = tilt_off_vertical(0.2, 0.5, 50, torch.Generator().manual_seed(8))
    assert torch.allclose(R @ R.transpose(-1, -2), torch.eye(3, dtype=R.dtype).expand(50, 3, 3), atol=1e-12)
    angle = torch.rad2deg(torch.acos(R[:, 2, 2]))
    assert angle.min() >= math.degrees(0.2) - 1e-9 and angle.max() <= math.degrees(0.5) + 1e-9


def _arm_angles(toy_body, s):
    """Per arm (left, right), in the body's rest frame: upper-arm elevation from hanging (deg) and
    elbow flexion (rad)."""
    out = toy_body(global_orient=torch.zeros_like(s.global_orient).float(), body_pose=s.body_pose.float())
    d = out.joints[:, [18, 19]] - out.joints[:, [16, 17]]  # shoulder -> elbow, rest frame (y up, z front)
    d = d / d.norm(dim=-1, keepdim=True)
    elevation = torch.rad2deg(torch.acos((-d[..., 1]).clamp(-1, 1)))
    flexion = s.body_pose[:, [17, 18], 1].abs().float()  # SMPL elbows (joints 18, 19) bend about y
    return elevation, flexion


def test_gesturing_covers_arm_poses_the_default_families_miss(toy_body):
    g = torch.Generator().manual_seed(9)
    default = _arm_angles(toy_body, sample_poses(512, g))
    gesturing = _arm_angles(toy_body, sample_poses(512, g, families=("gesturing",)))

    def raised_and_bent(angles):  # arm above horizontal-ish with the elbow bent past 90 degrees
        elevation, flexion = angles
        return (elevation > 80) & (flexion > 1.6)

    assert not bool(raised_and_bent(default).any())
    assert float(raised_and_bent(gesturing).float().mean()) > 0.05
    assert float(gesturing[0].max()) > 130.0  # and still able to rise overhead
