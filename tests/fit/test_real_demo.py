"""Multi-view SMPLify on the first frames of the shared Pose2Sim demo (real detections)."""

import pytest

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo(demo_first_frames):
    from mvmocap.body.loading import MODELS_DIR

    if not (MODELS_DIR / "open_neutral.npz").is_file():
        pytest.skip("models/body/open_neutral.npz not built (mvmocap body build-open)")
    return demo_first_frames


def test_fit_on_real_detections(demo):
    from mvmocap.body import load_body_model
    from mvmocap.fit import FitConfig, fit_sequence

    _, rig, keypoints, tri = demo
    config = FitConfig(iters_shape=80, iters_pose=150)
    result = fit_sequence(keypoints, rig, load_body_model(), tri.points, tri.confidence, config, progress=False)

    assert bool(result.params.valid.all())
    assert 1.55 <= result.height_m <= 1.95
    seen = (keypoints[..., 2] > 0) & (tri.confidence > 0)[:, None, :]
    fit_px = float(result.reprojection_px[seen].median())
    tri_px = float(tri.errors[seen].median())
    # the acceptance target on the full sequence is 1.2 (benchmarks/fit.py); fewer iterations here
    print(f"24 demo frames: fit {fit_px:.2f} px, triangulation {tri_px:.2f} px, height {result.height_m:.3f} m")
    assert fit_px <= 1.35 * tri_px, (fit_px, tri_px)
