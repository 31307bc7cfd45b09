"""The sequence benchmark: a perfect method scores 0 with full coverage, uncalibrated scoring is
invariant to a similarity transform, methods that need cameras are reported so, failures count."""

from __future__ import annotations

import math

import pytest
import torch

from mvmocap.body.params import BodyParams
from mvmocap.errors import InputError
from mvmocap.evaluate.sequence import SEQUENCE_SEED_OFFSET, SequenceBenchmark, format_markdown, run_sequence_benchmark
from mvmocap.evaluate.sequence_methods import NEEDS_CAMERAS, calibrated_inputs, placeholder_rig, uncalibrated_inputs
from mvmocap.evaluate.sequence_scores import (
    Pool,
    calibrated_frame_errors,
    relative_rotation_errors_deg,
    uncalibrated_frame_errors,
)
from mvmocap.geometry.rotations import axis_angle_to_matrix
from mvmocap.methods import register_regressor, unregister_regressor
from mvmocap.regressors.spec import RegressorSpec
from mvmocap.synth.sequence import synthetic_capture
from mvmocap.synth.toy_body import ToyBodyModel


@pytest.fixture(scope="module")
def toy_body():
    return ToyBodyModel()


def _bench(**options) -> SequenceBenchmark:
    defaults = dict(cameras=(3,), conditions=("clean",), clips=1, frames=12, methods=("triangulation",))
    return SequenceBenchmark(**{**defaults, **options})


@pytest.fixture
def truth_regressor(toy_body):
    """A registered regressor that returns the clip's true parameters (a perfect method)."""
    bench = _bench()
    capture = synthetic_capture(toy_body, bench.cell(3, "clean"), SEQUENCE_SEED_OFFSET + bench.seed, 0)
    clip, T = capture.posed.clip, capture.num_frames

    def regress(inputs):
        return BodyParams(clip.global_orient.float(), clip.body_pose.float(), clip.betas.float(),
                          capture.posed.transl.float(), torch.ones(T, dtype=torch.bool))

    register_regressor(RegressorSpec("truth-test", regress, "the ground truth"))
    yield "truth-test"
    unregister_regressor("truth-test")


def test_a_perfect_method_scores_zero_with_full_coverage(toy_body, truth_regressor):
    result = run_sequence_benchmark(_bench(methods=(truth_regressor, "triangulation")), body_model=toy_body)
    cell = result["cells"][0]
    truth, tri = cell["methods"][truth_regressor], cell["methods"]["triangulation"]
    for key in ("mpjpe", "pa_mpjpe", "pve"):
        assert truth[key] < 1e-3, key
    assert truth["pck50"] == 1.0 and truth["coverage"] == 1.0 and truth["frames"] == 12
    assert tri["mpjpe"] < 1e-3 and tri["pve"] is None and tri["coverage"] == 1.0  # clean triangulation is exact
    assert "| 3 | clean | truth-test | 0.0 | 0.0 | 0.0 | 100.0% | 100.0% |" in format_markdown(result)


def test_noise_costs_millimetres(toy_body):
    result = run_sequence_benchmark(_bench(conditions=("noisy",)), body_model=toy_body)
    tri = result["cells"][0]["methods"]["triangulation"]
    assert 1.0 < tri["mpjpe"] < 200.0 and tri["pa_mpjpe"] <= tri["mpjpe"] + 1e-6


def _similarity(points, scale, axis_angle, shift):
    R = axis_angle_to_matrix(torch.tensor(axis_angle, dtype=torch.float64))
    return scale * points @ R.T + torch.tensor(shift, dtype=torch.float64)


def test_uncalibrated_scores_are_invariant_to_a_similarity_of_the_estimate(toy_body):
    capture = synthetic_capture(toy_body, _bench().cell(3, "clean"), 0, 0)
    gt = capture.joints17.double()
    # the estimate lives in another world: scaled, turned and moved (per frame the alignment is free anyway)
    pred = _similarity(gt, 0.6, [0.3, -1.2, 0.5], [4.0, -2.0, 1.0])
    scores = uncalibrated_frame_errors(pred, gt, None, capture.rig)
    assert float(scores["pa_mpjpe"].max()) < 1e-6 and float(scores["pck50"].min()) == 1.0
    moved = capture.rig.to(torch.float64).transformed(0.6, axis_angle_to_matrix(torch.tensor([0.3, -1.2, 0.5], dtype=torch.float64)),
                                                      torch.tensor([4.0, -2.0, 1.0], dtype=torch.float64))
    assert float(relative_rotation_errors_deg(moved, capture.rig).max()) < 1e-6
    assert float(uncalibrated_frame_errors(pred, gt, moved, capture.rig)["pa_mpjpe"].max()) < 1e-6
    # a real error is measured, and the same whatever the similarity
    g = torch.Generator().manual_seed(0)
    noisy = gt + 0.01 * torch.randn(gt.shape, generator=g, dtype=torch.float64)
    a = uncalibrated_frame_errors(noisy, gt, None, capture.rig)["pa_mpjpe"]
    b = uncalibrated_frame_errors(_similarity(noisy, 2.0, [0.0, 0.0, 2.0], [1.0, 1.0, 1.0]), gt, None, capture.rig)["pa_mpjpe"]
    assert float(a.mean()) > 3.0 and torch.allclose(a, b, atol=1e-6)


def test_a_turned_camera_gives_its_rotation_error(toy_body):
    rig = synthetic_capture(toy_body, _bench().cell(3, "clean"), 0, 0).rig.to(torch.float64)
    turned = axis_angle_to_matrix(torch.tensor([0.0, math.radians(5.0), 0.0], dtype=torch.float64)) @ rig.R[1]
    other = type(rig)(rig.names, rig.K, rig.dist, torch.stack([rig.R[0], turned, rig.R[2]]), rig.t, rig.sizes)
    assert torch.allclose(relative_rotation_errors_deg(other, rig), torch.tensor([5.0, 0.0], dtype=torch.float64), atol=1e-6)


def test_calibrated_scores_use_only_the_known_joints():
    g = torch.Generator().manual_seed(1)
    gt = torch.randn(4, 17, 3, generator=g, dtype=torch.float64)
    pred = gt.clone()
    pred[:, 0] += 1.0  # the nose is far off ...
    known = torch.ones(4, 17, dtype=torch.bool)
    known[:, 0] = False  # ... but not given
    scores = calibrated_frame_errors(pred, gt, known)
    assert float(scores["mpjpe"].max()) < 1e-9 and float(scores["pa_mpjpe"].max()) < 1e-6
    assert float(calibrated_frame_errors(pred, gt)["mpjpe"].min()) > 1000.0 / 17 - 1e-6


def test_uncalibrated_mode_hides_the_cameras_and_reports_methods_that_need_them(toy_body):
    capture = synthetic_capture(toy_body, _bench().cell(3, "noisy"), 0, 0)
    inputs = uncalibrated_inputs(capture, toy_body)
    assert inputs.extras["uncalibrated"] is True and inputs.joints3d is None
    hidden = placeholder_rig(capture.rig)
    assert torch.equal(inputs.rig.R, hidden.R) and float(inputs.rig.t.abs().max()) == 0.0
    assert torch.equal(inputs.rig.sizes, capture.rig.sizes.double()) and inputs.rig.names == capture.rig.names
    calibrated = calibrated_inputs(capture, toy_body)
    assert calibrated.joints3d.shape == (12, 23, 3) and torch.equal(calibrated.rig.R, capture.rig.R.double())
    result = run_sequence_benchmark(_bench(methods=("fit", "triangulation"), uncalibrated=True), body_model=toy_body)
    assert result["cells"][0]["methods"] == {"fit": {"status": NEEDS_CAMERAS}, "triangulation": {"status": NEEDS_CAMERAS}}


def test_a_method_without_output_lowers_the_coverage():
    pool = Pool()
    pool.add(10, {"mpjpe": torch.full((10,), 5.0)}, joints_scored=170)
    pool.add(10, None)
    summary = pool.summary()
    assert summary["coverage"] == 0.5 and summary["mpjpe"] == 5.0 and summary["joint_share"] == 1.0


@pytest.mark.parametrize("options, message", [
    ({"cameras": (1,)}, "between 2 and 8"), ({"methods": ("nope",)}, "unknown method 'nope'"),
    ({"rig_families": ("nowhere",)}, "unknown rig family"), ({"pose_families": ("flying",)}, "unknown pose family"),
    ({"conditions": ("foggy",)}, "unknown condition"), ({"methods": ("triangulation-selfcal",)}, "--uncalibrated"),
])
def test_bad_settings_are_refused_before_any_work(options, message):
    with pytest.raises(InputError, match=message):
        _bench(**options)


def test_masks_are_rendered_only_for_methods_that_use_them():
    assert _bench(methods=("triangulation", "fit")).cell(3, "clean").mask_side == 0
    assert _bench(methods=("triangulation", "volumetric")).cell(3, "clean").mask_side > 0
    assert _bench(methods=("volumetric", "triangulation-selfcal"), uncalibrated=True).cell(3, "clean").mask_side == 0


def test_the_volumetric_regressor_runs_on_a_capture_with_its_masks():
    from mvmocap.regressors.volumetric.inference import checkpoint_file
    from mvmocap.synth.dataset import load_body

    if not checkpoint_file().is_file():
        pytest.skip("no volumetric checkpoint")
    bench = _bench(cameras=(4,), methods=("volumetric",))
    assert bench.cell(4, "clean").mask_side > 0
    result = run_sequence_benchmark(bench, body_model=load_body(None))
    scores = result["cells"][0]["methods"]["volumetric"]
    assert scores["coverage"] == 1.0 and scores["pve"] is not None
    assert 0.0 < scores["pa_mpjpe"] < 60.0  # clean evidence: a working regressor, not a perfect one


def test_the_uncalibrated_baseline_recovers_the_cameras_from_clean_joints(toy_body):
    result = run_sequence_benchmark(_bench(frames=30, methods=("triangulation-selfcal", "fit"), uncalibrated=True),
                                    body_model=toy_body)
    methods = result["cells"][0]["methods"]
    assert methods["fit"] == {"status": NEEDS_CAMERAS}
    selfcal = methods["triangulation-selfcal"]
    assert selfcal["coverage"] > 0.9 and selfcal["rotation_error_deg"] < 3.0 and selfcal["pa_mpjpe"] < 20.0
