"""Suppression by the project's own decisions: the configuration file and the baseline.

Runs after the pipeline, on its findings: what the team excluded (paths), turned off (rules) or
allowed (exact placeholder values, compared by hash: findings never keep the value) is dropped;
what the baseline acknowledges is hidden, and the baseline entries nothing matched any more are
returned as stale. Every finding dropped here is listed in ``result.suppressed`` with the key
or file that hid it, so every report shows it to a reviewer. Advisories follow their findings
(an advisory whose every finding is hidden goes too). Rotation acknowledgements mark advisories instead of hiding anything.
"""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from trussguard.advise import mark_rotated
from trussguard.baseline import DEFAULT_NAME, Baseline, apply, hash_values
from trussguard.results import ScanResult
from trussguard.project_config import ProjectConfig
from trussguard.types import Suppressed


# Files of hashes, never values (trussguard's and detect-secrets' baselines): their SHA-256/SHA-1
# fields under "secret" names look like generic secrets, and detect-secrets skips its own too. Only
# these names at the scan root (and the ``--baseline`` file) are baselines, and only the hashes they
# hold where the format expects hashes are not reported, while the file parses as that baseline: a
# token in a ``reason``, a file that fails to parse, or one with the same name in a subfolder is
# scanned like any other file. Name at the scan root -> whether it is detect-secrets' format.
BASELINE_NAMES = {DEFAULT_NAME: False, ".secrets.baseline": True}


def by_config(result: ScanResult, config: ProjectConfig, baseline_path: Path | None = None) -> ScanResult:
    hashes = _baseline_hashes(result, baseline_path)
    result = _keep(result, [f for f in result.findings if f.id not in hashes])
    if config.path is None:
        return result
    base = config.path.parent
    root = Path(result.target)
    allowed = config.allowed_hashes()

    def hidden_by(f) -> str | None:
        """The configuration key that hides ``f`` (with the file's name, for the listing), or None."""
        rel = _relative(root / f.path, base)
        if rel is not None and config.excluded(rel):
            key = "exclude"
        elif not config.rule_enabled(f.rule_id):
            key = "disable" if _disabled(config, f.rule_id) else "enable"
        elif f.secret_sha256 in allowed:
            key = "allow-values"
        else:
            return None
        return f"{config.path.name}: {key}"
    return _hide(result, hidden_by, "config")


def by_baseline(result: ScanResult, baseline: Baseline | None, report_stale: bool = True) -> ScanResult:
    if baseline is None:
        return result
    visible, stale = apply(baseline, result)
    shown = {id(f) for f in visible}
    result = _hide(result, lambda f: None if id(f) in shown else baseline.path.name, "baseline")
    if stale and report_stale:
        result.stats.notes.append(f"baseline {baseline.path}: {len(stale)} stale entr{'y' if len(stale) == 1 else 'ies'} "
                                  "(no longer found; `trussguard baseline update` drops them): "
                                  + ", ".join(e.get("fingerprint") or e.get("detect_secrets", {}).get("filename", "?")
                                              for e in stale[:10]))
    advisories = mark_rotated(result.advisories, baseline.rotations())
    return dataclasses.replace(result, advisories=advisories,
                               rotated=frozenset(a.id for a in advisories if a.rotation))


def _hide(result: ScanResult, hidden_by, kind: str) -> ScanResult:
    """Drops the findings ``hidden_by`` names a reason for, and lists each in ``result.suppressed``
    (a reviewer sees every suppression in every report; the count follows the list)."""
    kept, listed = [], list(result.suppressed)
    for f in result.findings:
        by = hidden_by(f)
        if by is None:
            kept.append(f)
        else:
            listed.append(Suppressed.of(f, kind, by))
    result = _keep(result, kept)
    result.stats.suppressed = len(listed)
    return dataclasses.replace(result, suppressed=listed)


def _disabled(config: ProjectConfig, rule_id: str) -> bool:
    return bool(config.disable) and not dataclasses.replace(config, enable=()).rule_enabled(rule_id)


def _keep(result: ScanResult, findings: list) -> ScanResult:
    ids = {f.id for f in findings}
    advisories = [dataclasses.replace(a, finding_ids=tuple(i for i in a.finding_ids if i in ids))
                  for a in result.advisories if any(i in ids for i in a.finding_ids)]
    return dataclasses.replace(result, findings=findings, advisories=advisories)


def _baseline_hashes(result: ScanResult, baseline_path: Path | None) -> set[str]:
    """The ids of the findings that are one of the hashes of the baseline file they are in (see
    ``BASELINE_NAMES``). The file is read as the scan saw it: the blob of the finding's commit in a
    history audit, the index in a staged scan, else the file on disk."""
    root = Path(result.target)
    kinds = dict(BASELINE_NAMES)
    if baseline_path is not None and (rel := _relative(Path(baseline_path), root)):
        kinds.setdefault(rel, False)
    hashes: dict[tuple[str | None, str], set[str]] = {}
    exempt = set()
    for f in result.findings:
        if f.path not in kinds or f.secret_sha256 is None:
            continue
        if (f.commit, f.path) not in hashes:
            data = _content(result, f)
            values = None if data is None else hash_values(data, detect_secrets=kinds[f.path])
            hashes[f.commit, f.path] = {hashlib.sha256(v.encode()).hexdigest() for v in values or ()}
        if f.secret_sha256 in hashes[f.commit, f.path]:
            exempt.add(f.id)
    return exempt


def _content(result: ScanResult, finding) -> bytes | None:
    from trussguard.sources.at_revision import read_file, relative
    from trussguard.sources.history_git import GitError, NotARepository, repository_root

    root = Path(result.target)
    try:
        if finding.commit:
            return read_file(root, finding.commit, finding.path)
        if result.mode == "staged":
            top = repository_root(root)
            rel = relative(top, root / finding.path)
            return None if rel is None else read_file(top, "", rel)
        return (root / finding.path).read_bytes()
    except (OSError, GitError, NotARepository):
        return None


def _relative(path: Path, base: Path) -> str | None:
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return None
