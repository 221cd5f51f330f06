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
import hashlib
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from trussguard import __version__
from trussguard.advise import build_advisories
from trussguard.audit_cache import BlobCache, BlobResult
from trussguard.config import ScanConfig
from trussguard.engine.chunked import extra_matches, oversize_note, scan_oversize
from trussguard.engine import signed_urls
from trussguard.engine.detector import Detector
from trussguard.engine.loader import load_rules
from trussguard.findings import cap_findings, describe_rules, fingerprint, from_policy, merge_policy, to_finding
from trussguard.name_findings import name_findings
from trussguard.results import ERROR_REASONS, ScanResult, ScanStats
from trussguard.suppress.markers import hit_marker, oversize_markers
from trussguard.policy import truss_dirs
from trussguard.policy.code_checks import COMMAND_SECRETS
from trussguard.policy.literal_screen import may_hold_literal_secret
from trussguard.policy.registry import iter_checks
from trussguard.policy.runner import chains_source, check_code, check_config
from trussguard.sources import history
from trussguard.sources.content import Decoded, Oversize, ReadFailed
from trussguard.sources.truss_files import truss_files
from trussguard.suppress.inline import Inline, language
from trussguard.types import Finding, Skipped, Suppressed
from trussguard.workers import ignore_interrupts

MAX_OCCURRENCES = 20
MAX_REFS = 50  # refs and branch tips named per finding; the counts are always whole


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


class ShallowClone(history.GitError):
    """The walk reached commits whose parents a shallow clone never fetched: the older history,
    which may hold a secret added and removed long ago, cannot be audited."""


def audit_history(config: AuditConfig, reader_hook=None) -> ScanResult:
    """The whole audit. ``reader_hook(reader)`` lets tests observe the BlobReader (read counts)."""
    started = time.monotonic()
    history.require_git_version()
    root = history.repository_root(config.repo)
    scan = config.scan
    ruleset = load_rules(list(scan.rule_dirs), cache_dir=scan.cache_dir)
    refs, notes = history.list_refs(root, config.ref_patterns)
    notes[:0] = ruleset.notes  # e.g. a rule cache that failed its checks
    tips, excludes, span = _revisions(root, config, refs)
    unreachable, loose, broken = history.unreachable_objects(root) if config.include_unreachable else ([], [], [])
    unfetched = history.unfetched_trees(root, tips + unreachable, excludes)
    if unfetched.commits:  # a tree:0 partial clone: walk only the commits whose trees are here
        index = history.build_index(root, unfetched.present, excludes, unfetched.cut)
    else:
        index = history.build_index(root, tips + unreachable, excludes)
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
    cache = BlobCache.open(None if scan.show_secrets else config.blob_cache, _salt(ruleset.digest, scan))
    try:
        first_seen = _first_seen(index)
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
            state = _BlobState(root, index, Detector(ruleset, scan.cache_dir, scan.use_detect_secrets,
                                                     scan.decode_depth), selected, rules, checks, scan,
                               first_seen)
            fresh = _scan_blobs(todo, state, reader_hook, scan.jobs or os.cpu_count() or 1, config.progress)
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
    _name_places(index, ruleset, scan, rules, per_place)
    findings = _history_findings(root, refs, index, per_place, set(unfetched.commits))
    parts = list(results.values())
    suppressed = _listed(x for r in parts for x in r.suppressions)
    stats = ScanStats(sum(r.scanned for r in parts), sum(r.bytes for r in parts),
                      lost + [s for r in parts for s in r.skipped], len(suppressed),
                      notes + [n for r in parts for n in r.notes], 0, 0.0, len(ruleset.rules), len(checks), 1)
    stats.history = {"refs": len(refs), "commits": len(index.commits), "unique_blobs": len(index.blobs),
                     "shallow": shallow, "range": span, "unreachable_commits": len(unreachable),
                     "unreachable_blobs": len(dangling),
                     "submodules": sorted(index.submodules), "cache_hits": cache.hits,
                     "cache_misses": cache.misses, "ref_tips": {r.name: r.commit for r in refs},
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


def _name_places(index: history.HistoryIndex, ruleset, scan: ScanConfig, rules: dict,
                 per_place: dict[tuple[str, str], dict[str, Finding]]) -> None:
    """Credentials in the names of files that ever existed (``name_findings``), as places of every
    blob stored under that name: the history then says which commit introduced the name."""
    names = sorted({p for pairs in index.blobs.values() for p, _ in pairs if not p.startswith(history.DANGLING)})
    found = name_findings(names, Detector(ruleset, scan.cache_dir, False, 0), rules, [], scan.show_secrets)
    if not found:
        return
    wanted = {f.path for f in found}
    blobs_at: dict[str, list[str]] = {}
    for blob, pairs in index.blobs.items():
        for path in {p for p, _ in pairs if p in wanted}:
            blobs_at.setdefault(path, []).append(blob)
    for f in found:
        by_blob = per_place.setdefault((f.secret_sha256, f.path), {})
        for blob in sorted(blobs_at.get(f.path, ())):
            by_blob.setdefault(blob, f)  # the content's own finding of the same secret, if any, wins


def _dangling(by_blob: dict[str, Finding]) -> Finding:
    """A secret in a blob no commit holds (``git add``, then reset): in the object store, but with
    no author, date or ref to tell; anyone with a copy of the .git folder has it."""
    (blob, lead), = by_blob.items()
    record = {"introduced": None, "occurrence_count": 0, "occurrences": [], "occurrences_truncated": False,
              "refs": [], "refs_count": 0, "refs_truncated": False, "at_head": False, "branch_tips": {},
              "branch_tips_holding": 0, "branch_tips_truncated": False, "first_seen": None, "last_seen": None,
              "removed_in": None, "still_present": False, "unreachable_blob": blob}
    return replace(lead, commit=None, history=record)


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
    for candidate in (root / path, Path(history.git(root, "rev-parse", "--git-path", f"modules/{path}"
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
        raise history.GitError("--range and --since cannot be combined")
    if config.range:
        base, dots, head = config.range.partition("..")
        if not dots or head.startswith("."):
            raise history.GitError(f"--range expects BASE..HEAD, got {config.range!r}")
        base_sha, head_sha = history.resolve(root, base or "HEAD"), history.resolve(root, head or "HEAD")
        return [head_sha], [base_sha], config.range
    tips = [r.commit for r in refs]
    if config.since:
        return tips, [history.resolve(root, config.since)], f"{config.since}.. (all audited refs)"
    return tips, [], None


def _salt(rules_digest: str, scan: ScanConfig) -> str:
    """What a cached blob result depends on besides the blob and its paths: the rules, this
    code (version and source files, so an edited checkout never reuses stale results) and the
    settings that change what a scan finds."""
    code = hashlib.sha256(__version__.encode())
    for source in sorted(Path(__file__).parent.rglob("*.py")):
        stat = source.stat()
        code.update(f"{source.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return "|".join((rules_digest, code.hexdigest(), str(scan.max_file_size), str(scan.use_detect_secrets),
                     str(scan.decode_depth)))


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
    first_seen: dict[str, float] = field(default_factory=dict)  # blob -> its first commit's time (epoch)


def _first_seen(index: history.HistoryIndex) -> dict[str, float]:
    """When each blob entered the history: the earliest committer date of the commits holding it.
    A signed URL in it is judged live or expired at that time (``signed_urls.as_of``)."""
    at = {c: datetime.datetime.fromisoformat(m.committer_date).timestamp() for c, m in index.commits.items()
          if m.committer_date}
    return {b: min(times) for b, pairs in index.blobs.items() if (times := [at[c] for _, c in pairs if c in at])}


_STATE: _BlobState | None = None
PARALLEL_MIN_BLOBS = 1000  # below this, forking costs more than it saves
_CHUNK = 128


def _scan_blobs(blobs: list[str], state: _BlobState, reader_hook, workers: int,
                progress: bool) -> dict[str, BlobResult]:
    """Every given blob once; spread over worker processes (each with its own cat-file) when many."""
    global _STATE
    _STATE = state
    bar = _Progress(len(blobs), progress)
    results: dict[str, BlobResult] = {}
    try:
        if workers > 1 and len(blobs) >= PARALLEL_MIN_BLOBS and reader_hook is None \
                and "fork" in multiprocessing.get_all_start_methods():
            chunks = [blobs[i:i + _CHUNK] for i in range(0, len(blobs), _CHUNK)]
            state.detector.warm_up()
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                     initializer=ignore_interrupts) as pool:
                for part in pool.map(_scan_chunk, chunks):
                    results.update(part)
                    bar.advance(part.values())
            return results
        reader = history.BlobReader(state.root, state.scan.max_file_size)
        if reader_hook is not None:
            reader_hook(reader)
        try:
            for blob, data in reader.read_many(blobs, {b: state.index.paths(b)[0] for b in blobs}):
                results[blob] = _scan_blob(blob, data, state)
                bar.advance([results[blob]])
        finally:
            reader.close()
        return results
    finally:
        _STATE = None
        bar.close()


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


_READER: history.BlobReader | None = None  # a worker's own cat-file process, kept across its chunks


def _scan_chunk(blobs: list[str]) -> dict[str, BlobResult]:
    """In a worker process: read this chunk's blobs in one pipelined batch and scan each."""
    global _READER
    if _READER is None:
        _READER = history.BlobReader(_STATE.root, _STATE.scan.max_file_size)
    paths = {b: _STATE.index.paths(b)[0] for b in blobs}
    return {blob: _scan_blob(blob, data, _STATE) for blob, data in _READER.read_many(blobs, paths)}


def _scan_blob(blob: str, content: Decoded | Oversize | Skipped, state: _BlobState) -> BlobResult:
    """Rules once on the bytes, then the path-dependent value checks once per path of the blob
    (text only: a binary or an oversize blob gets the rules alone), as of the blob's first commit."""
    with signed_urls.as_of(state.first_seen.get(blob)):
        return _scan_blob_now(blob, content, state)


def _scan_blob_now(blob: str, content: Decoded | Oversize | Skipped, state: _BlobState) -> BlobResult:
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


def _scan_oversize(blob: str, item: Oversize, state: _BlobState, result: BlobResult) -> Skipped | None:
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
    string literals could hold a secret at all (``literal_screen``: most versions of a model file
    are parsed for nothing otherwise).
    """
    if truss_dirs.is_config_name(path):
        hits, notes, _ = check_config(path, data, matches, detector)
    elif path.endswith(".py") and shipped:
        if not any_match and not may_hold_literal_secret(
                data, lambda text: bool(detector.matcher.scan(text.encode("utf-8", "replace"))),
                COMMAND_SECRETS if b"truss_chains" in data else ()):
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


def _branch_tips(holding: list[str], branches: list[str]) -> dict[str, bool]:
    """branch -> whether its tip still holds the secret: every branch when there are at most
    ``MAX_REFS``; otherwise the first ``MAX_REFS`` holding it (by name), then others, so a
    finding stays small however many branches the repository has (``branch_tips_holding`` counts
    them all)."""
    if len(branches) <= MAX_REFS:
        held = set(holding)
        return {name: name in held for name in branches}
    shown = dict.fromkeys(holding[:MAX_REFS], True)
    for name in branches:
        if len(shown) >= MAX_REFS:
            break
        shown.setdefault(name, False)
    return dict(sorted(shown.items()))


def _history_findings(root: Path, refs: list[history.Ref], index: history.HistoryIndex,
                      per_place: dict[tuple[str, str], dict[str, Finding]], unfetched: set[str]) -> list[Finding]:
    """One finding per (secret, path), pointing at the commit that introduced it, with its story.
    Tips in ``unfetched`` (a partial clone's commits without their trees) are never looked into:
    that would fetch."""
    if not per_place:
        return []
    head = next((r.commit for r in refs if r.name == "HEAD"), None) or \
        history.git(root, "rev-parse", "-q", "--verify", "HEAD^{commit}", ok=(0, 1)).decode().strip()
    branches = sorted((r.branch, r.commit) for r in refs if r.branch)
    leaked_paths = sorted({path for _, path in per_place if not path.startswith(history.DANGLING)})
    # (commit, path) -> blob at HEAD and at every branch tip, for the leaked paths only: one git process
    looked = [c for c in [*(c for _, c in branches), *([head] if head else [])] if c not in unfetched]
    at = history.blobs_at(root, looked, leaked_paths)
    introduced = {c for by_blob in per_place.values() for b in by_blob for _, c in index.blobs.get(b, ())}
    reach = history.refs_reaching(root, index, refs, introduced)
    out = []
    for (_, path), by_blob in per_place.items():
        blobs = set(by_blob)
        if path.startswith(history.DANGLING):
            out.append(_dangling(by_blob))
            continue
        places = sorted({c for b in blobs for p, c in index.blobs[b] if p == path},
                        key=lambda c: -index.commits[c].order)  # oldest first
        first = index.commits[places[0]]
        lead_blob = next(b for b in blobs if any(p == path and c == first.commit for p, c in index.blobs[b]))
        lead = by_blob[lead_blob]
        holding = [name for name, commit in branches if at.get((commit, path)) in blobs]
        at_head = bool(head) and at.get((head, path)) in blobs
        still = at_head or bool(holding)
        ref_names, ref_count = reach.refs(places, MAX_REFS)
        removals = [c for b in blobs for c, new in index.removals.get((path, b), ()) if new not in blobs]
        last = min(removals, key=lambda c: index.commits[c].order) if removals and not still else None
        occurrences = [{"commit": c, "path": path, "date": index.commits[c].committer_date} for c in places]
        record = {
            "introduced": first.meta(),
            "occurrence_count": len(occurrences),
            "occurrences": occurrences if len(occurrences) <= MAX_OCCURRENCES else [occurrences[0], occurrences[-1]],
            "occurrences_truncated": len(occurrences) > MAX_OCCURRENCES,
            "refs": ref_names,
            "refs_count": ref_count,
            "refs_truncated": ref_count > len(ref_names),
            "at_head": at_head,
            "branch_tips": _branch_tips(holding, [name for name, _ in branches]),
            "branch_tips_holding": len(holding),
            "branch_tips_truncated": len(branches) > MAX_REFS,
            "first_seen": first.committer_date,
            "last_seen": None if last is None else index.commits[last].committer_date,
            "removed_in": last,
            "still_present": still,
        }
        severity = max(f.severity for f in by_blob.values())
        out.append(replace(lead, commit=first.commit, severity=severity, history=record))
    return out
