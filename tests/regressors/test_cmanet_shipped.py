"""The shipped cmanet checkpoint (models/regressors/cmanet.pt; its card models/regressors/CMANET.md): the file
the card describes, loaded by default, and a forward pass gives finite bodies."""

from __future__ import annotations

import hashlib
import re

import pytest
import torch

from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.regressors.cmanet import on_cra
from mvmocap.regressors.cra.views import ViewBodies
from tests.reconstruct.test_pipeline import EXAMPLE, capture  # noqa: F401  (module fixture)

CARD = on_cra.SHIPPED.with_name("CMANET.md")


@pytest.fixture(scope="module")
def shipped():
    if not on_cra.SHIPPED.is_file():
        pytest.skip("no shipped cmanet checkpoint (models/regressors/cmanet.pt)")
    return on_cra.SHIPPED


def _views(frames: int = 5, cameras: int = 4) -> ViewBodies:
    g = torch.Generator().manual_seed(0)
    valid = torch.ones(frames, cameras, dtype=torch.bool)
    valid[0, -1] = False  # a view that did not see the person
    crops = torch.tensor([900.0, 500.0, 400.0]).expand(frames, cameras, 3) * valid[..., None]
    return ViewBodies(
        global_orient=axis_angle_to_matrix(torch.randn(frames, cameras, 3, generator=g)),
        body_pose=axis_angle_to_matrix(0.2 * torch.randn(frames, cameras, 23, 3, generator=g)),
        betas=0.5 * torch.randn(frames, cameras, 10, generator=g),
        weak_camera=torch.cat([torch.full((frames, cameras, 1), 0.9), 0.05 * torch.randn(frames, cameras, 2, generator=g)], -1),
        crops=crops, residual=0.1 * torch.rand(frames, cameras, generator=g), valid=valid)


def test_the_shipped_file_is_the_one_its_card_describes(shipped):
    digest = hashlib.sha256(shipped.read_bytes()).hexdigest()
    assert re.search(rf"sha256\W+{digest}\b", CARD.read_text()), "CMANET.md does not give the shipped file's sha256"
    assert shipped.stat().st_size < 2_000_000  # shipped small: the module only, no optimizer
    payload = torch.load(shipped, weights_only=True)
    assert payload["format"] == on_cra.FORMAT and payload["name"] == "cmanet"
    assert payload["options"] == on_cra.DEFAULT_OPTIONS
    assert payload["training"]["script"] == "benchmarks/cmanet_train.py"


def test_the_shipped_module_is_the_default_and_gives_finite_bodies(shipped, monkeypatch):
    from mvmocap.synth.dataset import load_body

    monkeypatch.delenv(on_cra.CHECKPOINT_ENV, raising=False)
    fusion = on_cra.load_fusion(None)  # what reconstruct --method cmanet loads without --checkpoint
    untrained = on_cra.ViewFusion().eval()
    assert {k: tuple(v.shape) for k, v in fusion.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in untrained.state_dict().items()}
    assert all(bool(torch.isfinite(v).all()) for v in fusion.state_dict().values())
    views = _views()
    with torch.no_grad():
        refined, start = fusion(views), untrained(views)
    for name in ("global_orient", "body_pose", "betas", "weak_camera"):
        assert torch.isfinite(getattr(refined, name)).all(), name
    R = refined.global_orient
    assert torch.allclose(R @ R.transpose(-1, -2), torch.eye(3).expand_as(R), atol=1e-4)
    assert torch.equal(refined.body_pose[:, 0], refined.body_pose[:, 1])  # one shared body per frame
    assert float((refined.body_pose - start.body_pose).abs().max()) > 1e-3  # trained: not the screened start
    projected = on_cra.weak_projections(refined, load_body(None).to(dtype=torch.float32))
    assert projected.shape == (5, 4, 17, 2) and torch.isfinite(projected).all()


def test_reconstruct_method_cmanet_loads_the_shipped_module_without_a_checkpoint(shipped, capture, tmp_path,  # noqa: F811
                                                                               monkeypatch):
    import numpy as np
    from typer.testing import CliRunner

    from mvmocap.cli.main import app
    from mvmocap.regressors.cra.inference import checkpoint_file as cra_checkpoint

    if not cra_checkpoint(None).is_file():
        pytest.skip("no shipped CRA checkpoint (stage 1)")
    monkeypatch.delenv(on_cra.CHECKPOINT_ENV, raising=False)
    root, _, _ = capture
    common = ["reconstruct", str(root / "videos"), "--keypoints", str(root / "json"), "--calibration",
              str(EXAMPLE / "calibration.yaml"), "--frames", "0:6", "--method", "cmanet", "-q"]
    poses = []
    for name, extra in (("default", []), ("named", ["--checkpoint", str(shipped)])):
        result = CliRunner().invoke(app, [*common, "--out", str(tmp_path / name), *extra])
        assert result.exit_code == 0, result.output
        with np.load(tmp_path / name / "smpl_params.npz") as data:
            valid = data["valid"].astype(bool)
            assert valid.sum() >= 3
            poses.append(data["poses"][valid])
    assert np.allclose(poses[0], poses[1])
