"""Output paths are checked before long work."""

from __future__ import annotations

import pytest

from mvmocap.errors import FileFormatError
from mvmocap.io.outputs import check_output


def test_writable_paths_pass_and_nothing_is_created(tmp_path):
    assert check_output(tmp_path / "new" / "deeper" / "out", "folder") == tmp_path / "new" / "deeper" / "out"
    check_output(tmp_path / "result.json", "file")
    check_output(tmp_path, "folder")
    assert list(tmp_path.iterdir()) == []


def test_paths_in_the_way_are_named(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(FileFormatError, match="afile: is a file where a folder is needed"):
        check_output(tmp_path / "afile" / "sub" / "out.json", "file")
    with pytest.raises(FileFormatError, match="afile: --out is a file, expected a folder"):
        check_output(tmp_path / "afile", "folder")
    with pytest.raises(FileFormatError, match="--json is a folder, expected a file name"):
        check_output(tmp_path, "file", "--json")
