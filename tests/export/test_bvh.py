"""BVH export, read back by an independent parser and forward kinematics."""

from __future__ import annotations

import numpy as np

from mvmocap.export.bvh import write_bvh
from mvmocap.export.run_files import load_run


def _rotation(axis: str, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    c, s = np.cos(a), np.sin(a)
    return {"X": np.array([[1, 0, 0], [0, c, -s], [0, s, c]]),
            "Y": np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]),
            "Z": np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])}[axis]


def parse_bvh(text: str):
    """(names, parents, offsets, channels per joint, frame time, motion (F, N)) of a BVH file."""
    tokens = text.split()
    names, parents, offsets, channels, stack = [], [], [], [], []
    i = 0
    assert tokens[i] == "HIERARCHY"
    i += 1
    while tokens[i] != "MOTION":
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            names.append(tokens[i + 1])
            parents.append(stack[-1] if stack else -1)
            i += 2
        elif tok == "End":
            names.append(None)
            parents.append(stack[-1])
            i += 2
        elif tok == "{":
            stack.append(len(names) - 1)
            i += 1
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            offsets.append([float(t) for t in tokens[i + 1:i + 4]])
            channels.append([])
            i += 4
        elif tok == "CHANNELS":
            n = int(tokens[i + 1])
            channels[-1] = tokens[i + 2:i + 2 + n]
            i += 2 + n
        else:
            raise AssertionError(f"unexpected token {tok}")
    frames = int(tokens[i + 2])
    frame_time = float(tokens[i + 5])
    motion = np.array([float(t) for t in tokens[i + 6:]]).reshape(frames, -1)
    return names, parents, np.array(offsets), channels, frame_time, motion


def forward_kinematics(parents, offsets, channels, motion_row) -> np.ndarray:
    """World positions of every joint (End Sites included) for one frame."""
    transforms, column = [], 0
    for j, parent in enumerate(parents):
        local = np.eye(4)
        local[:3, 3] = offsets[j]
        for channel in channels[j]:
            value = motion_row[column]
            column += 1
            if channel.endswith("position"):
                local[:3, 3] += value * (np.arange(3) == "XYZ".index(channel[0]))
            else:
                turn = np.eye(4)
                turn[:3, :3] = _rotation(channel[0], value)
                local = local @ turn
        transforms.append(local if parent < 0 else transforms[parent] @ local)
    return np.array([t[:3, 3] for t in transforms])


def test_bvh_forward_kinematics_matches_smpl_joints(run_dir, tmp_path):
    run = load_run(run_dir)
    path = write_bvh(run, tmp_path / "motion.bvh")
    names, parents, offsets, channels, frame_time, motion = parse_bvh(path.read_text())
    joints = [k for k, n in enumerate(names) if n is not None]
    assert names[0] == "pelvis" and sorted(names[k] for k in joints) == sorted(run.joint_names)
    assert abs(frame_time - 1 / 25) < 1e-7 and motion.shape == (6, 3 + 24 * 3)
    with np.load(run_dir / "joints3d.npz") as data:
        expected = data["smpl_joints"]
    order = [run.joint_names.index(names[k]) for k in joints]
    for f in np.flatnonzero(run.valid):
        positions = forward_kinematics(parents, offsets, channels, motion[f])[joints] / 100.0  # cm -> m
        z_up = np.stack([positions[:, 0], -positions[:, 2], positions[:, 1]], -1)  # Y-up -> +Z up
        assert np.abs(z_up - expected[f, order]).max() < 1e-3
    # the rest pose stands upright along +Y: the head above the pelvis
    rest = forward_kinematics(parents, offsets, channels, np.zeros(motion.shape[1]))[joints]
    assert rest[names.index("head"), 1] - rest[0, 1] > 0.4 * 100
