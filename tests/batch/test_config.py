"""Settings precedence: defaults < session config < TRIAL/config.yaml < command-line options."""

from __future__ import annotations

import pytest
import yaml

from mvmocap.batch.config import cli_layer, merge, read_layer, resolve
from mvmocap.errors import FileFormatError, InputError


def test_merge_is_deep_for_sections_and_replaces_everything_else():
    base = {"method": "fit", "fit": {"iters_pose": 30, "chunk_size": 6}, "detect": {"offsets": ["cam02=3"], "scale": 0.5}}
    merged = merge(base, {"fit": {"iters_pose": 50}, "detect": {"offsets": []}})
    assert merged == {"method": "fit", "fit": {"iters_pose": 50, "chunk_size": 6}, "detect": {"offsets": [], "scale": 0.5}}
    assert base["fit"]["iters_pose"] == 30  # inputs untouched


def test_precedence_defaults_session_trial_cli(tmp_path):
    session = tmp_path / "session.yaml"
    session.write_text(yaml.safe_dump({"method": "fit", "subject_height_m": 1.8,
                                       "detect": {"frames": "0:50", "scale": 0.25}, "fit": {"iters_pose": 40}}))
    trial = tmp_path / "trial.yaml"
    trial.write_text(yaml.safe_dump({"detect": {"frames": "10:20"}, "fit": {"chunk_size": 4}, "subject_height_m": 1.6}))
    cfg = resolve(read_layer(session), read_layer(trial), cli_layer(frames="0:5", device="cpu"))
    assert cfg.detect.frames == "0:5"  # the command line wins over the trial
    assert cfg.subject_height_m == 1.6  # the trial wins over the session
    assert cfg.detect.scale == 0.25  # the session wins over the defaults
    assert cfg.fit == {"iters_pose": 40, "chunk_size": 4}  # sections merge key by key
    assert cfg.triangulation.threshold_px == 20.0  # defaults where nobody says anything
    no_trial = resolve(read_layer(session), {}, {})
    assert no_trial.detect.frames == "0:50" and no_trial.subject_height_m == 1.8


def test_bad_layers_name_their_file(tmp_path):
    bad = tmp_path / "config.yaml"
    bad.write_text("detect: {scael: 0.5}\n")
    with pytest.raises(InputError, match=r"config.yaml: unknown detect option\(s\) scael"):
        read_layer(bad)
    bad.write_text("- a list\n")
    with pytest.raises(FileFormatError, match="expected a YAML mapping"):
        read_layer(bad)
    bad.write_text("device: tpu\n")
    with pytest.raises(InputError, match="config.yaml: device must be"):
        read_layer(bad)
