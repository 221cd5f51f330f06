"""The settings a command runs with, and the steps every command applies to a scan's result.

Flags over the configuration file over the defaults; in a pull request's gate, the trusted
revision's configuration and baseline (``gate_changes``); then the configuration file's and the
baseline's suppressions and the redaction of every note. Shared by ``commands`` (scan, audit)
and ``commands_baseline``; failures are one-line click errors (exit 2).
"""

from __future__ import annotations

from pathlib import Path

import click

from trussguard.cli_output import OutputError
from trussguard.engine.loader import default_cache_dir


def gated_settings(start: Path, config_file: Path | None, baseline: Path | None, trusted_rev: str | None,
                   head_rev: str | None, allow_config_changes: bool):
    """(configuration, baseline, gate changes). Without ``trusted_rev``: the working tree's files, no
    changes. With it: see ``gate_changes.resolve_gate`` (the trusted revision's files, read through git)."""
    if trusted_rev is None:
        return load_project(start, config_file), load_baseline(baseline), ()
    from trussguard.baseline import BaselineError
    from trussguard.gate_changes import resolve_gate
    from trussguard.project_config import ConfigError
    from trussguard.sources.history_git import GitError, NotARepository

    try:
        gate = resolve_gate(start, config_file, baseline, trusted_rev, head_rev, allow_config_changes)
    except NotARepository as exc:
        raise OutputError(f"--trusted-rev needs a git repository: {exc}") from None
    except (ConfigError, BaselineError, GitError) as exc:
        raise OutputError(str(exc)) from None
    return gate.project, gate.baseline, gate.changes


def range_ends(rev_range: str) -> tuple[str, str]:
    """(BASE, HEAD) of ``--range BASE..HEAD`` (an empty side is HEAD)."""
    base, dots, head = rev_range.partition("..")
    if not dots or head.startswith("."):
        raise OutputError(f"--range expects BASE..HEAD, got {rev_range!r}")
    return base or "HEAD", head or "HEAD"


def load_project(start: Path, explicit: Path | None = None):
    """The settings of ``explicit`` (``--config FILE``) if given, else of the nearest configuration file
    (``.trussguard.toml`` or ``[tool.trussguard]``)."""
    from trussguard.project_config import ConfigError, load_config, load_nearest

    try:
        if explicit is not None:
            return load_config(explicit)
        return load_nearest(start if start.exists() else Path("."))
    except ConfigError as exc:
        raise OutputError(str(exc)) from None


def merged_settings(project, fail_on: str | None, max_file_size: str | None, rule_dirs: tuple[Path, ...],
                    no_cache: bool):
    """Flags over the configuration file over the defaults: (fail-on, size, rule dirs, cache dir)."""
    from trussguard.config import parse_size
    from trussguard.types import Severity

    try:
        given = max_file_size if max_file_size is not None else project.max_file_size
        size = parse_size(str(given if given is not None else "10MiB"))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    cache_dir = None if no_cache else (project.cache_dir or default_cache_dir())
    return (Severity.parse(fail_on if fail_on is not None else project.fail_on or "high"), size, tuple(rule_dirs) + tuple(project.rules),
            cache_dir)


def load_baseline(path: Path | None):
    """The baseline, read before scanning so a broken file fails fast; None without ``--baseline``."""
    if path is None:
        return None
    from trussguard import baseline

    try:
        return baseline.load(path)
    except baseline.BaselineError as exc:
        raise OutputError(str(exc)) from None


def redact_result(result):
    """Every note and skipped-file detail masked (trussguard.redact): the one point all reports,
    the exit-2 line and the Action's notices read them from."""
    from trussguard.redact import redact_result as apply_redaction

    return apply_redaction(result)


def by_config(result, project, baseline: Path | None = None):
    from trussguard.suppress.project import by_config as apply_config

    return apply_config(result, project, baseline)


def by_baseline(result, known, report_stale: bool = True):
    from trussguard.suppress.project import by_baseline as apply_baseline

    return apply_baseline(result, known, report_stale)

