"""The history pipeline: enumerate refs -> scan each unique blob once -> suppress -> findings -> advisories.

It mirrors ``pipeline.scan_tree`` but its unit is a blob, not a file: a secret committed once and
carried through 500 commits is one blob, read and matched once. Where the blob lived (paths,
commits, authors) comes from the one-pass ``HistoryIndex``; path-dependent checks (config.yaml
and Python value checks, detect-secrets on Truss files) run per distinct path of the blob on the
bytes already in memory. Only leaks are reported: a structural policy problem in an old version
is not something to act on, a committed secret is (it must be rotated even if deleted since).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from trussguard.advise import build_advisories
from trussguard.config import ScanConfig
from trussguard.engine.detector import Detector
from trussguard.engine.loader import load_rules
from trussguard.findings import merge_policy, to_finding
from trussguard.pipeline import ScanResult, ScanStats, hit_suppressed
from trussguard.policy import truss_dirs
from trussguard.policy.registry import iter_checks
from trussguard.policy.runner import chains_source, check_code, check_config
from trussguard.sources import history
from trussguard.sources.truss_files import truss_files
from trussguard.suppress.inline import is_suppressed
from trussguard.types import Finding, Skipped

MAX_OCCURRENCES = 20


@dataclass(frozen=True)
class AuditConfig:
    repo: Path
    scan: ScanConfig
    ref_patterns: tuple[str, ...] = ()


def audit_history(config: AuditConfig, reader_hook=None) -> ScanResult:
    """The whole audit. ``reader_hook(reader)`` lets tests observe the BlobReader (read counts)."""
    started = time.monotonic()
    root = history.repository_root(config.repo)
    scan = config.scan
    ruleset = load_rules(list(scan.rule_dirs), cache_dir=scan.cache_dir)
    detector = Detector(ruleset, scan.cache_dir, scan.use_detect_secrets, scan.decode_depth)
    refs, notes = history.list_refs(root, config.ref_patterns)
    shallow = history.is_shallow(root)
    if shallow:
        notes.append("shallow clone: only the commits that were fetched were audited")
    index = history.build_index(root, refs)
    selected = truss_files(sorted({p for pairs in index.blobs.values() for p, _ in pairs}))
    rules = ruleset.by_id()
    checks = {c.code: c for c in iter_checks()}
    global _STATE
    _STATE = _BlobState(root, index, detector, selected, rules, checks, scan)
    try:
        part = _scan_blobs(sorted(index.blobs), reader_hook, scan.jobs or os.cpu_count() or 1)
    finally:
        _STATE = None
    skipped, notes = part.skipped, notes + part.notes
    scanned, bytes_scanned, suppressed = part.scanned, part.bytes, part.suppressed
    per_place: dict[tuple[str, str], dict[str, Finding]] = {}  # (secret, path) -> blob -> finding
    for key, blob, finding in part.places:
        per_place.setdefault(key, {}).setdefault(blob, finding)
    findings = _history_findings(root, refs, index, per_place)
    findings.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule_id))
    stats = ScanStats(scanned, bytes_scanned, skipped, suppressed, notes, 0, time.monotonic() - started,
                      len(ruleset.rules), len(checks), 1)
    stats.history = {"refs": len(refs), "commits": len(index.commits), "unique_blobs": len(index.blobs),
                     "shallow": shallow}
    return ScanResult("history", str(root), findings, build_advisories(findings, rules), stats)


@dataclass
class _BlobState:
    """What scanning a blob needs; set before worker processes fork, so only blob ids are sent."""

    root: Path
    index: history.HistoryIndex
    detector: Detector
    selected: frozenset[str]
    rules: dict
    checks: dict
    scan: ScanConfig


@dataclass
class _BlobPart:
    places: list[tuple[tuple[str, str], str, Finding]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    scanned: int = 0
    bytes: int = 0
    suppressed: int = 0


_STATE: _BlobState | None = None
PARALLEL_MIN_BLOBS = 1000  # below this, forking costs more than it saves
_CHUNK = 128


def _scan_blobs(blobs: list[str], reader_hook, workers: int) -> _BlobPart:
    """Every unique blob once; spread over worker processes (each with its own cat-file) when many."""
    if workers > 1 and len(blobs) >= PARALLEL_MIN_BLOBS and reader_hook is None \
            and "fork" in multiprocessing.get_all_start_methods():
        chunks = [blobs[i:i + _CHUNK] for i in range(0, len(blobs), _CHUNK)]
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            parts = list(pool.map(_scan_chunk, chunks))
        merged = _BlobPart()
        for part in parts:
            merged.places += part.places
            merged.skipped += part.skipped
            merged.notes += part.notes
            merged.scanned += part.scanned
            merged.bytes += part.bytes
            merged.suppressed += part.suppressed
        return merged
    reader = history.BlobReader(_STATE.root, _STATE.scan.max_file_size)
    if reader_hook is not None:
        reader_hook(reader)
    try:
        return _scan_chunk(blobs, reader)
    finally:
        reader.close()


_READER: history.BlobReader | None = None  # a worker's own cat-file process, kept across its chunks


def _scan_chunk(blobs: list[str], reader: history.BlobReader | None = None) -> _BlobPart:
    global _READER
    if reader is None:  # in a worker process
        if _READER is None:
            _READER = history.BlobReader(_STATE.root, _STATE.scan.max_file_size)
        reader = _READER
    part = _BlobPart()
    for blob in blobs:
        _scan_blob(blob, reader, _STATE, part)
    return part


def _scan_blob(blob: str, reader: history.BlobReader, state: _BlobState, part: _BlobPart) -> None:
    paths = state.index.paths(blob)
    data = reader.read(blob, paths[0])
    if isinstance(data, Skipped):
        part.skipped.append(data)
        return
    part.scanned += 1
    part.bytes += len(data)
    truss_path = next((p for p in paths if p in state.selected), None)
    matches = state.detector.detect(truss_path or paths[0], data, truss_path is not None)
    kept = [m for m in matches if not is_suppressed(data, m)]
    part.suppressed += len(matches) - len(kept)
    show = state.scan.show_secrets
    for path in paths:
        shipped = path in state.selected or chains_source(path, data)
        hits, blob_notes = _policy(path, data, kept, state.detector, shipped)
        part.notes += [f"{n} (blob {blob[:12]})" for n in blob_notes]
        found = [to_finding(m, state.rules[m.rule_id], path, keep_secret=show) for m in kept]
        for f in merge_policy(found, hits, state.checks, keep_secret=show):
            if f.secret_sha256 is not None:
                part.places.append(((f.secret_sha256, path), blob, f))


def _policy(path: str, data: bytes, matches, detector: Detector, shipped: bool):
    """Value checks that need only the path and the bytes; structural checks need a tree, not a blob.

    As in the tree scan, code checks apply to Python shipped with a Truss (or a Chains source),
    not to every Python file that ever existed in the repository.
    """
    if truss_dirs.is_config_name(path):
        hits, notes, _ = check_config(path, data, matches, detector)
    elif path.endswith(".py") and shipped:
        hits, notes, _ = check_code(path, data, matches, detector, truss=None, kind="leak")
    else:
        return [], []
    return [h for h in hits if h.secret is not None and not hit_suppressed(h, data)], notes


def _history_findings(root: Path, refs: list[history.Ref], index: history.HistoryIndex,
                      per_place: dict[tuple[str, str], dict[str, Finding]]) -> list[Finding]:
    """One finding per (secret, path), pointing at the commit that introduced it, with its story."""
    if not per_place:
        return []
    head = next((r.commit for r in refs if r.name == "HEAD"), None) or \
        history.git(root, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).decode().strip()
    head_tree = history.tree_blobs(root, head) if head else {}
    tips = {r.branch: history.tree_blobs(root, r.commit) for r in refs if r.branch}
    ref_commits = {r.name: history.reachable(root, r.commit) for r in refs}
    out = []
    for (_, path), by_blob in per_place.items():
        blobs = set(by_blob)
        places = sorted({c for b in blobs for p, c in index.blobs[b] if p == path},
                        key=lambda c: -index.commits[c].order)  # oldest first
        first = index.commits[places[0]]
        lead_blob = next(b for b in blobs if any(p == path and c == first.commit for p, c in index.blobs[b]))
        lead = by_blob[lead_blob]
        branch_tips = {name: tree.get(path) in blobs for name, tree in sorted(tips.items())}
        at_head = head_tree.get(path) in blobs
        still = at_head or any(branch_tips.values())
        removals = [c for b in blobs for c, new in index.removals.get((path, b), ()) if new not in blobs]
        last = min(removals, key=lambda c: index.commits[c].order) if removals and not still else None
        occurrences = [{"commit": c, "path": path} for c in places]
        record = {
            "introduced": first.meta(),
            "occurrence_count": len(occurrences),
            "occurrences": occurrences if len(occurrences) <= MAX_OCCURRENCES else [occurrences[0], occurrences[-1]],
            "occurrences_truncated": len(occurrences) > MAX_OCCURRENCES,
            "refs": sorted(n for n, reach in ref_commits.items() if reach.intersection(places)),
            "at_head": at_head,
            "branch_tips": branch_tips,
            "first_seen": first.committer_date,
            "last_seen": None if last is None else index.commits[last].committer_date,
            "removed_in": last,
            "still_present": still,
        }
        severity = max(f.severity for f in by_blob.values())
        out.append(replace(lead, commit=first.commit, severity=severity, history=record))
    return out
