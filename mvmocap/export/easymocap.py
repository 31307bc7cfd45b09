"""EasyMocap SMPL JSON export: one file per frame, ``smpl/NNNNNN.json`` (the frame's video number).

Each file is a list of people, here one: ``{"id": 0, "Rh": [[3]], "Th": [[3]], "poses": [[72]],
"shapes": [[10]]}``. EasyMocap's convention moves the global rotation out of ``poses`` (its first
three values are zero) into ``Rh`` (axis-angle) and ``Th`` (metres), applied to the posed body
*after* skinning: ``vertices = R(Rh) @ body(poses, shapes) + Th``. SMPL/smplx instead rotate about
the pelvis joint ``J0`` and then add ``transl``, so ``Rh = global_orient`` and
``Th = transl + J0 - R(Rh) @ J0`` (``J0`` of the fitted shape). World frame unchanged (+Z up);
``shapes`` are the body model's betas (the open bodies' betas are not SMPL's).
Frames where nobody was seen are left out.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from mvmocap.export.run_files import RunResult
from mvmocap.io.atomic import atomic_write_text


def easymocap_frames(run: RunResult) -> list[tuple[int, dict]]:
    """``(frame_id, person dict)`` for every valid frame."""
    p = run.params
    rh = p.global_orient.numpy()
    rotation = run.local_rotations[:, 0]  # (F, 3, 3)
    j0 = run.rest_joints[0]
    th = p.transl.numpy() + j0 - rotation @ j0
    body_pose = p.body_pose.reshape(run.num_frames, -1).numpy()
    shapes = p.betas.numpy().tolist()
    people = []
    for f in np.flatnonzero(run.valid):
        poses = np.concatenate([np.zeros(3), body_pose[f]])
        people.append((int(run.frame_ids[f]), {"id": 0, "Rh": [rh[f].tolist()], "Th": [th[f].tolist()],
                                               "poses": [poses.tolist()], "shapes": [shapes]}))
    return people


def write_easymocap(run: RunResult, folder: str | Path) -> Path:
    """Write ``folder/smpl/NNNNNN.json`` (each atomically) and return ``folder/smpl``."""
    out = Path(folder) / "smpl"
    out.mkdir(parents=True, exist_ok=True)
    for frame_id, person in easymocap_frames(run):
        atomic_write_text(out / f"{frame_id:06d}.json", json.dumps([person]))
    return out
