"""Left/right swaps of one camera's track undone with the other cameras' views (before the sub-frame search).

:func:`mvmocap.sync.smooth.unswap_in_time` makes a track's labels consistent in time, but it follows
whatever labelling the track starts with, and one missed swap flips every later frame: a camera can
end up with its left and right exchanged for most of the sequence. Such a camera's joints are then
outliers of the robust triangulation and its offset is decided by the few frames left, so the offset
drifts. With cameras, each of a camera's own frames is compared with the joints triangulated from the
*other* cameras at the same time (offsets as they stand) and projected into it: the frame is flipped
when its flipped labels are clearly closer. Needs at least three cameras (two others to triangulate).
Shapes: ``keypoints (F_c, J, 3)`` x, y pixels and confidence.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from mvmocap.geometry.camera import CameraRig
from mvmocap.keypoints import COCO23, flip_permutation
from mvmocap.sync.resample import interpolate, sample_positions
from mvmocap.sync.tracks import CameraTrack

FLIP_GAIN = 0.5  # flipped labels must be this much closer (mean pixel distance) than the current ones
MIN_JOINTS = 4


def flipped_frames(tracks: list[CameraTrack], rig: CameraRig, ratios, offsets, camera: int, *,
                   min_confidence: float = 0.2, threshold_px: float = 20.0) -> np.ndarray:
    """``(F_c,)`` bool: the frames of ``camera`` whose flipped labels agree clearly better with the others."""
    track = tracks[camera]
    J = track.keypoints.shape[1]
    perm = np.array(flip_permutation(COCO23[:J]))
    times = offsets[camera] + ratios[camera] * np.arange(track.num_frames)  # its frames on the timeline
    others = [k for k in range(len(tracks)) if k != camera]
    seen = np.stack([interpolate(tracks[k].keypoints, sample_positions(times, offsets[k], ratios[k])) for k in others], 1)
    seen = torch.from_numpy(seen)  # (F_c, C-1, J, 3)
    conf = torch.where(seen[..., 2] >= min_confidence, seen[..., 2], torch.zeros_like(seen[..., 2]))
    names = [rig.names[k] for k in others]
    tri = rig.subset(names).triangulate_robust(seen[..., :2], conf, threshold_px=threshold_px)
    projected = rig.subset([rig.names[camera]]).project(tri.points)[:, 0].numpy()  # (F_c, J, 2)
    kp = track.keypoints
    ok = (tri.confidence.numpy() > 0) & (kp[..., 2] >= min_confidence)  # (F_c, J)
    ok_flip = (tri.confidence.numpy() > 0) & (kp[:, perm, 2] >= min_confidence)
    keep = _mean_distance(kp[..., :2], projected, ok)
    flip = _mean_distance(kp[:, perm, :2], projected, ok_flip)
    return (ok.sum(1) >= MIN_JOINTS) & (ok_flip.sum(1) >= MIN_JOINTS) & (flip < FLIP_GAIN * keep)


def _mean_distance(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray:
    d = np.linalg.norm(a - b, axis=-1)
    return np.where(mask, d, 0.0).sum(1) / np.maximum(mask.sum(1), 1)


def unswap_with_cameras(tracks: list[CameraTrack], rig: CameraRig, ratios, offsets, *, rounds: int | None = None,
                        **options) -> tuple[list[CameraTrack], np.ndarray]:
    """The tracks with their flipped frames turned back, and the number of frames flipped per camera ``(C,)``.

    Each round finds the flipped frames of every camera against the others as they stand and turns back
    only those of the camera with the most (so a camera that is mostly flipped is repaired before it is
    used to judge the others); it stops when no frame is left to flip (at most ``rounds``, default 2 C).
    Unchanged with fewer than three cameras.
    """
    tracks = list(tracks)
    flipped = np.zeros(len(tracks), np.int64)
    if len(tracks) < 3:
        return tracks, flipped
    rig = rig.subset([t.name for t in tracks]).to(torch.float64)
    offsets, ratios = np.asarray(offsets, np.float64), np.asarray(ratios, np.float64)
    for _ in range(2 * len(tracks) if rounds is None else rounds):
        frames = [flipped_frames(tracks, rig, ratios, offsets, c, **options) for c in range(len(tracks))]
        c = int(np.argmax([f.sum() for f in frames]))
        if not frames[c].any():
            break
        J = tracks[c].keypoints.shape[1]
        kp = tracks[c].keypoints.copy()
        kp[frames[c]] = kp[frames[c]][:, np.array(flip_permutation(COCO23[:J]))]
        tracks[c] = replace(tracks[c], keypoints=kp)
        flipped[c] += int(frames[c].sum())
    return tracks, flipped
