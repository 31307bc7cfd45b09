"""``mvmocap export``: the registry of export formats and the one call that writes them.

Every format reads the result files of a ``reconstruct`` run (:func:`mvmocap.export.run_files.load_run`)
and writes beside them (or into ``out_dir``). Names are checked and optional packages imported
before anything is written; every file is written to a temporary name and renamed, and the
folder formats (``easymocap``, ``obj``, ``ply``) are built in a temporary folder renamed at the end.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mvmocap.errors import DependencyError, InputError
from mvmocap.export.run_files import RunResult, load_run
from mvmocap.io.atomic import atomic_path


@dataclass(frozen=True)
class ExportFormat:
    name: str
    target: str  # file or folder name in the output folder
    description: str
    write: Callable[[RunResult, Path], Path] | None  # None: written by reconstruct itself
    needs: str | None = None  # a Python package the writer imports
    is_folder: bool = False


def _bvh(run, path):
    from mvmocap.export.bvh import write_bvh

    return write_bvh(run, path)


def _glb(run, path):
    from mvmocap.export.gltf import write_glb

    return write_glb(run, path)


def _trc(run, path):
    from mvmocap.export.trc import write_trc

    return write_trc(run, path)


def _c3d(run, path):
    from mvmocap.export.c3d_markers import write_c3d

    return write_c3d(run, path)


def _easymocap(run, folder):
    from mvmocap.export.easymocap import write_easymocap

    write_easymocap(run, folder)
    return folder


def _meshes(kind: str):
    def write(run, folder):
        from mvmocap.export.mesh_sequence import write_mesh_sequence

        write_mesh_sequence(run, folder, kind)
        return folder

    return write


FORMATS: dict[str, ExportFormat] = {f.name: f for f in (
    ExportFormat("npz", "smpl_params.npz", "AMASS-style parameters (always written by reconstruct)", None),
    ExportFormat("bvh", "motion.bvh", "SMPL skeleton animation, Y-up, centimetres", _bvh),
    ExportFormat("glb", "body.glb", "skinned glTF mesh with the animation, Y-up, metres", _glb, needs="pygltflib"),
    ExportFormat("trc", "markers.trc", "COCO-23 + SMPL joints as markers for OpenSim/Pose2Sim, Y-up, metres", _trc),
    ExportFormat("c3d", "markers.c3d", "the same markers as C3D, Z-up, millimetres", _c3d, needs="c3d"),
    ExportFormat("easymocap", "easymocap", "EasyMocap SMPL JSON per frame (Rh/Th)", _easymocap, is_folder=True),
    ExportFormat("obj", "meshes_obj", "one OBJ mesh per frame, Z-up, metres", _meshes("obj"), is_folder=True),
    ExportFormat("ply", "meshes_ply", "one binary PLY mesh per frame, Z-up, metres", _meshes("ply"), is_folder=True),
)}
DEFAULT_FORMATS = ("bvh", "glb", "trc", "c3d")


def parse_formats(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """``"bvh,glb"`` or a list -> validated, de-duplicated names; raises :class:`InputError`."""
    items = text.split(",") if isinstance(text, str) else [part for item in text for part in str(item).split(",")]
    names = []
    for item in (part.strip().lower() for part in items):
        if item and item not in names:
            names.append(item)
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise InputError(f"unknown export format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}")
    if not names:
        raise InputError(f"no export format given; known: {', '.join(FORMATS)}")
    return names


def validate_formats(formats) -> list[str]:
    """Parse ``formats`` and import what they need; for checks before long work."""
    names = parse_formats(formats)
    check_dependencies(names)
    return names


def check_dependencies(names: list[str]) -> None:
    for name in names:
        needs = FORMATS[name].needs
        if needs:
            try:
                importlib.import_module(needs)
            except ImportError:
                raise DependencyError(f"the {name} export needs the {needs} package: pip install {needs}") from None


def export_run(run_dir: str | Path, formats, out_dir: str | Path | None = None,
               body_model: str | None = None) -> list[Path]:
    """Write ``formats`` for the run in ``run_dir`` into ``out_dir`` (default: ``run_dir``).

    Returns the written files and folders. Raises :class:`InputError` (unknown format),
    :class:`MissingFileError` (no fit in ``run_dir``), :class:`DependencyError` before writing.
    """
    names = validate_formats(formats)
    run = load_run(run_dir, body_model=body_model)
    out = Path(out_dir) if out_dir is not None else Path(run_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        fmt = FORMATS[name]
        target = out / fmt.target
        if fmt.write is None:
            source = Path(run_dir) / fmt.target
            if target.resolve() != source.resolve():
                with atomic_path(target) as tmp:
                    shutil.copyfile(source, tmp)
        elif fmt.is_folder:
            _write_folder(fmt, run, target)
        else:
            fmt.write(run, target)
        written.append(target)
    return written


def _write_folder(fmt: ExportFormat, run: RunResult, target: Path) -> None:
    """Build the folder under a temporary name, then swap it in (an old one is replaced)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        fmt.write(run, staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
