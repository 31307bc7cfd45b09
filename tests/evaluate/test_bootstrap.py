import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.evaluate.bootstrap import block_bootstrap_frames, median_ratio_interval


def _errors(seed: int, frames: int = 60, shape=(4, 17)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    errors = torch.rand((frames, *shape), generator=g, dtype=torch.float64) * 20
    mask = torch.rand((frames, *shape), generator=g) > 0.2
    return errors, mask


def test_blocks_are_consecutive_frames_in_range():
    g = torch.Generator().manual_seed(1)
    samples = block_bootstrap_frames(frames=23, block=5, draws=50, generator=g)
    assert samples.shape == (50, 23)
    assert samples.min() >= 0 and samples.max() <= 22
    blocks = samples[:, :20].reshape(50, 4, 5)
    assert (blocks.diff(dim=-1) == 1).all()  # each block runs over consecutive frames
    assert len({tuple(row.tolist()) for row in samples}) > 1  # the draws differ


def test_block_longer_than_the_sequence_takes_the_whole_sequence():
    samples = block_bootstrap_frames(frames=7, block=50, draws=3, generator=torch.Generator().manual_seed(0))
    assert (samples == torch.arange(7)).all()


def test_identical_and_scaled_runs_give_exact_intervals():
    errors, mask = _errors(0)
    assert median_ratio_interval(errors, mask, errors, mask) == pytest.approx((1.0, 1.0))
    low, high = median_ratio_interval(errors, mask, 1.1 * errors, mask)  # paired: the scale survives every draw
    assert low == pytest.approx(1.1) and high == pytest.approx(1.1)


def test_interval_brackets_the_observed_ratio_and_narrows_with_less_noise():
    reference, mask = _errors(2)
    g = torch.Generator().manual_seed(3)
    noise = torch.randn(reference.shape, generator=g, dtype=torch.float64)
    wide = median_ratio_interval(reference, mask, reference * 1.05 + 3 * noise, mask)
    narrow = median_ratio_interval(reference, mask, reference * 1.05 + 0.3 * noise, mask)
    observed = float((reference * 1.05 + 0.3 * noise)[mask].quantile(0.5) / reference[mask].quantile(0.5))
    assert narrow[0] <= observed <= narrow[1]
    assert narrow[1] - narrow[0] < wide[1] - wide[0]


def test_blocks_widen_the_interval_of_correlated_frames():
    # Slowly drifting per-frame offsets: single-frame resampling treats neighbours as independent.
    reference, mask = _errors(4, frames=120)
    drift = torch.sin(torch.arange(120, dtype=torch.float64) / 8)[:, None, None] * 4
    other = reference + drift
    single = median_ratio_interval(reference, mask, other, mask, block=1)
    blocked = median_ratio_interval(reference, mask, other, mask, block=20)
    assert blocked[1] - blocked[0] > single[1] - single[0]


def test_same_generator_seed_same_interval():
    reference, mask = _errors(5)
    other, _ = _errors(6)
    a = median_ratio_interval(reference, mask, other, mask, generator=torch.Generator().manual_seed(9))
    b = median_ratio_interval(reference, mask, other, mask, generator=torch.Generator().manual_seed(9))
    assert a == b


@pytest.mark.parametrize("change", ["shape", "frames", "empty", "block", "level"])
def test_bad_inputs_raise(change):
    errors, mask = _errors(7)
    other, other_mask, kwargs = errors, mask, {}
    if change == "shape":
        other_mask = mask[..., :5]
    elif change == "frames":
        other, other_mask = errors[:10], mask[:10]
    elif change == "empty":
        other_mask = torch.zeros_like(mask)
    elif change == "block":
        kwargs = {"block": 0}
    else:
        kwargs = {"level": 1.0}
    with pytest.raises(InputError):
        median_ratio_interval(errors, mask, other, other_mask, **kwargs)
