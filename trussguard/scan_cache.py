"""The working-tree and staged scans' result cache, content-addressed like the audit's blob cache.

Why: a re-scan of a tree where one file changed should cost the reading of the tree, not the
scanning of it. Two kinds of entries share one checksummed store (``cache_store``):

- a *unit*: what ``scan_unit`` found in one file's content under its path (and whether that path is
  a Truss file), keyed by the SHA-256 of the content it read. Only units in which no rule matched
  are stored (with their byte count and flags): a match carries its secret, which a cache never
  holds, so a file with matches is scanned again (they are few: 60 of truss-examples' 1,868 files);
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
from pathlib import Path

from trussguard.cache_store import CheckedStore
from trussguard.policy.registry import PolicyHit
from trussguard.scan_unit import UnitResult
from trussguard.types import Fragment, Match

FILENAME = "scan-units-v1.sqlite3"  # another payload layout gets another name, never a migration
_HIT_FIELDS = ("code", "path", "line", "column", "message", "fix")


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

    def get_units(self, keys: list[str]) -> dict[str, UnitResult]:
        """Cached clean units by key; anything that is not exactly what ``put_units`` writes is a miss."""
        found = {}
        for key, value in self._decoded(keys):
            if type(value) is list and len(value) == 5 and value[0] == "unit" and type(value[1]) is int \
                    and value[1] >= 0 and all(type(v) is bool for v in value[2:]):
                found[key] = UnitResult(scanned=True, bytes=value[1], chains=value[2], oversize=value[3],
                                        binary=value[4])
            else:
                self.rejected += 1
        self._count(keys, found)
        return found

    def put_units(self, units: dict[str, UnitResult]) -> None:
        """Stores the units in which no rule matched (a match holds its secret: never stored)."""
        self._write([(key, _dumps(["unit", u.bytes, u.chains, u.oversize, u.binary])) for key, u in units.items()
                     if u.scanned and u.skipped is None and not u.matches and not u.hidden])

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
        self._write([(key, _dumps(["policy", [[getattr(h, f) for f in _HIT_FIELDS] for h in hits], notes]))
                     for key, (hits, notes) in results.items() if all(h.secret is None for h in hits)])

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

    def put(self, results: dict[str, tuple[list[PolicyHit], list[str]]]) -> None:
        self.cache.put_policy(results)


def _dumps(value) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogateescape")


def _hit(value) -> PolicyHit:
    if type(value) is not list or len(value) != len(_HIT_FIELDS):
        raise ValueError("not a stored hit")
    code, path, line, column, message, fix = value
    if not (type(code) is str and type(path) is str and type(line) is int and type(column) in (int, type(None))
            and type(message) is str and type(fix) is str):
        raise ValueError("not a stored hit")
    return PolicyHit(code, path, line, column, message, fix)
