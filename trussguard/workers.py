"""Worker processes live and die with the command that started them.

Ctrl-C: the whole process group gets SIGINT; workers ignore it and the parent alone reports
"interrupted" once and exits 130 (no traceback per worker, no partial report: reports are written
only after the scan completed).

SIGTERM (a CI runner cancelling the job) and SIGKILL (its timeout) reach only the parent. Left
alone, forked workers kept scanning for minutes, orphaned. So each worker asks the Linux kernel
to SIGKILL it when its parent dies (``PR_SET_PDEATHSIG``; checked right after, in case the
parent died before the request), and the parent turns SIGTERM into one line and exit 143 after
killing its workers itself. Their ``git cat-file`` children die too: their pipes close with the
worker (EOF on stdin, EPIPE on stdout).

The parent's handlers also *remember* the signal: a KeyboardInterrupt raised inside a
``__del__`` or another callback is swallowed by Python ("Exception ignored in ..."), and the scan
went on to write a report and exit 0 after a Ctrl-C. ``check_signalled`` is asked before any
report is written and when the command ends, so a signal is never lost.

``map_in_workers`` is the one process pool of the scans (tree, staged, policy): what a task
needs is one state object handed to the pool once, never module globals that the orchestrator
sets before forking and must remember to clear afterwards.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
from typing import Callable, Iterator, Sequence, TypeVar

_PR_SET_PDEATHSIG = 1
_received: int | None = None  # the first of SIGINT/SIGTERM the parent received
_S, _T, _R = TypeVar("_S"), TypeVar("_T"), TypeVar("_R")


class Terminated(BaseException):
    """SIGTERM reached the parent: stop now, write nothing, exit 143 (a BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` on the way swallows it)."""


# Objects allocated between young collections. CPython's default (700) makes a scan that keeps parsed
# ASTs alive (a Truss's model files, the secrets analysis of each) walk every live node again and again
# in older generations: keeping 868 ASTs of truss-examples made parsing them 3x slower (0.83 s -> 2.55 s),
# the tree scan 3.55 s -> 2.8 s. A scanner's garbage is short-lived; few collections cost nothing in memory.
GC_YOUNG_THRESHOLD = 100_000


def tune_collector() -> None:
    """Fewer cyclic collections, and none over what start-up built (modules, compiled rules):
    ``gc.freeze`` moves it out of every later collection. Workers forked afterwards inherit both."""
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 50, 100)


def ignore_interrupts() -> None:
    """Every worker's initializer: Ctrl-C is the parent's business, SIGTERM kills (the parent's
    handler must not run in a worker), and the worker dies with its parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    die_with_parent()


def die_with_parent() -> None:
    """Linux: SIGKILL this process when its parent exits. Elsewhere a no-op (there is no such
    request on macOS or Windows; the parent's SIGTERM handler still stops its workers)."""
    if not sys.platform.startswith("linux"):
        return
    import multiprocessing

    parent = multiprocessing.parent_process()
    expected = parent.pid if parent is not None else None
    try:
        import ctypes  # here: only workers need it, and the parent's start-up stays short
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if expected is not None and os.getppid() != expected:  # the parent died before the request
        os._exit(1)


def install_parent_handlers() -> dict | None:
    """In the command's main process: SIGINT and SIGTERM stop the workers, are remembered, and
    raise KeyboardInterrupt / Terminated in the main thread. Returns the previous handlers for
    ``restore_handlers`` (None off the main thread, where Python allows no handler)."""
    global _received
    _received = None
    try:
        previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread: an embedding program keeps its own handling
        return None
    previous["excepthook"] = threading.excepthook
    threading.excepthook = _quiet_once_stopping
    return previous


def restore_handlers(previous: dict | None) -> None:
    """Puts back what ``install_parent_handlers`` replaced and forgets the signal (in-process
    callers, such as tests, run more commands afterwards)."""
    global _received
    _received = None
    previous = dict(previous or {})
    if "excepthook" in previous:
        threading.excepthook = previous.pop("excepthook")
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def _quiet_once_stopping(args) -> None:
    """After a stop signal, a pool's manager thread can trip over futures the main thread is
    cancelling (CPython 3.11: InvalidStateError in ``terminate_broken``); the run is ending with
    its one line and 130/143, so that traceback is noise. Before a signal, report as usual."""
    if _received is None:
        threading.__excepthook__(args)


def _on_signal(signum: int, _frame) -> None:
    global _received
    if _received is None:
        _received = signum
    stop_workers()
    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated()


def stop_workers() -> None:
    """Kills the worker processes of this process (a pool would otherwise finish every queued
    task before its ``with`` block lets the exception through)."""
    # Not imported, or still being imported when the signal came (a partly initialised module has no
    # `active_children` yet): no worker was ever started.
    active_children = getattr(sys.modules.get("multiprocessing"), "active_children", None)
    for child in active_children() if active_children is not None else ():
        try:
            child.kill()
        except (OSError, ValueError, AttributeError):
            pass


def check_signalled() -> None:
    """Raises again a signal received earlier, even if something swallowed its exception."""
    if _received == signal.SIGINT:
        raise KeyboardInterrupt
    if _received == signal.SIGTERM:
        raise Terminated()


def can_fork() -> bool:
    import multiprocessing  # here, not at the top: a pre-commit run starts no worker (7 ms of import)

    return "fork" in multiprocessing.get_all_start_methods()


def map_in_workers(task: Callable[[_S, _T], _R], state: _S, items: Sequence[_T], jobs: int,
                   chunksize: int = 1, rebuild: tuple[Callable[..., _S], tuple] | None = None) -> list[_R]:
    """``[task(state, item) for item in items]``, in ``jobs`` worker processes when ``jobs > 1``.

    ``state`` reaches each worker once, as the pool initializer's argument: inherited by fork, so
    a compiled engine is neither pickled nor rebuilt. Where the OS cannot fork, ``rebuild`` (a
    function and picklable arguments) makes the state again in each spawned worker; without it
    the tasks run here, one after the other.
    """
    return list(iter_in_workers(task, state, items, jobs, chunksize, rebuild))


def iter_in_workers(task: Callable[[_S, _T], _R], state: _S, items: Sequence[_T], jobs: int,
                    chunksize: int = 1, rebuild: tuple[Callable[..., _S], tuple] | None = None) -> Iterator[_R]:
    """``map_in_workers``, each result as soon as it is ready, in order (a progress bar follows it).

    A worker's copy of ``state`` is its own: a task may keep per-process resources on it (the
    history audit's ``git cat-file`` reader), created on first use in each worker."""
    if jobs <= 1 or not items or not (can_fork() or rebuild is not None):
        yield from (task(state, item) for item in items)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork" if can_fork() else "spawn")
    initargs = (state, None) if can_fork() else (None, rebuild)
    from concurrent.futures import ProcessPoolExecutor  # here: a pre-commit run never starts a pool

    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_worker, initargs=initargs) as pool:
        yield from pool.map(_run_task, [task] * len(items), items, chunksize=chunksize)


class _ThisWorker:
    """The state of *this worker process*: written once, by ``_start_worker`` in the worker; the
    parent never writes it (the pool's tasks are module-level functions, so pickling sends only
    their names: this is where a task finds what its pool was given)."""

    state = None


def _start_worker(state, rebuild) -> None:
    ignore_interrupts()
    _ThisWorker.state = rebuild[0](*rebuild[1]) if rebuild is not None else state


def _run_task(task, item):
    return task(_ThisWorker.state, item)
