"""The fixed sample pool (``pool_size`` / ``pool_cache``)."""

import pytest
import torch

from mvmocap.errors import FileFormatError
from mvmocap.synth.dataset import SynthConfig, SyntheticMultiView, load_body
from mvmocap.train import run
from mvmocap.train.checkpoint import load_checkpoint
from mvmocap.train.pool import PooledSamples, generate_pool, load_or_generate_pool, pool_key


@pytest.fixture(scope="module")
def toy_dataset():
    return SyntheticMultiView(load_body("toy"), SynthConfig.from_dict({"views": 2}), length=100, seed=3)


def test_pool_holds_the_first_samples_and_cycles_with_running_indices(toy_dataset):
    pool = generate_pool(toy_dataset, 5)
    assert pool["joints3d"].shape == (5, 17, 3)
    direct = toy_dataset.batch([0, 1, 2, 3, 4])
    assert torch.equal(pool["keypoints2d"], direct["keypoints2d"])
    served = PooledSamples(pool, length=100)[[3, 4, 5, 12]]
    assert served["index"].tolist() == [3, 4, 5, 12]  # the running index, for per-visit randomness
    assert torch.equal(served["joints3d"], pool["joints3d"][[3, 4, 0, 2]])


def test_pool_cache_is_reused_and_checked(tmp_path, toy_dataset):
    key = pool_key({"views": 2}, "toy", 3, 4)
    assert key != pool_key({"views": 3}, "toy", 3, 4) and key != pool_key({"views": 2}, "toy", 4, 4)
    first = load_or_generate_pool(toy_dataset, 4, tmp_path, key)
    file = tmp_path / f"pool-{key}.pt"
    assert file.is_file() and not list(tmp_path.glob("*.tmp*"))
    calls = []
    again = load_or_generate_pool(toy_dataset, 4, tmp_path, key, report=calls.append)
    assert not calls and torch.equal(again["keypoints2d"], first["keypoints2d"])  # loaded, not regenerated
    torch.save({"format": "something else"}, file)
    with pytest.raises(FileFormatError, match="delete it"):
        load_or_generate_pool(toy_dataset, 4, tmp_path, key)


def test_a_pooled_run_trains_from_the_cached_pool(tmp_path, tiny_config):
    cfg = tiny_config(pool_size=8, pool_cache=str(tmp_path / "pools"))
    run(None, cfg, tmp_path / "a", progress=False)
    assert len(list((tmp_path / "pools").glob("pool-*.pt"))) == 1
    run(None, cfg, tmp_path / "b", progress=False)  # the same pool, loaded: the same weights
    a, b = load_checkpoint(tmp_path / "a")["model"], load_checkpoint(tmp_path / "b")["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
