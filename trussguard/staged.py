"""``scan --staged``: the pre-commit pipeline. Index versions of the staged files, each a ``Unit``
through ``scan_unit`` (rules -> inline suppression, as in the tree scan) -> findings -> Truss
policy (with each touched Truss's other files, as they are in the index) -> advisories. Only
staged files are reported: the hook judges the change. A commit is a few files: no workers.

A secret no commit holds yet (``sources.staged.committed_values``) gets the advice that fits the
moment: remove it before committing, rotate it if it was ever shared; no history purge (advise.py).
"""

from __future__ import annotations

import dataclasses
import posixpath
import time
from pathlib import Path

from trussguard.advise import before_commit_fix, build_advisories
from trussguard.config import ScanConfig
from trussguard.engine.chunked import oversize_note
from trussguard.engine.detector import Detector
from trussguard.engine.loader import load_rules
from trussguard.findings import cap_findings, describe_rules, from_policy, merge_policy, to_finding
from trussguard.name_findings import name_findings
from trussguard.policy import truss_dirs
from trussguard.policy.registry import iter_checks
from trussguard.policy.runner import run_policy
from trussguard.results import ScanResult, ScanStats
from trussguard.scan_unit import Unit, UnitContext, scan_unit
from trussguard.sources.staged import IndexListing, IndexReader, committed_values, list_staged, needle
from trussguard.sources.truss_files import truss_files
from trussguard.suppress.markers import inline_records, split_hits
from trussguard.types import secret_sha256


def scan_staged(config: ScanConfig, start: Path) -> ScanResult:
    started = time.monotonic()
    listing = list_staged(start)
    ruleset = load_rules(list(config.rule_dirs), cache_dir=config.cache_dir)
    detector = Detector(ruleset, config.cache_dir, config.use_detect_secrets, config.decode_depth)
    rules, checks = ruleset.by_id(), {c.code: c for c in iter_checks()}
    selected = truss_files(sorted(listing.index))
    reader = IndexReader(listing, config.max_file_size)
    stats = ScanStats(rules=len(ruleset.rules), checks=len(checks), notes=list(ruleset.notes))
    ctx = UnitContext(detector, selected, config.max_file_size)
    matches, chains, hidden, needles = {}, [], [], {}
    for path, content in sorted(reader.read_many(sorted(listing.staged)).items()):
        unit = scan_unit(Unit((path,), content, listing.staged[path]), ctx)
        if unit.skipped is not None:
            stats.skipped.append(unit.skipped)
            continue
        stats.files_scanned += 1
        stats.bytes_scanned += unit.bytes
        if unit.oversize:
            stats.notes.append(oversize_note(path))
        stats.notes += unit.notes
        if unit.chains:
            chains.append(path)
        hidden += [(to_finding(m, rules[m.rule_id], path), marker) for m, marker in unit.hidden]
        if unit.matches:
            matches[path] = unit.matches
            _add_needles(needles, unit.matches, content)
    findings = [to_finding(m, rules[m.rule_id], path, keep_secret=config.show_secrets)
                for path, found in matches.items() for m in found]
    wanted = _policy_paths(listing)
    reader.read_many([p for p in wanted if p.endswith((".py", ".sh", ".yaml", ".txt", ".ipynb"))])  # one batch
    policy = run_policy(wanted, reader.read, matches, detector, frozenset(chains),
                        marked=frozenset(f.path for f, _ in hidden))
    hits, dropped_hits = split_hits([h for h in policy.hits if h.path in listing.staged], reader.read)
    for h in hits:
        if h.secret is not None:
            needles.setdefault(secret_sha256(h.secret), set()).add(needle(h.secret))
    hidden += [(from_policy(h, checks[h.code]), marker) for h, marker in dropped_hits]
    stats.notes += [n for n in policy.notes if n.split(":", 1)[0] in listing.staged]
    stats.trusses = len(policy.trusses)
    findings = merge_policy(findings, hits, checks, keep_secret=config.show_secrets)
    findings += name_findings(sorted(listing.staged), detector, rules, findings, config.show_secrets)
    findings.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule_id))
    findings = cap_findings(findings)
    findings, uncommitted = _never_committed(listing.root, findings, needles)
    suppressed = inline_records(hidden)
    stats.suppressed = len(suppressed)
    stats.duration_seconds = time.monotonic() - started
    return ScanResult("staged", str(listing.root), findings, build_advisories(findings, rules, uncommitted), stats,
                      catalogue=describe_rules(findings + [f for f, _ in hidden], rules), suppressed=suppressed)


def _add_needles(needles: dict[str, set[bytes]], found, content) -> None:
    """The text each secret is written as in the staged file: the value, and for a value decoded from
    base64 or escapes, the encoded span as the file has it."""
    text = getattr(content, "text", None)
    for m in found:
        values = needles.setdefault(secret_sha256(m.secret), set())
        values.add(needle(m.secret))
        if m.decoded and isinstance(text, bytes) and 0 <= m.start < m.end <= len(text):
            values.add(needle(text[m.start:m.end].decode("utf-8", "replace")))


def _never_committed(root: Path, findings: list, needles: dict[str, set[bytes]]) -> tuple[list, frozenset[str]]:
    """(the findings, with the history clause taken out of the fixes of secrets no commit holds; those
    secrets' SHA-256s). A secret whose text is not known here (say, one in a file's name) counts as
    committed: the full advice is the safe side."""
    staged_only = {f.secret_sha256 for f in findings if f.secret_sha256 in needles}
    if not staged_only:
        return findings, frozenset()
    uncommitted = frozenset(staged_only - committed_values(root, {d: needles[d] for d in staged_only}))
    return [dataclasses.replace(f, fix=before_commit_fix(f.fix)) if f.secret_sha256 in uncommitted and f.fix else f
            for f in findings], uncommitted


def _policy_paths(listing: IndexListing) -> list[str]:
    """The staged files and the other files of each Truss folder a staged file is in (the policy
    needs a model's config, and a config's model code, even when only one is staged); untouched
    Trusses are left out, so a commit costs the same in a monorepo of 4 or 400 models."""
    folders = {posixpath.dirname(p) for p in listing.index if truss_dirs.is_config_name(p)}
    touched = {d for d in folders if any(d == "" or s.startswith(d + "/") for s in listing.staged)}
    return sorted(p for p in listing.index
                  if p in listing.staged or any(d == "" or p.startswith(d + "/") for d in touched))
