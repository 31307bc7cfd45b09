"""Checking configuration values against their dataclass field types, before any work.

YAML gives strings, lists and numbers of any kind; a setting must have the type its dataclass
declares (``int``, ``float``, ``bool``, ``str``, ``tuple[float, ...]``, ``X | None`` ...), and
every number must be finite (``.nan`` / ``.inf`` in a fit weight is refused, not propagated).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any

from mvmocap.errors import InputError


def check_values(cls: type, values: dict, source: str = "config", prefix: str = "") -> None:
    """Raise :class:`InputError` naming ``source`` and the option when a value of the mapping
    ``values`` does not match the annotation of the same-named field of the dataclass ``cls``
    (call it before ``cls(**values)``; unknown keys are left to the caller)."""
    hints = typing.get_type_hints(cls)
    for name, value in values.items():
        if name not in hints or (dataclasses.is_dataclass(value) and not isinstance(value, type)):
            continue
        problem = _mismatch(value, hints[name])
        if problem:
            raise InputError(f"{source}: option {prefix}{name} {problem}, got {_show(value)}")


def check_finite(value: Any, source: str = "config", name: str = "") -> None:
    """Raise :class:`InputError` when a number anywhere in ``value`` (nested dicts/lists) is NaN or infinite."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{source}: option {name or 'value'} must be a finite number, got {value}")
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite(v, source, f"{name}.{k}" if name else str(k))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            check_finite(v, source, f"{name}[{i}]")


def check_range(source: str, name: str, value: float, low: float, high: float) -> None:
    """Raise :class:`InputError` unless ``low <= value <= high`` (sizes and counts before allocating)."""
    if not low <= value <= high:
        raise InputError(f"{source}: option {name} must be between {low:g} and {high:g}, got {value}")


def _mismatch(value: Any, hint: Any) -> str | None:
    """Why ``value`` does not fit ``hint`` (None when it does)."""
    if hint is Any or hint is object:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        reasons = [_mismatch(value, arg) for arg in args]
        if any(r is None for r in reasons):
            return None
        return "must be " + " or ".join(r.removeprefix("must be ") for r in reasons if r)
    if hint is type(None):
        return None if value is None else "must be empty (null)"
    if hint is bool:
        return None if isinstance(value, bool) else "must be true or false"
    if hint is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else "must be an integer"
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "must be a number"
        return None if math.isfinite(value) else "must be a finite number"
    if hint is str:
        return None if isinstance(value, str) else "must be text"
    if origin in (tuple, list):
        if not isinstance(value, (tuple, list)):
            return "must be a list"
        item_hints = [args[0]] * len(value) if (origin is list or (len(args) == 2 and args[1] is Ellipsis)) else list(args)
        if origin is tuple and len(item_hints) != len(value):
            return f"must be a list of {len(item_hints)} values"
        for item, item_hint in zip(value, item_hints):
            reason = _mismatch(item, item_hint)
            if reason:
                return f"must be a list (every item {reason})"
        return None
    if origin is dict or hint is dict:
        return None if isinstance(value, dict) else "must be a mapping"
    if isinstance(hint, type):
        return None if isinstance(value, hint) else f"must be a {hint.__name__}"
    return None


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
