"""Bounded reading of user files: regular files only, size caps, YAML aliases and nesting, JSON depth."""

from __future__ import annotations

import math
import os

import pytest

from mvmocap.errors import FileFormatError, MissingFileError
from mvmocap.io.safe_read import (
    MAX_ALIASES,
    json_safe,
    load_yaml,
    parse_json,
    parse_toml,
    parse_yaml,
    read_text,
)


def test_plain_yaml_and_a_few_anchors_still_load():
    assert parse_yaml("a: &x {b: 1}\nc: *x\n", "f.yaml") == {"a": {"b": 1}, "c": {"b": 1}}
    assert parse_yaml("", "f.yaml") is None
    assert parse_yaml("k: [1, 2.5, .nan]\n", "f.yaml")["k"][:2] == [1, 2.5]


def test_billion_laughs_is_refused_quickly():
    lines = ["a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 7)]  # 10^7 values
    with pytest.raises(FileFormatError, match="bomb.yaml: refused YAML: expands to more than 1,000,000 values"):
        parse_yaml("\n".join(lines), "bomb.yaml")


def test_too_many_aliases_recursive_aliases_and_deep_nesting_are_refused():
    many = "a: &a 1\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(FileFormatError, match="more than 100 YAML aliases"):
        parse_yaml(many, "f.yaml")
    with pytest.raises(FileFormatError, match="unfinished or unknown anchor"):
        parse_yaml("a: &a [*a]\n", "f.yaml")
    with pytest.raises(FileFormatError, match="nested more than 64 levels"):
        parse_yaml("[" * 65 + "]" * 65, "f.yaml")
    with pytest.raises(FileFormatError, match="python/object"):
        parse_yaml("!!python/object/apply:os.system ['true']", "f.yaml")


def test_json_and_toml_nesting_is_refused():
    with pytest.raises(FileFormatError, match="f.json: refused JSON: nested too deeply"):
        parse_json("[" * 100_000 + "]" * 100_000, "f.json")
    assert parse_json('{"s": "[[[[[[["}', "f.json") == {"s": "[[[[[[["}
    with pytest.raises(FileFormatError, match="f.toml: refused TOML: nested too deeply"):
        parse_toml("a = " + "[" * 100_000 + "]" * 100_000, "f.toml")


def test_only_regular_files_within_the_cap_are_read(tmp_path):
    link = tmp_path / "zero.yaml"
    os.symlink("/dev/zero", link)
    with pytest.raises(FileFormatError, match="zero.yaml: is not a regular file"):
        load_yaml(link)
    with pytest.raises(FileFormatError, match="is a folder"):
        load_yaml(tmp_path)
    with pytest.raises(MissingFileError):
        load_yaml(tmp_path / "missing.yaml")
    big = tmp_path / "big.yaml"
    big.write_text("a: 1\n" + "#" * 2000)
    with pytest.raises(FileFormatError, match=r"big.yaml: is 2 KB, more than the 1 KB a config may be"):
        read_text(big, 1024, "config")


def test_json_safe_writes_null_for_non_finite_numbers_only():
    value = {"name": "BaNaNa.yaml", "x": [1.0, math.nan, math.inf], "n": 3, "t": (math.nan,)}
    assert json_safe(value) == {"name": "BaNaNa.yaml", "x": [1.0, None, None], "n": 3, "t": [None]}
