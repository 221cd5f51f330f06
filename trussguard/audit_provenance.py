"""A leak's story in the history: where it came in, which refs reach it, whether it is still there.

One finding per (secret, path): the commit that introduced it (the oldest holding it at that
path), its occurrences, the refs reaching those commits, whether HEAD and each branch tip still
hold it (``at_head``, ``branch_tips``) and where it was removed. Where it still is is asked
per distinct tree of the tips, not per tip, and the answers are kept (``TreePaths``): a tree
never changes, so a re-audit asks git nothing it asked before.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from trussguard.config import ScanConfig
from trussguard.engine.detector import Detector
from trussguard.name_findings import name_findings
from trussguard.sources import history, history_git
from trussguard.sources.history_places import TreePaths, blobs_at, refs_reaching, tip_trees
from trussguard.types import Finding

MAX_OCCURRENCES = 20
MAX_REFS = 50  # refs and branch tips named per finding; the counts are always whole


def name_places(index: history.HistoryIndex, ruleset, scan: ScanConfig, rules: dict,
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


def history_findings(root: Path, refs: list[history.Ref], index: history.HistoryIndex,
                     per_place: dict[tuple[str, str], dict[str, Finding]], unfetched: set[str],
                     known: TreePaths | None = None) -> list[Finding]:
    """One finding per (secret, path), pointing at the commit that introduced it, with its story.
    Tips in ``unfetched`` (a partial clone's commits without their trees) are never looked into:
    that would fetch."""
    if not per_place:
        return []
    head = next((r.commit for r in refs if r.name == "HEAD"), None) or \
        history_git.git(root, "rev-parse", "-q", "--verify", "HEAD^{commit}", ok=(0, 1)).decode().strip()
    branches = sorted((r.branch, r.commit) for r in refs if r.branch)
    leaked_paths = sorted({path for _, path in per_place if not path.startswith(history.DANGLING)})
    # (commit, path) -> blob at HEAD and at every branch tip, for the leaked paths only: one git process
    looked = [c for c in [*(c for _, c in branches), *([head] if head else [])] if c not in unfetched]
    at = blobs_at(root, tip_trees(root, looked, index), leaked_paths, known)
    introduced = {c for by_blob in per_place.values() for b in by_blob for _, c in index.blobs.get(b, ())}
    reach = refs_reaching(root, index, refs, introduced)
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
