import pytest
import torch

from mvmocap.errors import InputError
from mvmocap.evaluate.synthetic import (
    available_estimators,
    format_table,
    register_estimator,
    run_benchmark,
)
from mvmocap.synth.toy_body import ToyBodyModel


@pytest.fixture(scope="module")
def body():
    return ToyBodyModel()


def test_ground_truth_scores_perfectly(body):
    r = run_benchmark("gt", seed=0, n=12, views=3, body_model=body, batch_size=6)
    m = r["metrics"]
    assert m["mpjpe"] == pytest.approx(0.0, abs=1e-6) and m["pve"] == pytest.approx(0.0, abs=1e-6)
    assert m["pck150"] == 1.0 and m["auc"] == 1.0
    assert r["n"] == 12 and r["views"] == 3 and sum(f["n"] for f in r["per_family"].values()) == 12
    assert "| gt |" in format_table(r)


def test_triangulation_is_reasonable_and_reproducible(body):
    a = run_benchmark("triangulation", seed=1, n=16, views=4, body_model=body, batch_size=8)
    b = run_benchmark("triangulation", seed=1, n=16, views=4, body_model=body, batch_size=16)
    c = run_benchmark("triangulation", seed=2, n=16, views=4, body_model=body, batch_size=16)
    assert 5.0 < a["metrics"]["mpjpe"] < 200.0
    assert "pve" not in a["metrics"]  # joints only
    assert a["metrics"]["mpjpe"] == pytest.approx(b["metrics"]["mpjpe"], rel=1e-4)
    assert a["metrics"]["mpjpe"] != pytest.approx(c["metrics"]["mpjpe"], rel=1e-4)


def test_registry_is_open(body):
    @register_estimator("test_shifted")
    def shifted(batch, body_model, device):
        return {"joints3d": batch["joints3d"] + torch.tensor([0.0, 0.0, 0.05])}

    assert "test_shifted" in available_estimators()
    r = run_benchmark("test_shifted", n=4, views=2, body_model=body)
    assert r["metrics"]["mpjpe"] == pytest.approx(0.0, abs=1e-3)
    assert r["metrics"]["mpjpe_abs"] == pytest.approx(50.0, abs=1e-3)


def test_unknown_method(body):
    with pytest.raises(InputError):
        run_benchmark("no_such_method_xyz", n=2, body_model=body)
