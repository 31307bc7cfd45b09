import json

import pytest
import torch

from mvmocap.errors import InputError, MissingFileError
from mvmocap.train import available_methods, load_config, run
from mvmocap.train.checkpoint import load_checkpoint


def read_metrics(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_runs_end_to_end_and_resumes_exactly(tmp_path, tiny_config):
    cfg = tiny_config()
    full = tmp_path / "full"
    result = run(None, cfg, full, progress=False)
    assert result["step"] == 6 and set(result["val"]) >= {"mpjpe", "pa_mpjpe", "pck150"}
    lines = read_metrics(full)
    assert [r["step"] for r in lines if r["split"] == "train"] == [2, 4, 6]
    assert [r["step"] for r in lines if r["split"] == "val"] == [3, 6]
    assert all(torch.isfinite(torch.tensor(r["loss"])) for r in lines if r["split"] == "train")
    assert (full / "config.yaml").exists()

    # Stop after 3 steps, then resume to 6: the same weights as the uninterrupted run.
    part = tmp_path / "part"
    run(None, tiny_config(steps=3), part, progress=False)
    assert load_checkpoint(part)["step"] == 3
    run(None, cfg, part, resume=True, progress=False)
    a, b = load_checkpoint(full)["model"], load_checkpoint(part)["model"]
    for key in a:
        assert torch.allclose(a[key], b[key], atol=1e-6), key
    after = lambda rows: [(r["step"], r["split"], r.get("loss", r.get("mpjpe"))) for r in rows if r["step"] > 3]  # noqa: E731
    for x, y in zip(after(read_metrics(part)), after(lines), strict=True):
        assert x[:2] == y[:2] and x[2] == pytest.approx(y[2], rel=1e-4)


def test_refuses_to_overwrite_and_checks_resume(tmp_path, tiny_config):
    out = tmp_path / "run"
    run(None, tiny_config(steps=2, val_every=0), out, progress=False)
    with pytest.raises(InputError, match="--resume"):
        run(None, tiny_config(steps=2), out, progress=False)
    with pytest.raises(InputError, match="config changed"):
        run(None, tiny_config(steps=4, seed=1), out, resume=True, progress=False)
    with pytest.raises(MissingFileError):
        run(None, tiny_config(), tmp_path / "empty", resume=True, progress=False)


def test_config_validation(tmp_path, tiny_config):
    with pytest.raises(InputError):
        load_config(tiny_config(stepz=3))
    with pytest.raises(InputError):
        load_config(tiny_config(steps=0))
    with pytest.raises(InputError, match="unknown training method"):
        run("nope", tiny_config(), tmp_path / "x", progress=False)
    assert "mlp" in available_methods()


def test_trained_run_is_a_benchmark_method(tmp_path, tiny_config):
    from mvmocap.evaluate.synthetic import run_benchmark
    from mvmocap.synth.toy_body import ToyBodyModel

    out = tmp_path / "bench"
    run(None, tiny_config(steps=2, val_every=0), out, progress=False)
    r = run_benchmark(str(out), n=4, views=2, body_model=ToyBodyModel())
    assert r["metrics"]["mpjpe"] > 0 and "pve" in r["metrics"]
    with pytest.raises(InputError, match="views"):
        run_benchmark(str(out), n=2, views=3, body_model=ToyBodyModel())


def test_cosine_learning_rate_schedule(tiny_config):
    cfg = load_config(tiny_config(steps=100, lr=1e-3, lr_schedule="cosine", lr_min=1e-5))
    assert cfg.learning_rate(0) == pytest.approx(1e-3)
    assert cfg.learning_rate(50) == pytest.approx(0.5 * (1e-3 + 1e-5))
    assert cfg.learning_rate(100) == pytest.approx(1e-5)
    rates = [cfg.learning_rate(s) for s in range(101)]
    assert all(a >= b for a, b in zip(rates, rates[1:]))
    assert load_config(tiny_config(lr=2e-3)).learning_rate(77) == pytest.approx(2e-3)
    with pytest.raises(InputError, match="lr_schedule"):
        load_config(tiny_config(lr_schedule="step"))
    with pytest.raises(InputError, match="lr_min"):
        load_config(tiny_config(lr=1e-3, lr_min=1e-2))
