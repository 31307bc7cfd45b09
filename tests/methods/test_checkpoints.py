"""``reconstruct --checkpoint PATH``: the weights a learned ``--method`` runs with, checked before any long work."""

from __future__ import annotations

import argparse
import shutil

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mvmocap.cli.main import app
from mvmocap.errors import FileFormatError, InputError
from mvmocap.methods import checkpoints
from mvmocap.regressors.metapose import inference as metapose_inference
from mvmocap.regressors.volumetric import inference as volumetric_inference
from tests.reconstruct.test_pipeline import EXAMPLE, capture  # noqa: F401  (module fixture)

CALIBRATION = EXAMPLE / "calibration.yaml"
FAST = ["--frames", "0:6"]


def _need(path):
    if not path.is_file():
        pytest.skip(f"no shipped checkpoint {path}")
    return path


def _cli(*args):
    return CliRunner().invoke(app, ["reconstruct", *map(str, args)])


def _perturbed_volumetric(out, seed: int = 0):
    """A copy of the shipped volumetric checkpoint with noise on its weights (another network, same format)."""
    payload = torch.load(_need(volumetric_inference.SHIPPED), map_location="cpu", weights_only=True)
    generator = torch.Generator().manual_seed(seed)
    payload["weights"] = {k: v + 0.05 * v.std().nan_to_num() * torch.randn(v.shape, generator=generator)
                          if v.is_floating_point() and v.numel() > 1 else v for k, v in payload["weights"].items()}
    torch.save(payload, out)
    return out


def _refused(result, out, *words):
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error:") and len(result.output.strip().splitlines()) == 1, result.output
    for word in words:
        assert word in result.output, (word, result.output)
    assert not out.exists()


def test_refusals_say_why_and_write_nothing(capture, tmp_path, monkeypatch):  # noqa: F811
    root, _, _ = capture
    common = [root / "videos", "--keypoints", root / "json", "--calibration", CALIBRATION, *FAST]
    out = tmp_path / "out"

    _refused(_cli(*common, "--out", out, "--method", "volumetric", "--checkpoint", tmp_path / "none.pt"), out, "none.pt")
    _refused(_cli(*common, "--out", out, "--method", "fit", "--checkpoint", _need(volumetric_inference.SHIPPED)), out,
             "--method fit has none")
    # another method's checkpoint, both ways
    _refused(_cli(*common, "--out", out, "--method", "volumetric", "--checkpoint", _need(metapose_inference.SHIPPED)),
             out, "metapose.pt", "not volumetric")
    _refused(_cli(*common, "--out", out, "--method", "metapose+fit", "--checkpoint", volumetric_inference.SHIPPED),
             out, "volumetric.pt", "not metapose")
    # a pickle holding more than tensors and plain values is never unpickled
    unsafe = tmp_path / "unsafe.pt"
    torch.save({"format": "mvmocap-regressor/1", "name": "volumetric", "options": argparse.Namespace(a=1)}, unsafe)
    _refused(_cli(*common, "--out", out, "--method", "volumetric-net", "--checkpoint", unsafe), out, "unsafe.pt", "refused")
    # damaged, and too large (the cap lowered for the test; the real one is 4 GiB)
    damaged = tmp_path / "damaged.pt"
    damaged.write_bytes(b"not a checkpoint at all")
    _refused(_cli(*common, "--out", out, "--method", "volumetric", "--checkpoint", damaged), out, "damaged.pt")
    monkeypatch.setattr(checkpoints, "MAX_CHECKPOINT_BYTES", 1000)
    _refused(_cli(*common, "--out", out, "--method", "volumetric", "--checkpoint", volumetric_inference.SHIPPED), out,
             "volumetric.pt", "more than")


def test_library_check_names_the_problem(tmp_path):
    with pytest.raises(InputError, match="--method fit has none"):
        checkpoints.check_checkpoint("fit", tmp_path / "x.pt")
    with pytest.raises(FileFormatError, match="not volumetric"):
        checkpoints.check_checkpoint("volumetric-net+fit", _need(metapose_inference.SHIPPED))
    assert checkpoints.check_checkpoint("volumetric", _need(volumetric_inference.SHIPPED)) == volumetric_inference.SHIPPED


def test_the_checkpoint_is_the_one_used_and_the_env_variable_still_works(capture, tmp_path, monkeypatch):  # noqa: F811
    root, _, _ = capture
    monkeypatch.delenv(volumetric_inference.CHECKPOINT_ENV, raising=False)
    shipped = tmp_path / "shipped.pt"
    shutil.copyfile(_need(volumetric_inference.SHIPPED), shipped)
    other = _perturbed_volumetric(tmp_path / "other.pt")
    common = [root / "videos", "--keypoints", root / "json", "--calibration", CALIBRATION, *FAST,
              "--method", "volumetric-net", "-q"]

    def poses(out):
        with np.load(out / "smpl_params.npz") as data:
            return data["poses"][data["valid"].astype(bool)]

    assert _cli(*common, "--out", tmp_path / "a", "--checkpoint", shipped).exit_code == 0
    first = poses(tmp_path / "a")
    assert _cli(*common, "--out", tmp_path / "default").exit_code == 0  # no --checkpoint: the shipped one
    np.testing.assert_allclose(poses(tmp_path / "default"), first, atol=1e-6)
    # a rerun into the same folder with other weights does not reuse the cached result
    assert _cli(*common, "--out", tmp_path / "a", "--checkpoint", other).exit_code == 0
    changed = poses(tmp_path / "a")
    assert len(changed) == len(first) > 0 and np.abs(changed - first).max() > 1e-3
    monkeypatch.setenv(volumetric_inference.CHECKPOINT_ENV, str(other))
    assert _cli(*common, "--out", tmp_path / "env").exit_code == 0
    np.testing.assert_allclose(poses(tmp_path / "env"), changed, atol=1e-6)
