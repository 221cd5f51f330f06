"""Where a command's report goes: stdout or a file written atomically, and the error that says
it could not be written (exit 2). Nothing is written after a stop signal.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import click


def emit(fmt: str, result, output: Path | None, advisories: Path | None = None, verbose: bool = False) -> None:
    """Writes the report to ``output`` (atomically) or stdout, colour only on a terminal; and the
    Markdown advisories to ``advisories`` when asked. ``verbose``: the text report in full."""
    import os

    from trussguard.report import render
    from trussguard.workers import check_signalled

    check_signalled()  # interrupted, even if something swallowed the exception: no report at all
    if advisories is not None:
        from trussguard.report.markdown import render_advisories

        write_file(advisories, render_advisories(result), "advisories")
    if output is None:
        color = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        click.echo(render(fmt, result, color=color, verbose=verbose), nl=False)
        return
    write_file(output, render(fmt, result, verbose=verbose), "report")


def write_file(path: Path, text: str, what: str) -> None:
    """Atomically: a reader never sees half a report (nor one of an interrupted run)."""
    import os

    from trussguard.workers import check_signalled

    check_signalled()

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, "utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the folder may not exist at all
            tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {what} to {path}: {exc.strerror or exc}") from None


class OutputError(click.ClickException):
    exit_code = 2

