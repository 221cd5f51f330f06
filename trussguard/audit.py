"""The history pipeline: enumerate refs -> scan each unique blob once -> suppress -> findings -> advisories.

It mirrors ``pipeline.scan_tree`` but its unit is a blob, not a file: a secret committed once and
carried through 500 commits is one blob, read and matched once. Where the blob lived (paths,
commits, authors) comes from the one-pass ``HistoryIndex``; path-dependent checks (config.yaml
and Python value checks, detect-secrets on Truss files) run per distinct path of the blob on the
bytes already in memory. Only leaks are reported: a structural policy problem in an old version
is not something to act on, a committed secret is (it must be rotated even if deleted since).
"""

from __future__ import annotations

import datetime
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path

from trussguard.advise import build_advisories
from trussguard.audit_cache import BlobCache, BlobResult
from trussguard.audit_index_cache import IndexCache, index_key
from trussguard.audit_provenance import history_findings, name_places
from trussguard.audit_scan import BlobState, scan_blobs
from trussguard.cache_store import results_salt
from trussguard.config import ScanConfig
from trussguard.engine.detector import Detector
from trussguard.engine.loader import load_rules
from trussguard.findings import cap_findings, describe_rules, fingerprint
from trussguard.results import ERROR_REASONS, ScanResult, ScanStats
from trussguard.policy.registry import iter_checks
from trussguard.sources import history, history_git
from trussguard.sources.truss_files import truss_files
from trussguard.types import Finding, Skipped, Suppressed


@dataclass(frozen=True)
class AuditConfig:
    repo: Path
    scan: ScanConfig
    ref_patterns: tuple[str, ...] = ()
    include_unreachable: bool = False  # also commits no ref reaches (fsck --unreachable)
    since: str | None = None  # only commits not reachable from this revision
    range: str | None = None  # BASE..HEAD: only the commits of a pull request
    blob_cache: Path | None = None  # directory of the per-blob result cache; None: off
    progress: bool = False  # a progress bar on stderr
    recurse_submodules: bool = False  # also audit checked-out submodules' own repositories
    allow_shallow: bool = False  # a shallow clone's missing history is a note, not exit 2


class ShallowClone(history_git.GitError):
    """The walk reached commits whose parents a shallow clone never fetched: the older history,
    which may hold a secret added and removed long ago, cannot be audited."""


def audit_history(config: AuditConfig, reader_hook=None) -> ScanResult:
    """The whole audit. ``reader_hook(reader)`` lets tests observe the BlobReader (read counts)."""
    started = time.monotonic()
    history_git.require_git_version()
    root = history_git.repository_root(config.repo)
    scan = config.scan
    ruleset = load_rules(list(scan.rule_dirs), cache_dir=scan.cache_dir)
    refs, notes = history.list_refs(root, config.ref_patterns)
    notes[:0] = ruleset.notes  # e.g. a rule cache that failed its checks
    tips, excludes, span = _revisions(root, config, refs)
    unreachable, loose, broken = history.unreachable_objects(root) if config.include_unreachable else ([], [], [])
    unfetched = history.unfetched_trees(root, tips + unreachable, excludes)
    cache_dir = None if scan.show_secrets else config.blob_cache
    replaced = history.replace_refs(root)  # what both caches need to know, and the report says
    swapped = history.replaced_ids(replaced)
    if swapped:  # local state (not pushed or fetched by default), but it changes what every git reads
        notes.append(f"{len(swapped)} object(s) have a replacement (refs/replace/): git reads, and this audit "
                     "scanned, the replacements, not the objects as committed; set GIT_NO_REPLACE_OBJECTS=1 to "
                     "audit those")
    with IndexCache.open(cache_dir) as index_cache:
        index, first_seen = _index(root, index_cache, tips + unreachable, excludes, unfetched, replaced)
    dangling = [b for b in loose if b not in index.blobs]  # staged, then discarded: in no commit
    for blob in dangling:
        index.blobs[blob] = [(f"{history.DANGLING}/{blob}", "")]
    shallow = history.is_shallow(root)
    cut_off = sorted(history.shallow_boundary(root) & set(index.commits)) if shallow else []
    if cut_off and not config.allow_shallow:
        raise ShallowClone(f"shallow clone: {len(cut_off)} commits' history is missing; "
                           "run `git fetch --unshallow` or pass --allow-shallow")
    if cut_off:
        notes.append(f"shallow clone: {len(cut_off)} commits' history is missing (--allow-shallow); only the "
                     "commits that were fetched were audited")
    lost = [Skipped(f"(commit {c[:12]})", "missing", f"commit {c}: its tree {t} is not in this partial clone "
                    "(never fetched, and an audit does not fetch); its files were not scanned")
            for c, t in sorted(unfetched.commits.items())]
    lost += [Skipped(f"({what})", "missing", f"git fsck: {what} is missing from the object database")
             for what in broken if what.split()[-1] not in index.blobs]  # those the reader reports itself
    if not config.recurse_submodules:
        notes += [f"submodule {path} ({len(pins)} pinned commit(s)): its repository was not audited "
                  f"(use --recurse-submodules)" for path, pins in sorted(index.submodules.items())]
    selected = truss_files(sorted({p for pairs in index.blobs.values() for p, _ in pairs}))
    rules = ruleset.by_id()
    checks = {c.code: c for c in iter_checks()}
    cache = BlobCache.open(cache_dir, results_salt(ruleset.digest, scan))
    cache.replaced = swapped
    try:
        keys = {b: cache.key(b, [(p, p in selected) for p in index.paths(b)], str(first_seen.get(b)))
                for b in index.blobs}
        cached = cache.get_many(list(keys.values()))
        results = {b: cached[k] for b, k in keys.items() if k in cached}
        todo = sorted(b for b in index.blobs if b not in results)
        absent = history.absent_blobs(root, todo)
        for blob in absent:
            results[blob] = BlobResult([], [Skipped(index.paths(blob)[0], "missing", f"blob {blob}: not fetched "
                                                    "(partial clone); not scanned")], [], 0, 0, 0)
        todo = [b for b in todo if b not in absent]
        if todo:
            state = BlobState(root, index, Detector(ruleset, scan.cache_dir, scan.use_detect_secrets,
                                                    scan.decode_depth), selected, rules, checks, scan,
                              first_seen)
            fresh = scan_blobs(todo, state, reader_hook, scan.jobs or os.cpu_count() or 1, config.progress)
            results.update(fresh)
            cache.put_many({keys[b]: r for b, r in fresh.items()
                            if not any(s.reason in ERROR_REASONS for s in r.skipped)})
    finally:
        cache.close()
    notes += [n for n in (cache.problem, cache.notice) if n]
    per_place: dict[tuple[str, str], dict[str, Finding]] = {}  # (secret, path) -> blob -> finding
    for blob in sorted(results):
        for path, finding in results[blob].places:
            per_place.setdefault((finding.secret_sha256, path), {}).setdefault(blob, finding)
    name_places(index, ruleset, scan, rules, per_place)
    with IndexCache.open(cache_dir if per_place else None) as known:  # (tree, path) answers of earlier audits
        findings = history_findings(root, refs, index, per_place, set(unfetched.commits), known)
    notes += list(dict.fromkeys(n for n in (index_cache.problem, known.problem) if n))
    parts = list(results.values())
    suppressed = _listed(x for r in parts for x in r.suppressions)
    stats = ScanStats(sum(r.scanned for r in parts), sum(r.bytes for r in parts),
                      lost + [s for r in parts for s in r.skipped], len(suppressed),
                      notes + [n for r in parts for n in r.notes], 0, 0.0, len(ruleset.rules), len(checks), 1)
    stats.history = {"refs": len(refs), "commits": len(index.commits), "unique_blobs": len(index.blobs),
                     "shallow": shallow, "range": span, "unreachable_commits": len(unreachable),
                     "unreachable_blobs": len(dangling),
                     "submodules": sorted(index.submodules), "cache_hits": cache.hits,
                     "cache_misses": cache.misses, "index_cached": index_cache.hit,
                     "ref_tips": {r.name: r.commit for r in refs},
                     "date_range": _date_range(index), "rules_digest": ruleset.digest}
    if config.recurse_submodules:
        for path in sorted(index.submodules):
            findings += _submodule(root, path, config, stats, reader_hook, suppressed)
    findings.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule_id))
    findings = cap_findings(findings)
    stats.duration_seconds = time.monotonic() - started
    catalogue = describe_rules(findings, rules)
    catalogue.update({k: v for k, v in describe_rules(suppressed, rules).items() if k not in catalogue})
    return ScanResult("history", str(root), findings, build_advisories(findings, rules), stats,
                      catalogue=catalogue, suppressed=suppressed)


def _listed(records) -> list[Suppressed]:
    """Inline suppressions of every blob, once per (rule, path, line), in report order."""
    unique = {(x.rule_id, x.path, x.line): x for x in records}
    return [unique[k] for k in sorted(unique, key=lambda k: (k[1], k[2], k[0]))]


def _submodule(root: Path, path: str, config: AuditConfig, stats: ScanStats, reader_hook,
               suppressed: list[Suppressed]) -> list[Finding]:
    """Audits a checked-out submodule's own repository (--recurse-submodules); its findings and
    counts join the parent's, paths prefixed with the submodule's path."""
    repo = _submodule_repo(root, path)
    if repo is None:
        stats.notes.append(f"submodule {path}: its repository is not checked out here, so it was not audited")
        return []
    inner = audit_history(replace(config, repo=repo), reader_hook)
    stats.files_scanned += inner.stats.files_scanned
    stats.bytes_scanned += inner.stats.bytes_scanned
    stats.suppressed += inner.stats.suppressed
    suppressed += [replace(x, path=f"{path}/{x.path}") for x in inner.suppressed]
    stats.skipped += [replace(s, path=f"{path}/{s.path}") for s in inner.stats.skipped]
    stats.notes += [f"submodule {path}: {n}" for n in inner.stats.notes]
    for key in ("commits", "unique_blobs", "cache_hits", "cache_misses"):
        stats.history[key] += inner.stats.history[key]
    return [_prefixed(f, path) for f in inner.findings]


def _submodule_repo(root: Path, path: str) -> Path | None:
    """The submodule's repository: its work tree in the parent's, else the parent's .git/modules."""
    for candidate in (root / path, Path(history_git.git(root, "rev-parse", "--git-path", f"modules/{path}"
                                                    ).decode().strip() or "-")):
        candidate = candidate if candidate.is_absolute() else root / candidate
        if (candidate / ".git").exists() or (candidate / "HEAD").is_file():
            return candidate
    return None


def _prefixed(f: Finding, prefix: str) -> Finding:
    path = f"{prefix}/{f.path}"
    record = dict(f.history or {}, submodule=prefix)
    record["occurrences"] = [dict(o, path=f"{prefix}/{o['path']}") for o in record.get("occurrences", [])]
    return replace(f, id=fingerprint(f.rule_id, path, f.secret_sha256 or ""), path=path, history=record)


def _date_range(index: history.HistoryIndex) -> dict[str, str | None]:
    """The committer dates of the oldest and newest audited commits (ISO 8601, as git gives them)."""
    dates = sorted((datetime.datetime.fromisoformat(c.committer_date), c.committer_date)
                   for c in index.commits.values())  # by instant: the offsets may differ
    return {"first": dates[0][1] if dates else None, "last": dates[-1][1] if dates else None}


def _revisions(root: Path, config: AuditConfig, refs: list[history.Ref]) -> tuple[list[str], list[str], str | None]:
    """(tips, excludes, description) for the log walk: every ref, or a range of commits."""
    if config.range and config.since:
        raise history_git.GitError("--range and --since cannot be combined")
    if config.range:
        base, dots, head = config.range.partition("..")
        if not dots or head.startswith("."):
            raise history_git.GitError(f"--range expects BASE..HEAD, got {config.range!r}")
        base_sha, head_sha = history_git.resolve(root, base or "HEAD"), history_git.resolve(root, head or "HEAD")
        return [head_sha], [base_sha], config.range
    tips = [r.commit for r in refs]
    if config.since:
        return tips, [history_git.resolve(root, config.since)], f"{config.since}.. (all audited refs)"
    return tips, [], None


def _index(root: Path, cache: IndexCache, tips: list[str], excludes: list[str], unfetched: history.Unfetched,
           replaced: bytes) -> tuple[history.HistoryIndex, dict[str, float]]:
    """The commit index and each blob's first-seen time: stored by an earlier audit of the same
    refs and objects (``audit_index_cache``), else one log walk, then stored."""
    if unfetched.commits:  # a tree:0 partial clone: walk only the commits whose trees are here
        tips, cut = unfetched.present, unfetched.cut
    else:
        cut = set()
    key = index_key(root, tips, excludes, cut, replaced) if cache.enabled else ""
    stored = cache.load(key) if key else None
    if stored is not None:
        return stored
    index = history.build_index(root, tips, excludes, cut)
    first_seen = _first_seen(index)
    if key:
        cache.store(key, index, first_seen)
    return index, first_seen


def _first_seen(index: history.HistoryIndex) -> dict[str, float]:
    """When each blob entered the history: the earliest committer date of the commits holding it.
    A signed URL in it is judged live or expired at that time (``signed_urls.as_of``)."""
    at = {c: datetime.datetime.fromisoformat(m.committer_date).timestamp() for c, m in index.commits.items()
          if m.committer_date}
    return {b: min(times) for b, pairs in index.blobs.items() if (times := [at[c] for _, c in pairs if c in at])}
