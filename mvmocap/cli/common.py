"""Shared CLI plumbing: one console, and turning errors into one line.

* the project's errors (:class:`MvmocapError`) and file-system errors on a named path
  (an output path that is a file, an unwritable folder) -> ``error: <file>: <problem>``, exit 2;
* anything else -> ``error: unexpected <Type>: <msg> (please report this; ...)``, exit 1;
* the traceback only with ``mvmocap --debug ...`` or ``MVMOCAP_DEBUG=1``.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Callable, TypeVar

import typer
from typer.core import TyperOption

from mvmocap.console import console
from mvmocap.errors import MvmocapError
F = TypeVar("F", bound=Callable)

EXIT_USAGE = 2
EXIT_BUG = 1
DEBUG_ENV = "MVMOCAP_DEBUG"
_debug = False  # set by the global --debug option


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


def _typer_exceptions() -> tuple[type[BaseException], ...]:
    """Typer's own exit and usage exceptions (Typer >= 0.16 vendors click; older ones use click)."""
    found: list[type[BaseException]] = [typer.Exit, typer.Abort]
    if hasattr(typer, "TyperException"):
        found.append(typer.TyperException)
    try:
        from click.exceptions import ClickException, Exit

        found += [ClickException, Exit]
    except ImportError:
        pass
    return tuple(found)


_TYPER_EXCEPTIONS = _typer_exceptions()


def set_debug(value: bool) -> None:
    """Show tracebacks of unexpected errors (the global ``--debug`` option)."""
    global _debug
    _debug = bool(value)


def debugging() -> bool:
    return _debug or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit(code) to raise."""
    console.print(f"[bold red]error:[/] {_escape(message)}", highlight=False, markup=True, soft_wrap=True)
    return typer.Exit(code)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    console.print(f"[yellow]warning:[/] {_escape(str(message))}", highlight=False, soft_wrap=True)


def _one_line_warnings() -> None:
    """Warnings as ``warning: <message>`` lines on stderr (not Python's file:line format)."""
    import warnings

    warnings.showwarning = _show_warning
    warnings.filterwarnings("ignore", module=r"google\..*")  # protobuf deprecation noise from mediapipe


def handle_errors(func: F) -> F:
    """Decorator for commands: errors -> one readable line and an exit code (see the module doc)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        _one_line_warnings()
        try:
            return func(*args, **kwargs)
        except _TYPER_EXCEPTIONS:  # exits and usage errors: Typer reports them itself
            raise
        except MvmocapError as exc:
            raise fail(_one_line(str(exc))) from None
        except KeyboardInterrupt:
            console.print("interrupted; finished work is kept, rerun to resume", style="yellow")
            sys.exit(130)
        except OSError as exc:
            if exc.filename is None or debugging():
                return _unexpected(exc)
            raise fail(_os_error_line(exc)) from None
        except Exception as exc:  # the last resort: a bug, said plainly
            return _unexpected(exc)

    return wrapper  # type: ignore[return-value]


def _unexpected(exc: BaseException):
    if debugging():
        raise exc
    detail = _one_line(str(exc))[:300]
    raise fail(f"unexpected {type(exc).__name__}: {detail} (please report this; rerun with --debug for the traceback)",
               EXIT_BUG) from None


def _os_error_line(exc: OSError) -> str:
    problem = (exc.strerror or type(exc).__name__).lower()
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and os.path.isfile(exc.filename):
        problem = "is a file where a folder is needed"
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    return f"{' -> '.join(names)}: {problem}"


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " ".join(lines) if len(lines) <= 3 else " ".join(lines[:3]) + " ..."


def _escape(text: str) -> str:
    return text.replace("[", r"\[")
