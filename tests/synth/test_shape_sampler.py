import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.synth.shape_sampler import sample_betas


def test_clipped_normal():
    b = sample_betas(5000, torch.Generator().manual_seed(0), num_betas=10, std=1.0, clip=2.0)
    assert b.shape == (5000, 10)
    assert b.abs().max() <= 2.0
    assert abs(float(b.mean())) < 0.05
    assert 0.8 < float(b.std()) < 1.0  # clipping at 2 sigma shrinks the std a little
    assert torch.equal(b, sample_betas(5000, torch.Generator().manual_seed(0), num_betas=10, std=1.0, clip=2.0))


def test_rejects_bad_arguments():
    with pytest.raises(InputError):
        sample_betas(3, torch.Generator(), clip=0)
