"""Cross-view association: which detections in C calibrated cameras are the same person, per frame.

Shapes: ``keypoints (C, F, P, 23, 3)`` pixels + confidence (P detection slots per camera and
frame, in no order), a :class:`~mvmocap.geometry.camera.CameraRig` of the same C cameras
(OpenCV, ``x_cam = R x_world + t``, metres).

Method (per frame, all views at once):

1. **Affinity.** Every detection's confident joints become world rays from its camera centre.
   Two detections in different views score the median, over the joints both see, of the
   closest distance between their rays (metres): small when the joints meet in 3D.
2. **Greedy merge with a cluster check.** Start from one cluster per detection; take the
   pairs in increasing ray distance (below ``ray_gate_m``) and merge their clusters when
   (a) the clusters share no camera (at most one detection per view and person) and (b) the
   merged cluster still triangulates: the median reprojection residual of its confident
   joints, relative to its median box diagonal, stays below ``residual_gate``. Because every
   merge is tested on the whole cluster (all its views together), the result is
   cycle-consistent -- a partition of the detections -- unlike matching views pairwise.
3. Clusters of two or more views are triangulated (robustly) into 3D people; single-view
   clusters stay 2D observations (:mod:`mvmocap.associate.tracking` links them into 2D tracks).
4. **Split people.** One person can end up in two clusters when one bad detection keeps the
   whole set from triangulating (seen on the shared capture: two views + two views of the same
   person). Two 3D clusters whose roots lie closer than ``duplicate_root_m`` are one person: with
   disjoint views they are merged and triangulated again (the robust triangulation drops the bad
   view per joint); sharing a view, the smaller cluster's detections become single-view ones.

The root of a 3D cluster is its torso centre (the mean of the triangulated shoulders and hips
it has): steadier than the mid-hip point when a hip is misdetected.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from mvmocap.errors import InputError
from mvmocap.geometry.camera import CameraRig
from mvmocap.geometry.projection import undistort_points

TORSO = (5, 6, 11, 12)  # COCO shoulders and hips


@dataclass(frozen=True)
class AssociationConfig:
    """Gates of the association (defaults suit BlazePose on 1-10 m rigs)."""

    min_confidence: float = 0.3  # joints below are ignored
    min_joints: int = 5  # joints two detections must share to be compared
    ray_gate_m: float = 0.25  # median ray distance above which two detections are never merged
    residual_gate: float = 0.05  # merged cluster's median residual / box diagonal
    triangulation_threshold_px: float = 20.0  # robust triangulation of the final clusters
    duplicate_root_m: float = 0.35  # two 3D clusters with roots closer than this are one person


@dataclass(frozen=True)
class Cluster:
    """One person in one frame: ``views`` maps a camera index to its detection slot.

    ``joints (23, 3)`` m and ``confidence (23,)`` are the triangulated joints (None for a
    single-view cluster); ``root (3,)`` m is the torso centre (None when not triangulated).
    """

    views: dict[int, int]
    joints: np.ndarray | None = None
    confidence: np.ndarray | None = None
    root: np.ndarray | None = None

    @property
    def is_3d(self) -> bool:
        return self.root is not None


class RayCameras:
    """Precomputed rays of every detection: ``normalized (C, F, P, 23, 2)``, centres, rotations, focal."""

    def __init__(self, rig: CameraRig, keypoints: np.ndarray):
        kp = torch.as_tensor(np.asarray(keypoints)[..., :2], dtype=torch.float64)
        C = kp.shape[0]
        if C != len(rig):
            raise InputError(f"{C} cameras of detections for a rig of {len(rig)}")
        K, dist = rig.K.to(torch.float64), rig.dist.to(torch.float64)
        flat = kp.reshape(C, -1, 2)
        self.normalized = undistort_points(flat, K, dist).reshape(kp.shape).numpy()
        self.R = rig.R.to(torch.float64).numpy()
        self.t = rig.t.to(torch.float64).numpy()
        self.centers = -np.einsum("cji,cj->ci", self.R, self.t)  # C = -R^T t
        self.focal = K[:, 0, 0].numpy()

    def directions(self, frame: int) -> np.ndarray:
        """World ray directions ``(C, P, 23, 3)`` (unit) of frame ``frame``."""
        xy = self.normalized[:, frame]
        rays = np.concatenate([xy, np.ones(xy.shape[:-1] + (1,))], -1)
        # d_world[c] = R[c]^T d_cam: d[c, p, j, i] = sum_k R[c, k, i] ray[c, p, j, k]
        d = np.einsum("cki,cpjk->cpji", self.R, rays)
        return d / np.linalg.norm(d, axis=-1, keepdims=True)


def ray_distances(origins_a, dirs_a, origins_b, dirs_b) -> np.ndarray:
    """Closest distance between rays ``(..., 3)`` (unit directions) -> ``(...)`` metres."""
    cross = np.cross(dirs_a, dirs_b)
    norm = np.linalg.norm(cross, axis=-1)
    offset = origins_b - origins_a
    skew = np.abs(np.sum(offset * cross, -1)) / np.maximum(norm, 1e-12)
    # (almost) parallel rays: distance of b's origin to ray a
    along = np.sum(offset * dirs_a, -1, keepdims=True)
    parallel = np.linalg.norm(offset - along * dirs_a, axis=-1)
    return np.where(norm > 1e-9, skew, parallel)


def triangulate_normalized(xy: np.ndarray, weight: np.ndarray, R: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Linear DLT from undistorted normalised points ``xy (V, J, 2)``, weights ``(V, J)``, cameras
    ``R (V, 3, 3)``, ``t (V, 3)`` -> points ``(J, 3)`` m and a ``(J,)`` bool of solvable points."""
    P = np.concatenate([R, t[:, :, None]], -1)  # (V, 3, 4)
    rows_x = weight[..., None] * (xy[..., 0:1] * P[:, None, 2] - P[:, None, 0])  # (V, J, 4)
    rows_y = weight[..., None] * (xy[..., 1:2] * P[:, None, 2] - P[:, None, 1])
    M = np.einsum("vjk,vjl->jkl", rows_x, rows_x) + np.einsum("vjk,vjl->jkl", rows_y, rows_y)
    ok = ((weight > 0).sum(0) >= 2) & (np.abs(np.linalg.det(M[:, :3, :3])) > 1e-12)
    A = np.where(ok[:, None, None], M[:, :3, :3], np.eye(3))
    points = np.linalg.solve(A, -np.where(ok[:, None], M[:, :3, 3], 0.0)[..., None])[..., 0]
    return np.where(ok[:, None], points, 0.0), ok


class FrameAssociator:
    """Associates the detections of one frame; see the module docstring."""

    def __init__(self, rays: RayCameras, keypoints: np.ndarray, boxes: np.ndarray, config: AssociationConfig):
        self.rays = rays
        self.keypoints = keypoints  # (C, F, P, 23, 3)
        self.boxes = boxes  # (C, F, P, 5)
        self.config = config

    def __call__(self, frame: int) -> list[dict[int, int]]:
        """Clusters of frame ``frame`` as ``{camera: slot}`` dicts (every present detection in exactly one)."""
        cfg = self.config
        conf = self.keypoints[:, frame, ..., 2]  # (C, P, 23)
        present = self.boxes[:, frame, :, 4] > 0
        good = (conf >= cfg.min_confidence) & present[..., None]
        detections = [(int(c), int(p)) for c, p in zip(*np.nonzero(present))]
        clusters = [{int(c): int(p)} for c, p in detections]
        if len(detections) < 2:
            return clusters
        owner = {d: i for i, d in enumerate(detections)}
        for _, a, b in self._candidate_pairs(frame, detections, good):
            ia, ib = owner[a], owner[b]
            if ia == ib or set(clusters[ia]) & set(clusters[ib]):
                continue
            merged = {**clusters[ia], **clusters[ib]}
            if self._residual(frame, merged, good) > cfg.residual_gate:
                continue
            clusters[ia] = merged
            clusters[ib] = {}
            for view, slot in merged.items():
                owner[(view, slot)] = ia
        return [c for c in clusters if c]

    def _candidate_pairs(self, frame: int, detections, good: np.ndarray):
        """``(cost, a, b)`` for detection pairs of different views under the ray gate, cheapest first."""
        cams = np.array([c for c, _ in detections])
        slots = np.array([p for _, p in detections])
        directions = self.rays.directions(frame)[cams, slots]  # (N, 23, 3)
        mask = good[cams, slots]  # (N, 23)
        centers = self.rays.centers[cams][:, None]  # (N, 1, 3)
        # d[a, b, j]: closest distance between the rays of joint j of detections a and b
        d = ray_distances(centers[:, None], directions[:, None], centers[None], directions[None])
        both = mask[:, None] & mask[None]
        shared = both.sum(-1)
        with warnings.catch_warnings():  # pairs without a shared joint: all-NaN rows, excluded below
            warnings.simplefilter("ignore", RuntimeWarning)
            cost = np.nanmedian(np.where(both, d, np.nan), axis=-1)
        upper = np.triu(np.ones_like(shared, dtype=bool), 1) & (cams[:, None] != cams[None])
        ok = upper & (shared >= self.config.min_joints)
        ok[ok] &= cost[ok] <= self.config.ray_gate_m
        a, b = np.nonzero(ok)
        order = np.argsort(cost[a, b], kind="stable")
        return [(float(cost[a[i], b[i]]), detections[a[i]], detections[b[i]]) for i in order]

    def _residual(self, frame: int, cluster: dict[int, int], good: np.ndarray) -> float:
        """Median reprojection residual of the cluster's confident joints / its median box diagonal."""
        views = sorted(cluster)
        slots = [cluster[v] for v in views]
        xy = self.rays.normalized[views, frame, slots]  # (V, 23, 2)
        weight = good[views, slots].astype(np.float64)
        points, ok = triangulate_normalized(xy, weight, self.rays.R[views], self.rays.t[views])
        cam = np.einsum("vij,nj->vni", self.rays.R[views], points) + self.rays.t[views][:, None]
        in_front = cam[..., 2] > 1e-6
        projected = cam[..., :2] / np.where(in_front, cam[..., 2], 1.0)[..., None]
        error_px = np.linalg.norm(projected - xy, axis=-1) * self.rays.focal[views][:, None]
        use = (weight > 0) & ok[None] & in_front
        if use.sum() < self.config.min_joints or not in_front[(weight > 0) & ok[None]].all():
            return np.inf
        box = self.boxes[views, frame, slots]
        diagonal = np.median(np.hypot(box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]))
        return float(np.median(error_px[use]) / max(diagonal, 1.0))


def associate(keypoints: np.ndarray, boxes: np.ndarray, rig: CameraRig,
              config: AssociationConfig | None = None) -> list[list[Cluster]]:
    """Clusters per frame (3D ones first) for ``keypoints (C, F, P, 23, 3)``, ``boxes (C, F, P, 5)``.

    Every present detection (box score > 0) lands in exactly one cluster; clusters of 2+
    views carry robustly triangulated joints and their mid-hip root.
    """
    config = config or AssociationConfig()
    keypoints = np.asarray(keypoints, np.float64)
    boxes = np.asarray(boxes, np.float64)
    if keypoints.ndim != 5 or boxes.shape != keypoints.shape[:3] + (5,):
        raise InputError(f"associate needs keypoints (C, F, P, 23, 3) and boxes (C, F, P, 5), "
                         f"got {keypoints.shape} and {boxes.shape}")
    rays = RayCameras(rig, keypoints)
    frame_clusters = FrameAssociator(rays, keypoints, boxes, config)
    groups = [frame_clusters(frame) for frame in range(keypoints.shape[1])]
    # one batched robust triangulation for every multi-view group of every frame
    multi = [(frame, g) for frame, frame_groups in enumerate(groups) for g in frame_groups if len(g) >= 2]
    triangulated = _triangulate_groups(multi, keypoints, rig, config)
    per_frame: list[list[Cluster]] = [[] for _ in groups]
    for (frame, _), cluster in zip(multi, triangulated):
        per_frame[frame].append(cluster)
    result = []
    for frame, frame_groups in enumerate(groups):
        single = [Cluster(views=g) for g in frame_groups if len(g) < 2]
        result.append(_merge_split_people(per_frame[frame], single, frame, keypoints, rig, config))
    return result


def _merge_split_people(clusters: list[Cluster], single: list[Cluster], frame: int, keypoints: np.ndarray,
                        rig: CameraRig, config: AssociationConfig) -> list[Cluster]:
    """Step 4 of the module docstring; returns the 3D clusters first, then single-view ones."""
    while True:
        pair = _closest_duplicate(clusters, config.duplicate_root_m)
        if pair is None:
            break
        a, b = clusters[pair[0]], clusters[pair[1]]
        rest = [c for i, c in enumerate(clusters) if i not in pair]
        if set(a.views) & set(b.views):
            small, big = sorted((a, b), key=lambda c: (len(c.views), int((c.confidence > 0).sum())))
            clusters = rest + [big]
            single = single + [Cluster(views={v: s}) for v, s in small.views.items() if big.views.get(v) != s]
        else:
            clusters = rest + _triangulate_groups([(frame, {**a.views, **b.views})], keypoints, rig, config)
    three_d = [c for c in clusters if c.is_3d]
    single = single + [Cluster(views={v: s}) for c in clusters if not c.is_3d for v, s in c.views.items()]
    return three_d + single


def _triangulate_groups(groups: list[tuple[int, dict[int, int]]], keypoints: np.ndarray, rig: CameraRig,
                        config: AssociationConfig) -> list[Cluster]:
    """Robustly triangulated ``(frame, {camera: slot})`` groups, in one batch; a group whose joints
    do not survive stays views only (not 3D)."""
    if not groups:
        return []
    C = keypoints.shape[0]
    stacked = np.zeros((len(groups), C) + keypoints.shape[3:])
    for i, (frame, group) in enumerate(groups):
        for view, slot in group.items():
            stacked[i, view] = keypoints[view, frame, slot]
    conf = np.where(stacked[..., 2] >= config.min_confidence, stacked[..., 2], 0.0)
    tri = rig.triangulate_robust(torch.from_numpy(stacked[..., :2]), torch.from_numpy(conf),
                                 threshold_px=config.triangulation_threshold_px)
    out = []
    for i, (_, group) in enumerate(groups):
        joints, joint_conf = tri.points[i].numpy(), tri.confidence[i].numpy()
        if (joint_conf > 0).sum() < config.min_joints:  # did not survive robust triangulation: 2D only
            out.append(Cluster(views=group))
            continue
        out.append(Cluster(views=group, joints=joints, confidence=joint_conf, root=root_of(joints, joint_conf)))
    return out


def _closest_duplicate(clusters: list[Cluster], max_distance: float) -> tuple[int, int] | None:
    best, best_d = None, max_distance
    for i, a in enumerate(clusters):
        for j in range(i + 1, len(clusters)):
            b = clusters[j]
            if a.is_3d and b.is_3d:
                d = float(np.linalg.norm(a.root - b.root))
                if d < best_d:
                    best, best_d = (i, j), d
    return best


def root_of(joints: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Torso centre of ``joints (23, 3)``: mean of the confident shoulders and hips, else of all confident joints."""
    torso = np.zeros_like(confidence, dtype=bool)
    torso[list(TORSO)] = True
    ok = (confidence > 0) & torso
    if ok.any():
        return joints[ok].mean(0)
    ok = confidence > 0
    return joints[ok].mean(0) if ok.any() else joints.mean(0)
