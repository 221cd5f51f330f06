"""Scanning blobs of the history: each unique blob once, in this process or in forked workers.

Each blob is a ``Unit`` (its bytes, every path it had, its id) through ``scan_unit``, the rules ->
inline markers step the tree and staged scans share; the path-dependent value checks (config.yaml,
Python shipped with a Truss) then run once per distinct path the blob had, on the bytes already in
memory. What a worker needs (the index, the detector, the settings) reaches it once, through
``workers.iter_in_workers`` (inherited by fork, never pickled), and only blob ids travel per task;
each chunk is read by its own ``git cat-file``. No module-level state: two audits
(a submodule's inside its parent's) cannot see each other's.
"""

from __future__ import annotations

import functools
import posixpath
import sys
from dataclasses import dataclass, field
from pathlib import Path

from trussguard.audit_cache import BlobResult
from trussguard.config import ScanConfig
from trussguard.engine import signed_urls
from trussguard.engine.chunked import oversize_note
from trussguard.engine.detector import Detector
from trussguard.findings import from_policy, merge_policy, to_finding
from trussguard.suppress.markers import hit_marker
from trussguard.policy import truss_dirs
from trussguard.policy.code_screen import needs_parse
from trussguard.policy.runner import chains_source, check_code, check_config, check_notebook
from trussguard.sources.content import Decoded, Oversize
from trussguard.sources.history import HistoryIndex
from trussguard.sources.history_reader import BlobReader
from trussguard.suppress.inline import Inline
from trussguard.types import Skipped, Suppressed
from trussguard.scan_unit import Unit, UnitContext, scan_unit
from trussguard.workers import can_fork, iter_in_workers

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

    @functools.cached_property
    def unit_context(self) -> UnitContext:
        """What ``scan_unit`` needs: the same rules -> inline markers step as the tree and staged scans."""
        return UnitContext(self.detector, self.selected, self.scan.max_file_size)

    @functools.cached_property
    def truss_roots(self) -> frozenset[str]:
        """The folders that held a config.yaml at some point: a notebook under one's model/, data/ or
        packages/ folder is shipped with the Truss (the default layout; history has no config per commit)."""
        return frozenset(posixpath.dirname(p) for p in self.selected if posixpath.basename(p) == "config.yaml")

    def ships_notebook(self, path: str) -> bool:
        if not path.endswith(".ipynb"):
            return False
        parts = path.split("/")
        return any(part in ("model", "data", "packages") and "/".join(parts[:i]) in self.truss_roots
                   for i, part in enumerate(parts[:-1]))


def scan_blobs(blobs: list[str], state: BlobState, reader_hook, workers: int,
               progress: bool) -> dict[str, BlobResult]:
    """Every given blob once; spread over worker processes (each reading its chunks with its own
    ``git cat-file``) when many."""
    bar = _Progress(len(blobs), progress)
    results: dict[str, BlobResult] = {}
    try:
        if workers > 1 and len(blobs) >= PARALLEL_MIN_BLOBS and reader_hook is None and can_fork():
            chunks = [blobs[i:i + _CHUNK] for i in range(0, len(blobs), _CHUNK)]
            state.detector.warm_up()  # once, before the fork: every worker inherits the compiled engine
            for part in iter_in_workers(_scan_chunk, state, chunks, workers):
                results.update(part)
                bar.advance(part.values())
            return results
        reader = BlobReader(state.root, state.scan.max_file_size)
        if reader_hook is not None:
            reader_hook(reader)
        for blob, data in reader.read_many(blobs, {b: state.index.paths(b)[0] for b in blobs}):
            results[blob] = scan_blob(blob, data, state)
            bar.advance([results[blob]])
        return results
    finally:
        bar.close()


def _scan_chunk(state: BlobState, blobs: list[str]) -> dict[str, BlobResult]:
    """In a worker process: this chunk's blobs read in one pipelined batch, and each scanned."""
    reader = BlobReader(state.root, state.scan.max_file_size)
    paths = {b: state.index.paths(b)[0] for b in blobs}
    return {blob: scan_blob(blob, data, state) for blob, data in reader.read_many(blobs, paths)}


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
    paths = state.index.paths(blob)
    unit = scan_unit(Unit(tuple(paths), content, blob), state.unit_context)
    if unit.skipped is not None:
        result.skipped.append(unit.skipped)
        return result
    result.scanned, result.bytes, result.suppressed = 1, unit.bytes, len(unit.hidden)
    if unit.oversize:
        result.notes.append(f"{oversize_note(content.path)} (blob {blob[:12]})")
    result.notes += [f"{n} (blob {blob[:12]})" for n in unit.notes]
    data = content.text if isinstance(content, Decoded) and not content.binary else None
    show = state.scan.show_secrets
    for path in paths:
        hits, blob_notes, dropped = [], [], []
        if data is not None:  # a binary or an oversize blob gets the rules alone
            shipped = path in state.selected or chains_source(path, data) or state.ships_notebook(path)
            hits, blob_notes, dropped = _policy(path, data, unit.matches, state.detector, shipped,
                                                bool(unit.matches or unit.hidden))
        result.notes += [f"{n} (blob {blob[:12]})" for n in blob_notes]
        result.suppressions += [Suppressed.of(to_finding(m, state.rules[m.rule_id], path), "inline", marker)
                                for m, marker in unit.hidden]
        result.suppressions += [Suppressed.of(from_policy(h, state.checks[h.code]), "inline", marker)
                                for h, marker in dropped]
        found = [to_finding(m, state.rules[m.rule_id], path, keep_secret=show) for m in unit.matches]
        result.places += [(path, f) for f in merge_policy(found, hits, state.checks, keep_secret=show)
                          if f.secret_sha256 is not None]
    return result


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
    elif path.endswith(".ipynb") and shipped:  # its code cells' value checks (``notebook_code``)
        hits, notes = check_notebook(path, data, matches, detector, kind="leak", any_match=any_match)
    else:
        return [], [], []
    inline = Inline(data, path)
    marked = [(h, hit_marker(h, inline)) for h in hits if h.secret is not None]
    return [h for h, m in marked if m is None], notes, [(h, m) for h, m in marked if m is not None]


