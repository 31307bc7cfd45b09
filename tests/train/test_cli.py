"""``train-synthetic`` as a Typer command (mounted on a bare app here; main.py wires it for real)."""

import json

import typer
from typer.testing import CliRunner

from mvmocap.cli.train import train_synthetic


def app() -> typer.Typer:
    a = typer.Typer()
    a.command("train-synthetic")(train_synthetic)

    @a.command("noop")
    def _noop() -> None:  # a second command keeps Typer from collapsing to a single-command app
        pass

    return a


def test_trains_and_refuses_to_overwrite(tmp_path, tiny_config):
    runner = CliRunner()
    cfg = tiny_config(steps=2, val_every=0)
    out = tmp_path / "run"
    result = runner.invoke(app(), ["train-synthetic", "--config", str(cfg), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert lines[-1]["step"] == 2
    again = runner.invoke(app(), ["train-synthetic", "--config", str(cfg), "--out", str(out), "--quiet"])
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = runner.invoke(app(), ["train-synthetic", "--config", str(cfg), "--out", str(out), "--resume",
                                    "--steps", "3", "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    bad = runner.invoke(app(), ["train-synthetic", "--config", str(cfg), "--out", str(tmp_path / "b"),
                                "--method", "nope", "--quiet"])
    assert bad.exit_code == 2 and "unknown training method" in bad.output


def test_seed_option_overrides_the_config(tmp_path, tiny_config):
    cfg = tiny_config(steps=1, val_every=0)
    runner = CliRunner()
    for seed in (0, 5):
        result = runner.invoke(app(), ["train-synthetic", "--config", str(cfg), "--out", str(tmp_path / f"s{seed}"),
                                       "--seed", str(seed), "--quiet"])
        assert result.exit_code == 0, result.output
    assert "seed: 5" in (tmp_path / "s5" / "config.yaml").read_text()
    assert "seed: 0" in (tmp_path / "s0" / "config.yaml").read_text()
