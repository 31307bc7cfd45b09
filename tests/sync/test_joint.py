import numpy as np

from mvmocap.sync import synchronise
from mvmocap.sync.joint import joint_offsets
from mvmocap.sync.refine import RefineSettings
from mvmocap.sync.synthetic import make_unsynced_capture
from mvmocap.sync.workflows import joints_calibrator


def test_offsets_in_the_bundle_adjustment_recover_fractional_offsets_from_a_quarter_frame_off():
    true = np.array([0.0, 3.4, -6.7, 1.2])
    cap = make_unsynced_capture(true, num_frames=70, seed=5, noise_px=1.0, swaps=0.01)
    start = true + np.array([0.0, 0.3, -0.25, 0.35])
    result = joint_offsets(cap.tracks, cap.rig, np.ones(4), start, [0], focal_known=False)
    assert result.offsets[0] == 0.0 and result.sigma[0] == 0.0
    assert np.abs(result.offsets - true).max() < 0.05
    assert np.all(result.sigma[1:] > 0) and np.all(result.sigma[1:] < 0.2)
    assert result.residual_px < 3.0  # 1 px noise


def test_without_cameras_the_bundle_is_the_default_and_recovers_offsets():
    true = np.array([0.0, 4.3, -2.6])
    cap = make_unsynced_capture(true, num_frames=60, seed=11, noise_px=1.0)
    _, result, rig = synchronise(cap.tracks, detector="synthetic", calibrate=joints_calibrator(None, 1.7))
    assert result.method == "calibration from joints, offsets in its bundle adjustment"
    assert np.abs(result.offsets - true).max() < 0.1
    assert rig is not None


def test_the_alternation_is_still_available():
    true = np.array([0.0, 4.3, -2.6])
    cap = make_unsynced_capture(true, num_frames=60, seed=11, noise_px=1.0)
    settings = RefineSettings(without_cameras="alternate", window=1.5, sweeps=2, bootstrap=20, max_frames=40)
    _, result, _ = synchronise(cap.tracks, detector="synthetic", calibrate=joints_calibrator(None, 1.7),
                               settings=settings, rounds=1)
    assert result.method == "calibration from joints"
    assert np.abs(result.offsets - true).max() < 0.25


def test_known_intrinsics_are_kept_and_a_pinned_offset_is_held():
    true = np.array([0.0, -2.2, 5.6])
    cap = make_unsynced_capture(true, num_frames=60, seed=9, noise_px=1.0)
    start = true + np.array([0.0, 0.0, 0.3])  # camera 1 pinned at its true offset
    result = joint_offsets(cap.tracks, cap.rig, np.ones(3), start, [0, 1], focal_known=True)
    assert result.offsets[1] == -2.2 and result.sigma[1] == 0.0
    assert abs(result.offsets[2] - 5.6) < 0.05
    assert np.allclose(result.bundle.cams.focal, cap.rig.K[:, [0, 1], [0, 1]].numpy())  # focal lengths not moved


def test_an_adjustment_that_runs_off_falls_back_to_the_refinement(monkeypatch):
    import mvmocap.sync.stage as stage

    true = np.array([0.0, 4.3, -2.6])
    cap = make_unsynced_capture(true, num_frames=60, seed=11, noise_px=1.0)

    def runs_off(tracks, rig, ratios, start, fixed, **kwargs):
        result = joint_offsets(tracks, rig, ratios, start, fixed, **kwargs)
        return type(result)(result.offsets + 10.0, result.sigma, result.residual_px, result.bundle)

    monkeypatch.setattr(stage, "joint_offsets", runs_off)
    lines = []
    settings = RefineSettings(window=1.5, sweeps=2, bootstrap=20, max_frames=40)
    _, result, _ = synchronise(cap.tracks, detector="synthetic", calibrate=joints_calibrator(None, 1.7),
                               settings=settings, log=lines.append)
    assert result.method == "calibration from joints"
    assert any("moved an offset by more than 1.5 frames" in line for line in lines)
    assert np.abs(result.offsets - true).max() < 0.25
