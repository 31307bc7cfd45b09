"""Multi-person figures on synthetic scenes whose detections carry their true person.

* **Identity switches** (MOTA's IDS): for each true person, the number of times the kept track
  holding it (the track whose 3D cluster has the person's detections in the majority) changes
  between consecutive frames where it is held.
* **Missed frames**: person-frames detected in two or more views that no kept track holds in 3D.
* **False people**: kept-track 3D frames that hold no person another kept track does not already
  hold in that frame (a duplicate or a phantom), plus frames of kept tracks beyond the true count.
* **MPJPE / PA-MPJPE** (mm, COCO-17, hips-aligned for MPJPE) of each person's track triangulated
  (robustly, from the track's detections) against the truth, next to the same person
  triangulated *alone*: from its own detections by the true labels -- same noise and occlusion,
  no association. Their ratio is the cost of association and tracking.
"""

from __future__ import annotations

import numpy as np
import torch

from mvmocap.evaluate.metrics import pa_mpjpe, per_joint_errors


def holders(truth: np.ndarray, tracks, num_people: int) -> np.ndarray:
    """``(N, F)`` int: the index (into ``tracks``) of the kept track holding each person in 3D, -1 = none."""
    C, F = truth.shape[:2]
    held = np.full((num_people, F), -1, np.int64)
    for k, track in enumerate(tracks):
        for f in np.flatnonzero(track.has_3d):
            labels = [truth[c, f, track.slots[c, f]] for c in range(C) if track.slots[c, f] >= 0]
            labels = [label for label in labels if label >= 0]
            if labels:
                person = int(np.bincount(labels).argmax())
                if held[person, f] < 0:
                    held[person, f] = k
    return held


def tracking_counts(truth: np.ndarray, tracks, num_people: int) -> dict:
    """Identity switches, missed frames and false people (see the module docstring)."""
    held = holders(truth, tracks, num_people)
    switches = 0
    for row in held:
        ids = row[row >= 0]
        switches += int((ids[1:] != ids[:-1]).sum())
    views = np.stack([(truth == n).any(-1).sum(0) for n in range(num_people)])  # (N, F) cameras seeing n
    visible = views >= 2
    missed = int((visible & (held < 0)).sum())
    track_frames = sum(int(t.has_3d.sum()) for t in tracks)
    false = track_frames - int((held >= 0).sum())
    return {"identity_switches": switches, "missed_frames": missed, "false_people": false,
            "person_frames": int(visible.sum())}


def mpjpe_pair(rig, keypoints_track: np.ndarray, keypoints_alone: np.ndarray, truth_joints: np.ndarray,
               threshold_px: float = 20.0) -> dict:
    """MPJPE / PA-MPJPE (mm) of a track's and of the alone detections ``(C, F, 23, 3)`` vs ``truth_joints (F, 23, 3)``.

    Compared on the frames where both reconstructions have all 17 COCO joints.
    """
    def triangulate(kp):
        kp = torch.from_numpy(np.ascontiguousarray(np.asarray(kp).transpose(1, 0, 2, 3))).to(torch.float64)
        conf = torch.where(kp[..., 2] >= 0.2, kp[..., 2], torch.zeros_like(kp[..., 2]))
        tri = rig.triangulate_robust(kp[..., :2], conf, threshold_px=threshold_px)
        return tri.points[:, :17], tri.confidence[:, :17] > 0

    track_points, track_ok = triangulate(keypoints_track)
    alone_points, alone_ok = triangulate(keypoints_alone)
    frames = (track_ok.all(-1) & alone_ok.all(-1)).numpy()
    gt = torch.from_numpy(truth_joints[:, :17]).to(torch.float64)[frames]
    result = {"frames": int(frames.sum())}
    for name, points in (("multi", track_points[frames]), ("alone", alone_points[frames])):
        result[f"mpjpe_{name}_mm"] = float(per_joint_errors(points, gt).mean()) if frames.any() else float("nan")
        result[f"pa_mpjpe_{name}_mm"] = float(pa_mpjpe(points, gt).mean()) if frames.any() else float("nan")
    return result
