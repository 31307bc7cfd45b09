"""Identities over time: 3D tracks from the per-frame clusters, 2D tracks for people seen by one camera.

Rules (defaults in :class:`TrackingConfig`):

* **Matching.** Each frame, the 3D clusters are assigned to the live tracks by the Hungarian
  method on the distance between the cluster's root (torso centre) and the track's predicted
  root. The prediction is robust to a single faulty reconstruction: the anchor is the median of
  the 3D roots of the last ``history`` frames, moved at constant velocity (the median root of
  the last ``history`` frames minus that of the ``history`` frames before, over their frame
  distance; kept from before while either window is empty; capped at ``max_speed_m`` per frame);
  vertical differences count half (:func:`root_distance`: a misdetected hip moves the root up or
  down, people move along the floor). A pair farther than the gate
  ``gate_m + gate_growth_m * frames_missed`` (capped at ``max_gate_m``) is never matched.
* **New identities.** A 3D cluster that matches no live track starts a new identity only
  when it lies farther than ``new_track_min_m`` from every live track's prediction and recent
  position; nearer, it
  is taken as a faulty reconstruction of a person already tracked (its detections stay
  single-view ones, see below). Tracks younger than ``young_frames`` 3D frames pay
  ``young_penalty_m`` in the matching, so an established identity wins a tie.
* **Occlusion.** A track not matched stays live for ``max_gap`` frames, predicted forward;
  matched again within that time it keeps its identity. While it is live, single-view
  detections that lie on its predicted projection (mean joint distance below
  ``attach_gate`` x box diagonal) are attached to it, so a person seen by one camera for a
  moment keeps that evidence.
* **Re-entry.** A 3D cluster that matches no live track first looks at the ended tracks: it
  takes the identity of the one whose body size (the median over its sightings of the mean trunk
  side + thigh + shin length, :func:`body_size`)
  is within ``reentry_size_tol`` (relative) and whose last root -- or that root carried on at
  the track's last velocity to this frame -- is within ``reentry_radius_m`` of it (the nearest
  such track). Otherwise a new identity starts.
* **2D tracks.** Single-view detections attached to no 3D track are linked per camera by box
  overlap (Hungarian on IoU >= ``min_iou_2d``, gaps up to ``max_gap`` frames). They are reported,
  never triangulated or fitted.
* **Selection** (:func:`select_tracks`): tracks with fewer than ``min_track_frames`` 3D frames are
  dropped as passers-by; of the rest, ``max_people`` with the most 3D frames are kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from mvmocap.associate.cross_view import Cluster
from mvmocap.detect.tracking import box_iou
from mvmocap.geometry.camera import CameraRig

# COCO-23 bones that measure a body's size: trunk sides, thighs, shins (left and right)
SIZE_BONES = ((5, 11), (6, 12), (11, 13), (12, 14), (13, 15), (14, 16))
NO_MATCH = 1e9


@dataclass(frozen=True)
class TrackingConfig:
    gate_m: float = 0.3  # root distance gate when matched in the previous frame
    gate_growth_m: float = 0.05  # added per missed frame
    max_gate_m: float = 1.5
    max_gap: int = 30  # frames a lost track waits before it ends
    reentry_size_tol: float = 0.08
    reentry_radius_m: float = 2.0
    attach_gate: float = 0.1  # single-view attachment: mean joint distance / box diagonal
    min_iou_2d: float = 0.3
    max_speed_m: float = 0.1  # per frame (6 m/s at 60 fps)
    history: int = 5  # frames whose 3D roots make the robust anchor of the prediction
    new_track_min_m: float = 0.5
    young_frames: int = 5
    young_penalty_m: float = 0.1


@dataclass
class Track:
    """One identity. ``slots (C, F)`` detection slot per camera and frame (-1 = not seen);
    ``has_3d (F,)`` frames with a triangulated cluster; ``roots (F, 3)`` m (0 elsewhere)."""

    id: int
    slots: np.ndarray
    has_3d: np.ndarray
    roots: np.ndarray
    sizes: list[float] = field(default_factory=list)
    reentries: int = 0
    last_frame: int = -1
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))
    last_joints: np.ndarray | None = None

    @property
    def frames_3d(self) -> int:
        return int(self.has_3d.sum())

    @property
    def frame_span(self) -> tuple[int, int]:
        seen = np.flatnonzero((self.slots >= 0).any(0))
        return (int(seen[0]), int(seen[-1])) if seen.size else (0, -1)

    @property
    def size_m(self) -> float:
        return float(np.median(self.sizes)) if self.sizes else float("nan")

    def anchor(self, history: int) -> tuple[np.ndarray, float]:
        """Median of the 3D roots of the last ``history`` frames ``(3,)`` m and their mean frame."""
        start = max(self.last_frame - history + 1, 0)
        frames = start + np.flatnonzero(self.has_3d[start : self.last_frame + 1])
        return np.median(self.roots[frames], axis=0), float(frames.mean())

    def predict(self, frame: int, history: int = 5) -> np.ndarray:
        """Robust constant-velocity prediction of the root at ``frame`` (see the module docstring)."""
        if self.last_frame < 0:
            return np.zeros(3)
        position, at = self.anchor(history)
        return position + self.velocity * (frame - at)


@dataclass
class Track2D:
    """A person seen by one camera only: ``camera`` index and ``slots (F,)`` (-1 = not seen)."""

    id: int
    camera: int
    slots: np.ndarray
    last_frame: int = -1
    last_box: np.ndarray | None = None

    @property
    def frames(self) -> int:
        return int((self.slots >= 0).sum())


@dataclass
class Tracking:
    tracks: list[Track]
    tracks_2d: list[Track2D]


def root_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Distance between roots ``(3,)`` m (world +Z up) with the vertical difference halved."""
    return float(np.linalg.norm((np.asarray(a) - np.asarray(b)) * np.array([1.0, 1.0, 0.5])))


def body_size(joints: np.ndarray, confidence: np.ndarray) -> float | None:
    """Mean trunk-side + thigh + shin length of ``joints (23, 3)`` m (both sides); None when a bone is missing."""
    ok = confidence > 0
    lengths = [np.linalg.norm(joints[a] - joints[b]) for a, b in SIZE_BONES if ok[a] and ok[b]]
    if len(lengths) < len(SIZE_BONES):
        return None
    return float(np.sum(lengths) / 2)


class Tracker:
    """Frame-by-frame identity tracking over ``clusters[f]`` (see the module docstring)."""

    def __init__(self, num_cameras: int, num_frames: int, keypoints: np.ndarray, boxes: np.ndarray,
                 rig: CameraRig, config: TrackingConfig):
        self.C, self.F = num_cameras, num_frames
        self.keypoints, self.boxes, self.rig, self.config = keypoints, boxes, rig, config
        self.tracks: list[Track] = []
        self.tracks_2d: list[Track2D] = []

    def run(self, clusters: list[list[Cluster]]) -> Tracking:
        for frame, frame_clusters in enumerate(clusters):
            three_d = [c for c in frame_clusters if c.is_3d]
            singles = [(v, s) for c in frame_clusters if not c.is_3d for v, s in c.views.items()]
            rejected = self._match_3d(frame, three_d)
            singles += [(v, s) for c in rejected for v, s in c.views.items()]
            singles = self._attach_singles(frame, singles)
            self._track_2d(frame, singles)
        return Tracking(self.tracks, self.tracks_2d)

    # -- 3D -----------------------------------------------------------------------------------
    def _live(self, frame: int) -> list[Track]:
        return [t for t in self.tracks if frame - t.last_frame <= self.config.max_gap]

    def _match_3d(self, frame: int, clusters: list[Cluster]) -> list[Cluster]:
        """Assign ``clusters`` to tracks (updating them); return the clusters rejected as faulty."""
        cfg = self.config
        live = self._live(frame)
        cost = np.full((len(live), len(clusters)), NO_MATCH)
        for i, track in enumerate(live):
            gap = frame - track.last_frame
            gate = min(cfg.gate_m + cfg.gate_growth_m * (gap - 1), cfg.max_gate_m)
            for j, cluster in enumerate(clusters):
                d = root_distance(cluster.root, track.predict(frame, cfg.history))
                if d <= gate:
                    cost[i, j] = d + (cfg.young_penalty_m if track.frames_3d < cfg.young_frames else 0.0)
        assigned: dict[int, Track] = {}
        if cost.size:
            for i, j in zip(*linear_sum_assignment(cost)):
                if cost[i, j] < NO_MATCH:
                    assigned[j] = live[i]
        rejected = []
        for j, cluster in enumerate(clusters):
            track = assigned.get(j) or self._reentry(frame, cluster, exclude=set(id(t) for t in live))
            if track is None:
                near = [min(root_distance(cluster.root, t.predict(frame, cfg.history)),
                            root_distance(cluster.root, t.anchor(cfg.history)[0])) for t in live]
                if near and min(near) < cfg.new_track_min_m:
                    rejected.append(cluster)
                    continue
                track = self._new_track()
            self._update(track, frame, cluster)
        return rejected

    def _reentry(self, frame: int, cluster: Cluster, exclude: set[int]) -> Track | None:
        cfg = self.config
        size = body_size(cluster.joints, cluster.confidence)
        if size is None:
            return None
        best, best_d = None, np.inf
        for track in self.tracks:
            if id(track) in exclude or track.last_frame == frame or not track.sizes:
                continue
            if abs(size - track.size_m) > cfg.reentry_size_tol * track.size_m:
                continue
            d = min(root_distance(cluster.root, track.anchor(cfg.history)[0]),
                    root_distance(cluster.root, track.predict(frame, cfg.history)))
            if d <= cfg.reentry_radius_m and d < best_d:
                best, best_d = track, d
        if best is not None:
            best.reentries += 1
            best.velocity = np.zeros(3)
        return best

    def _new_track(self) -> Track:
        track = Track(id=len(self.tracks), slots=np.full((self.C, self.F), -1, np.int64),
                      has_3d=np.zeros(self.F, bool), roots=np.zeros((self.F, 3)))
        self.tracks.append(track)
        return track

    def _update(self, track: Track, frame: int, cluster: Cluster) -> None:
        continuing = track.last_frame >= 0 and frame - track.last_frame <= self.config.max_gap
        for view, slot in cluster.views.items():
            track.slots[view, frame] = slot
        track.has_3d[frame] = True
        track.roots[frame] = cluster.root
        track.last_frame = frame
        if continuing:
            track.velocity = self._velocity(track)
        track.last_joints = np.where(cluster.confidence[:, None] > 0, cluster.joints, np.nan)
        size = body_size(cluster.joints, cluster.confidence)
        if size is not None:
            track.sizes.append(size)

    def _velocity(self, track: Track) -> np.ndarray:
        """Median root of the last ``history`` frames minus that of the ``history`` before, per frame;
        the previous velocity when either window has no 3D root (e.g. just after a gap)."""
        h = self.config.history
        start = max(track.last_frame - 2 * h + 1, 0)
        frames = start + np.flatnonzero(track.has_3d[start : track.last_frame + 1])
        old, new = frames[frames <= track.last_frame - h], frames[frames > track.last_frame - h]
        if not old.size or not new.size:
            return track.velocity
        velocity = (np.median(track.roots[new], 0) - np.median(track.roots[old], 0)) / (new.mean() - old.mean())
        speed = float(np.linalg.norm(velocity))
        return velocity * min(1.0, self.config.max_speed_m / max(speed, 1e-12))

    # -- single views -------------------------------------------------------------------------
    def _attach_singles(self, frame: int, singles: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Attach single-view detections to live tracks that lie on them; return the rest."""
        live = [t for t in self._live(frame) if t.last_joints is not None]
        if not singles or not live:
            return singles
        rest = []
        for camera in sorted({v for v, _ in singles}):
            here = [(v, s) for v, s in singles if v == camera]
            candidates = [t for t in live if t.slots[camera, frame] < 0]
            cost = np.full((len(candidates), len(here)), NO_MATCH)
            for i, track in enumerate(candidates):
                joints = track.last_joints + (track.predict(frame, self.config.history) - track.roots[track.last_frame])
                projected = self.rig.project(np.nan_to_num(joints)[None])[0, camera].numpy()  # (23, 2)
                for j, (_, slot) in enumerate(here):
                    cost[i, j] = self._projection_cost(projected, ~np.isnan(joints[:, 0]), camera, frame, slot)
            taken = set()
            if cost.size:
                for i, j in zip(*linear_sum_assignment(cost)):
                    if cost[i, j] <= self.config.attach_gate:
                        candidates[i].slots[camera, frame] = here[j][1]
                        taken.add(j)
            rest.extend(item for j, item in enumerate(here) if j not in taken)
        return rest

    def _projection_cost(self, projected: np.ndarray, known: np.ndarray, camera: int, frame: int, slot: int) -> float:
        kp = self.keypoints[camera, frame, slot]
        use = known & (kp[:, 2] >= 0.3)
        if use.sum() < 5:
            return NO_MATCH
        box = self.boxes[camera, frame, slot]
        diagonal = max(float(np.hypot(box[2] - box[0], box[3] - box[1])), 1.0)
        return float(np.linalg.norm(projected[use] - kp[use, :2], axis=-1).mean() / diagonal)

    def _track_2d(self, frame: int, singles: list[tuple[int, int]]) -> None:
        cfg = self.config
        for camera in sorted({v for v, _ in singles}):
            slots = [s for v, s in singles if v == camera]
            live = [t for t in self.tracks_2d if t.camera == camera and frame - t.last_frame <= cfg.max_gap]
            boxes = self.boxes[camera, frame, slots, :4]
            taken: dict[int, Track2D] = {}
            if live:
                iou = box_iou(np.stack([t.last_box for t in live]), boxes)
                for i, j in zip(*linear_sum_assignment(-iou)):
                    if iou[i, j] >= cfg.min_iou_2d:
                        taken[j] = live[i]
            for j, slot in enumerate(slots):
                track = taken.get(j)
                if track is None:
                    track = Track2D(id=len(self.tracks_2d), camera=camera, slots=np.full(self.F, -1, np.int64))
                    self.tracks_2d.append(track)
                track.slots[frame] = slot
                track.last_frame = frame
                track.last_box = boxes[j]


def track(clusters: list[list[Cluster]], keypoints: np.ndarray, boxes: np.ndarray, rig: CameraRig,
          config: TrackingConfig | None = None) -> Tracking:
    """3D and 2D tracks from ``clusters[f]`` (:func:`mvmocap.associate.cross_view.associate`).

    ``keypoints (C, F, P, 23, 3)`` and ``boxes (C, F, P, 5)`` are the detections the clusters index.
    """
    C, F = keypoints.shape[:2]
    return Tracker(C, F, np.asarray(keypoints), np.asarray(boxes), rig, config or TrackingConfig()).run(clusters)


def select_tracks(tracking: Tracking, max_people: int, min_track_frames: int) -> tuple[list[Track], dict[int, str]]:
    """The kept tracks (most 3D frames first, at most ``max_people``) and why each other one was dropped."""
    ranked = sorted(tracking.tracks, key=lambda t: (-t.frames_3d, t.id))
    kept, dropped = [], {}
    for track in ranked:
        if track.frames_3d < min_track_frames:
            dropped[track.id] = f"short: {track.frames_3d} frames in 3D < {min_track_frames}"
        elif len(kept) >= max_people:
            dropped[track.id] = f"beyond --max-people {max_people}"
        else:
            kept.append(track)
    return kept, dropped
