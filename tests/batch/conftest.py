"""A tiny synthetic session: the bundled example videos (for image sizes) and synthetic OpenPose JSON per trial."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from mvmocap.io.calibration import load_rig
from mvmocap.io.openpose import export_camera
from tests.reconstruct.test_pipeline import EXAMPLE, FAST_FIT, FRAMES, synthetic_keypoints

SESSION_CONFIG = {"fit": FAST_FIT, "detect": {"frames": f"0:{FRAMES}"}}


def make_trial(session: Path, name: str, keypoints: np.ndarray, names: tuple[str, ...]) -> Path:
    trial = session / name
    videos = trial / "videos"
    videos.mkdir(parents=True)
    for video in sorted((EXAMPLE / "videos").glob("*.mp4")):
        (videos / video.name).symlink_to(video)
    for c, camera in enumerate(names):
        export_camera(trial / "pose", camera, np.arange(FRAMES), keypoints[c])
    return trial


@pytest.fixture(scope="session")
def synthetic_keypoints_4cams():
    rig = load_rig(EXAMPLE / "calibration.yaml")
    return rig.names, synthetic_keypoints(rig)


def build_session(root: Path, names: tuple[str, ...], keypoints: np.ndarray) -> Path:
    """ROOT/{calibration/calibration.yaml, config.yaml, Trial_1, Trial_2}."""
    (root / "calibration").mkdir(parents=True)
    shutil.copy(EXAMPLE / "calibration.yaml", root / "calibration" / "calibration.yaml")
    (root / "config.yaml").write_text(yaml.safe_dump(SESSION_CONFIG))
    make_trial(root, "Trial_1", keypoints, names)
    # the second trial: the same person a few pixels to the right (different, still consistent data)
    shifted = keypoints.copy()
    shifted[..., 0] = np.where(shifted[..., 2] > 0, shifted[..., 0] + 3.0, 0.0)
    make_trial(root, "Trial_2", shifted, names)
    return root


@pytest.fixture
def session(tmp_path, synthetic_keypoints_4cams) -> Path:
    """SESSION/{calibration/calibration.yaml, config.yaml, Trial_1, Trial_2}."""
    return build_session(tmp_path / "session", *synthetic_keypoints_4cams)
