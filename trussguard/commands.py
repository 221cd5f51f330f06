"""What ``scan`` and ``audit`` do, as plain functions returning an exit code.

Kept apart from ``cli.py`` so the click layer stays declarative and these can be called
directly from tests, the demo and the GitHub Action (``scan_result``/``audit_result`` return the
result without printing). The other commands live in ``commands_rules`` and
``commands_baseline``; the settings and the output they share in ``cli_settings`` and
``cli_output``.
"""

from __future__ import annotations

import dataclasses
import datetime
import sys
from pathlib import Path

import click

from trussguard.cli_output import OutputError, emit, write_file
from trussguard.cli_settings import by_baseline, by_config, gated_settings, merged_settings, range_ends, redact_result
from trussguard.triage import exit_note, filters_from_options, for_command


def run_scan(paths: tuple[Path, ...], rule_dirs: tuple[Path, ...], fmt: str, output: Path | None,
             fail_on: str, max_file_size: str, show_secrets: bool, no_detect_secrets: bool, no_decode: bool,
             allow_unreadable: bool, jobs: int | None, no_cache: bool, advisories: Path | None = None,
             baseline: Path | None = None, staged: bool = False, config_file: Path | None = None,
             trusted_rev: str | None = None, allow_config_changes: bool = False, min_severity: str | None = None,
             only_rules: tuple[str, ...] = (), only_checks: tuple[str, ...] = (), commit_url: str | None = None,
             exit_zero: bool = False, verbose: bool = False, validate: bool = False) -> int:
    if staged and validate:  # the pre-commit hook never sends a secret anywhere
        raise click.UsageError("--validate cannot be used with --staged: the pre-commit hook never sends "
                               "secrets anywhere (validate with `trussguard scan --validate` or `audit --validate`)")
    filters = filters_from_options(min_severity, only_rules, only_checks, commit_url)
    result, config = scan_result(paths, rule_dirs, fail_on, max_file_size, show_secrets, no_detect_secrets, no_decode,
                                 allow_unreadable, jobs, no_cache, baseline, staged, config_file, trusted_rev,
                                 allow_config_changes, validate)
    shown, result = for_command(result, config, filters)  # result: what counts for the exit code
    emit(fmt, shown, output, advisories, verbose)
    return exit_code(result, config, "file(s) could not be read", "--allow-unreadable", shown, exit_zero)


def exit_code(result, config, what: str, flag: str, shown=None, exit_zero: bool = False) -> int:
    """The result's exit code, and on stderr the lines that say why when the findings do not (exit 2's
    line names a path and a detail, so it is masked). ``exit_zero`` (``--exit-zero``, gitleaks'
    ``--exit-code 0``): report only, 1 becomes 0 with a line saying so; 2 stays (fail closed: what
    could not be scanned is never reported as clean)."""
    from trussguard.redact import redact_text
    from trussguard.results import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS

    code = result.exit_code(config)
    for line in result.exit_reasons(code, what, flag):
        click.echo(redact_text(line) if code == EXIT_ERROR else line, err=True)
    note = exit_note(shown, config.fail_on) if shown is not None and code != EXIT_ERROR else None
    if note:
        click.echo(note, err=True)
    if exit_zero and code == EXIT_FINDINGS:
        click.echo("trussguard: --exit-zero: exit 0, report only (without it this run would exit 1)", err=True)
        return EXIT_CLEAN
    return code


def invoked_argv() -> list[str] | None:
    """The command line as click parsed it, options the user gave only (``main(argv)`` runs in-process
    in the Action and the tests, where ``sys.argv`` is not trussguard's); None outside click."""
    from click.core import ParameterSource

    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    out = ctx.command_path.split()
    for p in ctx.command.params:
        if ctx.get_parameter_source(p.name) != ParameterSource.COMMANDLINE:
            continue
        value = ctx.params[p.name]
        values = list(value) if isinstance(value, (tuple, list)) else [value]
        if isinstance(p, click.Argument):
            out += [str(v) for v in values]
        elif getattr(p, "is_flag", False):
            out.append(p.opts[0] if value or not p.secondary_opts else p.secondary_opts[0])
        else:
            for v in values:
                out += [p.opts[0], str(v)]
    return out


def gitleaks_settings(start: Path, trusted_rev: str | None, head_rev: str | None, allow: bool):
    """The ``.gitleaksignore`` / ``.gitleaks.toml`` suppressions to apply and their gate changes
    (``suppress.gitleaks.gate``); a file that cannot be read is exit 2, one line."""
    from trussguard.sources.history_git import GitError, NotARepository
    from trussguard.suppress.gitleaks import GitleaksError, gate

    try:
        return gate(start, trusted_rev, head_rev, allow)
    except (GitleaksError, GitError, NotARepository) as exc:
        raise OutputError(str(exc)) from None


def by_gitleaks(result, suppressions):
    from trussguard.suppress.gitleaks import apply

    return apply(result, suppressions)


def scan_result(paths: tuple[Path, ...] = (), rule_dirs: tuple[Path, ...] = (), fail_on: str | None = None,
                max_file_size: str | None = None, show_secrets: bool = False, no_detect_secrets: bool = False,
                no_decode: bool = False, allow_unreadable: bool = False, jobs: int | None = None,
                no_cache: bool = False, baseline: Path | None = None, staged: bool = False,
                config_file: Path | None = None, trusted_rev: str | None = None, allow_config_changes: bool = False,
                validate: bool = False):
    """``scan``'s post-processed result (configuration file and baseline applied; with ``validate``, each
    secret's validation attached) and the ``ScanConfig`` that decides its exit code; nothing is printed
    (the GitHub Action renders several reports from one run)."""
    from trussguard.config import ScanConfig

    start = paths[0] if paths else Path(".")
    baseline, unloadable = (baseline, None) if baseline is not None else default_baseline(start, config_file,
                                                                                           trusted_rev)
    project, known, changes = gated_settings(start, config_file, baseline, trusted_rev, None, allow_config_changes)
    gitleaks, gitleaks_changes = gitleaks_settings(start, trusted_rev, None, allow_config_changes)
    fail_on, size, rule_dirs, cache_dir = merged_settings(project, fail_on, max_file_size, rule_dirs, no_cache)
    if staged and validate:
        raise click.UsageError("--validate cannot be used with --staged: the pre-commit hook never sends secrets")
    settings = validation_settings(cache_dir) if validate else None  # a bad override file: exit 2 before scanning
    config = ScanConfig(
        paths=tuple(paths), rule_dirs=rule_dirs, fail_on=fail_on, max_file_size=size,
        show_secrets=show_secrets or validate,  # --validate: the values stay in memory until validated
        use_detect_secrets=not no_detect_secrets, decode_depth=0 if no_decode else 1,
        allow_unreadable=allow_unreadable, jobs=jobs, cache_dir=cache_dir,
    )
    try:
        if staged:
            result = _scan_staged(config, paths)
        else:
            from trussguard.pipeline import scan_tree  # here: the pre-commit path never needs it

            result = scan_tree(config)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    result = by_baseline(by_gitleaks(by_config(result, project, baseline), gitleaks), known, report_stale=not staged)
    result = validated(result, settings, rule_dirs, cache_dir, show_secrets)
    _say_baseline(result, known, start, unloadable)
    return redact_result(dataclasses.replace(result, gate_changes=(*changes, *gitleaks_changes))), config


def validation_settings(cache_dir: Path | None):
    """``--validate``'s settings from the environment; a bad ``TRUSSGUARD_VALIDATION_ENDPOINTS`` file is exit 2."""
    import os

    from trussguard.validation_step import ValidationSetupError, load_settings

    try:
        return load_settings(os.environ, cache_dir)
    except ValidationSetupError as exc:
        raise OutputError(f"--validate: {exc}") from None


def validated(result, settings, rule_dirs, cache_dir: Path | None, show_secrets: bool):
    """With ``settings`` (``--validate``): the result with each secret's validation attached and the secret
    values dropped again unless ``--show-secrets``; without, the result unchanged."""
    if settings is None:
        return result
    from trussguard.validation_step import rules_by_id, validate_result

    return validate_result(result, rules_by_id(rule_dirs, cache_dir), settings, keep_secrets=show_secrets)


def run_audit(repo: Path, ref_patterns: tuple[str, ...], include_unreachable: bool, since: str | None,
              rev_range: str | None, blob_cache: Path | None, no_cache: bool, recurse_submodules: bool,
              html_report: Path | None, evidence: Path | None, quiet: bool,
              rule_dirs: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str, max_file_size: str,
              show_secrets: bool, allow_unreadable: bool, jobs: int | None, advisories: Path | None = None,
              baseline: Path | None = None, config_file: Path | None = None, allow_shallow: bool = False,
              trusted_rev: str | None = None, allow_config_changes: bool = False, min_severity: str | None = None,
              only_rules: tuple[str, ...] = (), only_checks: tuple[str, ...] = (), commit_url: str | None = None,
              exit_zero: bool = False, verbose: bool = False, validate: bool = False) -> int:
    filters = filters_from_options(min_severity, only_rules, only_checks, commit_url)
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    if trusted_rev is None and rev_range is not None:  # a pull request's gate: its base decides the settings
        trusted_rev = range_ends(rev_range)[0]
    result, scan = audit_result(repo, ref_patterns, include_unreachable, since, rev_range, blob_cache, no_cache,
                                recurse_submodules, quiet, rule_dirs, fail_on, max_file_size, show_secrets,
                                allow_unreadable, jobs, baseline, config_file, allow_shallow, trusted_rev,
                                allow_config_changes, validate)
    shown, result = for_command(result, scan, filters)  # result: what counts for the exit code
    emit(fmt, shown, output, advisories, verbose)
    if html_report is not None:
        from trussguard.report.html import render_html

        write_file(html_report, render_html(shown), "HTML report")
    if evidence is not None:
        from trussguard.report.evidence import render_evidence
        from trussguard.sources.history_git import git

        remote = git(Path(result.target), "config", "--get", "remote.origin.url",
                     check=False).decode("utf-8", "replace").strip()
        write_file(evidence, render_evidence(result, started_at, remote or None, invoked_argv()), "evidence")
    if validate and trusted_rev is None:  # in a pull request's gate the baseline is the base's: never written
        from trussguard.commands_baseline import record_verified_rotations

        record_verified_rotations(result, baseline if baseline is not None
                                  else default_baseline(repo, config_file, None)[0])
    return exit_code(result, scan, "blob(s) missing or unreadable in the repository", "--allow-missing", shown,
                     exit_zero)


def audit_result(repo: Path = Path("."), ref_patterns: tuple[str, ...] = (), include_unreachable: bool = False,
                 since: str | None = None, rev_range: str | None = None, blob_cache: Path | None = None,
                 no_cache: bool = False, recurse_submodules: bool = False, quiet: bool = True,
                 rule_dirs: tuple[Path, ...] = (), fail_on: str | None = None, max_file_size: str | None = None,
                 show_secrets: bool = False, allow_unreadable: bool = False, jobs: int | None = None,
                 baseline: Path | None = None, config_file: Path | None = None, allow_shallow: bool = False,
                 trusted_rev: str | None = None, allow_config_changes: bool = False, validate: bool = False):
    """``audit``'s post-processed result and the ``ScanConfig`` that decides its exit code; nothing is printed.
    With ``trusted_rev``, settings come from that revision and the changes are measured up to the head of
    ``rev_range`` (else the working tree)."""
    from trussguard.audit import AuditConfig, audit_history
    from trussguard.config import ScanConfig
    from trussguard.sources.history_git import GitError, NotARepository

    head_rev = range_ends(rev_range)[1] if trusted_rev is not None and rev_range is not None else None
    baseline, unloadable = (baseline, None) if baseline is not None else default_baseline(repo, config_file,
                                                                                          trusted_rev)
    project, known, changes = gated_settings(repo, config_file, baseline, trusted_rev, head_rev, allow_config_changes)
    gitleaks, gitleaks_changes = gitleaks_settings(repo, trusted_rev, head_rev, allow_config_changes)
    fail_on, size, rule_dirs, cache_dir = merged_settings(project, fail_on, max_file_size, rule_dirs, no_cache)
    settings = validation_settings(cache_dir) if validate else None  # a bad override file: exit 2 before auditing
    scan = ScanConfig(rule_dirs=rule_dirs, fail_on=fail_on, max_file_size=size,
                      show_secrets=show_secrets or validate,  # --validate: the values stay in memory until validated
                      allow_unreadable=allow_unreadable, jobs=jobs, cache_dir=cache_dir)
    blobs = None if no_cache else blob_cache or (cache_dir / "audit" if cache_dir else None)
    config = AuditConfig(repo, scan, tuple(ref_patterns), include_unreachable, since, rev_range, blobs,
                         progress=not quiet and sys.stderr.isatty(), recurse_submodules=recurse_submodules,
                         allow_shallow=allow_shallow)
    try:
        result = audit_history(config)
    except (NotARepository, GitError) as exc:
        raise OutputError(str(exc)) from None  # exit 2, one line
    result = by_baseline(by_gitleaks(by_config(result, project, baseline), gitleaks), known)
    result = validated(result, settings, rule_dirs, cache_dir, show_secrets)
    _say_baseline(result, known, repo, unloadable)
    return redact_result(dataclasses.replace(result, gate_changes=(*changes, *gitleaks_changes))), scan


def default_baseline(start: Path, config_file: Path | None, trusted_rev: str | None) -> tuple[Path | None, str | None]:
    """(the baseline used without ``--baseline``, ``baseline.default_path``; why a file found there was
    not applied), as the configuration that governs the run says: the working tree's, or in a pull
    request's gate the trusted revision's (the default file is then read at that revision like an
    explicit one: the change being gated must not silence its own gate). A configuration or revision
    that does not load is left to ``gated_settings``, which reports it (exit 2). Unlike ``--baseline``'s,
    a default-found file that does not load is not applied (a note says so): it is scanned like any
    other file, and without its acknowledgements there is only more to report, never less."""
    from trussguard import baseline as bl
    from trussguard.cli_settings import load_project

    if trusted_rev is None:
        setting = load_project(start, config_file).baseline
        path = bl.default_path(start, setting)
        if path is None or setting not in (None, True):
            return path, None
        try:
            bl.load(path)
        except bl.BaselineError as exc:
            return None, f"{exc}; not applied"
        return path, None
    from trussguard.project_config import ConfigError, load_at_revision
    from trussguard.sources.history_git import GitError, NotARepository, repository_root, resolve

    try:
        root = repository_root(start if start.is_dir() else start.parent)
        setting = load_at_revision(root, resolve(root, trusted_rev), start, config_file).baseline
    except (ConfigError, GitError, NotARepository, OSError):
        return None, None
    return bl.default_path(start, setting, must_exist=False), None


def _say_baseline(result, known, start: Path, unloadable: str | None = None) -> None:
    """``baseline: .trussguard-baseline.json (3 entries)`` among the notes, whenever one applied."""
    from trussguard.baseline import NOTE_PREFIX, repository_folder

    if unloadable:
        result.stats.notes.append(unloadable)
    if known is None or (not known.entries and not known.path.exists()):
        return
    try:
        name = known.path.resolve().relative_to(repository_folder(start)).as_posix()
    except ValueError:
        name = str(known.path)
    n = len(known.entries)
    result.stats.notes.append(f"{NOTE_PREFIX}{name} ({n} entr{'y' if n == 1 else 'ies'})")


def _scan_staged(config, paths: tuple[Path, ...]):
    from trussguard.sources.history_git import GitError, NotARepository
    from trussguard.staged import scan_staged

    if len(paths) > 1:
        raise click.UsageError("--staged takes at most one path (a folder inside the repository)")
    try:
        return scan_staged(config, paths[0] if paths else Path("."))
    except (NotARepository, GitError) as exc:
        raise OutputError(str(exc)) from None

