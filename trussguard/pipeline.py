"""sources -> matching -> suppression -> findings -> advisories, and nothing else.

Files are scanned in worker processes when the tree is large enough to pay for them (the
machine's cores; each worker inherits the compiled engine by fork where the OS allows).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from trussguard.advise import build_advisories
from trussguard.config import ScanConfig
from trussguard.engine.detector import Detector
from trussguard.engine.loader import load_rules
from trussguard.findings import cap_findings, describe_rules, merge_policy, to_finding
from trussguard.policy.registry import iter_checks
from trussguard.policy.runner import chains_source, run_policy
from trussguard.sources.tree import Candidate, TreeListing, list_tree, read_fragment
from trussguard.sources.truss_files import truss_files
from trussguard.suppress.inline import allowed_at, is_suppressed
from trussguard.types import Advisory, Finding, Fragment, Match, Skipped
from trussguard.workers import ignore_interrupts

PARALLEL_MIN_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 2 * 1024 * 1024
ERROR_REASONS = ("unreadable", "missing")  # missing: a blob absent from a git clone


@dataclass
class ScanStats:
    files_scanned: int = 0
    bytes_scanned: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    suppressed: int = 0
    notes: list[str] = field(default_factory=list)  # e.g. a config.yaml that did not parse
    trusses: int = 0
    duration_seconds: float = 0.0
    rules: int = 0
    checks: int = 0
    workers: int = 1
    history: dict | None = None  # history audit: refs, commits, unique blobs, shallow


@dataclass
class ScanResult:
    mode: str
    target: str
    findings: list[Finding]
    advisories: list[Advisory]
    stats: ScanStats
    rotated: frozenset[str] = frozenset()  # advisory ids the baseline says were rotated: reported, never failing
    catalogue: dict[str, dict] = field(default_factory=dict)  # rule/check id -> description (findings.describe_rules)

    @property
    def errors(self) -> list[Skipped]:
        return [s for s in self.stats.skipped if s.reason in ERROR_REASONS]

    def exit_code(self, config: ScanConfig) -> int:
        """0 clean, 1 findings at or above the threshold, 2 when something could not be scanned."""
        if self.errors and not config.allow_unreadable:
            return 2
        return 1 if any(f.severity >= config.fail_on and f.advisory_id not in self.rotated
                        for f in self.findings) else 0


@dataclass
class _ChunkResult:
    matches: list[tuple[str, list[Match]]]
    skipped: list[Skipped]
    files: int
    bytes: int
    suppressed: int
    chains: list[str] = field(default_factory=list)  # Python files importing truss_chains


_DETECTOR: Detector | None = None  # set in the parent before forking, or by _init_worker
_TRUSS_FILES: frozenset[str] = frozenset()


def scan_tree(config: ScanConfig) -> ScanResult:
    started = time.monotonic()
    ruleset = load_rules(list(config.rule_dirs), cache_dir=config.cache_dir)
    detector = Detector(ruleset, config.cache_dir, config.use_detect_secrets, config.decode_depth)
    listing = list_tree(list(config.paths), config.max_file_size)
    chunk, workers = _scan_all(listing, detector, config)
    rules = ruleset.by_id()
    findings = [to_finding(m, rules[m.rule_id], path, keep_secret=config.show_secrets)
                for path, matches in chunk.matches for m in matches]
    policy = _policy_stage(listing, chunk, detector, config)
    checks = {c.code: c for c in iter_checks()}
    findings = merge_policy(findings, policy.hits, checks, keep_secret=config.show_secrets)
    findings.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule_id))
    findings = cap_findings(findings)
    stats = ScanStats(chunk.files, chunk.bytes, listing.skipped + chunk.skipped, chunk.suppressed,
                      policy.notes, len(policy.trusses), time.monotonic() - started,
                      len(ruleset.rules), len(checks), workers)
    return ScanResult("tree", str(listing.root), findings, build_advisories(findings, rules), stats,
                      catalogue=describe_rules(findings, rules))


def _scan_all(listing: TreeListing, detector: Detector, config: ScanConfig) -> tuple[_ChunkResult, int]:
    global _DETECTOR, _TRUSS_FILES
    _DETECTOR = detector
    _TRUSS_FILES = truss_files([c.path for c in listing.candidates])
    total = sum(c.size for c in listing.candidates)
    jobs = config.jobs or os.cpu_count() or 1
    if jobs == 1 or total < PARALLEL_MIN_BYTES:
        return _scan_chunk(listing.candidates, config.max_file_size), 1
    chunks = _chunks(listing.candidates)
    context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    init_args = (config, _TRUSS_FILES) if context.get_start_method() != "fork" else ()
    if not init_args:
        detector.warm_up()
    with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker if init_args else ignore_interrupts,
                             initargs=init_args) as pool:
        parts = list(pool.map(_scan_chunk, chunks, [config.max_file_size] * len(chunks)))
    merged = _ChunkResult([], [], 0, 0, 0)
    for p in parts:
        merged.matches.extend(p.matches)
        merged.skipped.extend(p.skipped)
        merged.files += p.files
        merged.bytes += p.bytes
        merged.suppressed += p.suppressed
        merged.chains.extend(p.chains)
    return merged, jobs


def _policy_stage(listing: TreeListing, chunk: _ChunkResult, detector: Detector, config: ScanConfig):
    """Truss checks on the configs and model code of the tree (re-read: they are small)."""
    by_path = {c.path: c for c in listing.candidates}
    matches = dict(chunk.matches)

    def read(path: str) -> bytes | None:
        candidate = by_path.get(path)
        fragment = read_fragment(candidate, config.max_file_size) if candidate else None
        return fragment.data if isinstance(fragment, Fragment) else None

    paths = [c.path for c in listing.candidates] + [s.path for s in listing.skipped]
    workers = (config.jobs or os.cpu_count() or 1) if chunk.bytes >= PARALLEL_MIN_BYTES else 1
    result = run_policy(paths, read, matches, detector, frozenset(chunk.chains), workers)
    suppressible = {p: read(p) for p in {h.path for h in result.hits}}
    result.hits = [h for h in result.hits if not hit_suppressed(h, suppressible.get(h.path))]
    return result


def hit_suppressed(hit, data: bytes | None) -> bool:
    if data is None:
        return False
    return allowed_at(data, _offset_of_line(data, hit.line), hit.code)


def _offset_of_line(data: bytes, line: int) -> int:
    starts = _line_starts(data)
    return starts[line - 1] if 0 < line <= len(starts) else len(data) if line > 0 else 0


def _line_starts(data: bytes) -> list[int]:
    """Offsets of every line of a file, once per file: counting newlines from the top for each policy hit
    was quadratic (20,000 hits in one model.py: 2 x 10^8 finds). Cached by identity (the hits of one
    file come together): a cache keyed by value would compare equal copies of the file in full."""
    found = _LINE_STARTS.get(id(data))
    if found is None or found[0] is not data:
        if len(_LINE_STARTS) >= 4:
            _LINE_STARTS.clear()
        found = _LINE_STARTS[id(data)] = (data, [0, *(m.end() for m in re.finditer(b"\n", data))])
    return found[1]


_LINE_STARTS: dict[int, tuple[bytes, list[int]]] = {}


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


def _init_worker(config: ScanConfig, selected: frozenset[str]) -> None:
    global _DETECTOR, _TRUSS_FILES
    ignore_interrupts()
    _TRUSS_FILES = selected
    ruleset = load_rules(list(config.rule_dirs), cache_dir=config.cache_dir)
    _DETECTOR = Detector(ruleset, config.cache_dir, config.use_detect_secrets, config.decode_depth)


def _scan_chunk(candidates: list[Candidate], max_size: int) -> _ChunkResult:
    assert _DETECTOR is not None
    result = _ChunkResult([], [], 0, 0, 0)
    for candidate in candidates:
        fragment = read_fragment(candidate, max_size)
        if isinstance(fragment, Skipped):
            result.skipped.append(fragment)
            continue
        result.files += 1
        result.bytes += len(fragment.data)
        if chains_source(fragment.path, fragment.data):
            result.chains.append(fragment.path)
        matches = _DETECTOR.detect(fragment.path, fragment.data, fragment.path in _TRUSS_FILES)
        kept = [m for m in matches if not is_suppressed(fragment.data, m)]
        result.suppressed += len(matches) - len(kept)
        if kept:
            result.matches.append((fragment.path, kept))
    return result
