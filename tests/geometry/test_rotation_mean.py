"""Chordal mean and median of rotations."""

from __future__ import annotations

import numpy as np
import torch

from mvmocap.geometry.rotation_mean import chordal_mean, chordal_median, project_to_rotation
from mvmocap.geometry.rotations import axis_angle_to_matrix, rotation_angle_between


def _rotations(rng: np.random.Generator, n: int, scale: float = np.pi) -> torch.Tensor:
    return axis_angle_to_matrix(torch.from_numpy(rng.normal(0, scale / 2, (n, 3))))


def test_the_mean_of_copies_is_the_rotation_and_is_batched():
    R = _rotations(np.random.default_rng(0), 3)  # (3, 3, 3): a batch of 3
    copies = R[:, None].expand(3, 5, 3, 3)
    assert torch.allclose(chordal_mean(copies), R, atol=1e-10)
    assert torch.allclose(chordal_median(copies), R, atol=1e-6)


def test_symmetric_noise_averages_out():
    rng = np.random.default_rng(1)
    centre = _rotations(rng, 1)[0]
    noise = axis_angle_to_matrix(torch.from_numpy(rng.normal(0, 0.05, (4000, 3))))
    samples = centre @ noise
    angle = np.degrees(float(rotation_angle_between(chordal_mean(samples), centre)))
    assert angle < 0.3  # 2.9 deg per sample, / sqrt(4000)


def test_the_median_resists_a_minority_of_wrong_rotations_and_weights_leave_samples_out():
    rng = np.random.default_rng(2)
    centre = _rotations(rng, 1)[0]
    good = centre @ axis_angle_to_matrix(torch.from_numpy(rng.normal(0, 0.01, (70, 3))))
    wrong = _rotations(rng, 30)  # anywhere
    samples = torch.cat([good, wrong])
    mean_error = np.degrees(float(rotation_angle_between(chordal_mean(samples), centre)))
    median_error = np.degrees(float(rotation_angle_between(chordal_median(samples), centre)))
    assert median_error < 1.0 < mean_error
    weight = torch.cat([torch.ones(70), torch.zeros(30)]).double()
    assert np.degrees(float(rotation_angle_between(chordal_mean(samples, weight), centre))) < 0.3


def test_no_weight_gives_the_identity_and_projection_is_a_rotation():
    R = _rotations(np.random.default_rng(3), 4)
    assert torch.allclose(chordal_median(R, torch.zeros(4, dtype=torch.float64)), torch.eye(3, dtype=torch.float64))
    M = torch.from_numpy(np.random.default_rng(4).normal(size=(6, 3, 3)))
    P = project_to_rotation(M)
    assert torch.allclose(P @ P.transpose(-1, -2), torch.eye(3, dtype=P.dtype).expand_as(P), atol=1e-10)
    assert torch.allclose(torch.det(P), torch.ones(6, dtype=P.dtype))
