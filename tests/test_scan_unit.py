"""``scan_unit``, the per-unit step the tree and staged scans share, and ``map_in_workers``, the
one worker pool: the same answers here and in workers, with no state left behind in the parent."""

from __future__ import annotations

import os

import pytest

from trussguard import pipeline, workers
from trussguard.config import ScanConfig
from trussguard.engine.detector import Detector
from trussguard.scan_unit import Unit, UnitContext, scan_unit
from trussguard.sources.content import Oversize, decode
from trussguard.types import Fragment, Skipped

HF = "huggingface.user-token"


@pytest.fixture(scope="module")
def ctx(ruleset) -> UnitContext:
    return UnitContext(Detector(ruleset, None, False, 1), frozenset(), 1 << 20)


def _line(token: str, comment: str = "") -> bytes:
    return f'HF_TOKEN = "{token}"{comment}\n'.encode()


def test_a_match_is_kept_or_allowed_by_its_marker(ctx, fake_token):
    kept = scan_unit(Unit(("app.py",), Fragment("app.py", _line(fake_token(HF)))), ctx)
    assert [m.rule_id for m in kept.matches] == [HF] and kept.hidden == [] and kept.scanned
    allowed = scan_unit(Unit(("app.py",), Fragment("app.py", _line(fake_token(HF), "  # trussguard: allow"))), ctx)
    assert allowed.matches == [] and [(m.rule_id, marker) for m, marker in allowed.hidden] == [(HF, "trussguard: allow")]


def test_a_blob_at_two_paths_is_allowed_only_when_both_read_the_marker(ctx, fake_token):
    """A '#' comment is a marker in Python, not in JSON (which has no comments)."""
    data = decode(_line(fake_token(HF), "  # trussguard: allow"))
    assert scan_unit(Unit(("a.py", "b.py"), data, "0" * 40), ctx).matches == []
    assert [m.rule_id for m in scan_unit(Unit(("a.py", "a.json"), data, "0" * 40), ctx).matches] == [HF]


def test_oversize_and_unreadable_units(ctx, fake_token):
    body = b"x = 1\n" * 50_000 + _line(fake_token(HF))
    big = Oversize("big.txt", len(body), lambda n: (body[i:i + n] for i in range(0, len(body), n)))
    result = scan_unit(Unit(("big.txt",), big), ctx)
    assert result.oversize and result.scanned and result.bytes == len(body)
    assert [(m.rule_id, m.line) for m in result.matches] == [(HF, 50_001)]
    gone = Skipped("gone.py", "unreadable", "permission denied")
    assert scan_unit(Unit(("gone.py",), gone), ctx).skipped == gone


def _square(state: int, item: int) -> int:
    return state * item * item


def test_map_in_workers_gives_the_serial_answer_and_keeps_the_parent_clean():
    items = list(range(40))
    serial = workers.map_in_workers(_square, 3, items, 1)
    assert serial == [3 * i * i for i in items]
    if workers.can_fork():
        assert workers.map_in_workers(_square, 3, items, 2, chunksize=4) == serial
    assert workers._ThisWorker.state is None  # only a worker's initializer writes it, in the worker


class _Counter:
    """A state a task keeps per-process resources on (as the audit keeps a reader)."""

    def __init__(self):
        self.seen = 0

    def count(self, item: int) -> tuple[int, int, int]:
        self.seen += 1
        return item, os.getpid(), self.seen


def test_iter_in_workers_streams_in_order_and_each_worker_keeps_its_own_state():
    state = _Counter()
    serial = list(workers.iter_in_workers(_Counter.count, state, list(range(10)), 1))
    assert [(i, n) for i, _, n in serial] == [(i, i + 1) for i in range(10)] and state.seen == 10
    if workers.can_fork():
        fresh = _Counter()
        results = list(workers.iter_in_workers(_Counter.count, fresh, list(range(30)), 2))
        assert [i for i, _, _ in results] == list(range(30))  # in order
        assert fresh.seen == 0 and os.getpid() not in {pid for _, pid, _ in results}  # the parent's copy untouched
        per_worker: dict[int, list[int]] = {}
        for _, pid, n in results:
            per_worker.setdefault(pid, []).append(n)
        # each worker's copy counts its own tasks, 1, 2, 3...: state persists across a worker's tasks
        assert all(sorted(ns) == list(range(1, len(ns) + 1)) for ns in per_worker.values())


def test_tree_scan_in_workers_finds_what_the_serial_scan_finds(tmp_path, fake_token, monkeypatch):
    """Forced into workers (a tiny tree normally stays in-process): same findings and counts."""
    for i in range(6):
        (tmp_path / f"m{i}").mkdir()
        (tmp_path / f"m{i}" / "app.py").write_bytes(_line(fake_token(HF)) + b"# padding\n" * (i * 1000))
    (tmp_path / "ok.py").write_bytes(_line(fake_token(HF), "  # trussguard: allow"))
    serial = pipeline.scan_tree(ScanConfig(paths=(tmp_path,), jobs=1, cache_dir=None))
    monkeypatch.setattr(pipeline, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(pipeline, "CHUNK_BYTES", 1)
    parallel = pipeline.scan_tree(ScanConfig(paths=(tmp_path,), jobs=2, cache_dir=None))
    assert parallel.stats.workers == 2
    assert [(f.rule_id, f.path, f.line, f.secret_sha256) for f in parallel.findings] == \
        [(f.rule_id, f.path, f.line, f.secret_sha256) for f in serial.findings]
    assert len(serial.findings) == 6 and parallel.suppressed == serial.suppressed and len(serial.suppressed) == 1
    assert (parallel.stats.files_scanned, parallel.stats.bytes_scanned) == \
        (serial.stats.files_scanned, serial.stats.bytes_scanned)


def test_stop_workers_with_multiprocessing_half_imported(monkeypatch):
    """A Ctrl-C while `multiprocessing` is being imported (it is imported where first used) finds a
    partly initialised module: no worker can exist yet, and stopping them must not fail."""
    import sys
    import types

    monkeypatch.setitem(sys.modules, "multiprocessing", types.ModuleType("multiprocessing"))
    workers.stop_workers()
    monkeypatch.delitem(sys.modules, "multiprocessing")
    workers.stop_workers()
