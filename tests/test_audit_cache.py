"""The per-blob audit cache: round trips, keys, and failing open but honestly.

Findings here carry obviously fake values (an all-zero hash, a placeholder redaction); no test
needs anything shaped like a real credential.
"""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import zlib
from pathlib import Path

import pytest

from trussguard import cache_store
from trussguard.audit_cache import FILENAME, BlobCache, BlobResult
from trussguard.types import CellPlace, Finding, Severity, Skipped

SALT = "rules:0000|trussguard:test|max_size:1000"
BLOB = "a" * 40
PATHS = [("model/config.yaml", True), ("old/config.yaml", False)]


def fake_finding(path: str = "model/config.yaml", secret: str | None = None, **changes) -> Finding:
    values = {"id": "TG-0000", "rule_id": "example.fake-token", "kind": "leak", "severity": Severity.HIGH,
              "title": "Fake token", "message": "a fake token for the cache tests", "path": path, "line": 3,
              "column": 7, "commit": "c" * 40, "secret_sha256": "0" * 64, "redacted": "abcd…(40)",
              "advisory_id": "ADV-0000", "decoded": "base64", "check": "TG101", "fix": "use a null placeholder",
              "secret": secret}
    return Finding(**{**values, **changes})


def fake_result(**changes) -> BlobResult:
    low = fake_finding("old/config.yaml", severity=Severity.LOW, column=None, decoded=None, check=None, fix=None)
    values = {"places": [("model/config.yaml", fake_finding()), ("old/config.yaml", low)],
              "skipped": [Skipped("big.bin", "too_large", "blob 1234: 99 bytes")],
              "notes": ["config.yaml: not valid YAML (blob aaaaaaaaaaaa)"], "scanned": 1, "bytes": 321, "suppressed": 2}
    return BlobResult(**{**values, **changes})


def stored(directory: Path) -> dict[str, bytes]:
    """The JSON text of every row, as written (compressed rows inflated)."""
    with sqlite3.connect(directory / FILENAME) as conn:
        rows = conn.execute("SELECT key, payload FROM blobs").fetchall()
    return {key: payload if payload[:1] == b"[" else zlib.decompress(payload) for key, payload in rows}


def assert_same(got: BlobResult, want: BlobResult) -> None:
    assert got == want
    for (_, g), (_, w) in zip(got.places, want.places, strict=True):  # Finding equality skips secret and history
        assert g.secret is None and g.history is None
        assert type(g.severity) is Severity and g.severity is w.severity


def test_round_trip_survives_reopen(tmp_path: Path):
    cache = BlobCache.open(tmp_path / "nested" / "dir", SALT)
    assert cache.enabled and cache.problem is None and cache.notice is None
    key, result = cache.key(BLOB, PATHS), fake_result()
    empty = fake_result(places=[], skipped=[], notes=[], scanned=0, bytes=0, suppressed=0)
    cache.put_many({key: result, cache.key("b" * 40, PATHS): empty})
    cache.close()
    with sqlite3.connect(tmp_path / "nested" / "dir" / FILENAME) as conn:
        payloads = dict(conn.execute("SELECT key, payload FROM blobs"))
    assert payloads[key][:2] == b"x\x9c"  # findings are long: stored compressed
    assert payloads[cache.key("b" * 40, PATHS)] == b"[[],[],[],0,0,0]"
    again = BlobCache.open(tmp_path / "nested" / "dir", SALT)
    got = again.get_many([key, cache.key("b" * 40, PATHS)])
    assert_same(got[key], result)
    assert_same(got[cache.key("b" * 40, PATHS)], empty)
    assert (tmp_path / "nested" / "dir" / FILENAME).is_file()


def test_a_notebook_findings_cell_round_trips(tmp_path: Path):
    """A finding in a notebook keeps its cell (index, line, output or not) through the cache."""
    cache = BlobCache.open(tmp_path, SALT)
    result = fake_result(places=[("nb/try.ipynb", fake_finding("nb/try.ipynb", cell=CellPlace(3, 2, True)))])
    key = cache.key(BLOB, [("nb/try.ipynb", False)])
    cache.put_many({key: result})
    (_, got), = cache.get_many([key])[key].places
    assert got.cell == CellPlace(3, 2, True) and got == result.places[0][1]


def test_put_replaces_an_existing_entry(tmp_path: Path):
    cache = BlobCache.open(tmp_path, SALT)
    key = cache.key(BLOB, PATHS)
    cache.put_many({key: fake_result(notes=["first"])})
    cache.put_many({key: fake_result(notes=["second"])})
    assert cache.get_many([key])[key].notes == ["second"]


def test_key_depends_on_salt_blob_and_paths_but_not_their_order(tmp_path: Path):
    cache = BlobCache.open(None, SALT)
    key = cache.key(BLOB, PATHS)
    assert key == cache.key(BLOB, list(reversed(PATHS)))
    assert len(key) == 64 and int(key, 16) >= 0
    assert key != BlobCache.open(None, SALT + "x").key(BLOB, PATHS)
    assert key != cache.key("b" * 40, PATHS)
    assert key != cache.key(BLOB, [("model/config.yaml", True), ("old/config.yaml", True)])
    assert key != cache.key(BLOB, PATHS[:1])
    assert cache.key(BLOB, [("a|b", True)]) != cache.key(BLOB, [("a", True), ("b", True)])


def test_unknown_keys_miss_and_counters_add_up(tmp_path: Path):
    cache = BlobCache.open(tmp_path, SALT)
    known = cache.key(BLOB, PATHS)
    cache.put_many({known: fake_result()})
    assert cache.get_many([cache.key("b" * 40, PATHS)]) == {}
    assert (cache.hits, cache.misses) == (0, 1)
    got = cache.get_many([known, known, cache.key("c" * 40, PATHS)])
    assert list(got) == [known]
    assert (cache.hits, cache.misses) == (1, 2)


def test_many_keys_are_looked_up_across_chunks(tmp_path: Path):
    cache = BlobCache.open(tmp_path, SALT)
    keys = [cache.key(f"{n:040x}", PATHS) for n in range(1234)]
    cache.put_many({k: fake_result(places=[], bytes=n + 1) for n, k in enumerate(keys[::2])})
    got = cache.get_many(keys)
    assert len(got) == 617 and got[keys[2]].bytes == 2
    assert (cache.hits, cache.misses) == (617, 617)


def test_a_finding_with_its_secret_is_never_stored(tmp_path: Path):
    cache = BlobCache.open(tmp_path, SALT)
    leaky = fake_result(places=[("model/config.yaml", fake_finding()),
                                ("model/model.py", fake_finding("model/model.py", secret="not-a-real-value"))])
    cache.put_many({cache.key(BLOB, PATHS): leaky, cache.key("b" * 40, PATHS): fake_result()})
    cache.close()
    assert list(stored(tmp_path)) == [cache.key("b" * 40, PATHS)]
    assert b"not-a-real-value" not in (tmp_path / FILENAME).read_bytes()
    again = BlobCache.open(tmp_path, SALT)
    assert list(again.get_many([cache.key(BLOB, PATHS), cache.key("b" * 40, PATHS)])) == \
        [cache.key("b" * 40, PATHS)]
    assert again.enabled and again.problem is None


def test_garbage_file_is_moved_aside_and_a_fresh_cache_works(tmp_path: Path):
    garbage = bytes(range(256)) * 32
    (tmp_path / FILENAME).write_bytes(garbage)
    cache = BlobCache.open(tmp_path, SALT)
    assert cache.enabled and cache.problem is None
    assert "moved aside" in cache.notice
    assert (tmp_path / (FILENAME + ".corrupt")).read_bytes() == garbage
    key = cache.key(BLOB, PATHS)
    cache.put_many({key: fake_result()})
    assert_same(cache.get_many([key])[key], fake_result())


def test_a_file_that_cannot_be_moved_aside_disables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / FILENAME).write_bytes(b"\x00garbage" * 1000)
    monkeypatch.setattr(cache_store.os, "replace", _raise(PermissionError(13, "Permission denied")))
    cache = BlobCache.open(tmp_path, SALT)
    assert cache.problem == \
        f"cache disabled: {tmp_path}: file is not a database, and moving it aside failed: Permission denied"
    _assert_disabled_no_op(cache)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_directory_disables(tmp_path: Path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        cache = BlobCache.open(locked / "cache", SALT)
        _assert_disabled_no_op(cache)
        cache = BlobCache.open(locked, SALT)
        _assert_disabled_no_op(cache)
    finally:
        locked.chmod(0o700)


def test_connect_failure_disables_with_a_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    refused = sqlite3.OperationalError("unable to open database file")
    monkeypatch.setattr(cache_store.sqlite3, "connect", _raise(refused))
    cache = BlobCache.open(tmp_path, SALT)
    assert cache.problem == f"cache disabled: {tmp_path}: unable to open database file"
    _assert_disabled_no_op(cache)


def test_directory_path_that_is_a_file_disables(tmp_path: Path):
    (tmp_path / "file").write_text("not a folder")
    cache = BlobCache.open(tmp_path / "file", SALT)
    assert cache.problem.startswith(f"cache disabled: {tmp_path / 'file'}: ")
    _assert_disabled_no_op(cache)


def test_locked_database_disables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    BlobCache.open(tmp_path, SALT).close()
    holder = sqlite3.connect(tmp_path / FILENAME, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another audit in the middle of its write
    monkeypatch.setattr(cache_store, "_LOCK_TIMEOUT", 0.05)
    try:
        cache = BlobCache.open(tmp_path, SALT)
        assert cache.problem == f"cache disabled: {tmp_path}: database is locked"
        _assert_disabled_no_op(cache)
    finally:
        holder.close()


def test_read_only_database_disables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    BlobCache.open(tmp_path, SALT).close()
    connect = sqlite3.connect  # root ignores file modes, so open the file read-only the way sqlite would
    monkeypatch.setattr(cache_store.sqlite3, "connect",
                        lambda path, **kw: connect(f"file:{path}?mode=ro", uri=True, **kw))
    cache = BlobCache.open(tmp_path, SALT)
    assert cache.problem == f"cache disabled: {tmp_path}: attempt to write a readonly database"
    _assert_disabled_no_op(cache)


def test_foreign_schema_disables_and_leaves_the_file_alone(tmp_path: Path):
    with sqlite3.connect(tmp_path / FILENAME) as conn:
        conn.execute("CREATE TABLE blobs (key TEXT PRIMARY KEY, payload TEXT, extra INTEGER)")
    cache = BlobCache.open(tmp_path, SALT)
    assert "unexpected schema for table blobs" in cache.problem
    _assert_disabled_no_op(cache)
    assert not (tmp_path / (FILENAME + ".corrupt")).exists()


def test_read_failure_disables_without_raising(tmp_path: Path):
    cache = BlobCache.open(tmp_path, SALT)
    key = cache.key(BLOB, PATHS)
    cache.put_many({key: fake_result()})
    with sqlite3.connect(tmp_path / FILENAME) as conn:
        conn.execute("DROP TABLE blobs")
    assert cache.get_many([key]) == {}
    assert not cache.enabled and "no such table: blobs" in cache.problem
    assert (cache.hits, cache.misses) == (0, 1)


def test_a_failed_write_leaves_nothing_half_written(tmp_path: Path):
    cache = BlobCache.open(tmp_path, SALT)
    with sqlite3.connect(tmp_path / FILENAME) as conn:  # the third row of the batch fails
        conn.execute("CREATE TRIGGER boom BEFORE INSERT ON blobs WHEN NEW.key = 'k3' "
                     "BEGIN SELECT RAISE(ABORT, 'disk on fire'); END")
    cache.put_many({f"k{n}": fake_result() for n in range(1, 6)})
    assert cache.problem == f"cache disabled: {tmp_path}: disk on fire"
    assert stored(tmp_path) == {}


def test_write_failure_disables_without_raising(tmp_path: Path):
    cache = BlobCache.open(tmp_path, SALT)
    key = cache.key(BLOB, PATHS)
    with sqlite3.connect(tmp_path / FILENAME) as conn:
        conn.execute("DROP TABLE blobs")
    cache.put_many({key: fake_result()})
    assert not cache.enabled and "no such table: blobs" in cache.problem
    assert cache.get_many([key]) == {}
    cache.close()


@pytest.mark.parametrize("payload", [
    b"\xff\xfe not json", b"{}", b"[]", b"[[], [], [], 1, 2]", b'[[], [], ["n"], 1, 2, "3"]',
    b'[[], [["only", "two"]], [], 1, 2, 3]', b'[[["p", {"id": "x"}]], [], [], 1, 2, 3]',
    b'[[[1, {}]], [], [], 1, 2, 3]', b"[" * 100000, 42, "text", b"", b"x\x9c not zlib",
    zlib.compress(b"[[],[],[],1,2]"), b"[[],[],[],1,2,3],[[],[],[],4,5,6]",  # two values in one row
])
def test_undecodable_payload_is_a_miss(tmp_path: Path, payload):
    cache = BlobCache.open(tmp_path, SALT)
    key, good = cache.key(BLOB, PATHS), cache.key("b" * 40, PATHS)
    cache.put_many({good: fake_result()})
    with sqlite3.connect(tmp_path / FILENAME) as conn:
        conn.execute("INSERT INTO blobs VALUES (?, ?)", (key, payload))
    assert list(cache.get_many([key, good])) == [good]
    assert (cache.hits, cache.misses) == (1, 1) and cache.enabled


@pytest.mark.parametrize("edit", [
    lambda d: d.update(severity="SEVERE"),  # not a Severity name
    lambda d: d.pop("fix"),  # a field with a default: Finding(**d) alone would accept it
    lambda d: d.update(secret="not-a-real-value"),  # never written, so never read back either
])
def test_stored_finding_of_the_wrong_shape_is_a_miss(tmp_path: Path, edit):
    cache = BlobCache.open(tmp_path, SALT)
    key = cache.key(BLOB, PATHS)
    cache.put_many({key: fake_result()})
    data = json.loads(stored(tmp_path)[key])
    edit(data[0][0][1])
    with sqlite3.connect(tmp_path / FILENAME) as conn:
        conn.execute("UPDATE blobs SET payload = ?", (json.dumps(data).encode(),))
    assert cache.get_many([key]) == {}


def test_uncompressed_payload_with_findings_still_decodes(tmp_path: Path):
    cache = BlobCache.open(tmp_path, SALT)
    key = cache.key(BLOB, PATHS)
    cache.put_many({key: fake_result()})
    plain = stored(tmp_path)[key]
    with sqlite3.connect(tmp_path / FILENAME) as conn:  # a rewrite that keeps its checksum right
        conn.execute("UPDATE blobs SET payload = ?", (plain,))
        conn.execute("UPDATE sums SET sha256 = ?", (cache_store.checksum(key, plain),))
    assert_same(cache.get_many([key])[key], fake_result())


@pytest.mark.parametrize("enabled", [True, False])
def test_get_many_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path, enabled: bool):
    cache = BlobCache.open(tmp_path, SALT)
    cache.put_many({cache.key(BLOB, PATHS): fake_result()})
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        assert len(cache.get_many([cache.key(BLOB, PATHS)])) == 1
        assert gc.isenabled() is enabled
        assert cache.get_many([]) == {} and gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_no_directory_means_disabled_without_a_problem():
    cache = BlobCache.open(None, SALT)
    assert not cache.enabled and cache.problem is None
    _assert_disabled_no_op(cache)


def _assert_disabled_no_op(cache: BlobCache) -> None:
    assert not cache.enabled
    key = cache.key(BLOB, PATHS)
    cache.put_many({key: fake_result()})
    assert cache.get_many([key]) == {}
    assert cache.misses >= 1 and cache.hits == 0
    cache.close()


def _raise(exc: Exception):
    def fail(*args, **kwargs):
        raise exc
    return fail
