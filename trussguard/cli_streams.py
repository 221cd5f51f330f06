"""The process around a command: standard streams that never crash the scanner, and the one
error line on stderr.

Why apart from ``cli.py``: a closed stdout, a non-UTF-8 locale or a reader that went away must
end in exit 2 and one line, never a traceback; that handling is the same for every command and
has nothing to do with the options.
"""

from __future__ import annotations

import sys

import click


def error_line(line: str) -> None:
    """One line on stderr, credentials and URL passwords masked, never raising."""
    from trussguard.redact import redact_text

    try:
        click.echo(redact_text(" ".join(line.split())) if "error" in line else line, err=True)
    except (OSError, ValueError):
        pass  # stderr closed too: the exit code is all that is left to say it


class _ClosedStream:
    """Stands in for a standard stream that was closed before start (``trussguard scan >&-``):
    Python sets it to None and every print crashed with AttributeError. Writing to it is a
    BrokenPipeError, so a report with nowhere to go is exit 2 with one line, like a closed pipe."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, _text: str) -> int:
        raise BrokenPipeError(32, "standard output is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(9, "standard output is closed")


def tolerant_streams() -> None:
    """stdout/stderr that never raise UnicodeEncodeError (a non-UTF-8 locale, LANG=C on old
    Pythons, PYTHONIOENCODING=ascii: characters the encoding lacks become escapes), and a
    stand-in for a closed stdout/stderr. A closed descriptor 1 or 2 is taken by /dev/null so no
    file or pipe opened later (sqlite, git's pipes) lands on it and receives stray output."""
    import os

    for fd, name in ((1, "stdout"), (2, "stderr")):
        stream = getattr(sys, name)
        if stream is None:
            try:
                os.fstat(fd)
            except OSError:
                null = os.open(os.devnull, os.O_WRONLY)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
            setattr(sys, name, _ClosedStream())
        elif hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):
                pass


def flush_stdout() -> None:
    """Flushes now, so a pipe closed by the reader is reported here, not as Python's
    "Exception ignored" message at exit."""
    sys.stdout.flush()


def silence_stdout() -> None:
    """After EPIPE: points descriptor 1 at /dev/null so the interpreter's final flush is quiet."""
    import os

    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass

