"""The history pipeline: enumerate refs -> scan each unique blob once -> suppress -> findings -> advisories.

It mirrors ``pipeline.scan_tree`` but its unit is a blob, not a file: a secret committed once and
carried through 500 commits is one blob, read and matched once. Where the blob lived (paths,
commits, authors) comes from the one-pass ``HistoryIndex``; path-dependent checks (config.yaml
and Python value checks, detect-secrets on Truss files) run per distinct path of the blob on the
bytes already in memory. Only leaks are reported: a structural policy problem in an old version
is not something to act on, a committed secret is (it must be rotated even if deleted since).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
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
    reader = history.BlobReader(root, scan.max_file_size)
    if reader_hook:
        reader_hook(reader)
    skipped: list[Skipped] = []
    per_place: dict[tuple[str, str], dict[str, Finding]] = {}  # (secret, path) -> blob -> finding
    scanned = bytes_scanned = suppressed = 0
    try:
        for blob in sorted(index.blobs):
            paths = index.paths(blob)
            data = reader.read(blob, paths[0])
            if isinstance(data, Skipped):
                skipped.append(data)
                continue
            scanned += 1
            bytes_scanned += len(data)
            truss_path = next((p for p in paths if p in selected), None)
            matches = detector.detect(truss_path or paths[0], data, truss_path is not None)
            kept = [m for m in matches if not is_suppressed(data, m)]
            suppressed += len(matches) - len(kept)
            for path in paths:
                shipped = path in selected or chains_source(path, data)
                hits, blob_notes = _policy(path, data, kept, detector, shipped)
                notes += [f"{n} (blob {blob[:12]})" for n in blob_notes]
                found = [to_finding(m, rules[m.rule_id], path, keep_secret=scan.show_secrets) for m in kept]
                for f in merge_policy(found, hits, checks, keep_secret=scan.show_secrets):
                    if f.secret_sha256 is not None:
                        per_place.setdefault((f.secret_sha256, path), {}).setdefault(blob, f)
    finally:
        reader.close()
    findings = _history_findings(root, refs, index, per_place)
    findings.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule_id))
    stats = ScanStats(scanned, bytes_scanned, skipped, suppressed, notes, 0, time.monotonic() - started,
                      len(ruleset.rules), len(checks), 1)
    stats.history = {"refs": len(refs), "commits": len(index.commits), "unique_blobs": len(index.blobs),
                     "shallow": shallow}
    return ScanResult("history", str(root), findings, build_advisories(findings, rules), stats)


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
