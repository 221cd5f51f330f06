"""Allows ``python -m trussguard``.

Interrupted runs leave through ``os._exit(130)``: CPython (3.11 at least) marks the interpreter
"unhandled KeyboardInterrupt" whenever one passes through ``exec()`` of a string (dataclasses
build their methods so, at import time), even if the program catches it, and then ends the
process by SIGINT instead of the exit code it was given.
"""

import os
import sys


def _leave(code: int) -> None:
    if code == 130:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        os._exit(130)
    raise SystemExit(code)


try:
    from trussguard.cli import main
except KeyboardInterrupt:  # Ctrl-C while importing: the same one line and exit code as later on
    sys.stderr.write("trussguard: interrupted\n")
    _leave(130)

_leave(main())
