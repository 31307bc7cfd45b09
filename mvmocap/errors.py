"""The project's own exceptions.

Library code raises these at its public boundaries; only the CLI turns them
into one readable line and exit code 2.
"""

from __future__ import annotations

from pathlib import Path


class MvmocapError(Exception):
    """Base class of every error mvmocap raises on purpose."""


class InputError(MvmocapError, ValueError):
    """Invalid argument values or shapes given to a public function."""


class FileFormatError(MvmocapError):
    """A file exists but cannot be read as the expected format.

    The message always names the file.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class MissingFileError(MvmocapError, FileNotFoundError):
    """A required file or folder does not exist."""

    def __init__(self, path: str | Path, what: str = "file"):
        self.path = Path(path)
        super().__init__(f"{self.path}: {what} not found")


class NotImplementedYet(MvmocapError):
    """A command or method that is planned but not built yet."""


class DependencyError(MvmocapError):
    """An optional dependency is needed but not installed."""
