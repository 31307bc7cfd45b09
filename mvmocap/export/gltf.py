"""glTF 2.0 binary (``.glb``) export: the fitted body as a skinned mesh with one animation.

* +Y up, metres (glTF's convention): the world's ``(x, y, z)`` (+Z up) becomes ``(x, z, -y)``.
* The mesh is the fitted shape in its rest pose (T-pose, the body file's y-up rest frame), with
  per-vertex normals and SMPL's skinning weights; a vertex has at most 8 influences, so the
  weights are split over ``JOINTS_0/WEIGHTS_0`` and ``JOINTS_1/WEIGHTS_1`` (viewers that read
  only the first set, three.js among them, renormalise 4 influences).
* The skin has 24 joints (nodes 0-23, named as SMPL's), each node's translation its bone offset,
  and inverse bind matrices ``T(-J_j)`` (the rest joints).
* One animation, keyed at every video frame (``t = i / fps``, linear): a rotation per joint and the
  pelvis' translation. Linear blend skinning of the file reproduces the body model's vertices
  exactly at the keys (the open bodies have no pose correctives; official SMPL's are left out).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from mvmocap.errors import DependencyError
from mvmocap.export.axes import Z_UP_TO_Y_UP
from mvmocap.export.run_files import RunResult
from mvmocap.io.atomic import atomic_path

INFLUENCES = 8  # two glTF attribute sets of 4
BODY_COLOUR = [0.55, 0.65, 0.85, 1.0]


def skin_influences(weights: np.ndarray, count: int = INFLUENCES) -> tuple[np.ndarray, np.ndarray]:
    """The ``count`` largest weights of every vertex: joints ``(V, count)`` uint16 and weights
    ``(V, count)`` float32 renormalised to sum to 1."""
    order = np.argsort(-weights, axis=1)[:, :count]
    picked = np.take_along_axis(weights, order, axis=1)
    picked = picked / picked.sum(1, keepdims=True)
    order = np.where(picked > 0, order, 0)  # glTF: an unused influence names joint 0
    return order.astype(np.uint16), picked.astype(np.float32)


def animation_tracks(run: RunResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """times ``(F,)`` s, rotations ``(F, 24, 4)`` quaternions ``(x, y, z, w)`` (glTF order, each
    joint's track kept in one hemisphere), root_translation ``(F, 3)`` metres, Y-up."""
    rotations = run.local_rotations.copy()
    rotations[:, 0] = Z_UP_TO_Y_UP @ rotations[:, 0]
    quats = Rotation.from_matrix(rotations.reshape(-1, 3, 3)).as_quat().reshape(run.num_frames, -1, 4)
    for f in range(1, run.num_frames):  # shortest-path slerp between keys
        flip = (quats[f] * quats[f - 1]).sum(-1) < 0
        quats[f, flip] *= -1
    times = np.arange(run.num_frames) / run.framerate
    return times, quats, run.smpl_joints[:, 0] @ Z_UP_TO_Y_UP.T


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``(V, 3)`` unit area-weighted vertex normals."""
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def write_glb(run: RunResult, path: str | Path) -> Path:
    """Write ``path`` (atomically) and return it. Needs ``pygltflib``."""
    try:
        import pygltflib as g
    except ImportError:
        raise DependencyError("glTF export needs pygltflib: pip install pygltflib") from None
    builder = _Buffers()
    vertices = run.rest_vertices().astype(np.float32)
    faces = run.body.faces.numpy().astype(np.uint32)
    joints, weights = skin_influences(run.body.weights.numpy())
    rest = run.rest_joints
    attributes = g.Attributes(
        POSITION=builder.add(vertices, "VEC3", g.FLOAT, g.ARRAY_BUFFER, bounds=True),
        NORMAL=builder.add(vertex_normals(vertices, faces).astype(np.float32), "VEC3", g.FLOAT, g.ARRAY_BUFFER),
        JOINTS_0=builder.add(joints[:, :4], "VEC4", g.UNSIGNED_SHORT, g.ARRAY_BUFFER),
        WEIGHTS_0=builder.add(weights[:, :4], "VEC4", g.FLOAT, g.ARRAY_BUFFER),
        JOINTS_1=builder.add(joints[:, 4:], "VEC4", g.UNSIGNED_SHORT, g.ARRAY_BUFFER),
        WEIGHTS_1=builder.add(weights[:, 4:], "VEC4", g.FLOAT, g.ARRAY_BUFFER),
    )
    indices = builder.add(faces.reshape(-1), "SCALAR", g.UNSIGNED_INT, g.ELEMENT_ARRAY_BUFFER)
    inverse_bind = np.tile(np.eye(4), (len(rest), 1, 1))
    inverse_bind[:, :3, 3] = -rest
    # glTF matrices are column-major: the transpose's rows in memory
    ibm = builder.add(inverse_bind.transpose(0, 2, 1).astype(np.float32).reshape(-1, 16), "MAT4", g.FLOAT)

    times, quats, root = animation_tracks(run)
    time_accessor = builder.add(times.astype(np.float32), "SCALAR", g.FLOAT, bounds=True)
    samplers, channels = [], []
    for j in range(len(rest)):
        samplers.append(g.AnimationSampler(input=time_accessor, output=builder.add(quats[:, j].astype(np.float32), "VEC4", g.FLOAT),
                                           interpolation=g.ANIM_LINEAR))
        channels.append(g.AnimationChannel(sampler=j, target=g.AnimationChannelTarget(node=j, path="rotation")))
    samplers.append(g.AnimationSampler(input=time_accessor, output=builder.add(root.astype(np.float32), "VEC3", g.FLOAT),
                                       interpolation=g.ANIM_LINEAR))
    channels.append(g.AnimationChannel(sampler=len(rest), target=g.AnimationChannelTarget(node=0, path="translation")))

    nodes = []
    for j, name in enumerate(run.joint_names):
        parent = run.parents[j]
        offset = rest[j] - (rest[parent] if parent >= 0 else 0.0)
        nodes.append(g.Node(name=name, translation=[float(v) for v in offset],
                            children=[c for c, p in enumerate(run.parents) if p == j]))
    mesh_node = len(nodes)
    nodes.append(g.Node(name="body", mesh=0, skin=0))
    gltf = g.GLTF2(
        asset=g.Asset(generator="mvmocap", version="2.0"),
        scene=0,
        scenes=[g.Scene(nodes=[mesh_node, 0])],
        nodes=nodes,
        meshes=[g.Mesh(name="body", primitives=[g.Primitive(attributes=attributes, indices=indices, material=0)])],
        materials=[g.Material(name="body", doubleSided=False,
                              pbrMetallicRoughness=g.PbrMetallicRoughness(baseColorFactor=BODY_COLOUR, metallicFactor=0.0,
                                                                         roughnessFactor=0.8))],
        skins=[g.Skin(name="smpl", joints=list(range(len(rest))), skeleton=0, inverseBindMatrices=ibm)],
        animations=[g.Animation(name="reconstruction", samplers=samplers, channels=channels)],
        accessors=builder.accessors,
        bufferViews=builder.views,
        buffers=[g.Buffer(byteLength=len(builder.data))],
    )
    gltf.set_binary_blob(bytes(builder.data))
    with atomic_path(path) as tmp:
        gltf.save_binary(str(tmp))
    return Path(path)


class _Buffers:
    """One binary buffer grown view by view (4-byte aligned), with an accessor per array."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list = []
        self.accessors: list = []

    def add(self, array: np.ndarray, kind: str, component: int, target: int | None = None, bounds: bool = False) -> int:
        import pygltflib as g

        array = np.ascontiguousarray(array)
        self.data.extend(b"\0" * (-len(self.data) % 4))
        self.views.append(g.BufferView(buffer=0, byteOffset=len(self.data), byteLength=array.nbytes, target=target))
        self.data.extend(array.tobytes())
        flat = array.reshape(len(array), -1)
        extra = {"min": flat.min(0).tolist(), "max": flat.max(0).tolist()} if bounds else {}
        self.accessors.append(g.Accessor(bufferView=len(self.views) - 1, componentType=component, count=len(array),
                                         type=kind, **extra))
        return len(self.accessors) - 1
