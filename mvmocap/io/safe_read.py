"""Reading user files within limits: regular files only, a size cap, bounded YAML/JSON/TOML.

Every reader of a user-named text file (calibrations, configs, OpenPose JSON) goes through
here, so a small hostile file cannot exhaust memory or time: a symlink to ``/dev/zero`` or a
FIFO is refused (only regular files are read), a file over its cap is refused before reading,
YAML aliases are bounded (count and expanded size: no "billion laughs"), and deep nesting is
refused with a line instead of a ``RecursionError``. Errors are :class:`FileFormatError`
naming the file.
"""

from __future__ import annotations

import json
import math
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import yaml

from mvmocap.errors import FileFormatError, MissingFileError

KB, MB = 1024, 1024 * 1024
CALIBRATION_MAX_BYTES = 1 * MB  # a calibration is kilobytes (parsing 1 MB of YAML takes seconds)
CONFIG_MAX_BYTES = 256 * KB  # a configuration is a few hundred bytes
JSON_FRAME_MAX_BYTES = 16 * MB  # one OpenPose frame (even crowded) is tens of kilobytes
MAX_NESTING = 64  # YAML containers inside containers
MAX_ALIASES = 100  # YAML aliases (*name) in one document
MAX_EXPANDED_NODES = 1_000_000  # YAML nodes once every alias is expanded


def check_regular_file(path: str | Path, what: str = "file", max_bytes: int | None = None) -> int:
    """The size in bytes of ``path`` after checking it is a regular file (symlinks followed) of at
    most ``max_bytes``. Raises :class:`MissingFileError` or :class:`FileFormatError`."""
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise MissingFileError(path, what) from None
    except OSError as exc:
        raise FileFormatError(path, f"cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise FileFormatError(path, f"is a folder, expected a {what}")
    if not stat.S_ISREG(info.st_mode):
        raise FileFormatError(path, f"is not a regular file (a device, pipe or socket), expected a {what}")
    if max_bytes is not None and info.st_size > max_bytes:
        raise FileFormatError(path, f"is {_size(info.st_size)}, more than the {_size(max_bytes)} a {what} may be")
    return info.st_size


def read_bytes(path: str | Path, max_bytes: int, what: str = "file") -> bytes:
    """The bytes of a regular file of at most ``max_bytes`` (checked before and while reading)."""
    path = Path(path)
    check_regular_file(path, what, max_bytes)
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise FileFormatError(path, f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:  # grew since the check
        raise FileFormatError(path, f"is more than the {_size(max_bytes)} a {what} may be")
    return data


def read_text(path: str | Path, max_bytes: int, what: str = "file") -> str:
    """The UTF-8 text of a regular file of at most ``max_bytes``."""
    try:
        return read_bytes(path, max_bytes, what).decode("utf-8")
    except UnicodeDecodeError:
        raise FileFormatError(path, "not a UTF-8 text file") from None


def read_head(path: str | Path, count: int = 64) -> bytes:
    """The first ``count`` bytes of a regular file (b"" for anything else): for format sniffing."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return b""
        with open(path, "rb") as fh:
            return fh.read(count)
    except OSError:
        return b""


# ---- YAML ----------------------------------------------------------------------------------------


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available (fast)


def _check_yaml_events(text: str) -> str | None:
    """Why the YAML ``text`` is refused (None if it is not): nesting deeper than
    :data:`MAX_NESTING`, more than :data:`MAX_ALIASES` aliases, or more than
    :data:`MAX_EXPANDED_NODES` values once aliases are expanded (a "billion laughs" file).
    One pass over the parser's events; nothing is built."""
    anchored: dict[str, int] = {}  # anchor -> expanded size of its node
    open_sizes: list[int] = []  # expanded sizes of the open collections so far
    open_anchors: list[str | None] = []
    expanded = aliases = 0  # values in the document with every alias expanded

    for event in yaml.parse(text, Loader=_LOADER):
        size = 0
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_ALIASES:
                return f"more than {MAX_ALIASES} YAML aliases (*name)"
            if event.anchor not in anchored:
                return f"alias *{event.anchor} refers to an unfinished or unknown anchor"
            size = anchored[event.anchor]
            expanded += size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            expanded += 1
            if event.anchor is not None:
                anchored[event.anchor] = 1
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            expanded += 1
            open_sizes.append(1)
            open_anchors.append(event.anchor)
            if len(open_sizes) > MAX_NESTING:
                return f"nested more than {MAX_NESTING} levels deep"
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            size, anchor = open_sizes.pop(), open_anchors.pop()
            if anchor is not None:
                anchored[anchor] = size
        if open_sizes:
            open_sizes[-1] += size  # the finished value counts in its parent
        if expanded > MAX_EXPANDED_NODES:
            return f"expands to more than {MAX_EXPANDED_NODES:,} values through aliases"
    return None


def parse_yaml(text: str, path: str | Path) -> Any:
    """A YAML document (None when empty) with bounded aliases and nesting; errors name ``path``."""
    try:
        refused = _check_yaml_events(text)
        if refused:
            raise FileFormatError(path, f"refused YAML: {refused}")
        return yaml.load(text, Loader=_LOADER)  # a SafeLoader (no objects built), on a capped, alias-checked text
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None)
        raise FileFormatError(path, f"malformed YAML{where}" + (f" ({problem})" if problem else "")) from None
    except RecursionError:
        raise FileFormatError(path, "refused YAML: nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an impossible date, an unhashable key
        raise FileFormatError(path, f"malformed YAML ({type(exc).__name__}: {exc})") from None


def load_yaml(path: str | Path, max_bytes: int = CONFIG_MAX_BYTES, what: str = "YAML file") -> Any:
    """Read and parse a YAML file within the limits above."""
    return parse_yaml(read_text(path, max_bytes, what), path)


# ---- JSON and TOML -------------------------------------------------------------------------------


def parse_json(text: str, path: str | Path) -> Any:
    """A JSON document; errors name ``path`` (deep nesting is Python's C decoder's
    RecursionError, turned into a line). ``NaN``/``Infinity`` are read as floats (callers
    decide what a non-finite number means)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise FileFormatError(path, "refused JSON: nested too deeply") from None
    except ValueError as exc:
        raise FileFormatError(path, f"malformed JSON ({exc})") from None


def load_json(path: str | Path, max_bytes: int = JSON_FRAME_MAX_BYTES, what: str = "JSON file") -> Any:
    return parse_json(read_text(path, max_bytes, what), path)


def parse_toml(text: str, path: str | Path) -> dict[str, Any]:
    """A TOML document; errors (including deep nesting) name ``path``."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FileFormatError(path, f"malformed TOML: {exc}") from None
    except RecursionError:
        raise FileFormatError(path, "refused TOML: nested too deeply") from None


def load_toml(path: str | Path, max_bytes: int = CALIBRATION_MAX_BYTES, what: str = "TOML file") -> dict[str, Any]:
    return parse_toml(read_text(path, max_bytes, what), path)


# ---- serialising ---------------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None (JSON ``null``), recursively, so
    :func:`json.dumps` writes standard JSON without text replacement."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB else f"{n / KB:.0f} KB" if n >= KB else f"{n} bytes"
