"""``baseline create|update|import-detect-secrets`` and ``rotated``: write what a team acknowledged.

Plain functions returning an exit code, like ``commands``; the scan they baseline uses the
project's settings (``cli_settings``), never flags.
"""

from __future__ import annotations

from pathlib import Path

import click

from trussguard.cli_output import OutputError
from trussguard.cli_settings import by_config, load_project, merged_settings


def _who(who: str | None) -> str:
    import getpass
    import subprocess

    if who:
        return who
    name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True).stdout.strip()
    return name or getpass.getuser()


def baseline_file(path: Path, start: Path, project=None) -> Path:
    """Where these commands write: ``--baseline`` when given, else where scans look for it without one
    (``baseline.default_path``: the configuration's ``baseline`` key, else ``.trussguard-baseline.json``
    at the repository root, even when run from a subfolder). ``--baseline``'s default is that bare name,
    so the bare name means "not given"."""
    from trussguard.baseline import DEFAULT_NAME, default_path

    if path != Path(DEFAULT_NAME):
        return path
    setting = (project or load_project(start)).baseline
    return default_path(start, None if setting is False else setting, must_exist=False) or path


def run_baseline(action: str, target: Path, path: Path, reason: str, who: str | None, history: bool,
                 allow_shallow: bool = False) -> int:
    """``baseline create|update``: scan (or audit) TARGET with the project's settings, then write."""
    from trussguard import baseline
    from trussguard.config import ScanConfig

    project = load_project(target)
    path = baseline_file(path, target, project)
    _, size, rule_dirs, cache_dir = merged_settings(project, "low", None, (), False)
    try:
        known = baseline.load(path) if action == "update" else None
        if history:
            from trussguard.audit import AuditConfig, audit_history
            from trussguard.sources.history_git import GitError, NotARepository

            try:
                scan = ScanConfig(rule_dirs=rule_dirs, max_file_size=size, cache_dir=cache_dir)
                result = audit_history(AuditConfig(target, scan, allow_shallow=allow_shallow))
            except (NotARepository, GitError) as exc:
                raise OutputError(str(exc)) from None
        else:
            from trussguard.pipeline import scan_tree

            result = scan_tree(ScanConfig(paths=(target,), rule_dirs=rule_dirs, max_file_size=size,
                                          cache_dir=cache_dir))
        result = by_config(result, project, path)
        if known is None:
            written, dropped = baseline.create(result, reason, _who(who), path), []
        else:
            written, dropped = baseline.update(known, result, reason, _who(who))
        baseline.save(written)
    except baseline.BaselineError as exc:
        raise OutputError(str(exc)) from None
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    entries = sum(1 for e in written.entries if "fingerprint" in e)
    click.echo(f"{path}: {entries} finding(s) acknowledged" + (f", {len(dropped)} stale entr"
                                                              f"{'y' if len(dropped) == 1 else 'ies'} dropped"
                                                              if dropped else ""))
    return 0


def run_baseline_import(source: Path, path: Path, who: str | None) -> int:
    from trussguard import baseline

    path = baseline_file(path, Path("."))
    try:
        updated, added = baseline.import_detect_secrets(baseline.load(path), source, _who(who))
        baseline.save(updated)
    except baseline.BaselineError as exc:
        raise OutputError(str(exc)) from None
    click.echo(f"{path}: {added} detect-secrets entr{'y' if added == 1 else 'ies'} imported from {source}")
    return 0


def run_rotated(advisory: str, by: str, reference: str | None, at: str | None, path: Path) -> int:
    from trussguard import baseline

    path = baseline_file(path, Path("."))
    try:
        updated = baseline.record_rotation(baseline.load(path), advisory.strip(), by, reference, at)
        baseline.save(updated)
    except baseline.BaselineError as exc:
        raise OutputError(str(exc)) from None
    entry = updated.entries[-1]
    click.echo(f"{path}: {entry['advisory_id']} rotated on {entry['rotated_at']} by {by}; it stays reported "
               "(history keeps it) but no longer fails the build")
    return 0

