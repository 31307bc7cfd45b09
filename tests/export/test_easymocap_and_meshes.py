"""EasyMocap JSON (Rh/Th convention) and per-frame OBJ/PLY meshes."""

from __future__ import annotations

import json

import numpy as np
import torch
import trimesh

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


def test_obj_and_ply_sequences_hold_the_posed_meshes(run_dir, tmp_path):
    run = load_run(run_dir)
    expected = run.vertices(np.array([4]))[0]
    for kind, tolerance in (("obj", 1e-6), ("ply", 1e-6)):
        folder = write_mesh_sequence(run, tmp_path / kind, kind)
        assert len(list(folder.glob(f"*.{kind}"))) == 5
        mesh = trimesh.load(folder / f"000014.{kind}", process=False)
        assert mesh.faces.shape == tuple(run.body.faces.shape)
        np.testing.assert_array_equal(mesh.faces, run.body.faces.numpy())
        np.testing.assert_allclose(mesh.vertices, expected, atol=tolerance)
