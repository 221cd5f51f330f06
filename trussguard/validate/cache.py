"""Validation results by secret hash, so a re-run within ``max_age_seconds`` does not ask again.

Its own small sqlite file (``validation.sqlite3`` in the cache directory) rather than the scan caches'
``CheckedStore``: rows expire by age, and a row is only reused for the same host (an endpoint override
never answers for the real provider). Rows hold SHA-256(secret) -> outcome, status, host, time and
detail: never the secret. Only ``live`` and ``revoked`` are kept; an ``unknown`` (timeout, rate limit)
is asked again next time. Like every trussguard cache it is a convenience: any sqlite or I/O problem
makes it an empty store.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import replace
from pathlib import Path

from trussguard.validate.model import Validation

FILENAME = "validation.sqlite3"
_TABLE = ("CREATE TABLE IF NOT EXISTS validations (key TEXT PRIMARY KEY, outcome TEXT NOT NULL, status INTEGER, "
          "host TEXT NOT NULL, checked_at TEXT NOT NULL, detail TEXT NOT NULL, stored REAL NOT NULL)")


class ValidationCache:
    def __init__(self, directory: Path | None, max_age_seconds: int):
        self.max_age = max_age_seconds
        self._conn: sqlite3.Connection | None = None
        if directory is None or max_age_seconds <= 0:
            return
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(str(Path(directory) / FILENAME), timeout=2.0, check_same_thread=False)
            self._conn.execute(_TABLE)
            self._conn.commit()
        except (OSError, sqlite3.Error):
            self._conn = None

    def get(self, key: str, host: str) -> Validation | None:
        """The stored outcome for ``key`` asked of ``host``, if younger than ``max_age``."""
        if self._conn is None:
            return None
        try:
            row = self._conn.execute("SELECT outcome, status, host, checked_at, detail, stored FROM validations "
                                     "WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        if row is None or row[2] != host or row[0] not in ("live", "revoked") \
                or not (0 <= time.time() - row[5] < self.max_age):
            return None
        return Validation(row[0], row[1], row[2], row[3], row[4], cached=True)

    def put(self, key: str, result: Validation) -> None:
        if self._conn is None or result.outcome not in ("live", "revoked"):
            return
        result = replace(result, cached=False)
        try:
            self._conn.execute("INSERT OR REPLACE INTO validations VALUES (?, ?, ?, ?, ?, ?, ?)",
                               (key, result.outcome, result.status, result.host, result.checked_at, result.detail,
                                time.time()))
            self._conn.commit()
        except sqlite3.Error:
            pass

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
