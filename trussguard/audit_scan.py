"""Scanning blobs of the history: each unique blob once, in this process or in forked workers.

The rules run once on a blob's bytes; the path-dependent value checks (config.yaml, Python
shipped with a Truss) then run once per distinct path the blob had, on the bytes already in
memory. What a worker needs (the index, the detector, the settings) is handed to it once, as
the pool's initializer argument, and only blob ids travel per task: with the fork start method
the initializer's arguments are inherited, never pickled. The parent sets no module-level
variable before forking, so two audits (a submodule's inside its parent's) cannot see each
other's state.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from trussguard.audit_cache import BlobResult
from trussguard.config import ScanConfig
from trussguard.engine import signed_urls
from trussguard.engine.chunked import extra_matches, oversize_note, scan_oversize
from trussguard.engine.detector import Detector
from trussguard.findings import from_policy, merge_policy, to_finding
from trussguard.suppress.markers import hit_marker, oversize_markers
from trussguard.policy import truss_dirs
from trussguard.policy.code_screen import needs_parse
from trussguard.policy.runner import chains_source, check_code, check_config
from trussguard.sources.content import Decoded, Oversize, ReadFailed
from trussguard.sources.history import HistoryIndex
from trussguard.sources.history_reader import BlobReader
from trussguard.suppress.inline import Inline, language
from trussguard.types import Skipped, Suppressed
from trussguard.workers import ignore_interrupts

PARALLEL_MIN_BLOBS = 1000  # below this, forking costs more than it saves
_CHUNK = 128


@dataclass
class BlobState:
    """What scanning a blob needs; each worker gets it once (``_start_worker``), so only blob ids are sent."""

    root: Path
    index: HistoryIndex
    detector: Detector
    selected: frozenset[str]
    rules: dict
    checks: dict
    scan: ScanConfig
    first_seen: dict[str, float] = field(default_factory=dict)  # blob -> its first commit's time (epoch)


def scan_blobs(blobs: list[str], state: BlobState, reader_hook, workers: int,
               progress: bool) -> dict[str, BlobResult]:
    """Every given blob once; spread over worker processes (each with its own cat-file) when many."""
    bar = _Progress(len(blobs), progress)
    results: dict[str, BlobResult] = {}
    try:
        if workers > 1 and len(blobs) >= PARALLEL_MIN_BLOBS and reader_hook is None \
                and "fork" in multiprocessing.get_all_start_methods():
            chunks = [blobs[i:i + _CHUNK] for i in range(0, len(blobs), _CHUNK)]
            state.detector.warm_up()
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                     initializer=_start_worker, initargs=(state,)) as pool:
                for part in pool.map(_scan_chunk, chunks):
                    results.update(part)
                    bar.advance(part.values())
            return results
        reader = BlobReader(state.root, state.scan.max_file_size)
        if reader_hook is not None:
            reader_hook(reader)
        try:
            for blob, data in reader.read_many(blobs, {b: state.index.paths(b)[0] for b in blobs}):
                results[blob] = scan_blob(blob, data, state)
                bar.advance([results[blob]])
        finally:
            reader.close()
        return results
    finally:
        bar.close()


class _Worker:
    """A worker process's state: what ``_start_worker`` was given, and its own cat-file reader,
    started on its first chunk and kept across its chunks."""

    def __init__(self, state: BlobState):
        self.state = state
        self.reader: BlobReader | None = None

    def scan(self, blobs: list[str]) -> dict[str, BlobResult]:
        if self.reader is None:
            self.reader = BlobReader(self.state.root, self.state.scan.max_file_size)
        paths = {b: self.state.index.paths(b)[0] for b in blobs}
        return {blob: scan_blob(blob, data, self.state) for blob, data in self.reader.read_many(blobs, paths)}


_worker: _Worker | None = None  # set only inside a worker process, by its pool's initializer


def _start_worker(state: BlobState) -> None:
    """The pool's initializer, run once in each forked worker with the audit's state as argument."""
    global _worker
    ignore_interrupts()
    _worker = _Worker(state)


def _scan_chunk(blobs: list[str]) -> dict[str, BlobResult]:
    """In a worker process: read this chunk's blobs in one pipelined batch and scan each."""
    return _worker.scan(blobs)


class _Progress:
    """Blobs, bytes and ETA on stderr (tqdm), only when asked for: the CLI turns it on for a TTY
    without --quiet, so CI logs and pipes stay clean."""

    def __init__(self, total: int, enabled: bool):
        self.bytes = 0
        self.bar = None
        if enabled and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="blob", desc="auditing", file=sys.stderr, dynamic_ncols=True,
                            leave=False)

    def advance(self, parts) -> None:
        if self.bar is not None:
            parts = list(parts)
            self.bytes += sum(p.bytes for p in parts)
            self.bar.set_postfix_str(f"{self.bytes / 1048576:.1f} MB", refresh=False)
            self.bar.update(len(parts))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def scan_blob(blob: str, content: Decoded | Oversize | Skipped, state: BlobState) -> BlobResult:
    """Rules once on the bytes, then the path-dependent value checks once per path of the blob
    (text only: a binary or an oversize blob gets the rules alone), as of the blob's first commit."""
    with signed_urls.as_of(state.first_seen.get(blob)):
        return _scan_blob_now(blob, content, state)


def _scan_blob_now(blob: str, content: Decoded | Oversize | Skipped, state: BlobState) -> BlobResult:
    result = BlobResult([], [], [], 0, 0, 0)
    if isinstance(content, Oversize):
        content = _scan_oversize(blob, content, state, result)
        if content is None:
            return result
    if isinstance(content, Skipped):
        result.skipped.append(content)
        return result
    data = content.text
    paths = state.index.paths(blob)
    result.scanned, result.bytes = 1, len(data)
    truss_path = next((p for p in paths if p in state.selected), None)
    matches = state.detector.detect(truss_path or paths[0], data, truss_path is not None)
    # The blob's own bytes decide; under every path it had (a language each), or it is not allowed.
    inlines = list({language(p): Inline(data, p) for p in paths}.values()) if matches else []
    markers = [_agreed(inlines, lambda i: i.marker(m.start, m.rule_id)) for m in matches]
    kept = [m for m, marker in zip(matches, markers) if marker is None]
    result.suppressed = len(matches) - len(kept)
    kept += extra_matches(state.detector, paths[0], content.extra, matches)
    show = state.scan.show_secrets
    for path in paths:
        shipped = path in state.selected or (not content.binary and chains_source(path, data))
        hits, blob_notes, dropped = _policy(path, data, kept, state.detector, shipped, bool(matches)) \
            if not content.binary else ([], [], [])
        result.notes += [f"{n} (blob {blob[:12]})" for n in blob_notes]
        result.suppressions += [Suppressed.of(to_finding(m, state.rules[m.rule_id], path), "inline", marker)
                                for m, marker in zip(matches, markers) if marker is not None]
        result.suppressions += [Suppressed.of(from_policy(h, state.checks[h.code]), "inline", marker)
                                for h, marker in dropped]
        found = [to_finding(m, state.rules[m.rule_id], path, keep_secret=show) for m in kept]
        result.places += [(path, f) for f in merge_policy(found, hits, state.checks, keep_secret=show)
                          if f.secret_sha256 is not None]
    return result


def _scan_oversize(blob: str, item: Oversize, state: BlobState, result: BlobResult) -> Skipped | None:
    """A blob over the size limit, streamed from git in chunks through the rules (no value checks);
    a Skipped when git stopped before its end."""
    try:
        paths = state.index.paths(blob)
        # As for other blobs, a marker counts only when every path reads it the same way (one language).
        marker_of = oversize_markers(item.path) if len({language(p) for p in paths}) == 1 else _no_marker
        scanned = scan_oversize(state.detector, item, state.scan.max_file_size, marker_of)
    except ReadFailed as exc:
        return Skipped(item.path, "unreadable", str(exc))
    result.scanned, result.bytes, result.suppressed = 1, scanned.bytes, len(scanned.hidden)
    result.notes.append(f"{oversize_note(item.path)} (blob {blob[:12]})")
    show = state.scan.show_secrets
    for path in paths:
        result.suppressions += [Suppressed.of(to_finding(m, state.rules[m.rule_id], path), "inline", marker)
                                for m, marker in scanned.hidden]
        found = [to_finding(m, state.rules[m.rule_id], path, keep_secret=show) for m in scanned.matches]
        result.places += [(path, f) for f in merge_policy(found, [], state.checks, keep_secret=show)]
    return None


def _no_marker(view: bytes, match) -> None:
    return None


def _policy(path: str, data: bytes, matches, detector: Detector, shipped: bool, any_match: bool):
    """Value checks that need only the path and the bytes; structural checks need a tree, not a blob.

    As in the tree scan, code checks apply to Python shipped with a Truss (or a Chains source),
    not to every Python file that ever existed in the repository; and only to the versions whose
    string literals could hold a secret at all (``code_screen``: most versions of a model file
    are parsed for nothing otherwise).
    """
    if truss_dirs.is_config_name(path):
        hits, notes, _ = check_config(path, data, matches, detector)
    elif path.endswith(".py") and shipped:
        if not needs_parse(data, any_match, detector, leaks_only=True):
            return [], [], []
        hits, notes, _ = check_code(path, data, matches, detector, truss=None, kind="leak")
    else:
        return [], [], []
    inline = Inline(data, path)
    marked = [(h, hit_marker(h, inline)) for h in hits if h.secret is not None]
    return [h for h, m in marked if m is None], notes, [(h, m) for h, m in marked if m is not None]


def _agreed(inlines: list[Inline], ask) -> str | None:
    """The marker when every reading agrees one allows the finding, else None."""
    found = None
    for inline in inlines:
        found = ask(inline)
        if found is None:
            return None
    return found
