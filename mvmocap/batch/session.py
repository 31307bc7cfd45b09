"""A session on disk: one calibration shared by trial folders.

Layout (Pose2Sim's batch layout is one instance of it)::

    SESSION/
      config.yaml                 optional session settings (ReconstructConfig keys)
      calibration/Calib.qca.txt   or *.toml, *.yaml (native), intri.yml + extri.yml (EasyMocap);
                                  a SESSION/calibration.{yaml,toml,qca.txt} file works too
      Trial_1/
        videos/                   one video or image folder per camera (stem = camera name)
        pose/cam01_json/ ...      optional OpenPose JSON instead of running a detector
                                  (``<camera>_json`` folders directly in the trial work too)
        config.yaml               optional per-trial overrides

A trial folder is any sub-folder holding ``videos/``, ``pose/`` or ``*_json`` folders.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mvmocap.errors import InputError, MissingFileError

CALIBRATION_SUFFIXES = (".qca.txt", ".qca", ".toml", ".yaml", ".yml")
EASYMOCAP_FILES = ("intri.yml", "extri.yml")


@dataclass(frozen=True)
class Trial:
    """One capture of a session.

    Attributes:
        name: the folder name; also the name of its output folder ``OUT/<name>``.
        folder: the trial folder.
        videos: ``TRIAL/videos`` (video files or image folders), None when absent.
        keypoints: the folder holding ``<camera>_json`` OpenPose folders, None when absent.
        config: ``TRIAL/config.yaml`` when present.
    """

    name: str
    folder: Path
    videos: Path | None
    keypoints: Path | None
    config: Path | None

    @property
    def inputs_dir(self) -> Path:
        """The folder reconstruct reads cameras from: the videos, else the JSON folder."""
        return self.videos if self.videos is not None else self.keypoints  # type: ignore[return-value]


@dataclass(frozen=True)
class Session:
    folder: Path
    calibration: Path | None
    config: Path | None
    trials: tuple[Trial, ...]


def discover_session(
    folder: str | Path,
    *,
    calibration: str | Path | None = None,
    calibrate_from_joints: bool = False,
    exclude: tuple[Path, ...] = (),
) -> Session:
    """Find the calibration, the session config and the trials of ``folder``.

    ``calibration`` names the file explicitly (else it is looked for); with
    ``calibrate_from_joints`` none is needed. ``exclude`` folders (e.g. the output
    folder when it lies inside the session) are never taken for trials.

    Raises :class:`InputError` for a session without trials, without a calibration,
    or with several candidate calibration files.
    """
    root = Path(folder)
    if not root.is_dir():
        raise MissingFileError(root, "session folder")
    if calibration is not None and calibrate_from_joints:
        raise InputError("give a calibration file or --calibrate-from-joints, not both")
    if calibration is not None:
        calibration = Path(calibration)
        if not calibration.exists():
            raise MissingFileError(calibration, "calibration file")
    excluded = {p.resolve() for p in exclude}
    trials = tuple(
        trial for entry in sorted(root.iterdir(), key=lambda p: p.name)
        if entry.is_dir() and not entry.name.startswith(".") and entry.name != "calibration"
        and entry.resolve() not in excluded and (trial := discover_trial(entry)) is not None
    )
    if not trials:
        raise InputError(
            f"{root}: no trials found: a trial is a sub-folder with videos/ (video files or image folders), "
            "pose/ or <camera>_json/ OpenPose folders"
        )
    if calibration is None and not calibrate_from_joints:
        calibration = find_calibration(root)
    config = root / "config.yaml"
    return Session(root, calibration, config if config.is_file() else None, trials)


def discover_trial(folder: Path) -> Trial | None:
    """The :class:`Trial` in ``folder``, or None when it holds no camera inputs."""
    videos = folder / "videos"
    videos = videos if videos.is_dir() else None
    keypoints = None
    for candidate in (folder / "pose", folder):
        if candidate.is_dir() and any(p.is_dir() and p.name.endswith("_json") for p in candidate.iterdir()):
            keypoints = candidate
            break
    if videos is None and keypoints is None:
        return None
    config = folder / "config.yaml"
    return Trial(folder.name, folder, videos, keypoints, config if config.is_file() else None)


def find_calibration(root: Path) -> Path:
    """The one calibration of a session: in ``calibration/`` or beside the trials."""
    candidates: list[Path] = []
    folder = root / "calibration"
    if folder.is_dir():
        if all((folder / name).is_file() for name in EASYMOCAP_FILES):
            return folder
        candidates += [p for p in sorted(folder.iterdir()) if p.is_file() and _is_calibration_name(p.name)]
    candidates += [p for p in sorted(root.iterdir())
                   if p.is_file() and p.name.lower().startswith("calib") and _is_calibration_name(p.name)]
    if not candidates:
        raise InputError(
            f"{root}: no calibration found (calibration/*.qca.txt, *.toml, *.yaml or intri.yml + extri.yml); "
            "give one with --calibration FILE or use --calibrate-from-joints"
        )
    if len(candidates) > 1:
        raise InputError(
            f"{root}: several calibration files ({', '.join(p.name for p in candidates)}); choose one with --calibration FILE"
        )
    return candidates[0]


def _is_calibration_name(name: str) -> bool:
    lower = name.lower()
    return lower.endswith(CALIBRATION_SUFFIXES) and lower not in ("config.yaml", "config.yml")
