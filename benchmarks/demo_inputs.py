"""The shared demo's BlazePose detections (detected once into a work folder, then reused) and its
Qualisys cameras, as the benchmarks that measure the detector read them."""

from __future__ import annotations

from pathlib import Path


def demo_detections_and_rig(demo: Path, work: str | Path):
    """``(detections, rig)``: ``demo/videos`` detected into ``work`` (or loaded from it) and the
    ``Calib.qca.txt`` cameras in the detections' camera order."""
    import mvmocap.detect as detect
    from mvmocap.errors import MissingFileError
    from mvmocap.io.calibration import load_rig

    demo = Path(demo)
    try:
        det = detect.load(work)
    except MissingFileError:
        det = detect.run(demo / "videos", out=work, progress=False)
    return det, load_rig(demo / "calibration" / "Calib.qca.txt").subset(list(det.camera_names))
