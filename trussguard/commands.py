"""What each CLI command does, as plain functions returning an exit code.

Kept apart from ``cli.py`` so the click layer stays declarative and these can be called
directly from tests and from the demo.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import sys
from pathlib import Path

import click

from trussguard.engine.loader import default_cache_dir, load_rules, parse_files, rule_files


def run_rules_list(rule_dirs: list[Path], fmt: str) -> int:
    from trussguard.policy.registry import iter_checks

    ruleset = load_rules(rule_dirs, cache_dir=default_cache_dir())
    checks = iter_checks()
    if fmt == "json":
        click.echo(json.dumps([_rule_summary(r) for r in ruleset.rules] + [_check_summary(c) for c in checks],
                              indent=2))
        return 0
    width = max(len(r.id) for r in ruleset.rules)
    click.echo("Truss policy checks (trussguard explain CODE):")
    for c in checks:
        click.echo(f"{c.code:<{width}}  {str(c.severity):<8}  {c.kind:<6}  {c.name} ({c.spec})")
    click.echo("\nCredential rules:")
    for r in sorted(ruleset.rules, key=lambda r: r.id):
        click.echo(f"{r.id:<{width}}  {str(r.severity):<8}  leak    {r.name}")
    click.echo(f"{len(checks)} checks, {len(ruleset.rules)} rules")
    return 0


def _check_summary(check) -> dict:
    return {"id": check.code, "name": check.name, "type": "check", "severity": str(check.severity),
            "kind": check.kind, "scope": check.scope, "spec": check.spec, "summary": check.summary}


def _rule_summary(rule) -> dict:
    return {
        "id": rule.id, "name": rule.name, "type": "rule", "provider": rule.provider,
        "severity": str(rule.severity),
        "description": rule.description, "keywords": list(rule.keywords), "detector": rule.detector,
        "truss_secret_name": rule.rotation.truss_secret_name if rule.rotation else None,
        "revoke_url": rule.rotation.revoke_url if rule.rotation else None,
        "references": list(rule.references), "source": rule.source,
    }


def run_explain(code: str) -> int:
    """A check's explanation, or a credential rule's description and rotation steps."""
    from trussguard.policy.registry import get_check

    check = get_check(code)
    if check is not None:
        click.echo(f"{check.code} {check.name} ({check.severity}, {check.kind}; TRUSS_SECRETS.md {check.spec})\n")
        click.echo(check.explanation)
        return 0
    rule = load_rules(cache_dir=default_cache_dir()).by_id().get(code)
    if rule is None:
        raise click.UsageError(f"no check or rule named {code!r}; `trussguard rules list` shows them all")
    click.echo(f"{rule.id}: {rule.name} ({rule.severity})\n\n{rule.description}\n")
    if rule.rotation:
        click.echo(f"Rotate it: {rule.rotation.revoke_url}")
        for n, step in enumerate(rule.rotation.steps, start=1):
            click.echo(f"  {n}. {step}")
        click.echo(f"Baseten workspace secret: {rule.rotation.truss_secret_name}")
    click.echo("References: " + ", ".join(rule.references))
    return 0


def run_rules_check(dirs: list[Path], seed: int | None) -> int:
    from trussguard.engine.loader import RuleSet, builtin_rules_dir
    from trussguard.engine.selfcheck import check_rules

    files = rule_files(dirs or [builtin_rules_dir()])
    rules, problems = parse_files(files)
    if not problems:
        problems = check_rules(RuleSet(tuple(rules), "check"), seed=seed)
    for problem in problems:
        click.echo(f"{problem}", err=True)
    examples = sum(len(r.examples) + len(r.negative_examples) for r in rules)
    status = f"{len(problems)} problem(s)" if problems else "all examples behave"
    click.echo(f"{len(files)} file(s), {len(rules)} rule(s), {examples} example(s): {status}")
    return 1 if problems else 0


def run_scan(paths: tuple[Path, ...], rule_dirs: tuple[Path, ...], fmt: str, output: Path | None,
             fail_on: str, max_file_size: str, show_secrets: bool, no_detect_secrets: bool, no_decode: bool,
             allow_unreadable: bool, jobs: int | None, no_cache: bool, advisories: Path | None = None,
             baseline: Path | None = None, staged: bool = False, config_file: Path | None = None,
             trusted_rev: str | None = None, allow_config_changes: bool = False) -> int:
    result, config = scan_result(paths, rule_dirs, fail_on, max_file_size, show_secrets, no_detect_secrets, no_decode,
                                 allow_unreadable, jobs, no_cache, baseline, staged, config_file, trusted_rev,
                                 allow_config_changes)
    emit(fmt, result, output, advisories)
    return exit_code(result, config, "file(s) could not be read", "--allow-unreadable")


def exit_code(result, config, what: str, flag: str) -> int:
    """The result's exit code, and on stderr the lines that say why when the findings do not (exit 2's
    line names a path and a detail, so it is masked)."""
    from trussguard.redact import redact_text
    from trussguard.results import EXIT_ERROR

    code = result.exit_code(config)
    for line in result.exit_reasons(code, what, flag):
        click.echo(redact_text(line) if code == EXIT_ERROR else line, err=True)
    return code


def scan_result(paths: tuple[Path, ...] = (), rule_dirs: tuple[Path, ...] = (), fail_on: str | None = None,
                max_file_size: str | None = None, show_secrets: bool = False, no_detect_secrets: bool = False,
                no_decode: bool = False, allow_unreadable: bool = False, jobs: int | None = None,
                no_cache: bool = False, baseline: Path | None = None, staged: bool = False,
                config_file: Path | None = None, trusted_rev: str | None = None, allow_config_changes: bool = False):
    """``scan``'s post-processed result (configuration file and baseline applied) and the ``ScanConfig``
    that decides its exit code; nothing is printed (the GitHub Action renders several reports from one run)."""
    from trussguard.config import ScanConfig
    from trussguard.pipeline import scan_tree

    project, known, changes = gated_settings(paths[0] if paths else Path("."), config_file, baseline, trusted_rev,
                                             None, allow_config_changes)
    fail_on, size, rule_dirs, cache_dir = merged_settings(project, fail_on, max_file_size, rule_dirs, no_cache)
    config = ScanConfig(
        paths=tuple(paths), rule_dirs=rule_dirs, fail_on=fail_on, max_file_size=size,
        show_secrets=show_secrets, use_detect_secrets=not no_detect_secrets, decode_depth=0 if no_decode else 1,
        allow_unreadable=allow_unreadable, jobs=jobs, cache_dir=cache_dir,
    )
    try:
        if staged:
            result = _scan_staged(config, paths)
        else:
            result = scan_tree(config)
    except FileNotFoundError as exc:
        raise click.UsageError(str(exc)) from None
    result = by_baseline(by_config(result, project, baseline), known, report_stale=not staged)
    return redact_result(dataclasses.replace(result, gate_changes=changes)), config


def run_audit(repo: Path, ref_patterns: tuple[str, ...], include_unreachable: bool, since: str | None,
              rev_range: str | None, blob_cache: Path | None, no_cache: bool, recurse_submodules: bool,
              html_report: Path | None, evidence: Path | None, quiet: bool,
              rule_dirs: tuple[Path, ...], fmt: str, output: Path | None, fail_on: str, max_file_size: str,
              show_secrets: bool, allow_unreadable: bool, jobs: int | None, advisories: Path | None = None,
              baseline: Path | None = None, config_file: Path | None = None, allow_shallow: bool = False,
              trusted_rev: str | None = None, allow_config_changes: bool = False) -> int:
    started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    if trusted_rev is None and rev_range is not None:  # a pull request's gate: its base decides the settings
        trusted_rev = range_ends(rev_range)[0]
    result, scan = audit_result(repo, ref_patterns, include_unreachable, since, rev_range, blob_cache, no_cache,
                                recurse_submodules, quiet, rule_dirs, fail_on, max_file_size, show_secrets,
                                allow_unreadable, jobs, baseline, config_file, allow_shallow, trusted_rev,
                                allow_config_changes)
    emit(fmt, result, output, advisories)
    if html_report is not None:
        from trussguard.report.html import render_html

        _write(html_report, render_html(result), "HTML report")
    if evidence is not None:
        from trussguard.report.evidence import render_evidence
        from trussguard.sources.history import git

        remote = git(Path(result.target), "config", "--get", "remote.origin.url",
                     check=False).decode("utf-8", "replace").strip()
        _write(evidence, render_evidence(result, started_at, remote or None), "evidence")
    return exit_code(result, scan, "blob(s) missing or unreadable in the repository", "--allow-missing")


def audit_result(repo: Path = Path("."), ref_patterns: tuple[str, ...] = (), include_unreachable: bool = False,
                 since: str | None = None, rev_range: str | None = None, blob_cache: Path | None = None,
                 no_cache: bool = False, recurse_submodules: bool = False, quiet: bool = True,
                 rule_dirs: tuple[Path, ...] = (), fail_on: str | None = None, max_file_size: str | None = None,
                 show_secrets: bool = False, allow_unreadable: bool = False, jobs: int | None = None,
                 baseline: Path | None = None, config_file: Path | None = None, allow_shallow: bool = False,
                 trusted_rev: str | None = None, allow_config_changes: bool = False):
    """``audit``'s post-processed result and the ``ScanConfig`` that decides its exit code; nothing is printed.
    With ``trusted_rev``, settings come from that revision and the changes are measured up to the head of
    ``rev_range`` (else the working tree)."""
    from trussguard.audit import AuditConfig, audit_history
    from trussguard.config import ScanConfig
    from trussguard.sources.history import GitError, NotARepository

    head_rev = range_ends(rev_range)[1] if trusted_rev is not None and rev_range is not None else None
    project, known, changes = gated_settings(repo, config_file, baseline, trusted_rev, head_rev, allow_config_changes)
    fail_on, size, rule_dirs, cache_dir = merged_settings(project, fail_on, max_file_size, rule_dirs, no_cache)
    scan = ScanConfig(rule_dirs=rule_dirs, fail_on=fail_on, max_file_size=size,
                      show_secrets=show_secrets, allow_unreadable=allow_unreadable, jobs=jobs, cache_dir=cache_dir)
    blobs = None if no_cache else blob_cache or (cache_dir / "audit" if cache_dir else None)
    config = AuditConfig(repo, scan, tuple(ref_patterns), include_unreachable, since, rev_range, blobs,
                         progress=not quiet and sys.stderr.isatty(), recurse_submodules=recurse_submodules,
                         allow_shallow=allow_shallow)
    try:
        result = audit_history(config)
    except (NotARepository, GitError) as exc:
        raise OutputError(str(exc)) from None  # exit 2, one line
    result = by_baseline(by_config(result, project, baseline), known)
    return redact_result(dataclasses.replace(result, gate_changes=changes)), scan


def _scan_staged(config, paths: tuple[Path, ...]):
    from trussguard.sources.history import GitError, NotARepository
    from trussguard.staged import scan_staged

    if len(paths) > 1:
        raise click.UsageError("--staged takes at most one path (a folder inside the repository)")
    try:
        return scan_staged(config, paths[0] if paths else Path("."))
    except (NotARepository, GitError) as exc:
        raise OutputError(str(exc)) from None


def gated_settings(start: Path, config_file: Path | None, baseline: Path | None, trusted_rev: str | None,
                   head_rev: str | None, allow_config_changes: bool):
    """(configuration, baseline, gate changes). Without ``trusted_rev``: the working tree's files, no
    changes. With it: see ``gate_changes.resolve_gate`` (the trusted revision's files, read through git)."""
    if trusted_rev is None:
        return load_project(start, config_file), load_baseline(baseline), ()
    from trussguard.baseline import BaselineError
    from trussguard.gate_changes import resolve_gate
    from trussguard.project_config import ConfigError
    from trussguard.sources.history import GitError, NotARepository

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


def _who(who: str | None) -> str:
    import getpass
    import subprocess

    if who:
        return who
    name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True).stdout.strip()
    return name or getpass.getuser()


def run_baseline(action: str, target: Path, path: Path, reason: str, who: str | None, history: bool,
                 allow_shallow: bool = False) -> int:
    """``baseline create|update``: scan (or audit) TARGET with the project's settings, then write."""
    from trussguard import baseline
    from trussguard.config import ScanConfig

    project = load_project(target)
    _, size, rule_dirs, cache_dir = merged_settings(project, "low", None, (), False)
    try:
        known = baseline.load(path) if action == "update" else None
        if history:
            from trussguard.audit import AuditConfig, audit_history
            from trussguard.sources.history import GitError, NotARepository

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

    try:
        updated, added = baseline.import_detect_secrets(baseline.load(path), source, _who(who))
        baseline.save(updated)
    except baseline.BaselineError as exc:
        raise OutputError(str(exc)) from None
    click.echo(f"{path}: {added} detect-secrets entr{'y' if added == 1 else 'ies'} imported from {source}")
    return 0


def run_rotated(advisory: str, by: str, reference: str | None, at: str | None, path: Path) -> int:
    from trussguard import baseline

    try:
        updated = baseline.record_rotation(baseline.load(path), advisory.strip(), by, reference, at)
        baseline.save(updated)
    except baseline.BaselineError as exc:
        raise OutputError(str(exc)) from None
    entry = updated.entries[-1]
    click.echo(f"{path}: {entry['advisory_id']} rotated on {entry['rotated_at']} by {by}; it stays reported "
               "(history keeps it) but no longer fails the build")
    return 0


def emit(fmt: str, result, output: Path | None, advisories: Path | None = None) -> None:
    """Writes the report to ``output`` (atomically) or stdout, colour only on a terminal; and the
    Markdown advisories to ``advisories`` when asked."""
    import os

    from trussguard.report import render
    from trussguard.workers import check_signalled

    check_signalled()  # interrupted, even if something swallowed the exception: no report at all
    if advisories is not None:
        from trussguard.report.markdown import render_advisories

        _write(advisories, render_advisories(result), "advisories")
    if output is None:
        color = fmt == "text" and sys.stdout.isatty() and not os.environ.get("NO_COLOR")
        click.echo(render(fmt, result, color=color), nl=False)
        return
    _write(output, render(fmt, result), "report")


def _write(path: Path, text: str, what: str) -> None:
    """Atomically: a reader never sees half a report (nor one of an interrupted run)."""
    import os

    from trussguard.workers import check_signalled

    check_signalled()

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, "utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the folder may not exist at all
            tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {what} to {path}: {exc.strerror or exc}") from None


class OutputError(click.ClickException):
    exit_code = 2
