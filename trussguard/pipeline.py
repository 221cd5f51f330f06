"""sources -> matching -> suppression -> findings -> advisories, and nothing else.

Files are scanned in worker processes when the tree is large enough to pay for them (the
machine's cores; each worker inherits the compiled engine by fork where the OS allows).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from trussguard.advise import build_advisories
from trussguard.config import ScanConfig
from trussguard.engine.chunked import extra_matches, oversize_note, scan_oversize
from trussguard.engine.detector import Detector
from trussguard.engine.loader import load_rules
from trussguard.findings import cap_findings, describe_rules, from_policy, merge_policy, to_finding
from trussguard.name_findings import name_findings
from trussguard.policy.registry import iter_checks
from trussguard.policy.runner import chains_source, run_policy
from trussguard.sources.content import Oversize, ReadFailed
from trussguard.sources.tree import Candidate, TreeListing, list_tree, read_fragment
from trussguard.sources.truss_files import truss_files
from trussguard.suppress.inline import Inline
from trussguard.types import Advisory, Finding, Fragment, Match, Skipped, Suppressed
from trussguard.workers import ignore_interrupts

PARALLEL_MIN_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 2 * 1024 * 1024
ERROR_REASONS = ("unreadable", "missing")  # missing: a blob absent from a git clone


@dataclass
class ScanStats:
    files_scanned: int = 0
    bytes_scanned: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    suppressed: int = 0  # findings hidden inline, by the configuration file or the baseline: len(result.suppressed)
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
    suppressed: list[Suppressed] = field(default_factory=list)  # every hidden finding, listed in every report
    gate_changes: tuple = ()  # gate_changes.GateChange: what the change did to its own gate's settings

    @property
    def errors(self) -> list[Skipped]:
        return [s for s in self.stats.skipped if s.reason in ERROR_REASONS]

    def exit_code(self, config: ScanConfig) -> int:
        """0 clean, 1 findings at or above the threshold, 2 when something could not be scanned."""
        if self.errors and not config.allow_unreadable:
            return 2
        if any(change.blocks for change in self.gate_changes):  # the change widened its own gate
            return 1
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
    oversize: list[str] = field(default_factory=list)  # scanned in chunks by the rules only
    inline: list[tuple[str, Match, str]] = field(default_factory=list)  # (path, match, marker) suppressed inline


_DETECTOR: Detector | None = None  # set in the parent before forking, or by _init_worker
_TRUSS_FILES: frozenset[str] = frozenset()


def scan_tree(config: ScanConfig) -> ScanResult:
    started = time.monotonic()
    ruleset = load_rules(list(config.rule_dirs), cache_dir=config.cache_dir)
    detector = Detector(ruleset, config.cache_dir, config.use_detect_secrets, config.decode_depth)
    listing = list_tree(list(config.paths))
    chunk, workers = _scan_all(listing, detector, config)
    rules = ruleset.by_id()
    findings = [to_finding(m, rules[m.rule_id], path, keep_secret=config.show_secrets)
                for path, matches in chunk.matches for m in matches]
    policy, dropped_hits = _policy_stage(listing, chunk, detector, config)
    checks = {c.code: c for c in iter_checks()}
    findings = merge_policy(findings, policy.hits, checks, keep_secret=config.show_secrets)
    findings += name_findings([c.path for c in listing.candidates] + [s.path for s in listing.skipped], detector,
                              rules, findings, config.show_secrets)
    findings.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule_id))
    findings = cap_findings(findings)
    hidden = [(to_finding(m, rules[m.rule_id], path), marker) for path, m, marker in chunk.inline] \
        + [(from_policy(h, checks[h.code]), marker) for h, marker in dropped_hits]
    suppressed = inline_records(hidden)
    notes = list(ruleset.notes) + policy.notes + [oversize_note(p) for p in sorted(chunk.oversize)]
    stats = ScanStats(chunk.files, chunk.bytes, listing.skipped + chunk.skipped, len(suppressed),
                      notes, len(policy.trusses), time.monotonic() - started,
                      len(ruleset.rules), len(checks), workers)
    return ScanResult("tree", str(listing.root), findings, build_advisories(findings, rules), stats,
                      catalogue=describe_rules(findings + [f for f, _ in hidden], rules), suppressed=suppressed)


def inline_records(hidden: list[tuple[Finding, str]]) -> list[Suppressed]:
    """One record per (rule, path, line) suppressed by a marker, in report order."""
    records = {(f.rule_id, f.path, f.line): Suppressed.of(f, "inline", marker) for f, marker in hidden}
    return [records[k] for k in sorted(records, key=lambda k: (k[1], k[2], k[0]))]


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
        merged.oversize.extend(p.oversize)
        merged.inline.extend(p.inline)
    return merged, jobs


def _policy_stage(listing: TreeListing, chunk: _ChunkResult, detector: Detector, config: ScanConfig):
    """Truss checks on the configs and model code of the tree (re-read: they are small)."""
    by_path = {c.path: c for c in listing.candidates}
    matches = dict(chunk.matches)

    def read(path: str) -> bytes | None:
        candidate = by_path.get(path)
        fragment = read_fragment(candidate, config.max_file_size) if candidate else None
        return fragment.data if isinstance(fragment, Fragment) and not fragment.binary else None

    paths = [c.path for c in listing.candidates] + [s.path for s in listing.skipped]
    workers = (config.jobs or os.cpu_count() or 1) if chunk.bytes >= PARALLEL_MIN_BYTES else 1
    result = run_policy(paths, read, matches, detector, frozenset(chunk.chains), workers)
    result.hits, dropped = split_hits(result.hits, read)
    return result, dropped


def split_hits(hits: list, read) -> tuple[list, list]:
    """(the Truss-check hits no inline marker allows, [(hit, marker)] for those one does);
    ``read(path)`` gives a file's bytes (None: no marker can apply). One ``Inline`` per file."""
    inline: dict[str, Inline | None] = {}
    kept, dropped = [], []
    for hit in hits:
        if hit.path not in inline:
            data = read(hit.path)
            inline[hit.path] = None if data is None else Inline(data, hit.path)
        marker = hit_marker(hit, inline[hit.path])
        if marker is None:
            kept.append(hit)
        else:
            dropped.append((hit, marker))
    return kept, dropped


def hit_marker(hit, inline: Inline | None) -> str | None:
    """The marker that allows a Truss check's hit at its line, or None."""
    return None if inline is None else inline.marker_at_line(hit.line, hit.code)


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
        if isinstance(fragment, Oversize):
            fragment = _scan_oversize(fragment, max_size, result)
            if fragment is None:
                continue
        if isinstance(fragment, Skipped):
            result.skipped.append(fragment)
            continue
        result.files += 1
        result.bytes += len(fragment.data)
        if not fragment.binary and chains_source(fragment.path, fragment.data):
            result.chains.append(fragment.path)
        matches = _DETECTOR.detect(fragment.path, fragment.data, fragment.path in _TRUSS_FILES)
        kept, dropped = split_matches(fragment.data, fragment.path, matches)
        result.suppressed += len(dropped)
        result.inline += [(fragment.path, m, marker) for m, marker in dropped]
        kept += extra_matches(_DETECTOR, fragment.path, fragment.extra, matches)
        if kept:
            result.matches.append((fragment.path, kept))
    return result


def _scan_oversize(item: Oversize, max_size: int, result: _ChunkResult) -> Skipped | None:
    """A file over the size limit: the rules over its chunks, counted as scanned; a Skipped when
    it could not be read to its end."""
    try:
        scanned = scan_oversize(_DETECTOR, item, max_size, oversize_markers(item.path))
    except (OSError, ReadFailed) as exc:
        return Skipped(item.path, "unreadable", str(exc))
    result.files += 1
    result.bytes += scanned.bytes
    result.suppressed += len(scanned.hidden)
    result.inline += [(item.path, m, marker) for m, marker in scanned.hidden]
    result.oversize.append(item.path)
    if scanned.matches:
        result.matches.append((item.path, scanned.matches))
    return None


def oversize_markers(path: str):
    """``scan_oversize``'s marker test for ``path``: one ``Inline`` per chunk window (every match
    of a window is asked with the same bytes), not one per match."""
    last: list = [None, None]

    def marker_of(view: bytes, match: Match) -> str | None:
        if last[0] is not view:
            last[0], last[1] = view, Inline(view, path)
        return last[1].marker(match.start, match.rule_id)

    return marker_of


def split_matches(data: bytes, path: str, matches: list[Match]) -> tuple[list[Match], list[tuple[Match, str]]]:
    """(the matches no inline marker allows, [(match, marker)] for those one does)."""
    if not matches:
        return [], []
    inline = Inline(data, path)
    kept, dropped = [], []
    for m in matches:
        marker = inline.marker(m.start, m.rule_id)
        if marker is None:
            kept.append(m)
        else:
            dropped.append((m, marker))
    return kept, dropped
