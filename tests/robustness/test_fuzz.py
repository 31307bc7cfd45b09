"""Fuzzing every file reader: random mutations of small valid files (byte flips, truncation,
inserted syntax tokens, deleted spans). Only the project's own errors may come out: anything
else (a RecursionError, a cv2.error, an OverflowError ...) would reach the user as a traceback.

200 examples per reader, derandomised so CI is reproducible; inputs are tiny so each reader
takes a few seconds. ``MVMOCAP_FUZZ_EXAMPLES=N`` searches longer, at random.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mvmocap.errors import MvmocapError
from tests.robustness import hostile as h

# MVMOCAP_FUZZ_EXAMPLES=5000 runs a longer, random (not derandomised) search locally.
_EXAMPLES = int(os.environ.get("MVMOCAP_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=_EXAMPLES, deadline=None, derandomize="MVMOCAP_FUZZ_EXAMPLES" not in os.environ, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
TOKENS = [b"[", b"]", b"{", b"}", b"&a ", b"*a", b"!!python/object/apply:os.system ", b".nan", b".inf", b"1e309",
          b"-1", b"0", b"\x00", b"\xff\xfe", b'"', b"'", b"\n  ", b"\n- ", b": ", b",", b"=", b"<", b">", b"&b;",
          b"<!DOCTYPE a>", b"NaN", b"Infinity", b"99999999999999999999", b"%YAML:1.0\n", b"!!opencv-matrix", b"\\"]


@st.composite
def mutated(draw, seed: bytes) -> bytes:
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete", "repeat"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(TOKENS)) * draw(st.integers(1, 3))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif kind == "repeat":
            data[at:at] = bytes(data[at : at + draw(st.integers(1, 16))]) * draw(st.integers(2, 50))
    return bytes(data)


def only_our_errors(read: Callable[[], object]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            read()
        except MvmocapError:
            pass


# ---- seeds ----------------------------------------------------------------------------------------


def native_seed() -> bytes:
    return h.native_text().encode()


def toml_seed() -> bytes:
    from mvmocap.io.calibration.pose2sim_toml import dumps

    return dumps(h.good_cameras()).encode()


def easymocap_seed(tmp: Path) -> tuple[bytes, bytes]:
    from mvmocap.io.calibration import save_rig

    save_rig(h.good_cameras(), tmp / "seed")
    return (tmp / "seed" / "intri.yml").read_bytes(), (tmp / "seed" / "extri.yml").read_bytes()


def qualisys_seed() -> bytes:
    cameras = []
    for i, cam in enumerate(h.good_cameras()):
        M = (np.diag([1.0, -1.0, -1.0]) @ cam.R).tolist()
        centre = (cam.center * 1000).tolist()
        rot = " ".join(f'r{a + 1}{b + 1}="{M[a][b]!r}"' for a in range(3) for b in range(3))
        K = (cam.K * 64).tolist()
        cameras.append(
            f'<camera active="1" serial="{1000 + i}" viewrotation="0">'
            f'<fov_video left="0" top="0" right="{cam.size[0] - 1}" bottom="{cam.size[1] - 1}"/>'
            f'<transform x="{centre[0]!r}" y="{centre[1]!r}" z="{centre[2]!r}" {rot}/>'
            f'<intrinsic focalLengthU="{K[0][0]!r}" focalLengthV="{K[1][1]!r}" centerPointU="{K[0][2]!r}" '
            f'centerPointV="{K[1][2]!r}" radialDistortion1="0" radialDistortion2="0" radialDistortion3="0" '
            f'tangentalDistortion1="0" tangentalDistortion2="0"/></camera>'
        )
    return ('<?xml version="1.0"?>\n<calibration><cameras>' + "".join(cameras) + "</cameras></calibration>\n").encode()


def openpose_seed() -> bytes:
    import json

    rng = np.random.default_rng(3)
    people = [{"pose_keypoints_2d": np.round(rng.uniform(0, 500, 75), 2).tolist()} for _ in range(2)]
    return json.dumps({"version": 1.3, "people": people}).encode()


def small_body_pickle() -> bytes:
    import scipy.sparse

    rng = np.random.default_rng(5)
    arrays = {"v_template": rng.normal(size=(8, 3)), "shapedirs": rng.normal(size=(8, 3, 2)),
              "J_regressor": scipy.sparse.csc_matrix(np.eye(3, 8)), "weights": np.full((8, 3), 1 / 3),
              "kintree_table": np.array([[4294967295, 0, 1], [0, 1, 2]]), "f": np.array([[0, 1, 2], [2, 3, 4]])}
    return pickle.dumps(arrays, protocol=2)


def small_body_npz() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(6)
    np.savez(buffer, v_template=rng.normal(size=(8, 3)), weights=np.full((8, 3), 1 / 3), f=np.array([[0, 1, 2]]),
             kintree_table=np.array([[4294967295, 0, 1], [0, 1, 2]]), J_regressor=np.eye(3, 8),
             shapedirs=rng.normal(size=(8, 3, 2)))
    return buffer.getvalue()


def checkpoint_seed() -> bytes:
    import torch

    buffer = io.BytesIO()
    torch.save({"format": "mvmocap-train-checkpoint/1", "step": 1, "config": {"method": "mlp", "lr": 0.001},
                "model": {"net.w": torch.arange(4.0)}}, buffer)
    return buffer.getvalue()


RECONSTRUCT_SEED = b"""method: fit
device: cpu
subject_height_m: 1.7
detect: {detector: blazepose, frames: '0:10', scale: 0.5}
triangulation: {threshold_px: 20.0, min_confidence: 0.2}
fit: {weight_2d: 1.0, sigma_schedule: [4.0, 1.0], iters_pose: 30}
export: {render: false, render_stride: 2}
"""
TRAIN_SEED = (b"method: mlp\nbody_model: toy\nsteps: 20\nbatch_size: 8\nlr: 1.0e-3\nval_size: 16\n"
              b"data: {views: 4}\nmodel: {hidden: 64, layers: 1}\n")


# ---- the fuzzers ----------------------------------------------------------------------------------


@functools.cache
def all_seeds() -> dict[str, bytes]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        intri, extri = easymocap_seed(Path(tmp))
    return {"native": native_seed(), "toml": toml_seed(), "intri": intri, "extri": extri, "qualisys": qualisys_seed(),
            "openpose": openpose_seed(), "pkl": small_body_pickle(), "npz": small_body_npz(),
            "checkpoint": checkpoint_seed()}


@pytest.fixture
def seeds() -> dict[str, bytes]:
    return all_seeds()


def test_seeds_are_valid(seeds, tmp_path):
    """The unmutated seeds read (or fail only on content, for the tiny body models)."""
    from mvmocap.io.calibration import load_cameras
    from mvmocap.io.openpose import read_frame
    from mvmocap.train.checkpoint import load_checkpoint

    assert len(load_cameras(h.write(tmp_path, "c.yaml", seeds["native"]))) == 2
    assert len(load_cameras(h.write(tmp_path, "c.toml", seeds["toml"]))) == 2
    assert len(load_cameras(h.write(tmp_path, "c.qca.txt", seeds["qualisys"]))) == 2
    h.write(tmp_path, "emc/intri.yml", seeds["intri"])
    h.write(tmp_path, "emc/extri.yml", seeds["extri"])
    assert len(load_cameras(tmp_path / "emc")) == 2
    assert read_frame(h.write(tmp_path, "x_000000000001_keypoints.json", seeds["openpose"])).shape == (2, 23, 3)
    assert load_checkpoint(h.write(tmp_path, "c.pt", seeds["checkpoint"]))["step"] == 1


def _calibration_fuzzer(name: str, key: str):
    @FUZZ
    @given(data=st.data())
    def fuzz(tmp_path, data):
        from mvmocap.io.calibration import load_cameras

        path = h.write(tmp_path, name, data.draw(mutated(all_seeds()[key])))
        only_our_errors(lambda: load_cameras(path))

    return fuzz


test_fuzz_native_yaml = _calibration_fuzzer("cams.yaml", "native")
test_fuzz_toml = _calibration_fuzzer("cams.toml", "toml")
test_fuzz_qualisys = _calibration_fuzzer("cams.qca.txt", "qualisys")


@FUZZ
@given(data=st.data())
def test_fuzz_easymocap(tmp_path, data):
    from mvmocap.io.calibration import load_cameras

    which = data.draw(st.sampled_from(["intri", "extri"]))
    other = "extri" if which == "intri" else "intri"
    h.write(tmp_path, f"emc/{which}.yml", data.draw(mutated(all_seeds()[which])))
    h.write(tmp_path, f"emc/{other}.yml", all_seeds()[other])
    only_our_errors(lambda: load_cameras(tmp_path / "emc"))


@FUZZ
@given(data=st.data())
def test_fuzz_openpose_json(tmp_path, data):
    from mvmocap.io.openpose import read_frame_counted

    path = h.write(tmp_path, "cam_000000000001_keypoints.json", data.draw(mutated(all_seeds()["openpose"])))

    def read():
        people, _ = read_frame_counted(path)
        assert np.isfinite(people).all()  # missing is confidence 0, never NaN

    only_our_errors(read)


@FUZZ
@given(data=st.data())
def test_fuzz_body_model(tmp_path, data):
    from mvmocap.body import load_body_model

    kind = data.draw(st.sampled_from(["pkl", "npz"]))
    path = h.write(tmp_path, f"SMPL_NEUTRAL.{kind}", data.draw(mutated(all_seeds()[kind])))
    only_our_errors(lambda: load_body_model(path))
    assert not (tmp_path / h.MARKER).exists()


@FUZZ
@given(data=st.data())
def test_fuzz_checkpoint(tmp_path, data):
    from mvmocap.train.checkpoint import load_checkpoint

    path = h.write(tmp_path, "checkpoint.pt", data.draw(mutated(all_seeds()["checkpoint"])))
    only_our_errors(lambda: load_checkpoint(path))


@FUZZ
@given(data=st.data())
def test_fuzz_reconstruct_config(tmp_path, data):
    from mvmocap.reconstruct.config import ReconstructConfig

    path = h.write(tmp_path, "reconstruct.yaml", data.draw(mutated(RECONSTRUCT_SEED)))
    only_our_errors(lambda: ReconstructConfig.load(path))


@FUZZ
@given(data=st.data())
def test_fuzz_training_config(tmp_path, data):
    from mvmocap.train.config import load_config

    path = h.write(tmp_path, "train.yaml", data.draw(mutated(TRAIN_SEED)))
    only_our_errors(lambda: load_config(path))
