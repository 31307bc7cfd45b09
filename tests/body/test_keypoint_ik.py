"""Analytic limb IK (mvmocap.body.keypoint_ik) on the shipped open body."""

import math

import pytest
import torch

from mvmocap.body import load_body_model
from mvmocap.body import keypoint_ik as ik
from mvmocap.body.lbs import forward_kinematics
from mvmocap.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from mvmocap.keypoints import COCO23

LIMB_POINTS = [COCO23.index(n) for n in ("left_elbow", "right_elbow", "left_wrist", "right_wrist",
                                          "left_knee", "right_knee", "left_ankle", "right_ankle")]
LIMB_ROWS = [15, 16, 17, 18, 0, 1, 3, 4]  # body_pose rows of shoulders, elbows, hips, knees


@pytest.fixture(scope="module")
def body():
    return load_body_model().to(dtype=torch.float64)


def _true_pose(n: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Plausible poses: arms lowered and bent forwards, knees and hips bent, some noise."""
    pose = 0.1 * torch.randn(n, 23, 3, generator=g, dtype=torch.float64)
    pose[:, 15, 2] += -1.0  # left shoulder down
    pose[:, 16, 2] += 1.0
    pose[:, 17, 1] = -torch.rand(n, generator=g, dtype=torch.float64) * 1.5 - 0.2  # left elbow flexion (sign -1)
    pose[:, 18, 1] = torch.rand(n, generator=g, dtype=torch.float64) * 1.5 + 0.2
    pose[:, 3, 0] = torch.rand(n, generator=g, dtype=torch.float64) * 1.2 + 0.1  # knees
    pose[:, 4, 0] = torch.rand(n, generator=g, dtype=torch.float64) * 1.2 + 0.1
    pose[:, 3, 1:] = pose[:, 4, 1:] = pose[:, 17, [0, 2]] = pose[:, 18, [0, 2]] = 0.0
    pose[:, 0, 0] = -torch.rand(n, generator=g, dtype=torch.float64) * 0.8  # hips flexed forwards
    pose[:, 1, 0] = -torch.rand(n, generator=g, dtype=torch.float64) * 0.8
    orient = 0.3 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    return axis_angle_to_matrix(orient), axis_angle_to_matrix(pose)


def _perturbed_limbs(pose: torch.Tensor, g: torch.Generator, scale: float = 0.4) -> torch.Tensor:
    """``pose`` with the limbs' root and middle joints turned by random rotations (hinges kept on axis)."""
    out = pose.clone()
    n = pose.shape[0]
    for row in (15, 16, 0, 1):  # shoulders and hips: any turn
        out[:, row] = axis_angle_to_matrix(scale * torch.randn(n, 3, generator=g, dtype=pose.dtype)) @ pose[:, row]
    for row, axis in ((17, 1), (18, 1), (3, 0), (4, 0)):  # elbows and knees: about the hinge
        turn = torch.zeros(n, 3, dtype=pose.dtype)
        turn[:, axis] = scale * torch.randn(n, generator=g, dtype=pose.dtype)
        out[:, row] = axis_angle_to_matrix(turn) @ pose[:, row]
    return out


def test_rotation_between_turns_u_onto_v():
    g = torch.Generator().manual_seed(0)
    u, v = torch.randn(2, 50, 3, generator=g, dtype=torch.float64)
    R = ik.rotation_between(u, v)
    turned = (R @ u[..., None])[..., 0]
    assert torch.allclose(turned / turned.norm(dim=-1, keepdim=True), v / v.norm(dim=-1, keepdim=True), atol=1e-10)
    assert torch.allclose(R @ R.transpose(-1, -2), torch.eye(3, dtype=R.dtype).expand(50, 3, 3), atol=1e-12)
    assert torch.allclose(torch.det(R), torch.ones(50, dtype=R.dtype))
    # parallel or zero vectors: the identity, never NaN
    same = ik.rotation_between(u, 2 * u)
    zero = ik.rotation_between(torch.zeros(3, dtype=torch.float64), u[0])
    assert torch.allclose(same, torch.eye(3, dtype=u.dtype).expand(50, 3, 3), atol=1e-7)
    assert torch.allclose(zero, torch.eye(3, dtype=u.dtype))


def test_twist_towards_aligns_the_parts_off_the_axis():
    g = torch.Generator().manual_seed(1)
    axis = torch.nn.functional.normalize(torch.randn(40, 3, generator=g, dtype=torch.float64), dim=-1)
    effector, target = torch.randn(2, 40, 3, generator=g, dtype=torch.float64)
    R = ik.twist_towards(effector, target, axis, min_arm=0.0)
    assert torch.allclose((R @ axis[..., None])[..., 0], axis, atol=1e-12)  # a turn about the axis

    def off_axis(v):
        w = v - (v * axis).sum(-1, keepdim=True) * axis
        return w / w.norm(dim=-1, keepdim=True)

    assert torch.allclose(off_axis((R @ effector[..., None])[..., 0]), off_axis(target), atol=1e-9)


def test_blended_targets():
    current = torch.zeros(3, 3, dtype=torch.float64)
    targets = torch.tensor([[0.01, 0, 0], [0.03, 0, 0], [0.5, 0, 0]], dtype=torch.float64)
    assert torch.equal(ik.blended_targets(current, targets, 0.0), targets)
    moved = ik.blended_targets(current, targets, 0.03)[:, 0]
    assert torch.allclose(moved, torch.tensor([0.01 * 0.1, 0.03 * 0.5, 0.5 * 0.25 / (0.25 + 0.0009)], dtype=torch.float64))


def test_flex_angle_reaches_the_wanted_distance():
    g = torch.Generator().manual_seed(2)
    n = 64
    root = torch.zeros(n, 3, dtype=torch.float64)
    middle = torch.tensor([0.0, -0.3, 0.0], dtype=torch.float64).expand(n, 3)
    axis = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64).expand(n, 3)
    bend = torch.rand(n, generator=g, dtype=torch.float64) * 2.0  # present flexion
    end = middle + (ik.rotation_about(axis, bend) @ torch.tensor([0.0, -0.28, 0.0], dtype=torch.float64))
    reach = 0.2 + 0.35 * torch.rand(n, generator=g, dtype=torch.float64)  # all reachable (0.02 .. 0.58 m)
    limb = ik.Limb(1, 4, 0, 1, 0, 1.0, 2.6)
    delta = ik.flex_angle(root, middle, end, axis, reach, bend, limb)
    moved = middle + (ik.rotation_about(axis, delta) @ (end - middle)[..., None])[..., 0]
    assert torch.allclose((moved - root).norm(dim=-1), reach, atol=1e-9)
    assert bool(((bend + delta) >= -0.05).all() and ((bend + delta) <= 2.6).all())  # the joint's range
    # out of reach: the limb straightens as far as it goes (the nearest reachable distance)
    far = ik.flex_angle(root, middle, end, axis, torch.full((n,), 2.0, dtype=torch.float64), bend, limb)
    assert torch.allclose(bend + far, torch.zeros(n, dtype=torch.float64), atol=1e-6)


def test_world_rotations_match_forward_kinematics(body):
    g = torch.Generator().manual_seed(3)
    go, pose = _true_pose(5, g)
    G = ik.world_rotations(go, pose)
    rotations = torch.cat([go[:, None], pose], 1)
    _, transforms = forward_kinematics(rotations, torch.zeros(5, 24, 3, dtype=torch.float64), tuple(
        int(p) for p in body.parents.tolist()))
    assert torch.allclose(G, transforms[..., :3], atol=1e-12)


def test_ik_brings_perturbed_limbs_back_to_their_keypoints(body):
    g = torch.Generator().manual_seed(4)
    n = 32
    go, pose = _true_pose(n, g)
    betas = 0.5 * torch.randn(n, 10, generator=g, dtype=torch.float64)
    transl = torch.randn(n, 3, generator=g, dtype=torch.float64)
    truth = body(global_orient=go, body_pose=pose, betas=betas, transl=transl).coco23
    start = _perturbed_limbs(pose, g)
    shift = 0.03 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    before = body(global_orient=go, body_pose=start, betas=betas, transl=transl + shift).coco23
    new_pose, new_transl = ik.solve_keypoint_ik(body, go, start, betas, transl + shift, truth,
                                                torch.ones(n, 23, dtype=torch.float64))
    after = body(global_orient=go, body_pose=new_pose, betas=betas, transl=new_transl).coco23
    err_before = (before - truth)[:, LIMB_POINTS].norm(dim=-1)
    err_after = (after - truth)[:, LIMB_POINTS].norm(dim=-1)
    assert float(err_before.mean()) > 0.08
    assert float(err_after.mean()) < 0.005 and float(err_after.max()) < 0.03
    # the joints the IK does not solve for are left alone, and the elbows and knees stay in range
    untouched = [r for r in range(23) if r not in LIMB_ROWS]
    assert torch.equal(new_pose[:, untouched], start[:, untouched])
    for row, axis, sign in ((17, 1, -1.0), (18, 1, 1.0), (3, 0, 1.0), (4, 0, 1.0)):
        flexion = sign * matrix_to_axis_angle(new_pose[:, row])[:, axis]
        assert bool((flexion > -0.1).all() and (flexion < 2.8).all()), row


def _mean_shape_case(body, seed: int, scale: float):
    """8 frames of the mean shape at the origin: ``(go, truth keypoints, start pose, betas, transl)``."""
    g = torch.Generator().manual_seed(seed)
    go, pose = _true_pose(8, g)
    betas = torch.zeros(8, 10, dtype=torch.float64)
    transl = torch.zeros(8, 3, dtype=torch.float64)
    truth = body(global_orient=go, body_pose=pose, betas=betas).coco23
    return go, truth, _perturbed_limbs(pose, g, scale), betas, transl


def test_ik_ignores_targets_without_confidence(body):
    go, truth, start, betas, transl = _mean_shape_case(body, 5, 0.4)
    confidence = torch.ones(8, 23, dtype=torch.float64)
    right_arm = [COCO23.index("right_elbow"), COCO23.index("right_wrist")]
    confidence[:, right_arm] = 0.0
    new_pose, _ = ik.solve_keypoint_ik(body, go, start, betas, transl, truth, confidence)
    assert torch.allclose(new_pose[:, [16, 18]], start[:, [16, 18]], atol=1e-12)  # right shoulder and elbow kept
    assert not torch.allclose(new_pose[:, [15, 17]], start[:, [15, 17]])  # the left arm moved
    # no target at all: the pose is kept, the translation too
    kept_pose, kept_transl = ik.solve_keypoint_ik(body, go, start, betas, transl, truth, torch.zeros(8, 23,
                                                                                                      dtype=torch.float64))
    assert torch.allclose(kept_pose, start, atol=1e-12) and torch.equal(kept_transl, transl)
    assert math.isfinite(float(kept_pose.sum()))


def test_ik_ignores_targets_beyond_outlier_m(body):
    go, truth, start, betas, transl = _mean_shape_case(body, 6, 0.1)
    wild = truth.clone()
    wrist = COCO23.index("left_wrist")
    wild[:, wrist] += torch.tensor([0.0, 0.0, 0.6], dtype=torch.float64)  # a mistriangulated wrist, 60 cm off
    ones = torch.ones(8, 23, dtype=torch.float64)
    believed, _ = ik.solve_keypoint_ik(body, go, start, betas, transl, wild, ones)
    robust, _ = ik.solve_keypoint_ik(body, go, start, betas, transl, wild, ones, outlier_m=0.3)

    def wrist_error(p):
        return float((body(global_orient=go, body_pose=p, betas=betas).coco23[:, wrist] - truth[:, wrist]).norm(dim=-1).mean())

    assert wrist_error(believed) > 0.2  # dragged towards the wild target
    assert wrist_error(robust) < wrist_error(start) + 0.01  # left where the elbow's target puts it


def _chains(n: int, g: torch.Generator):
    """Random chains ``root -> middle -> end`` (segments 0.25-0.45 m) and targets near them."""
    root = torch.randn(n, 3, generator=g, dtype=torch.float64)
    a = 0.25 + 0.2 * torch.rand(n, 1, generator=g, dtype=torch.float64)
    b = 0.25 + 0.2 * torch.rand(n, 1, generator=g, dtype=torch.float64)
    middle = root + a * ik._unit(torch.randn(n, 3, generator=g, dtype=torch.float64))
    end = middle + b * ik._unit(torch.randn(n, 3, generator=g, dtype=torch.float64))
    return root, middle, end, a, b


def test_chain_targets_keeps_the_segment_lengths_and_meets_reachable_targets():
    g = torch.Generator().manual_seed(11)
    root, middle, end, a, b = _chains(200, g)
    # reachable targets: another chain with the same lengths from the same root
    _, m_goal, e_goal, _, _ = _chains(200, g)
    m_goal = root + a * ik._unit(m_goal - root)
    e_goal = m_goal + b * ik._unit(e_goal - m_goal)
    m, e = ik.chain_targets(root, middle, end, m_goal, e_goal)
    assert torch.allclose(m, m_goal, atol=1e-9) and torch.allclose(e, e_goal, atol=1e-9)
    # unreachable targets (the root is off): lengths kept whatever the targets
    m, e = ik.chain_targets(root, middle, end, m_goal + 0.05 * torch.randn(200, 3, generator=g, dtype=torch.float64),
                            e_goal + 0.05 * torch.randn(200, 3, generator=g, dtype=torch.float64), middle_weight=2.0)
    assert torch.allclose((m - root).norm(dim=-1, keepdim=True), a, atol=1e-9)
    assert torch.allclose((e - m).norm(dim=-1, keepdim=True), b, atol=1e-9)
    # degenerate: targets on the root, a middle point on the root; finite, lengths still kept
    m, e = ik.chain_targets(root, middle, end, root, root)
    assert bool(torch.isfinite(m).all() and torch.isfinite(e).all())
    assert torch.allclose((m - root).norm(dim=-1, keepdim=True), a, atol=1e-9)
    m, e = ik.chain_targets(root, root, end, m_goal, e_goal)
    assert torch.allclose(m, root) and bool(torch.isfinite(e).all())


@pytest.mark.parametrize("middle_weight", [0.5, 1.0, 2.0])
def test_chain_targets_minimises_the_squared_distances(middle_weight):
    g = torch.Generator().manual_seed(12)
    n = 100
    root, middle, end, a, b = _chains(n, g)
    # targets a few centimetres off a chain of these lengths, as a displaced shoulder or hip leaves them
    m_goal = root + a * ik._unit(torch.randn(n, 3, generator=g, dtype=torch.float64))
    e_goal = m_goal + b * ik._unit(torch.randn(n, 3, generator=g, dtype=torch.float64))
    m_goal = m_goal + 0.04 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    e_goal = e_goal + 0.04 * torch.randn(n, 3, generator=g, dtype=torch.float64)

    def energy(m, e):
        return middle_weight * ((m - m_goal) ** 2).sum(-1) + ((e - e_goal) ** 2).sum(-1)

    m, e = ik.chain_targets(root, middle, end, m_goal, e_goal, middle_weight)
    # brute force: 20,000 directions of the first segment, each with the end on the line to its target
    k = torch.arange(20000, dtype=torch.float64) + 0.5
    z, phi = 1 - 2 * k / 20000, math.pi * (1 + 5**0.5) * k
    dirs = torch.stack([(1 - z**2).sqrt() * phi.cos(), (1 - z**2).sqrt() * phi.sin(), z], -1)  # (K, 3)
    grid_m = root[:, None] + a[:, None] * dirs  # (n, K, 3)
    grid_e = grid_m + b[:, None] * ik._unit(e_goal[:, None] - grid_m)
    best = (middle_weight * ((grid_m - m_goal[:, None]) ** 2).sum(-1) + ((grid_e - e_goal[:, None]) ** 2).sum(-1)).amin(1)
    assert bool((energy(m, e) <= best + 1e-6).all())


def test_ik_placement_shares_the_error_of_a_displaced_root(body, monkeypatch):
    """With the shoulders displaced (spine and collars turned), no arm meets both of its targets:
    the placed limbs miss them by less, in sum of squares, than limbs whose wrist and ankle are put
    on their targets (the IK without the placement step)."""
    go, truth, start, betas, transl = _mean_shape_case(body, 7, 0.3)
    g = torch.Generator().manual_seed(8)
    displaced = start.clone()
    for row in (2, 5, 12, 13):  # spine1, spine2 and the collars: the shoulders move, the hips do not
        displaced[:, row] = axis_angle_to_matrix(0.05 * torch.randn(8, 3, generator=g, dtype=torch.float64)) @ start[:, row]
    ones = torch.ones(8, 23, dtype=torch.float64)

    def limb_sse(solution):
        pose, moved = solution
        keypoints = body(global_orient=go, body_pose=pose, betas=betas, transl=moved).coco23
        return float(((keypoints - truth)[:, LIMB_POINTS] ** 2).sum())

    placed = ik.solve_keypoint_ik(body, go, displaced, betas, transl, truth, ones)
    monkeypatch.setattr(ik, "chain_targets", lambda root, middle, end, m_goal, e_goal, *args, **kw: (m_goal, e_goal))
    end_on_target = ik.solve_keypoint_ik(body, go, displaced, betas, transl, truth, ones)
    assert limb_sse(placed) < 0.6 * limb_sse(end_on_target)  # 0.31 here
