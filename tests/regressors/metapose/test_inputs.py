"""Evidence -> MetaPose inputs: normalisation and the left/right repair of mirrored views."""

from __future__ import annotations

import torch

from mvmocap.keypoints import COCO17, flip_permutation
from mvmocap.regressors.metapose.inputs import normalise_views, prepare_inputs

from .conftest import make_inputs


def test_views_are_normalised_to_a_unit_box():
    kp = torch.tensor([[[[0.0, 0.0], [100.0, 50.0], [50.0, 200.0], [7.0, 7.0]]]])
    conf = torch.tensor([[[1.0, 1.0, 1.0, 0.0]]])
    norm, centre, box = normalise_views(kp, conf)
    torch.testing.assert_close(centre, torch.tensor([[[50.0, 250.0 / 3]]]))
    assert box.item() == 200.0 and norm[0, 0, 3].abs().sum() == 0
    torch.testing.assert_close(norm[0, 0, :3] * 200 + centre[0, 0], kp[0, 0, :3])


def test_a_mirrored_view_is_repaired_in_2d_and_3d():
    base, _, _ = make_inputs(B=1, C=3, seed=5, noise_px=0.0, mono_noise_m=0.0)
    perm = list(flip_permutation(COCO17))
    kp_px = base.to_pixels(base.keypoints)
    kp_m, conf_m, mono_m = kp_px.clone(), base.confidence.clone(), base.mono3d.clone()
    kp_m[0, 1], conf_m[0, 1], mono_m[0, 1] = kp_px[0, 1][perm], base.confidence[0, 1][perm], base.mono3d[0, 1][perm]
    repaired = prepare_inputs(kp_m, conf_m, mono_m, conf_m)
    torch.testing.assert_close(repaired.mono3d, base.mono3d)
    torch.testing.assert_close(repaired.keypoints, base.keypoints, atol=1e-5, rtol=0)
    kept = prepare_inputs(kp_m, conf_m, mono_m, conf_m, repair_flips=False)
    torch.testing.assert_close(kept.mono3d, mono_m)
