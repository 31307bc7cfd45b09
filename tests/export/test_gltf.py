"""glTF export: reload the .glb, re-skin it in NumPy, compare with the body model."""

from __future__ import annotations

import numpy as np
import pygltflib
from scipy.spatial.transform import Rotation

from mvmocap.export.gltf import skin_influences, write_glb
from mvmocap.export.run_files import load_run

DTYPES = {pygltflib.FLOAT: np.float32, pygltflib.UNSIGNED_SHORT: np.uint16, pygltflib.UNSIGNED_INT: np.uint32}
WIDTH = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def _read(gltf: pygltflib.GLTF2, blob: bytes, index: int) -> np.ndarray:
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    count = accessor.count * WIDTH[accessor.type]
    array = np.frombuffer(blob, DTYPES[accessor.componentType], count, view.byteOffset + (accessor.byteOffset or 0))
    return array.reshape(accessor.count, -1).astype(np.float64)


def _node_matrix(translation, quat_xyzw) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = Rotation.from_quat(quat_xyzw).as_matrix()
    m[:3, 3] = translation
    return m


def reskin(path, frame: int) -> np.ndarray:
    """Vertices (V, 3) of the glb's skinned mesh at animation key ``frame``, in the file's frame."""
    gltf = pygltflib.GLTF2().load(str(path))
    blob = gltf.binary_blob()
    primitive = gltf.meshes[0].primitives[0]
    rest = _read(gltf, blob, primitive.attributes.POSITION)
    joints = np.concatenate([_read(gltf, blob, primitive.attributes.JOINTS_0), _read(gltf, blob, primitive.attributes.JOINTS_1)], 1)
    weights = np.concatenate([_read(gltf, blob, primitive.attributes.WEIGHTS_0), _read(gltf, blob, primitive.attributes.WEIGHTS_1)], 1)
    skin = gltf.skins[0]
    ibm = _read(gltf, blob, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)  # column-major
    translation = {i: np.array(n.translation or [0, 0, 0], float) for i, n in enumerate(gltf.nodes)}
    rotation = {i: np.array(n.rotation or [0, 0, 0, 1], float) for i, n in enumerate(gltf.nodes)}
    animation = gltf.animations[0]
    for channel in animation.channels:
        sampler = animation.samplers[channel.sampler]
        values = _read(gltf, blob, sampler.output)[frame]
        target = translation if channel.target.path == "translation" else rotation
        target[channel.target.node] = values
    parent = {c: i for i, n in enumerate(gltf.nodes) for c in (n.children or [])}
    world = {}

    def global_matrix(i):
        if i not in world:
            local = _node_matrix(translation[i], rotation[i])
            world[i] = local if i not in parent else global_matrix(parent[i]) @ local
        return world[i]

    joint_matrices = np.stack([global_matrix(n) @ ibm[k] for k, n in enumerate(skin.joints)])  # (J, 4, 4)
    blended = np.einsum("vk,vkab->vab", weights, joint_matrices[joints.astype(int)])
    return np.einsum("vab,vb->va", blended[:, :3, :3], rest) + blended[:, :3, 3]


def test_glb_reskinned_vertices_match_the_body_model(run_dir, tmp_path):
    run = load_run(run_dir)
    path = write_glb(run, tmp_path / "body.glb")
    gltf = pygltflib.GLTF2().load(str(path))
    assert len(gltf.skins[0].joints) == 24 and len(gltf.animations) == 1
    times = _read(gltf, gltf.binary_blob(), gltf.animations[0].samplers[0].input)[:, 0]
    np.testing.assert_allclose(times, np.arange(run.num_frames) / 25.0, atol=1e-6)
    frames = [0, 3, 5]
    expected = run.vertices(np.array(frames))
    for k, f in enumerate(frames):
        y_up = reskin(path, f)
        z_up = np.stack([y_up[:, 0], -y_up[:, 2], y_up[:, 1]], -1)
        assert np.abs(z_up - expected[k]).max() < 1e-3


def test_skin_influences_keep_every_nonzero_weight():
    rng = np.random.default_rng(3)
    weights = rng.uniform(0, 1, (50, 24)) * (rng.uniform(0, 1, (50, 24)) < 0.25)
    weights[:, 0] += 1e-3
    weights /= weights.sum(1, keepdims=True)
    joints, picked = skin_influences(weights, count=24)
    dense = np.zeros_like(weights)
    rows = np.repeat(np.arange(len(weights))[:, None], joints.shape[1], axis=1)
    np.add.at(dense, (rows, joints.astype(int)), picked)  # unused slots name joint 0 with weight 0
    np.testing.assert_allclose(dense, weights, atol=1e-6)
    assert (joints[picked == 0] == 0).all()
