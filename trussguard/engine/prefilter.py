"""Multi-pattern keyword prefilter: one pass over the input finds every rule keyword.

Measured on 100 MB of real Python/JSON/YAML with ~100 keywords (2-core machine): hyperscan
2.2 GB/s (0.045 s), pyahocorasick on lower-cased text 67 MB/s (1.5 s), a Python ``re``
alternation 46 s. Hyperscan matches case-insensitively without copying the input, and its
compiled database is serialised into the user cache keyed by the keyword set.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import hyperscan


class KeywordPrefilter:
    """Finds (keyword index, end offset) for every keyword occurrence in a byte string."""

    def __init__(self, keywords: list[str], cache_dir: Path | None = None):
        self.keywords = keywords
        self._db = _load_or_compile(keywords, cache_dir) if keywords else None  # hyperscan refuses empty sets

    def hits(self, data: bytes) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        if not data or self._db is None:
            return found

        def on_match(kw: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            found.append((kw, end))

        self._db.scan(data, match_event_handler=on_match)
        return found


def _expression(keyword: str) -> bytes:
    return "".join(f"\\x{b:02x}" for b in keyword.encode())


def _compile(keywords: list[str]) -> hyperscan.Database:
    db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
    db.compile(
        expressions=[_expression(k) for k in keywords],
        ids=list(range(len(keywords))),
        flags=[hyperscan.HS_FLAG_CASELESS] * len(keywords),
    )
    return db


def _finds_every_keyword(db: hyperscan.Database, keywords: list[str]) -> bool:
    """A cached database is used only if it reports every keyword, each under its own index, in a
    text made of them all: one replaced by a database of other (or no) keywords would otherwise
    make the rules behind them never run (a cache must never change a result)."""
    found: set[int] = set()

    def on_match(kw: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
        found.add(kw)

    db.scan("\n".join(keywords).encode(), match_event_handler=on_match)
    return found == set(range(len(keywords)))


def _load_or_compile(keywords: list[str], cache_dir: Path | None) -> hyperscan.Database:
    if cache_dir is None:
        return _compile(keywords)
    key = hashlib.sha256("\0".join(keywords).encode()).hexdigest()[:32]
    path = cache_dir / f"prefilter-{key}.hsdb"
    try:
        db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)  # a deserialised database has none
        if _finds_every_keyword(db, keywords):
            return db
    except (OSError, hyperscan.error, TypeError, ValueError):
        pass
    db = _compile(keywords)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(hyperscan.dumpb(db))
        os.replace(tmp, path)
    except (OSError, hyperscan.error):
        pass
    return db
