"""Reading a Rerun recording back with the SDK: entities and the frames each one was logged at."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path


def frames_per_entity(path: str | Path) -> dict[str, set[int]]:
    """``{entity path: {frame numbers}}``; static entities map to an empty set."""
    from rerun.chunk import RrdReader

    frames: dict[str, set[int]] = defaultdict(set)
    for chunk in RrdReader(str(path)).store().stream():
        entity = str(chunk.entity_path)
        frames[entity]  # noqa: B018  (static entities too)
        if "frame" in chunk.timeline_names:
            batch = chunk.to_record_batch()
            frames[entity].update(int(v) for v in batch.column("frame").to_pylist() if v is not None)
    return dict(frames)
