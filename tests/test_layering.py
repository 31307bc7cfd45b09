"""The package's layering: no import, at module level or inside a function, runs from a lower stage
back up (STYLE: cli -> batch -> reconstruct / evaluate / train -> methods -> fit, regressors, ...)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mvmocap"

# Higher numbers may import lower (and equal) ones, never the other way.
FLOORS = {
    "errors": 0, "keypoints": 0, "console": 0, "devices": 0, "__init__": 0,
    "geometry": 1,
    "io": 2, "body": 2,
    "calibrate": 3, "detect": 3, "synth": 3,
    "sync": 4, "associate": 4, "fit": 4, "regressors": 4, "export": 4,
    "methods": 5,
    "reconstruct": 6, "evaluate": 6, "train": 6, "adapt": 6,
    "batch": 7,
    "cli": 8,
}
# A regressor may use train's base class and checkpoint files (the "train's utilities").
ALLOWED_UPWARDS = {("regressors", "train")}


def _stage(module_path: Path) -> str:
    parts = module_path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imported_stages(path: Path) -> set[str]:
    stages = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names if node.module == "mvmocap"]
        for name in names:
            parts = name.split(".")
            if parts[0] == "mvmocap" and len(parts) > 1:
                is_module = (PACKAGE / parts[1]).is_dir() or (PACKAGE / f"{parts[1]}.py").is_file()
                stages.add(parts[1] if is_module else "__init__")  # e.g. ``from mvmocap import __version__``
    return stages


def _edges() -> list[tuple[str, str, Path]]:
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = _stage(path)
        for target in _imported_stages(path):
            if target != source:
                edges.append((source, target, path))
    return edges


def test_every_stage_has_a_floor():
    stages = {_stage(p) for p in PACKAGE.rglob("*.py")} | {t for _, t, _ in _edges()}
    assert stages <= set(FLOORS), sorted(stages - set(FLOORS))


def test_no_import_runs_from_a_lower_stage_back_up():
    upwards = [f"{path.relative_to(PACKAGE.parent)}: {source} (floor {FLOORS[source]}) imports {target} "
               f"(floor {FLOORS[target]})"
               for source, target, path in _edges()
               if FLOORS[target] > FLOORS[source] and (source, target) not in ALLOWED_UPWARDS]
    assert not upwards, "\n".join(upwards)


def test_only_the_registry_knows_the_regressor_packages():
    importers = {source for source, target, _ in _edges() if target == "regressors"}
    assert importers <= {"methods"}, importers
