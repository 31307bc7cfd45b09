"""Shared CLI plumbing: one console, and turning project errors into one line + exit 2."""

from __future__ import annotations

import functools
import sys
from typing import Callable, TypeVar

import typer
from typer.core import TyperOption

from mvmocap.console import console
from mvmocap.errors import MvmocapError
F = TypeVar("F", bound=Callable)

EXIT_USAGE = 2


def _show_flags_as_flags() -> None:
    """Typer >= 0.2x prints every option's type in the rich help, so a boolean flag reads
    ``--render <bool>`` as if it took a value; show flags bare, as click and users expect."""
    display = TyperOption.display_type_rich
    if getattr(display, "flags_bare", False):
        return

    def display_type_rich(self, ctx):
        if self.is_flag and self.metavar is None:
            return None
        return display(self, ctx)

    display_type_rich.flags_bare = True
    TyperOption.display_type_rich = display_type_rich


_show_flags_as_flags()


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
