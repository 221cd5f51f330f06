"""What every worker process does first: leave Ctrl-C to the parent.

On SIGINT the whole process group gets the signal; workers that ignore it let the parent alone
report "interrupted" once and exit 130 (no traceback per worker, no partial report: reports are
written only after the scan completed).
"""

from __future__ import annotations

import signal


def ignore_interrupts() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
