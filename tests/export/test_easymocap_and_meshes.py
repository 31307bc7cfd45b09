"""EasyMocap JSON (Rh/Th convention) and per-frame OBJ/PLY meshes."""

from __future__ import annotations

import json

import numpy as np
import torch

from mvmocap.body.lbs import rodrigues
from mvmocap.export.easymocap import write_easymocap
from mvmocap.export.mesh_sequence import write_mesh_sequence
from mvmocap.export.run_files import load_run


def test_easymocap_rh_th_reproduce_the_vertices(run_dir, tmp_path):
    run = load_run(run_dir)
    folder = write_easymocap(run, tmp_path)
    files = sorted(p.name for p in folder.iterdir())
    assert files == ["000010.json", "000011.json", "000013.json", "000014.json", "000015.json"]  # frame 12 unseen
    person = json.loads((folder / "000013.json").read_text())[0]
    poses = np.array(person["poses"][0])
    assert poses.shape == (72,) and np.all(poses[:3] == 0)
    # EasyMocap's forward: vertices = R(Rh) @ body(poses, shapes) + Th
    body = run.body(body_pose=torch.tensor(poses[3:]), betas=torch.tensor(person["shapes"][0]))
    rotation = rodrigues(torch.tensor(person["Rh"][0])).numpy()
    vertices = body.vertices.numpy() @ rotation.T + np.array(person["Th"][0])
    np.testing.assert_allclose(vertices, run.vertices(np.array([3]))[0], atol=1e-6)


def _read_obj(path):
    lines = path.read_text().splitlines()
    vertices = np.array([[float(x) for x in line.split()[1:]] for line in lines if line.startswith("v ")])
    faces = np.array([[int(i) - 1 for i in line.split()[1:]] for line in lines if line.startswith("f ")])
    return vertices, faces


def _read_ply(path):
    raw = path.read_bytes()
    head, body = raw.split(b"end_header\n", 1)
    counts = {line.split()[1]: int(line.split()[2]) for line in head.decode().splitlines() if line.startswith("element")}
    vertices = np.frombuffer(body, "<f4", counts["vertex"] * 3).reshape(-1, 3)
    faces = np.frombuffer(body[vertices.nbytes:], [("n", "u1"), ("i", "<i4", (3,))], counts["face"])
    assert (faces["n"] == 3).all()
    return vertices.astype(np.float64), faces["i"]


def test_obj_and_ply_sequences_hold_the_posed_meshes(run_dir, tmp_path):
    run = load_run(run_dir)
    expected = run.vertices(np.array([4]))[0]
    for kind, tolerance in (("obj", 1e-6), ("ply", 1e-6)):
        folder = write_mesh_sequence(run, tmp_path / kind, kind)
        assert len(list(folder.glob(f"*.{kind}"))) == 5
        vertices, faces = (_read_obj if kind == "obj" else _read_ply)(folder / f"000014.{kind}")
        np.testing.assert_array_equal(faces, run.body.faces.numpy())
        np.testing.assert_allclose(vertices, expected, atol=tolerance)
