"""Synthetic captures of motion clips: shapes, the three evidence conditions, masks, determinism."""

from __future__ import annotations

import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.synth.motion import MotionConfig
from mvmocap.synth.sequence import SequenceConfig, synthetic_capture

SHORT = MotionConfig(frames=12)


def _capture(body, **options):
    return synthetic_capture(body, SequenceConfig(motion=SHORT, **options), seed=0, index=0)


def test_capture_shapes_and_clean_evidence_are_the_projections(toy_body):
    capture = _capture(toy_body, cameras=3, condition="clean", mask_side=64)
    det = capture.detections
    assert det.keypoints.shape == (3, 12, 23, 3) and det.boxes.shape == (3, 12, 5)
    assert capture.joints17.shape == (12, 17, 3) and capture.posed.vertices.shape[0] == 12
    assert tuple(det.camera_names) == tuple(capture.rig.names) and len(capture.rig) == 3
    projected = capture.rig.project(capture.posed.coco23.double()).permute(1, 0, 2, 3)  # (C, T, 23, 2)
    seen = torch.from_numpy(det.keypoints[..., 2]) > 0
    assert bool(seen.float().mean() > 0.9)
    assert torch.allclose(torch.from_numpy(det.keypoints[..., :2])[seen].double(), projected[seen], atol=1e-3)
    assert set(det.keypoints[..., 2][det.keypoints[..., 2] > 0].tolist()) == {1.0}
    mask = det.masks[0][0]
    assert max(mask.height, mask.width) == 64 and 0 < mask.area_fraction < 0.9


def test_noisy_and_occluded_evidence_differ_from_clean(toy_body):
    clean, noisy, occluded = (_capture(toy_body, condition=c) for c in ("clean", "noisy", "occluded"))
    assert torch.equal(clean.rig.K, noisy.rig.K)  # same rig: only the evidence changes
    error = (torch.from_numpy(noisy.detections.keypoints[..., :2] - clean.detections.keypoints[..., :2])).norm(dim=-1)
    assert 0.5 < float(error.median()) < 50.0  # px
    assert noisy.hidden is None and clean.hidden is None
    hidden = occluded.hidden.permute(1, 0, 2).numpy()  # (C, T, 23) as the detections
    assert 0.02 < hidden.mean() < 0.6  # the z-buffer hides some joints, not most
    conf = occluded.detections.keypoints[..., 2]
    assert conf[hidden & (conf > 0)].mean() < conf[~hidden & (conf > 0)].mean()  # hidden joints are less sure
    assert noisy.detections.masks is None  # no mask_side, no masks


def test_captures_are_deterministic(toy_body):
    a, b = _capture(toy_body, condition="noisy"), _capture(toy_body, condition="noisy")
    assert (a.detections.keypoints == b.detections.keypoints).all()
    other = synthetic_capture(toy_body, SequenceConfig(motion=SHORT, condition="noisy"), seed=0, index=1)
    assert not (other.detections.keypoints == a.detections.keypoints).all()


@pytest.mark.parametrize("options, message", [
    ({"cameras": 1}, "2..8 cameras"), ({"condition": "foggy"}, "unknown condition"),
    ({"rig_families": ("nowhere",)}, "unknown rig family"), ({"cameras": 8, "rig_families": ("four_corners",)}, "allows 8"),
])
def test_bad_configurations_are_refused(options, message):
    with pytest.raises(InputError, match=message):
        SequenceConfig(**options)


def test_the_held_out_rig_family_is_distorted_and_never_drawn_by_default(toy_body):
    heldout = _capture(toy_body, cameras=4, condition="clean", rig_families=("high_wide",))
    assert heldout.rig_family == "high_wide" and float(heldout.rig.dist.abs().max()) > 0
    projected = heldout.rig.project(heldout.posed.coco23.double()).permute(1, 0, 2, 3)  # distorted pixels
    kp = torch.from_numpy(heldout.detections.keypoints).double()
    seen = kp[..., 2] > 0
    assert torch.allclose(kp[..., :2][seen], projected[seen], atol=1e-3)
    families = {synthetic_capture(toy_body, SequenceConfig(motion=SHORT), 0, i).rig_family for i in range(6)}
    assert "high_wide" not in families
