"""Small hostile and malformed inputs, generated in the test's folder (nothing big is stored in git).

Each maker writes its input under ``root`` and returns the path to pass to the command. The
pickle payloads would create ``root / MARKER`` if anything ran them.
"""

from __future__ import annotations

import io
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np

from mvmocap.io.calibration.native import dumps
from mvmocap.body.loading import MODELS_DIR

MARKER = "PAYLOAD_RAN"


class Payload:
    """Unpickling this runs a shell command that creates ``marker``."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


def payload_bytes(root: Path, protocol: int = 2) -> bytes:
    return pickle.dumps({"v_template": Payload(root / MARKER)}, protocol=protocol)


def good_cameras():
    from tests.conftest import ring_cameras

    return ring_cameras(2, np.random.default_rng(7))


def native_text(**replace: str) -> str:
    text = dumps(good_cameras())
    for old, new in replace.items():
        text = text.replace(old, new)
    return text


def write(root: Path, name: str, content: str | bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# ---- calibrations -------------------------------------------------------------------------------


def alias_bomb_yaml(levels: int = 9) -> str:
    lines = ["format: mvmocap-cameras/1", "a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines.append(f"cameras: [{{name: c, size: [10, 10], K: *a{levels - 1}, R: *a{levels - 1}, t: [0, 0, 0]}}]")
    return "\n".join(lines) + "\n"


def calib_alias_bomb(root):
    return write(root, "bomb.yaml", alias_bomb_yaml())


def calib_huge(root):
    padding = "# " + "x" * 1000 + "\n"
    return write(root, "huge.yaml", native_text() + padding * 1100)  # ~1.1 MB, a valid file


def calib_dev_zero(root):
    path = root / "zero.yaml"
    os.symlink("/dev/zero", path)
    return path


def calib_fifo(root):
    path = root / "fifo.yaml"
    os.mkfifo(path)
    return path


def calib_deep_yaml(root):
    return write(root, "deep.yaml", "format: mvmocap-cameras/1\ncameras: " + "[" * 5000 + "]" * 5000 + "\n")


def calib_deep_toml(root):
    return write(root, "deep.toml", "[cam]\nmatrix = " + "[" * 5000 + "]" * 5000 + "\n")


def calib_focal_1e300(root):
    cam = good_cameras()[0]
    return write(root, "focal.yaml", native_text(**{repr(float(cam.K[0, 0])): "1e300"}))


def calib_width_1e20(root):
    return write(root, "width.yaml", native_text(**{"size: [1080, 1920]": "size: [1e20, 1920]"}))


def calib_width_inf(root):
    return write(root, "inf.yaml", native_text(**{"size: [1080, 1920]": "size: [.inf, 1920]"}))


def calib_metres_labelled_mm(root):
    return write(root, "mm.yaml", native_text(**{"units: m": "units: mm"}))


def calib_qualisys_entities(root):
    xml = ('<?xml version="1.0"?>\n<!DOCTYPE q [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>\n'
           "<calibration><cameras><camera serial='1'>&b;</camera></cameras></calibration>\n")
    return write(root, "calib.qca.txt", xml)


def calib_easymocap_broken(root):
    from mvmocap.io.calibration import save_rig

    folder = root / "emc"
    save_rig(good_cameras(), folder)
    intri = folder / "intri.yml"
    intri.write_text(intri.read_text().replace("rows: 3\n  cols: 3", "rows: 7\n  cols: 3", 1))
    return folder


def calib_easymocap_garbage(root):
    folder = root / "emc"
    write(folder, "intri.yml", "%YAML:1.0\n---\nnames: [\"a\"]\nK_a: !!opencv-matrix\n  rows: 3\n  cols: 3\n  dt: d\n  data: [1, 2]\n")
    write(folder, "extri.yml", "%YAML:1.0\n---\nnames: [\"a\"]\n")
    return folder


def calib_malformed(root):
    return write(root, "bad.yaml", "format: [\n")


def calib_not_utf8(root):
    return write(root, "latin.yaml", b"format: \xff\xfe\n")


# ---- body models --------------------------------------------------------------------------------


def body_pickle_payload(root):
    return write(root, "SMPL_NEUTRAL.pkl", payload_bytes(root))


def body_pickle_as_npz(root):
    return write(root, "SMPL_NEUTRAL.npz", payload_bytes(root))


def body_npz_object_payload(root):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        member = io.BytesIO()
        np.lib.format.write_array_header_1_0(member, {"descr": "|O", "fortran_order": False, "shape": ()})
        archive.writestr("v_template.npy", member.getvalue() + payload_bytes(root))
    return write(root, "model.npz", buffer.getvalue())


def body_nan_vertices(root):
    with np.load(MODELS_DIR / "open_neutral.npz", allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["v_template"] = arrays["v_template"].copy()
    arrays["v_template"][5, 1] = np.nan
    path = root / "nan_model.npz"
    np.savez(path, **arrays)
    return path


def body_truncated(root):
    raw = (MODELS_DIR / "open_neutral.npz").read_bytes()
    return write(root, "short.npz", raw[: len(raw) // 3])


def body_dev_zero(root):
    path = root / "zero.pkl"
    os.symlink("/dev/zero", path)
    return path


# ---- checkpoints --------------------------------------------------------------------------------


def torch_payload(root, name="evil.pt"):
    import torch

    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"format": "mvmocap-train-checkpoint/1", "config": Payload(root / MARKER)}, path)
    return path


def run_folder_with_payload(root):
    torch_payload(root, "run/checkpoint.pt")
    return root / "run"


# ---- configs ------------------------------------------------------------------------------------


def train_config(root, text: str, name: str = "train.yaml"):
    return write(root, name, text)


def reconstruct_config(root, text: str, name: str = "reconstruct.yaml"):
    return write(root, name, text)


def truncated_joints3d(root):
    path = root / "a" / "joints3d.npz"
    path.parent.mkdir()
    buffer = io.BytesIO()
    np.savez(buffer, fitted_reprojection_px=np.zeros((20, 2, 23)), compared=np.ones((20, 2, 23), bool),
             frame_ids=np.arange(20), camera_names=np.array(["a", "b"]))
    path.write_bytes(buffer.getvalue()[:-200])
    return path.parent
