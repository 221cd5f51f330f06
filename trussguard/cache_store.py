"""A checksummed sqlite key-value file: the storage under every trussguard result cache.

Why one store: the history audit's blob cache and the tree/staged scans' unit cache both need the
same guarantees, and they had to be learnt once. A cache is a convenience, never a dependency: an
I/O or sqlite problem turns it into an empty no-op store and ``problem`` says why; a file that is
not a database is moved aside and a fresh one started. A cache must never change a result:
rewriting payloads once turned a leak into exit 0, so each row's SHA-256 over its key and payload
is kept in a second table and checked on every read; a row failing it is a miss (``rejected``
counts them), scanned again and rewritten. The checksum is not keyed: it defends against
corruption and tools editing the file, not against someone able to write the cache (use
``--no-cache`` where that is a concern). Callers store hashes and redacted text only.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

from trussguard import __version__
from trussguard.config import ScanConfig

_TABLE = "CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, payload BLOB NOT NULL) WITHOUT ROWID"
_SUMS = "CREATE TABLE IF NOT EXISTS sums (key TEXT PRIMARY KEY, sha256 BLOB NOT NULL) WITHOUT ROWID"
_SCHEMA = [("key", "TEXT", 1), ("payload", "BLOB", 0)]  # (name, type, pk) per column of PRAGMA table_info
_CHUNK = 500  # keys per SELECT ... IN (...), well under sqlite's bound-parameter limit
_LOCK_TIMEOUT = 2.0  # seconds to wait for another run's write before giving up on the cache


class CheckedStore:
    """Rows of (key, payload) in one sqlite file; ``open`` never raises and a broken store is empty."""

    filename = "store.sqlite3"

    def __init__(self, directory: Path | None = None):
        self.directory = directory
        self.enabled = False
        self.problem: str | None = None  # why the cache cannot be used, one line
        self.moved: str | None = None  # a corrupt file was moved aside and a fresh one started
        self.rejected = 0  # entries that failed their checksum or made no sense: scanned again
        self._conn: sqlite3.Connection | None = None

    def _open(self) -> None:
        """Connects to ``directory/filename``, creating it; on failure the store stays disabled."""
        if self.directory is None:
            return
        path = Path(self.directory) / self.filename
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._conn = _connect(path)
            except sqlite3.DatabaseError as exc:
                if type(exc) is not sqlite3.DatabaseError:  # locked, read-only, unopenable: not corruption
                    raise
                try:
                    os.replace(path, path.with_name(path.name + ".corrupt"))
                except OSError as err:
                    raise OSError(err.errno, f"{exc}, and moving it aside failed: {err.strerror}") from err
                self.moved = f"cache {path} was corrupt ({exc}); moved aside to {path.name}.corrupt"
                self._conn = _connect(path)
            self.enabled = True
        except (OSError, sqlite3.Error) as exc:
            self._disable(exc)

    @property
    def notice(self) -> str | None:
        """What the scan should say about the cache besides a problem, one line, or None."""
        rejected = (f"cache {self.directory}: {self.rejected} entr{'y' if self.rejected == 1 else 'ies'} failed "
                    "the checksum or did not fit the blob (edited or corrupt); discarded and scanned again"
                    if self.rejected else None)
        return "; ".join(n for n in (self.moved, rejected) if n) or None

    def _rows(self, keys: list[str]) -> list[tuple[str, bytes]]:
        """The stored rows whose checksum holds, in key order (index seeks stay local: ~1.6x faster);
        a sqlite error disables the store and reads as no rows."""
        out: list[tuple[str, bytes]] = []
        wanted = sorted(set(keys))
        try:
            for start in range(0, len(wanted) if self.enabled else 0, _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                sql = (f"SELECT blobs.key, payload, sha256 FROM blobs LEFT JOIN sums ON sums.key = blobs.key "
                       f"WHERE blobs.key IN ({','.join('?' * len(chunk))})")
                rows = self._conn.execute(sql, chunk).fetchall()
                sound = [(k, p) for k, p, digest in rows if digest == checksum(k, p)]
                self.rejected += len(rows) - len(sound)
                out += sound
        except sqlite3.Error as exc:
            self._disable(exc)
            return []
        return out

    def _write(self, rows: list[tuple[str, bytes]]) -> None:
        """Writes in one transaction; a failure disables the store (the scan goes on)."""
        if not self.enabled or not rows:
            return
        try:
            with self._conn:  # commits, or rolls back on error; the explicit BEGIN makes it one transaction
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("INSERT OR REPLACE INTO blobs (key, payload) VALUES (?, ?)", rows)
                self._conn.executemany("INSERT OR REPLACE INTO sums (key, sha256) VALUES (?, ?)",
                                       [(key, checksum(key, payload)) for key, payload in rows])
        except sqlite3.Error as exc:
            self._disable(exc)

    def close(self) -> None:
        conn, self._conn, self.enabled = self._conn, None, False
        try:
            if conn is not None:
                conn.close()
        except sqlite3.Error:
            pass  # nothing left to lose: every write was already committed or rolled back

    def _disable(self, exc: Exception) -> None:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        self.problem = f"cache disabled: {self.directory}: {detail}"
        self.close()


def _connect(path: Path) -> sqlite3.Connection:
    """Opens, creates the table and proves the file writable, so every failure surfaces at open."""
    conn = sqlite3.connect(path, timeout=_LOCK_TIMEOUT, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")  # waits out (then reports) another run holding the write lock
        conn.execute(_TABLE)
        conn.execute(_SUMS)
        conn.execute("DELETE FROM blobs WHERE key = ''")  # a no-op write: fails on a read-only file
        columns = [(name, kind, pk) for _, name, kind, _, _, pk in conn.execute("PRAGMA table_info(blobs)")]
        conn.execute("COMMIT")
        if columns != _SCHEMA:  # someone else's table: report it, leave the file alone
            raise sqlite3.OperationalError(f"unexpected schema for table blobs: {columns}")
        return conn
    except BaseException:
        conn.close()
        raise


def checksum(key: str, payload) -> bytes:
    data = payload if isinstance(payload, bytes) else str(payload).encode("utf-8", "surrogateescape")
    return hashlib.sha256(key.encode("utf-8", "surrogateescape") + b"\0" + data).digest()


def results_salt(rules_digest: str, scan: ScanConfig) -> str:
    """What a cached result depends on besides its content and paths: the rules, this code (version
    and source files, so an edited checkout never reuses stale results) and the settings that change
    what a scan finds."""
    code = hashlib.sha256(__version__.encode())
    for source in sorted(Path(__file__).parent.rglob("*.py")):
        stat = source.stat()
        code.update(f"{source.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return "|".join((rules_digest, code.hexdigest(), str(scan.max_file_size), str(scan.use_detect_secrets),
                     str(scan.decode_depth)))
