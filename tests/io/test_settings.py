"""Configuration values are checked against their dataclass types before any work."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mvmocap.errors import InputError
from mvmocap.io.settings import check_finite, check_range, check_values


@dataclass
class Options:
    count: int = 1
    weight: float = 1.0
    name: str = "a"
    on: bool = False
    limit: float | None = None
    schedule: tuple[float, ...] = (1.0,)


@pytest.mark.parametrize("values, message", [
    ({"count": "ten"}, "option count must be an integer, got 'ten'"),
    ({"count": 1.5}, "option count must be an integer"),
    ({"count": True}, "option count must be an integer"),
    ({"weight": float("nan")}, "option weight must be a finite number, got nan"),
    ({"weight": "1"}, "option weight must be a number"),
    ({"name": 3}, "option name must be text"),
    ({"on": "yes"}, "option on must be true or false"),
    ({"limit": "x"}, "option limit must be a number or empty (null)"),
    ({"schedule": [1.0, float("inf")]}, "option schedule must be a list (every item must be a finite number)"),
    ({"schedule": 2.0}, "option schedule must be a list"),
])
def test_wrong_types_are_refused_with_the_option_named(values, message):
    with pytest.raises(InputError, match="^cfg.yaml: " + message.replace("(", r"\(").replace(")", r"\)")):
        check_values(Options, values, "cfg.yaml")


def test_right_types_pass():
    check_values(Options, {"count": 3, "weight": 2, "name": "b", "on": True, "limit": None, "schedule": [4, 1.0]})
    check_values(Options, {"limit": 0.5, "unknown": object()})  # unknown keys are the caller's business


def test_finite_and_range_checks():
    check_finite({"a": [1.0, {"b": 2}]})
    with pytest.raises(InputError, match="option a.b\\[1\\] must be a finite number"):
        check_finite({"a": {"b": [0.0, float("-inf")]}})
    with pytest.raises(InputError, match="cfg: option batch_size must be between 1 and 65536, got 100000000"):
        check_range("cfg", "batch_size", 100_000_000, 1, 65536)
