"""``mvmocap.adapt.captures``: a method reads only what it declares from a reconstruct folder."""

from __future__ import annotations

import shutil

import pytest
import torch

from mvmocap.adapt.captures import ALL_NEEDS, check_run_dirs, load_capture, run_body_model_name
from mvmocap.errors import InputError, MissingFileError
from mvmocap.methods import adaptation_needs


def _without_fit(run_dir, tmp_path):
    bare = tmp_path / "no_fit"
    shutil.copytree(run_dir, bare)
    (bare / "smpl_params.npz").unlink()
    (bare / "joints3d.npz").unlink()
    return bare


def test_the_methods_declare_what_they_read():
    needs = adaptation_needs()
    assert set(needs["volumetric"]) == set(ALL_NEEDS)
    assert set(needs["cmanet"]) == {"detections", "cameras"}


def test_a_folder_without_a_fit_is_checked_by_what_the_method_needs(run_dir, tmp_path):
    bare = _without_fit(run_dir, tmp_path)
    assert check_run_dirs([bare], adaptation_needs()["cmanet"]) == [bare]
    with pytest.raises(MissingFileError, match="smpl_params.npz"):
        check_run_dirs([bare], adaptation_needs()["volumetric"])
    with pytest.raises(MissingFileError, match="smpl_params.npz"):
        check_run_dirs([bare])  # the default: everything
    shutil.rmtree(bare / "work")
    with pytest.raises(MissingFileError, match="detections"):
        check_run_dirs([bare], adaptation_needs()["cmanet"])
    with pytest.raises(InputError, match="unknown run-folder need"):
        check_run_dirs([run_dir], ("fit", "images"))


def test_a_capture_without_a_fit_has_the_same_evidence_and_no_cached_fit(run_dir, body_model, tmp_path):
    bare = _without_fit(run_dir, tmp_path)
    assert run_body_model_name(bare) is None and run_body_model_name(run_dir) == body_model.name
    full, empty = load_capture(run_dir, body_model), load_capture(bare, body_model)
    assert torch.equal(full.inputs.keypoints_2d, empty.inputs.keypoints_2d)
    assert bool(full.fit.valid.any()) and not bool(empty.fit.valid.any())
    assert empty.fit.num_frames == full.fit.num_frames
    # No joints3d.npz: triangulated from the detections, as reconstruct does (the run file holds the same).
    seen = full.inputs.joints3d_confidence > 0
    assert torch.equal(seen, empty.inputs.joints3d_confidence > 0)
    assert torch.allclose(full.inputs.joints3d[seen], empty.inputs.joints3d[seen], atol=1e-6)
