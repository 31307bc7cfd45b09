"""The permanent corpus of bad inputs (issue #18): every command, hostile and malformed files.

Each case generates its input in a fresh folder, runs the CLI in-process (typer's CliRunner)
and asserts: the exit code, exactly one line on stderr that names the file, no traceback, no
new file or folder beside the inputs (no partial output), and that no pickled payload ran.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from typer.testing import CliRunner

from mvmocap.cli.main import app
from tests.robustness import hostile as h

runner = CliRunner()
TRAIN_OK = "method: mlp\nbody_model: toy\nsteps: 2\nbatch_size: 2\nval_size: 2\nthreads: 1\n"
RECONSTRUCT = ["reconstruct", "{root}/videos", "--out", "{root}/out", "--config", "{input}"]
TRAIN = ["train-synthetic", "--config", "{input}", "--out", "{root}/run"]
CALIBRATE = ["calibrate", "--from-file", "{input}", "--out", "{root}/out.yaml"]
PREVIEW = ["body", "preview", "{input}", "--out", "{root}/preview.png"]


@dataclass
class Case:
    id: str
    make: Callable[[Path], Path]  # writes the input under root, returns the path the command names
    args: list[str]
    message: str  # expected in the one stderr line (besides the file's name)
    code: int = 2
    env: dict[str, str] = field(default_factory=dict)  # "{input}" is replaced
    names: str | None = None  # the name the line must hold (default: the input's file name)


def text_file(name: str, text: str) -> Callable[[Path], Path]:
    return lambda root: h.write(root, name, text)


def _file_as_folder(root: Path) -> Path:
    h.write(root, "afile", "x")
    return h.write(root, "cams.yaml", h.native_text())


def _train_with_init_from(root: Path) -> Path:
    h.torch_payload(root, "stage1.pt")
    return h.write(root, "train.yaml", "method: volumetric\nbody_model: toy\nsteps: 1\nbatch_size: 1\nval_size: 1\n"
                                       f"threads: 1\nmodel: {{init_from: {root / 'stage1.pt'}}}\n")


def _resume_payload(root: Path) -> Path:
    h.run_folder_with_payload(root)
    return h.write(root, "train.yaml", TRAIN_OK)


CASES = [
    # -- code execution (item 1) ------------------------------------------------------------------
    Case("pkl-os-system", h.body_pickle_payload, PREVIEW, "refused to load posix.system"),
    Case("pickle-renamed-npz", h.body_pickle_as_npz, PREVIEW, "is a pickle named .npz"),
    Case("npz-object-array-payload", h.body_npz_object_payload, PREVIEW, "refused to load posix.system"),
    Case("body-model-env-payload", h.body_pickle_payload, ["body", "preview", "--out", "{root}/p.png"],
         "refused to load posix.system", env={"MVMOCAP_BODY_MODEL": "{input}"}),
    Case("eval-method-checkpoint-payload", h.torch_payload,
         ["eval", "synthetic", "--method", "{input}", "--n", "1", "--views", "2"], "refused training checkpoint"),
    Case("eval-method-run-folder-payload", h.run_folder_with_payload,
         ["eval", "synthetic", "--method", "{input}", "--n", "1", "--views", "2"], "refused training checkpoint",
         names="checkpoint.pt"),
    Case("volumetric-env-payload", h.torch_payload,
         ["eval", "synthetic", "--method", "volumetric", "--n", "1", "--views", "2"],
         "refused volumetric regressor checkpoint", env={"MVMOCAP_VOLUMETRIC_CHECKPOINT": "{input}"}),
    Case("resume-payload", _resume_payload, TRAIN + ["--resume"], "refused training checkpoint", names="checkpoint.pt"),
    Case("init-from-payload", _train_with_init_from, TRAIN, "refused volumetric regressor checkpoint",
         names="stage1.pt"),
    # -- resource exhaustion (item 2) -------------------------------------------------------------
    Case("calibration-alias-bomb", h.calib_alias_bomb, CALIBRATE, "refused YAML: expands to more than"),
    Case("calibration-huge", h.calib_huge, CALIBRATE, "more than the 1.0 MB a calibration file may be"),
    Case("calibration-dev-zero", h.calib_dev_zero, CALIBRATE, "not a regular file"),
    Case("calibration-fifo", h.calib_fifo, CALIBRATE, "not a regular file"),
    Case("body-model-dev-zero", h.body_dev_zero, PREVIEW, "not a regular file"),
    Case("train-batch-size", text_file("train.yaml", TRAIN_OK.replace("batch_size: 2", "batch_size: 100000000")),
         TRAIN, "batch_size must be between 1 and 65536"),
    Case("train-alias-bomb", lambda root: h.write(root, "train.yaml", h.alias_bomb_yaml()), TRAIN, "refused YAML"),
    Case("reconstruct-config-alias-bomb", lambda root: h.write(root, "r.yaml", h.alias_bomb_yaml()), RECONSTRUCT,
         "refused YAML"),
    Case("reconstruct-config-dev-zero", h.calib_dev_zero, RECONSTRUCT, "not a regular file"),
    # -- silently wrong results (item 3) ----------------------------------------------------------
    Case("metres-labelled-mm", h.calib_metres_labelled_mm, CALIBRATE, "wrong units"),
    Case("focal-1e300", h.calib_focal_1e300, CALIBRATE, "focal length 1e+300 px is implausible"),
    Case("width-1e20", h.calib_width_1e20, CALIBRATE, "size must be two whole numbers"),
    Case("fit-weight-nan", text_file("r.yaml", "fit: {weight_2d: .nan}\n"), RECONSTRUCT,
         "weight_2d must be a finite number"),
    Case("threshold-inf", text_file("r.yaml", "triangulation: {threshold_px: .inf}\n"), RECONSTRUCT,
         "threshold_px must be a finite number"),
    Case("train-lr-nan", text_file("train.yaml", TRAIN_OK + "lr: .nan\n"), TRAIN, "lr must be a finite number"),
    # -- tracebacks (item 4) ----------------------------------------------------------------------
    Case("width-inf", h.calib_width_inf, CALIBRATE, "size must be two whole numbers"),
    Case("deep-yaml", h.calib_deep_yaml, CALIBRATE, "nest"),
    Case("deep-toml", h.calib_deep_toml, CALIBRATE + ["--in-format", "toml"], "nested too deeply"),
    Case("deep-config", text_file("r.yaml", "fit: " + "[" * 3000 + "]" * 3000 + "\n"), RECONSTRUCT, "nest"),
    Case("qualisys-entities", h.calib_qualisys_entities, CALIBRATE, "refused XML"),
    Case("easymocap-wrong-matrix", h.calib_easymocap_broken, CALIBRATE, "'K_cam01' is not a matrix", names="intri.yml"),
    Case("easymocap-short-data", h.calib_easymocap_garbage, CALIBRATE, "is not a matrix", names="intri.yml"),
    Case("config-wrong-type", text_file("r.yaml", "triangulation: {threshold_px: abc}\n"), RECONSTRUCT,
         "threshold_px must be a number, got 'abc'"),
    Case("config-section-not-mapping", text_file("r.yaml", "detect: [1, 2]\n"), RECONSTRUCT,
         "detect must be a mapping"),
    Case("config-bool-as-text", text_file("r.yaml", "export: {render: 'yes'}\n"), RECONSTRUCT,
         "render must be true or false"),
    Case("fit-iterations-text", text_file("r.yaml", "fit: {iters_pose: many}\n"), RECONSTRUCT,
         "iters_pose must be an integer"),
    Case("config-numeric-keys", text_file("r.yaml", "1: 2\n"), RECONSTRUCT, "option names must be text"),
    Case("frames-malformed", text_file("r.yaml", "detect: {frames: '10-20'}\n"), RECONSTRUCT,
         "expected integers as start:stop:step"),
    Case("offsets-malformed", text_file("r.yaml", "detect: {offsets: [cam02]}\n"), RECONSTRUCT,
         "expected CAMERA=FRAMES"),
    Case("detector-unknown", text_file("r.yaml", "detect: {detector: yolo}\n"), RECONSTRUCT,
         "detect.detector must be one of blazepose"),
    Case("detect-scale-zero", text_file("r.yaml", "detect: {scale: 0}\n"), RECONSTRUCT, "detect.scale must be in"),
    Case("train-steps-text", text_file("train.yaml", TRAIN_OK + "steps: ten\n"), TRAIN, "steps must be an integer"),
    Case("train-data-views", text_file("train.yaml", TRAIN_OK + "data: {views: 100000}\n"), TRAIN,
         "views must be in 1..8"),
    Case("body-model-nan-vertices", h.body_nan_vertices, PREVIEW, "v_template has non-finite values"),
    Case("body-model-truncated", h.body_truncated, PREVIEW, "cannot read"),
    Case("truncated-joints3d", h.truncated_joints3d,
         ["eval", "reconstructions", "--reference", "{input}", "--other", "{input}"], "not a readable .npz",
         names="joints3d.npz"),
    Case("output-under-a-file", _file_as_folder, ["calibrate", "--from-file", "{input}", "--out", "{root}/afile/o.yaml"],
         "is a file where a folder is needed", names="afile"),
    Case("preview-output-under-a-file", lambda root: h.write(root, "afile", "x"),
         ["body", "preview", "--out", "{root}/afile/p.png"], "is a file where a folder is needed", names="afile"),
    Case("eval-json-under-a-file", _file_as_folder,
         ["eval", "calibration", "--estimate", "{input}", "--reference", "{input}", "--json", "{root}/afile/c.json"],
         "is a file where a folder is needed", names="afile"),
    Case("train-out-is-a-file", lambda root: (h.write(root, "afile", "x"), h.write(root, "train.yaml", TRAIN_OK))[1],
         ["train-synthetic", "--config", "{input}", "--out", "{root}/afile"], "afile", names="afile"),
    Case("reconstruct-out-is-a-file", lambda root: h.write(root, "afile", "x"),
         ["reconstruct", "{root}/videos", "--out", "{input}", "--calibrate-from-joints"], "--out is a file"),
    Case("detect-out-under-a-file", lambda root: h.write(root, "afile", "x"),
         ["detect", "{root}/videos", "--out", "{input}/work"], "is a file where a folder is needed"),
    Case("synthetic-json-is-a-folder", lambda root: root / "videos",
         ["eval", "synthetic", "--method", "gt", "--n", "1", "--views", "2", "--json", "{input}"],
         "--json is a folder"),
    Case("preview-out-is-a-folder", lambda root: root / "videos", ["body", "preview", "--out", "{input}"],
         "--out is a folder"),
    # -- already handled (kept so they stay handled) ----------------------------------------------
    Case("calibration-malformed", h.calib_malformed, CALIBRATE, "malformed YAML"),
    Case("calibration-not-utf8", h.calib_not_utf8, CALIBRATE, "not a UTF-8 text file"),
    Case("calibration-missing", lambda root: root / "missing.yaml", CALIBRATE, "not found"),
    Case("body-model-missing", lambda root: root / "SMPL_MALE.pkl", PREVIEW, "not found"),
    Case("train-config-missing", lambda root: root / "nope.yaml", TRAIN, "not found"),
    Case("config-unknown-option", text_file("r.yaml", "colour: red\n"), RECONSTRUCT, "unknown option(s) colour"),
]


def _tree(root: Path) -> set[str]:
    """Every path under ``root`` (links not followed), relative."""
    found = set()
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            found.add(os.path.relpath(os.path.join(folder, name), root))
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_line_and_leaves_nothing(case: Case, tmp_path, monkeypatch):
    monkeypatch.delenv("MVMOCAP_DEBUG", raising=False)
    monkeypatch.delenv("MVMOCAP_BODY_MODEL", raising=False)
    monkeypatch.delenv("MVMOCAP_VOLUMETRIC_CHECKPOINT", raising=False)
    (tmp_path / "videos").mkdir()
    target = case.make(tmp_path)
    fill = {"input": str(target), "root": str(tmp_path)}
    args = [a.format(**fill) for a in case.args]
    env = {k: v.format(**fill) for k, v in case.env.items()}
    before = _tree(tmp_path)

    result = runner.invoke(app, args, env={**env, "COLUMNS": "300"})

    assert result.exit_code == case.code, (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and case.message in lines[0], lines[0]
    assert (case.names or target.name) in lines[0], lines[0]
    assert not (tmp_path / h.MARKER).exists(), "the payload ran"
    assert _tree(tmp_path) == before, "files were left behind"


def test_the_payloads_are_live(tmp_path):
    """The corpus' payloads do run under a plain unpickler: the refusals above are real."""
    import pickle

    pickle.loads(h.payload_bytes(tmp_path))
    assert (tmp_path / h.MARKER).exists()


def test_cuda_without_cuda_is_one_line(tmp_path):
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    result = runner.invoke(app, ["reconstruct", str(tmp_path), "--out", str(tmp_path / "out"), "--device", "cuda"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and "device cuda: CUDA is not available" in lines[0]
    assert not (tmp_path / "out").exists()
