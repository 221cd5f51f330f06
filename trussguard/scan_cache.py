"""The working-tree and staged scans' result cache, content-addressed like the audit's blob cache.

Why: a re-scan of a tree where one file changed should cost the reading of the tree, not the
scanning of it. Two kinds of entries share one checksummed store (``cache_store``):

- a *unit*: what ``scan_unit`` found in one file's content under its path (and whether that path is
  a Truss file), keyed by the SHA-256 of the content it read: its byte count, flags and matches,
  each match by rule, offsets, line, column and the SHA-256 of its secret, never the secret. On a
  hit the file has been read (to hash it), so each secret is read back from its bytes at the
  stored offsets and must hash as stored, or the file is scanned again. A unit with a match found
  inside a decoded (base64, percent) run, or whose secret is written with escapes (``engine.derived``),
  is not stored: its secret is not in the bytes as written. A match in a notebook keeps its cell;
- a *policy unit*: the hits and notes of one Truss's code and project checks, keyed by everything
  they read (the config, each file's path and content digest, each code file's matches by rule,
  offset and secret hash, the day: a signed URL's expiry is judged against today). Only results
  without a literal secret are stored, for the same reason.

Keys fold in the salt (``cache_store.results_salt``: rules, code version and source files, settings), so an
edited rule or checkout never reuses a stale result. Nothing here raises: a broken cache is empty.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from trussguard.cache_store import CheckedStore
from trussguard.policy.registry import PolicyHit
from trussguard.scan_unit import UnitResult
from trussguard.types import CellPlace, Fragment, Match, Severity

FILENAME = "scan-units-v2.sqlite3"  # another payload layout gets another name, never a migration
# Every field of a hit but its literal secret (hits holding one are not stored): a field left out here would be
# lost on a warm scan (a severity override, or the hash of a value a check cleared).
_HIT_FIELDS = ("code", "path", "line", "column", "message", "fix", "severity", "not_secret_sha256", "cell")


def content_digest(fragment: Fragment) -> str:
    """SHA-256 over what the rules read: the text, each other reading, and whether it is binary."""
    h = hashlib.sha256(b"b" if fragment.binary else b"t")
    for part in (fragment.data, *fragment.extra):
        h.update(len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def matches_digest(matches: list[Match]) -> str:
    """The matches of one file as a policy key part: rule, place and the secret's hash, never the secret."""
    h = hashlib.sha256()
    for m in sorted(matches, key=lambda m: (m.start, m.end, m.rule_id)):
        h.update(f"{m.rule_id}:{m.start}:{m.end}:{m.decoded}:{m.name};".encode("utf-8", "surrogateescape"))
        h.update(hashlib.sha256(m.secret.encode("utf-8", "surrogateescape")).digest())
    return h.hexdigest()


class ScanCache(CheckedStore):
    """Clean units and secret-free policy units of the tree and staged scans."""

    filename = FILENAME

    def __init__(self, salt: str, directory: Path | None = None):
        super().__init__(directory)
        self.salt = salt
        self.hits = self.misses = 0

    @classmethod
    def open(cls, directory: Path | None, salt: str) -> ScanCache:
        cache = cls(salt, directory)
        cache._open()
        return cache

    def unit_key(self, digest: str, path: str, truss_file: bool) -> str:
        return self._key("unit", digest, path, truss_file)

    def policy_key(self, parts: list) -> str:
        return self._key("policy", datetime.date.today().isoformat(), parts)

    def _key(self, *parts) -> str:
        text = json.dumps([self.salt, *parts], separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()

    def layout_key(self, config_path: str, digest: str) -> str:
        return self._key("layout", config_path, digest)

    def signature_key(self, absolute: str, signature: tuple[int, ...]) -> str:
        return self._key("signature", absolute, list(signature))

    def get_digests(self, keys: list[str]) -> dict[str, str]:
        """Content digests by file signature key (a digest is 64 hex characters, or it is a miss)."""
        found = {}
        for key, value in self._decoded(keys):
            if type(value) is list and len(value) == 2 and value[0] == "digest" and type(value[1]) is str \
                    and len(value[1]) == 64:
                found[key] = value[1]
            else:
                self.rejected += 1
        return found

    def put_digests(self, digests: dict[str, str]) -> None:
        self._write([(key, _dumps(["digest", digest])) for key, digest in digests.items()])

    def get_units(self, keys: list[str]) -> dict[str, StoredUnit]:
        """Cached units by key; anything that is not exactly what ``put_units`` writes is a miss."""
        found = {}
        for key, value in self._decoded(keys):
            try:
                found[key] = StoredUnit.load(value)
            except (TypeError, ValueError):
                self.rejected += 1
        self._count(keys, found)
        return found

    def put_units(self, units: dict[str, UnitResult]) -> None:
        """Stores each scanned unit whose matches are all plain text (a match found inside a decoded run, or
        whose secret is written with escapes, cannot be read back from the file's bytes at its offsets);
        never a secret, only its hash."""
        self._write([(key, _dumps(StoredUnit.of(u).dump())) for key, u in units.items()
                     if u.scanned and u.skipped is None
                     and all(m.decoded is None for m in [*u.matches, *(m for m, _ in u.hidden)])])

    def get_policy(self, keys: list[str]) -> dict[str, tuple[list[PolicyHit], list[str]]]:
        found = {}
        for key, value in self._decoded(keys):
            try:
                kind, hits, notes = value
                if kind != "policy" or not all(type(n) is str for n in notes):
                    raise ValueError("not a policy entry")
                found[key] = ([_hit(h) for h in hits], list(notes))
            except (TypeError, ValueError):
                self.rejected += 1
        self._count(keys, found)
        return found

    def put_policy(self, results: dict[str, tuple[list[PolicyHit], list[str]]]) -> None:
        """Stores the policy units none of whose hits carries a literal secret."""
        self._write([(key, _dumps(["policy", [_stored_hit(h) for h in hits], notes]))
                     for key, (hits, notes) in results.items() if all(h.secret is None for h in hits)])

    def get_layouts(self, keys: list[str]) -> dict[str, list | None]:
        """Stored config layouts by key: a list (``truss_dirs.stored_layout``) or None for a config that is
        valid YAML but no Truss; the caller checks a list's shape when it restores it."""
        found = {}
        for key, value in self._decoded(keys):
            if type(value) is list and len(value) == 2 and value[0] == "layout" \
                    and (value[1] is None or type(value[1]) is list):
                found[key] = value[1]
            else:
                self.rejected += 1
        return found

    def put_layouts(self, layouts: dict[str, list | None]) -> None:
        self._write([(key, _dumps(["layout", layout])) for key, layout in layouts.items()])

    def _decoded(self, keys: list[str]):
        if not self.enabled or not keys:
            return []
        out = []
        for key, payload in self._rows(keys):
            try:
                out.append((key, json.loads(payload)))
            except ValueError:
                self.rejected += 1
        return out

    def _count(self, keys: list[str], found: dict) -> None:
        self.hits += len(found)
        self.misses += len(set(keys)) - len(found)


@dataclass(frozen=True)
class StoredUnit:
    """A unit as the cache holds it: counts, flags, notes, and each match without its secret (rule, offsets,
    line, column, the key name a generic rule saw, the secret's SHA-256, and its notebook cell or None)."""

    bytes: int
    chains: bool
    oversize: bool
    binary: bool
    matches: tuple = ()  # (rule_id, start, end, line, column, name, sha256, cell)
    hidden: tuple = ()  # the same, plus the marker that allowed it
    notes: tuple = ()  # what ``scan_unit`` noted (a malformed notebook, a broken escape)

    @classmethod
    def of(cls, unit: UnitResult) -> StoredUnit:
        return cls(unit.bytes, unit.chains, unit.oversize, unit.binary, tuple(_record(m) for m in unit.matches),
                   tuple((*_record(m), marker) for m, marker in unit.hidden), tuple(unit.notes))

    def dump(self) -> list:
        return ["unit", self.bytes, self.chains, self.oversize, self.binary, [list(m) for m in self.matches],
                [list(h) for h in self.hidden], list(self.notes)]

    @classmethod
    def load(cls, value) -> StoredUnit:
        kind, size, chains, oversize, binary, matches, hidden, notes = value
        if kind != "unit" or type(size) is not int or size < 0 or not all(type(v) is bool for v in (chains, oversize,
                                                                                                      binary)):
            raise ValueError("not a stored unit")
        if not all(_record_ok(m, 8) for m in matches) or not all(_record_ok(h, 9) and type(h[8]) is str
                                                                 for h in hidden):
            raise ValueError("not a stored match")
        if type(notes) is not list or not all(type(n) is str for n in notes):
            raise ValueError("not stored notes")
        return cls(size, chains, oversize, binary, tuple(map(tuple, matches)), tuple(map(tuple, hidden)),
                   tuple(notes))

    def restore(self, data: bytes) -> UnitResult | None:
        """The unit's result, each secret read back from ``data`` at its offsets; None when one does not
        hash to what was stored (the bytes are not the ones scanned): the file is scanned again."""
        matches = [_match(r, data) for r in self.matches]
        hidden = [(_match(r[:8], data), r[8]) for r in self.hidden]
        if None in matches or any(m is None for m, _ in hidden):
            return None
        return UnitResult(matches, hidden, scanned=True, bytes=self.bytes, chains=self.chains,
                          oversize=self.oversize, binary=self.binary, notes=list(self.notes))


def _record(m: Match) -> tuple:
    return (m.rule_id, m.start, m.end, m.line, m.column, m.name,
            hashlib.sha256(m.secret.encode("utf-8", "surrogateescape")).hexdigest(), _cell(m.cell))


def _cell(place: CellPlace | None) -> list | None:
    return None if place is None else [place.cell, place.line, place.output]


def _place(value) -> CellPlace | None:
    """A stored cell place (None, or [cell, line, output]); ValueError on anything else."""
    if value is None:
        return None
    if type(value) is list and len(value) == 3 and type(value[0]) is int and type(value[1]) is int \
            and type(value[2]) is bool:
        return CellPlace(*value)
    raise ValueError("not a stored cell")


def _record_ok(r, length: int) -> bool:
    if not (type(r) is list and len(r) == length and type(r[0]) is str and all(type(v) is int for v in r[1:5])
            and type(r[5]) in (str, type(None)) and type(r[6]) is str):
        return False
    try:
        _place(r[7])
    except ValueError:
        return False
    return True


def _match(r: tuple, data: bytes) -> Match | None:
    rule_id, start, end, line, column, name, digest, cell = r
    if not 0 <= start <= end <= len(data):
        return None
    secret = data[start:end].decode("utf-8", "replace")
    if hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest() != digest:
        return None
    return Match(rule_id, secret, start, end, line, column, None, name=name, cell=_place(cell))


class PolicyMemo:
    """The policy stage's view of the cache: one key per policy unit, from the digests of what it reads."""

    def __init__(self, cache: ScanCache, digests: dict[str, str]):
        self.cache, self.digests = cache, digests

    @property
    def enabled(self) -> bool:
        return self.cache.enabled

    def key(self, config_path: str | None, read: list[str], listed: list[str],
            matched: list[tuple[str, list[Match], bool]]) -> str:
        """``read``: the paths whose bytes the unit reads (a path without a digest is one ``read`` gives
        nothing for: over the size limit, binary or unreadable); ``listed``: the paths its project checks
        see; ``matched``: (path, matches, allowed inline) of its code files."""
        return self.cache.policy_key([config_path, [[p, self.digests.get(p, "-")] for p in read], listed,
                                      [[p, matches_digest(m), marked] for p, m, marked in matched]])

    def get(self, keys: list[str]) -> dict[str, tuple[list[PolicyHit], list[str]]]:
        return self.cache.get_policy(keys)

    def layout_key(self, config_path: str) -> str | None:
        """The key of a config's stored layout: its path and content digest (None if the digest is unknown)."""
        digest = self.digests.get(config_path)
        return self.cache.layout_key(config_path, digest) if digest else None

    def get_layouts(self, keys: list[str]) -> dict[str, list | None]:
        return self.cache.get_layouts(keys)

    def put_layouts(self, layouts: dict[str, list | None]) -> None:
        self.cache.put_layouts(layouts)

    def put(self, results: dict[str, tuple[list[PolicyHit], list[str]]]) -> None:
        self.cache.put_policy(results)


def _dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogateescape")


def _stored_hit(hit: PolicyHit) -> list:
    return [getattr(hit, f) for f in _HIT_FIELDS[:6]] + [hit.severity.name if hit.severity else None,
                                                         hit.not_secret_sha256, _cell(hit.cell)]


def _hit(value) -> PolicyHit:
    if type(value) is not list or len(value) != len(_HIT_FIELDS):
        raise ValueError("not a stored hit")
    code, path, line, column, message, fix, severity, cleared, cell = value
    if not (type(code) is str and type(path) is str and type(line) is int and type(column) in (int, type(None))
            and type(message) is str and type(fix) is str and (severity is None or severity in Severity.__members__)
            and (cleared is None or (type(cleared) is str and len(cleared) == 64))):
        raise ValueError("not a stored hit")
    return PolicyHit(code, path, line, column, message, fix, severity=Severity[severity] if severity else None,
                     not_secret_sha256=cleared, cell=_place(cell))
