"""The working-tree scan: sources -> matching -> Truss policy -> suppression -> findings ->
advisories, and nothing else.

Each file is a ``Unit`` through ``scan_unit`` (the step the staged scan shares), in worker
processes when the tree is large enough to pay for them (the machine's cores; each worker
inherits the compiled engine by fork where the OS allows). The policy stage then reads the
configs and model code again (they are small) with every file's matches in hand.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from trussguard.advise import build_advisories
from trussguard.config import ScanConfig
from trussguard.engine.chunked import oversize_note
from trussguard.engine.detector import Detector
from trussguard.engine.loader import load_rules
from trussguard.findings import cap_findings, describe_rules, from_policy, merge_policy, to_finding
from trussguard.name_findings import name_findings
from trussguard.policy.registry import iter_checks
from trussguard.policy.runner import run_policy
from trussguard.cache_store import results_salt
from trussguard.results import ScanResult, ScanStats
from trussguard.scan_cache import PolicyMemo, ScanCache, StoredUnit, content_digest
from trussguard.scan_unit import Unit, UnitContext, UnitResult, scan_unit
from trussguard.sources.tree import Candidate, TreeListing, list_tree, read_fragment
from trussguard.sources.truss_files import truss_files
from trussguard.suppress.markers import inline_records, split_hits
from trussguard.types import Fragment, Match, Skipped
from trussguard.workers import can_fork, map_in_workers

PARALLEL_MIN_BYTES = 8 * 1024 * 1024
SETTLED_NS = 2_000_000_000  # a file unchanged this long is past any timestamp's resolution
CHUNK_BYTES = 2 * 1024 * 1024


@dataclass
class _ChunkResult:
    matches: list[tuple[str, list[Match]]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    suppressed: int = 0
    chains: list[str] = field(default_factory=list)  # Python files importing truss_chains
    oversize: list[str] = field(default_factory=list)  # scanned in chunks by the rules only
    inline: list[tuple[str, Match, str]] = field(default_factory=list)  # (path, match, marker) suppressed inline
    digests: dict[str, str] = field(default_factory=dict)  # path -> SHA-256 of the content scanned (``scan_cache``)
    fresh: list[tuple[str, UnitResult]] = field(default_factory=list)  # units scanned now, not read from the cache
    notes: list[str] = field(default_factory=list)  # a malformed notebook, a broken escape (``scan_unit``)

    def add(self, path: str, unit: UnitResult, digest: str | None = None, fresh: bool = False) -> None:
        if digest is not None:
            self.digests[path] = digest
        if fresh:
            self.fresh.append((path, unit))
        if unit.skipped is not None:
            self.skipped.append(unit.skipped)
            return
        self.files += 1
        self.bytes += unit.bytes
        self.notes += unit.notes
        self.suppressed += len(unit.hidden)
        self.inline += [(path, m, marker) for m, marker in unit.hidden]
        if unit.chains:
            self.chains.append(path)
        if unit.oversize:
            self.oversize.append(path)
        if unit.matches:
            self.matches.append((path, unit.matches))

    def merge(self, other: "_ChunkResult") -> None:
        self.matches += other.matches
        self.skipped += other.skipped
        self.files += other.files
        self.bytes += other.bytes
        self.suppressed += other.suppressed
        self.chains += other.chains
        self.oversize += other.oversize
        self.inline += other.inline
        self.digests.update(other.digests)
        self.fresh += other.fresh
        self.notes += other.notes


def scan_tree(config: ScanConfig) -> ScanResult:
    started = time.monotonic()
    ruleset = load_rules(list(config.rule_dirs), cache_dir=config.cache_dir)
    detector = Detector(ruleset, config.cache_dir, config.use_detect_secrets, config.decode_depth)
    listing = list_tree(list(config.paths))
    cache = ScanCache.open(config.cache_dir / "scan" if config.cache_dir else None,
                           results_salt(ruleset.digest, config))
    try:
        chunk, workers = _scan_all(listing, detector, config, cache)
        policy, dropped_hits = _policy_stage(listing, chunk, detector, config, cache)
    finally:
        cache.close()
    rules = ruleset.by_id()
    findings = [to_finding(m, rules[m.rule_id], path, keep_secret=config.show_secrets)
                for path, matches in chunk.matches for m in matches]
    checks = {c.code: c for c in iter_checks()}
    findings = merge_policy(findings, policy.hits, checks, keep_secret=config.show_secrets)
    findings += name_findings([c.path for c in listing.candidates] + [s.path for s in listing.skipped], detector,
                              rules, findings, config.show_secrets)
    findings.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule_id))
    findings = cap_findings(findings)
    hidden = [(to_finding(m, rules[m.rule_id], path), marker) for path, m, marker in chunk.inline] \
        + [(from_policy(h, checks[h.code]), marker) for h, marker in dropped_hits]
    suppressed = inline_records(hidden)
    notes = list(ruleset.notes) + sorted(chunk.notes) + policy.notes \
        + [oversize_note(p) for p in sorted(chunk.oversize)] + [n for n in (cache.problem, cache.notice) if n]
    stats = ScanStats(chunk.files, chunk.bytes, listing.skipped + chunk.skipped, len(suppressed),
                      notes, len(policy.trusses), time.monotonic() - started,
                      len(ruleset.rules), len(checks), workers)
    return ScanResult("tree", str(listing.root), findings, build_advisories(findings, rules), stats,
                      catalogue=describe_rules(findings + [f for f, _ in hidden], rules), suppressed=suppressed)


def _scan_all(listing: TreeListing, detector: Detector, config: ScanConfig, cache: ScanCache
              ) -> tuple[_ChunkResult, int]:
    """Every listed file through ``scan_unit`` unless the cache holds its unit: in worker processes
    (chunks of about CHUNK_BYTES) when what is left is large enough to pay for them, else here."""
    ctx = UnitContext(detector, truss_files([c.path for c in listing.candidates]), config.max_file_size)
    merged, todo = _cached_units(listing.candidates, ctx, cache)
    task = _scan_chunk_for_cache if cache.enabled else _scan_chunk
    jobs = config.jobs or os.cpu_count() or 1
    if jobs == 1 or sum(c.size for c in todo) < PARALLEL_MIN_BYTES:
        merged.merge(task(ctx, todo))
        jobs = 1
    else:
        if can_fork():
            detector.warm_up()  # once, before the fork: every worker inherits the compiled engine
        for part in map_in_workers(task, ctx, _chunks(todo), jobs,
                                   rebuild=(_context_for, (config, ctx.truss_files))):
            merged.merge(part)
    cache.put_units({cache.unit_key(merged.digests[path], path, path in ctx.truss_files): unit
                     for path, unit in merged.fresh if path in merged.digests})
    return merged, jobs


def _cached_units(candidates: list[Candidate], ctx: UnitContext, cache: ScanCache
                  ) -> tuple[_ChunkResult, list[Candidate]]:
    """The units the cache holds, and the candidates left to scan. Each file's content digest is the
    one stored for its signature (device, inode, size, mtime, ctime: unchanged means the same bytes,
    as git's index assumes), else the file is read and hashed here (a hash is far cheaper than a
    scan). A signature is stored only once the file has been still for SETTLED_NS (a change within
    the clock's resolution could keep it), and a change after listing alters the ctime, so a stale
    pairing is never looked up. Workers hash what they read again and their results are stored under
    that digest, so a file changed in between is never cached under its old content."""
    found = _ChunkResult()
    if not cache.enabled:
        return found, list(candidates)
    settled = time.time_ns() - SETTLED_NS
    signed = {c.path: cache.signature_key(c.absolute, c.signature) for c in candidates if c.signature}
    known = cache.get_digests(list(signed.values()))
    keys: dict[str, tuple[str, str]] = {}  # path -> (key, digest)
    learnt: dict[str, str] = {}
    for c in candidates:
        if c.size > ctx.max_file_size:
            continue
        digest = known.get(signed.get(c.path, ""))
        if digest is None:
            content = read_fragment(c, ctx.max_file_size)
            if not isinstance(content, Fragment):
                continue
            digest = content_digest(content)
            if c.signature and max(c.signature[3], c.signature[4]) < settled:
                learnt[signed[c.path]] = digest
        keys[c.path] = (cache.unit_key(digest, c.path, c.path in ctx.truss_files), digest)
    cache.put_digests(learnt)
    stored = cache.get_units([key for key, _ in keys.values()])
    todo = []
    for c in candidates:
        key, digest = keys.get(c.path, (None, None))
        unit = _restored(stored[key], c, digest, ctx.max_file_size) if key in stored else None
        if unit is not None:
            found.add(c.path, unit, digest)
        else:
            todo.append(c)
    return found, todo


def _restored(stored: StoredUnit, candidate: Candidate, digest: str, max_size: int) -> UnitResult | None:
    """A stored unit's result; one with matches reads the file again (few do) for their secrets, which
    the cache never holds, and is a miss when the file changed since it was hashed."""
    if not stored.matches and not stored.hidden:
        return stored.restore(b"")
    content = read_fragment(candidate, max_size)
    if not isinstance(content, Fragment) or content_digest(content) != digest:
        return None
    return stored.restore(content.data)


def _context_for(config: ScanConfig, selected: frozenset[str]) -> UnitContext:
    """A spawned worker's own engine (where the OS cannot fork, a compiled engine is not sent)."""
    ruleset = load_rules(list(config.rule_dirs), cache_dir=config.cache_dir)
    detector = Detector(ruleset, config.cache_dir, config.use_detect_secrets, config.decode_depth)
    return UnitContext(detector, selected, config.max_file_size)


def _scan_chunk(ctx: UnitContext, candidates: list[Candidate], for_cache: bool = False) -> _ChunkResult:
    """``for_cache``: also hash each file and send its unit back for the cache (skipped with
    ``--no-cache``: hashing 23 MB and shipping every unit twice would be work for nothing)."""
    result = _ChunkResult()
    for candidate in candidates:
        content = read_fragment(candidate, ctx.max_file_size)
        digest = content_digest(content) if for_cache and isinstance(content, Fragment) else None
        result.add(candidate.path, scan_unit(Unit((candidate.path,), content), ctx), digest, fresh=for_cache)
    return result


def _scan_chunk_for_cache(ctx: UnitContext, candidates: list[Candidate]) -> _ChunkResult:
    return _scan_chunk(ctx, candidates, for_cache=True)


def _policy_stage(listing: TreeListing, chunk: _ChunkResult, detector: Detector, config: ScanConfig,
                  cache: ScanCache):
    """Truss checks on the configs and model code of the tree (re-read: they are small)."""
    by_path = {c.path: c for c in listing.candidates}
    matches = dict(chunk.matches)

    def read(path: str) -> bytes | None:
        candidate = by_path.get(path)
        fragment = read_fragment(candidate, config.max_file_size) if candidate else None
        return fragment.data if isinstance(fragment, Fragment) and not fragment.binary else None

    paths = [c.path for c in listing.candidates] + [s.path for s in listing.skipped]
    workers = (config.jobs or os.cpu_count() or 1) if chunk.bytes >= PARALLEL_MIN_BYTES else 1
    result = run_policy(paths, read, matches, detector, frozenset(chunk.chains), workers,
                        frozenset(path for path, _, _ in chunk.inline), PolicyMemo(cache, chunk.digests))
    result.hits, dropped = split_hits(result.hits, read)
    return result, dropped


def _chunks(candidates: list[Candidate]) -> list[list[Candidate]]:
    """Groups of about CHUNK_BYTES, largest files first, so workers finish together."""
    chunks: list[list[Candidate]] = []
    current: list[Candidate] = []
    size = 0
    for c in sorted(candidates, key=lambda c: -c.size):
        current.append(c)
        size += c.size
        if size >= CHUNK_BYTES:
            chunks.append(current)
            current, size = [], 0
    if current:
        chunks.append(current)
    return chunks
