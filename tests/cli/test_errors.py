"""The CLI's error handling: project errors exit 2, unexpected ones exit 1 with 'please report',
the traceback only under --debug or MVMOCAP_DEBUG=1."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from mvmocap.cli.common import handle_errors
from mvmocap.errors import FileFormatError

runner = CliRunner()


def _app(exc: BaseException) -> typer.Typer:
    from mvmocap.cli.main import _root

    app = typer.Typer(pretty_exceptions_enable=False)
    app.callback()(_root)

    @app.command("boom")
    @handle_errors
    def boom() -> None:
        raise exc

    @app.command("other")
    def other() -> None:  # a second command keeps "boom" a subcommand
        pass

    return app


def test_unexpected_error_is_one_line_and_exit_1(monkeypatch):
    monkeypatch.delenv("MVMOCAP_DEBUG", raising=False)
    result = runner.invoke(_app(ZeroDivisionError("division by zero")), ["boom"])
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: unexpected ZeroDivisionError: division by zero (please report this; "
                                     "rerun with --debug for the traceback)")
    assert "Traceback" not in result.output


def test_debug_option_and_environment_show_the_traceback(monkeypatch):
    monkeypatch.delenv("MVMOCAP_DEBUG", raising=False)
    result = runner.invoke(_app(ZeroDivisionError("x")), ["--debug", "boom"])
    assert isinstance(result.exception, ZeroDivisionError)  # re-raised: Python prints the traceback
    monkeypatch.setenv("MVMOCAP_DEBUG", "1")
    result = runner.invoke(_app(KeyError("k")), ["boom"])
    assert isinstance(result.exception, KeyError)
    monkeypatch.delenv("MVMOCAP_DEBUG")
    result = runner.invoke(_app(KeyError("k")), ["boom"])  # --debug does not stick between runs
    assert result.exit_code == 1 and result.exception is not None and not isinstance(result.exception, KeyError)


def test_project_errors_and_os_errors_on_a_path_exit_2(tmp_path):
    result = runner.invoke(_app(FileFormatError(tmp_path / "cams.yaml", "bad [thing]")), ["boom"])
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {tmp_path / 'cams.yaml'}: bad [thing]"
    result = runner.invoke(_app(PermissionError(13, "Permission denied", str(tmp_path / "out"))), ["boom"])
    assert result.exit_code == 2 and result.stderr.strip() == f"error: {tmp_path / 'out'}: permission denied"


def test_multi_line_messages_become_one_line():
    result = runner.invoke(_app(RuntimeError("first\nsecond\n\nthird")), ["boom"])
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "first second third" in result.stderr
