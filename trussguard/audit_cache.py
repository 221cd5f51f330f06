"""A persistent per-blob result cache, so re-auditing after a few commits reads only the new blobs.

A blob never changes: what scanning it produced depends only on the blob, the paths it was scanned
under and the settings the caller folds into ``salt``. The cache is a convenience, never a
dependency: an I/O or sqlite problem turns it into an empty no-op cache and ``problem`` says why.
It holds hashes and redacted text only; a finding that still carries its secret is never written.

A cache must never change a result: rewriting payloads (``UPDATE blobs SET payload = <no
findings>``) once turned a leak into exit 0. Each row's SHA-256 over its key and payload is kept
in a second table and checked on every read, and a decoded result must be plausible for the blob
and paths it was asked for (one scanned blob of 0 bytes is the empty blob; findings only at the
paths of the key). A row failing either is discarded, scanned again, rewritten, and ``notice``
says how many. What this defends against is corruption and tools editing the file: the checksum
is not keyed, and a key stored beside the cache would not stop anyone able to write the cache
(a local attacker, or a CI cache restored from an untrusted branch); for those, use ``--no-cache``.
"""

from __future__ import annotations

import gc
import hashlib
import json
import sqlite3
import zlib
from dataclasses import dataclass, field, fields
from pathlib import Path

from trussguard.cache_store import _CHUNK, CheckedStore
from trussguard.types import CellPlace, Finding, Severity, Skipped, Suppressed

FILENAME = "audit-blobs-v2.sqlite3"  # another payload or table layout gets another name, never a migration
EMPTY_BLOBS = frozenset({"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391",  # git's empty blob, SHA-1 and SHA-256
                         "473a0f4c3be8a93681a267e3b1e9a7dcda1185436fe141f7749120a303721813"})
_FINDING_FIELDS = frozenset(f.name for f in fields(Finding)) - {"secret", "history"}
_COMPRESS_OVER = 512  # bytes; findings compress about 3x and then fit their b-tree cell (~1 kB) unspilled
_BAD = (ValueError, TypeError, KeyError, RecursionError, zlib.error)  # what a corrupt payload can raise


@dataclass
class BlobResult:
    """What scanning one blob produced, for every path it was scanned under."""

    places: list[tuple[str, Finding]]  # (path, finding); finding.secret is always None here
    skipped: list[Skipped]
    notes: list[str]
    scanned: int  # 0 or 1
    bytes: int
    suppressed: int
    suppressions: list[Suppressed] = field(default_factory=list)  # each finding a marker hid, per path


class BlobCache(CheckedStore):
    """Blob results in one sqlite file (``cache_store``); ``open`` never raises and a broken cache
    behaves as empty."""

    filename = FILENAME

    def __init__(self, salt: str, directory: Path | None = None):
        super().__init__(directory)
        self.salt = salt
        self.hits = self.misses = 0
        self._asked: dict[str, tuple[str, frozenset[str]]] = {}  # key -> (blob, paths) it was made for
        # Blobs a replace ref (refs/replace/<id>) stands in for: git reads the replacement, which may be
        # empty, so 0 bytes is plausible for them (else each re-audit rejected and rescanned them).
        self.replaced: frozenset[str] = frozenset()

    @classmethod
    def open(cls, directory: Path | None, salt: str) -> BlobCache:
        cache = cls(salt, directory)
        cache._open()
        return cache

    def key(self, blob: str, paths: list[tuple[str, bool]], first_seen: str = "") -> str:
        """The same blob under other paths (or other path flags) is another scan, so another key; so is
        the same blob first committed at another time (a signed URL's expiry is judged at that time)."""
        pairs = sorted([path, bool(flag)] for path, flag in paths)
        # Exactly json.dumps([salt, blob, pairs, first_seen]) (the keys of existing caches), built
        # from json's own string escaper: 3x cheaper, and a re-audit makes one key per blob.
        listed = ", ".join(f"[{_quote(path)}, {'true' if flag else 'false'}]" for path, flag in pairs)
        text = f"[{_quote(self.salt)}, {_quote(blob)}, [{listed}], {_quote(first_seen)}]"
        key = hashlib.sha256(text.encode()).hexdigest()
        self._asked[key] = (blob, frozenset(path for path, _ in pairs))
        return key

    def get_many(self, keys: list[str]) -> dict[str, BlobResult]:
        """Cached results by key; a missing or undecodable entry is simply absent (a miss)."""
        found: dict[str, BlobResult] = {}
        paused = gc.isenabled()  # building ~5 objects per entry triggers collections that cost ~1/3 of the time
        gc.disable()
        try:
            rows = self._rows(keys)
            for start in range(0, len(rows), _CHUNK):
                decoded: dict[str, BlobResult] = {}
                _decode_rows(rows[start:start + _CHUNK], decoded)
                for k, result in decoded.items():
                    if (result.scanned == 1 and result.bytes > 0 and result.suppressed >= 0 and not result.places) \
                            or self._plausible(k, result):  # the common case first: a blob holding nothing
                        found[k] = result
                    else:
                        self.rejected += 1
        except sqlite3.Error as exc:
            self._disable(exc)
            found = {}
        finally:
            if paused:
                gc.enable()
        self.hits += len(found)
        self.misses += len(set(keys)) - len(found)
        return found

    def put_many(self, results: dict[str, BlobResult]) -> None:
        """Writes in one transaction; a result holding a plaintext secret is dropped, not stored."""
        if self.enabled:
            self._write([(key, _encode(r)) for key, r in results.items()
                         if all(f.secret is None for _, f in r.places)])

    def _plausible(self, key: str, result: BlobResult) -> bool:
        """Whether a decoded entry can be what scanning the blob produced (when this cache made
        the key, and so knows the blob and paths): counts in range, one scanned blob of 0 bytes
        only for the empty blob, findings only at the key's paths."""
        if result.scanned not in (0, 1) or result.bytes < 0 or result.suppressed < 0 \
                or (result.scanned == 0 and (result.bytes or result.places)):
            return False
        asked = self._asked.get(key)
        if asked is None:
            return True
        blob, paths = asked
        if result.scanned == 1 and result.bytes == 0 and blob not in EMPTY_BLOBS and blob not in self.replaced:
            return False
        return all(path in paths for path, _ in result.places)


_quote = json.encoder.encode_basestring_ascii  # a JSON string literal, as json.dumps writes it


def _encode(result: BlobResult) -> bytes:
    """Compact JSON, zlib-compressed when long; ``secret`` and ``history`` never written."""
    places = [[path, {**{n: getattr(f, n) for n in sorted(_FINDING_FIELDS)}, "severity": f.severity.name,
                      "cell": None if f.cell is None else [f.cell.cell, f.cell.line, f.cell.output]}]
              for path, f in result.places]
    skipped = [[s.path, s.reason, s.detail] for s in result.skipped]
    data = [places, skipped, result.notes, result.scanned, result.bytes, result.suppressed]
    if result.suppressions:  # a seventh element only when there is something to list
        data.append([[*(getattr(x, n) for n in _SUPPRESSED_FIELDS), x.severity.name] for x in result.suppressions])
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return zlib.compress(text) if len(text) > _COMPRESS_OVER else text  # JSON starts "[", zlib "x"


def _decode_rows(rows: list[tuple[str, bytes]], found: dict[str, BlobResult]) -> None:
    """One json.loads per chunk (3x cheaper than per row); a chunk that does not parse as exactly one
    value per row is decoded row by row, so a corrupt row costs only itself."""
    try:
        values = json.loads(b"[" + b",".join([_inflate(p) for _, p in rows]) + b"]")
        if len(values) != len(rows):
            raise ValueError("a row held more than one value")
    except _BAD:
        for row in rows if len(rows) > 1 else ():
            _decode_rows([row], found)
        return
    for (key, _), value in zip(rows, values, strict=True):
        result = _result(value)
        if result is not None:
            found[key] = result


def _inflate(payload: bytes) -> bytes:
    return payload if payload[:1] == b"[" else zlib.decompress(payload)


def _result(value) -> BlobResult | None:
    """The BlobResult, or None for anything that is not exactly what ``_encode`` writes."""
    try:
        places, skipped, notes, scanned, size, suppressed, *rest = value
        suppressions = [_suppressed(x) for x in rest.pop()] if rest else []
        if rest or (value[6:] and not suppressions):
            return None
        if type(places) is not list or type(skipped) is not list or type(notes) is not list \
                or type(scanned) is not int or type(size) is not int or type(suppressed) is not int:
            return None
        if places or skipped or notes:  # most blobs hold nothing, and decode to empty lists as they are
            if not all(type(n) is str for n in notes) or not all(_skip_ok(s) for s in skipped):
                return None
            places, skipped = [_place(p) for p in places], [Skipped(*s) for s in skipped]
        return BlobResult(places, skipped, notes, scanned, size, suppressed, suppressions)
    except _BAD:
        return None


def _skip_ok(value) -> bool:
    return type(value) is list and len(value) == 3 and all(type(v) is str for v in value)


_SUPPRESSED_FIELDS = tuple(f.name for f in fields(Suppressed) if f.name != "severity")
_SUPPRESSED_TYPES = {"line": (int,), "secret_sha256": (str, type(None)), "redacted": (str, type(None)),
                     "finding_id": (str, type(None))}


def _suppressed(value) -> Suppressed:
    *values, severity = value
    if len(values) != len(_SUPPRESSED_FIELDS) or not all(
            type(v) in _SUPPRESSED_TYPES.get(n, (str,)) for n, v in zip(_SUPPRESSED_FIELDS, values)):
        raise ValueError("not a stored suppression")
    return Suppressed(**dict(zip(_SUPPRESSED_FIELDS, values)), severity=Severity[severity])


def _place(value) -> tuple[str, Finding]:
    path, data = value
    if type(path) is not str or type(data) is not dict or set(data) != _FINDING_FIELDS:
        raise ValueError("not a stored finding")
    cell = data["cell"]
    if cell is not None:
        if not (type(cell) is list and len(cell) == 3 and type(cell[0]) is int and type(cell[1]) is int
                and type(cell[2]) is bool):
            raise ValueError("not a stored notebook cell")
        cell = CellPlace(*cell)
    return path, Finding(**{**data, "severity": Severity[data["severity"]], "cell": cell})
