"""detectron2 adapter: output conversion with fake ``Instances`` (detectron2 itself cannot run here)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from mvmocap.detect.detectron2 import (
    Detectron2Detector,
    attach_densepose,
    densepose_iuv,
    instances_to_candidates,
    keypoint_confidence,
)
from mvmocap.errors import DependencyError, MissingFileError


class FakeInstances:
    """Shaped like detectron2's ``Instances``: attribute fields plus ``has``."""

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def has(self, name):
        return name in self.__dict__


def fake_keypoint_instances(generator, n=3, size=(640, 480)):
    boxes = torch.rand(n, 4, generator=generator) * torch.tensor([size[0] / 2, size[1] / 2] * 2)
    boxes[:, 2:] += boxes[:, :2] + 20
    keypoints = torch.rand(n, 17, 3, generator=generator) * torch.tensor([size[0], size[1], 0.2])
    return FakeInstances(
        pred_boxes=SimpleNamespace(tensor=boxes),  # detectron2's Boxes keeps its (N, 4) tensor in .tensor
        scores=torch.tensor([0.99, 0.3, 0.8])[:n],
        pred_classes=torch.zeros(n, dtype=torch.long),
        pred_keypoints=keypoints,
    )


def test_keypoint_confidence_is_monotone_in_unit_interval():
    s = np.array([0.0, 0.01, 0.05, 0.2, 5.0])
    c = keypoint_confidence(s)
    assert c[0] == 0 and c[2] == pytest.approx(0.5) and np.all(np.diff(c) > 0) and c[-1] < 1


def test_instances_to_candidates(generator):
    inst = fake_keypoint_instances(generator)
    cands = instances_to_candidates(inst, (640, 480), min_score=0.5)
    assert len(cands) == 2  # the 0.3-score person is dropped
    kept = [0, 2]
    np.testing.assert_allclose(cands.keypoints[:, :17, :2], inst.pred_keypoints[kept, :, :2].numpy() - 0.5)
    np.testing.assert_allclose(cands.keypoints[:, :17, 2], keypoint_confidence(inst.pred_keypoints[kept, :, 2].numpy()))
    assert np.all(cands.keypoints[:, 17:] == 0)  # no feet from Keypoint R-CNN
    np.testing.assert_allclose(cands.boxes[:, :4], inst.pred_boxes.tensor[kept].numpy())
    np.testing.assert_allclose(cands.boxes[:, 4], [0.99, 0.8])
    assert cands.mono3d is None and cands.iuv is None


def test_non_person_classes_are_dropped(generator):
    inst = fake_keypoint_instances(generator)
    inst.pred_classes = torch.tensor([0, 0, 1])
    assert len(instances_to_candidates(inst, (640, 480))) == 1


def test_empty_instances():
    inst = FakeInstances(pred_boxes=SimpleNamespace(tensor=torch.zeros(0, 4)), scores=torch.zeros(0),
                         pred_keypoints=torch.zeros(0, 17, 3))
    assert len(instances_to_candidates(inst, (640, 480))) == 0


def test_densepose_iuv(generator):
    n, S = 2, 8
    coarse = torch.randn(n, 2, S, S, generator=generator)
    fine = torch.randn(n, 25, S, S, generator=generator)
    u = torch.rand(n, 25, S, S, generator=generator)
    v = torch.rand(n, 25, S, S, generator=generator)
    iuv = densepose_iuv(coarse.numpy(), fine.numpy(), u.numpy(), v.numpy())
    assert iuv.shape == (n, 3, S, S) and iuv.dtype == np.uint8
    fg = coarse.argmax(1) > 0
    part = fine.argmax(1)
    for i, y, x in [(0, 1, 2), (1, 5, 5), (1, 0, 7)]:
        if fg[i, y, x]:
            p = part[i, y, x]
            assert iuv[i, 0, y, x] == p
            assert iuv[i, 1, y, x] == round(float(u[i, p, y, x]) * 255)
            assert iuv[i, 2, y, x] == round(float(v[i, p, y, x]) * 255)
        else:
            assert np.all(iuv[i, :, y, x] == 0)
    assert np.array_equal(iuv[:, 0] > 0, (fg & (part > 0)).numpy())


def test_densepose_attached_to_keypoint_people(generator):
    S, size = 6, (640, 480)
    people = instances_to_candidates(fake_keypoint_instances(generator), size)
    boxes = torch.as_tensor(people.boxes[:, :4]) + 1.0  # nearly the same boxes, other order
    boxes = boxes.flip(0)
    coarse = torch.zeros(2, 2, S, S)
    coarse[:, 1, 1:5, 2:4] = 1.0  # foreground block
    dense_inst = FakeInstances(
        pred_boxes=SimpleNamespace(tensor=boxes), scores=torch.tensor([0.9, 0.9]),
        pred_keypoints=torch.zeros(2, 17, 3),
        pred_densepose=SimpleNamespace(coarse_segm=coarse, fine_segm=torch.randn(2, 25, S, S, generator=generator),
                                       u=torch.rand(2, 25, S, S), v=torch.rand(2, 25, S, S)),
    )
    dense = instances_to_candidates(dense_inst, size)
    assert dense.masks is not None and dense.iuv.shape == (2, 3, S, S)
    merged = attach_densepose(people, dense)
    np.testing.assert_array_equal(merged.iuv[0], dense.iuv[1])  # matched by box overlap, not order
    np.testing.assert_array_equal(merged.keypoints, people.keypoints)
    mask = merged.masks[0].decode(size)
    x0, y0, x1, y1 = boxes[1].tolist()
    cx, cy = int(x0 + (x1 - x0) * 3 / S), int(y0 + (y1 - y0) * 3 / S)  # inside the foreground block
    assert mask[cy, cx] and not mask[int(y0) + 1, int(x0) + 1]


def test_missing_detectron2_is_one_clear_error(tmp_path):
    try:
        import detectron2  # noqa: F401
        pytest.skip("detectron2 is installed here")
    except ImportError:
        pass
    with pytest.raises(DependencyError, match="detectron2.*not installed"):
        Detectron2Detector()
    with pytest.raises(MissingFileError, match="weights"):
        Detectron2Detector(weights=tmp_path / "missing.pkl")
