"""Shared CLI plumbing: one console, and turning project errors into one line + exit 2."""

from __future__ import annotations

import functools
import sys
from typing import Callable, TypeVar

import typer
from mvmocap.console import console
from mvmocap.errors import MvmocapError
F = TypeVar("F", bound=Callable)

EXIT_USAGE = 2


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit(2) to raise."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def handle_errors(func: F) -> F:
    """Decorator for commands: :class:`MvmocapError` -> one readable line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except MvmocapError as exc:
            raise fail(_escape(str(exc))) from None
        except KeyboardInterrupt:
            console.print("interrupted; finished work is kept, rerun to resume", style="yellow")
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
