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


def record_verified_rotations(result, baseline_path: Path | None) -> int:
    """``audit --validate`` on a baseline with rotated entries: each rotated secret the provider now
    rejects gets "verified revoked at <time> (HTTP 401 from <host>)" recorded in its baseline entry, as
    ``rotated --verify`` records it; the number of entries updated."""
    from trussguard import baseline as bl

    if baseline_path is None or not Path(baseline_path).is_file():
        return 0
    proofs = {a.id: a.validation for a in result.advisories if a.rotation and a.validation}
    if not proofs:
        return 0
    try:
        updated, changed = bl.record_verifications(bl.load(Path(baseline_path)), proofs)
        if changed:
            bl.save(updated)
    except (bl.BaselineError, OSError) as exc:
        raise OutputError(f"{baseline_path}: could not record the verified rotations: {exc}") from None
    for advisory in changed:
        v = proofs[advisory]
        click.echo(f"trussguard: {advisory}: verified revoked at {v['checked_at']} ({v['detail']} from {v['host']}); "
                   f"recorded in {Path(baseline_path).name}", err=True)
    return len(changed)


def run_rotated(advisory: str, by: str | None, reference: str | None, at: str | None, path: Path,
                verify: bool = False, repo: Path = Path("."), engine=None) -> int:
    """``rotated``: record the claim; with ``verify``, first ask the provider (``verify_rotation``)."""
    from trussguard import baseline

    if by is None and not verify:
        raise click.UsageError("--by is required (who rotated it), unless --verify proves the rotation")
    path = baseline_file(path, repo if verify else Path("."))
    try:
        known = baseline.load(path)
        advisory = advisory.strip()
        proof = None
        if verify:
            verdict = verify_rotation(advisory, repo, engine)
            if verdict.outcome == "live":
                click.echo(f"{advisory}: still live: rotate it first ({verdict.describe()}); nothing recorded",
                           err=True)
                return 1
            proof = verdict.validation if verdict.outcome == "revoked" else None
            earlier = known.rotations().get(_advisory_id(advisory), {})
            by = by or earlier.get("rotated_by") or _who(None)
            reference = reference or earlier.get("reference")
            at = at or earlier.get("rotated_at")
        updated = baseline.record_rotation(known, advisory, by, reference, at, verification=proof)
        baseline.save(updated)
    except baseline.BaselineError as exc:
        raise OutputError(str(exc)) from None
    entry = updated.entries[-1]
    click.echo(f"{path}: {entry['advisory_id']} rotated on {entry['rotated_at']} by {by}; it stays reported "
               "(history keeps it) but no longer fails the build")
    if verify:
        click.echo(f"{entry['advisory_id']}: verified revoked at {proof['checked_at']} ({proof['detail']} from "
                   f"{proof['host']})" if proof else f"{entry['advisory_id']}: recorded as claimed, not verified "
                   f"({verdict.describe()})")
    return 0


def _advisory_id(advisory: str) -> str:
    return advisory if advisory.startswith("adv-") else f"adv-{advisory[:16]}"


class Verdict:
    """What ``rotated --verify`` learnt: ``outcome`` live / revoked / unknown, or ``none`` when nothing
    could be asked (no validator for the rule); ``validation`` the provider's answer (never the secret)."""

    def __init__(self, outcome: str, validation: dict | None = None, reason: str = ""):
        self.outcome, self.validation, self.reason = outcome, validation, reason

    def describe(self) -> str:
        if self.validation:
            v = self.validation
            return f"{v.get('outcome')}: {v.get('detail')} from {v.get('host')} at {v.get('checked_at')}"
        return self.reason


def verify_rotation(advisory: str, repo: Path, engine=None) -> Verdict:
    """Find the secret of ``advisory`` by auditing ``repo``'s history (its working tree when it is not a
    git repository) with the values kept in memory, then validate it (``validation_step``). The value is
    never printed or stored; only the provider's answer is. ``engine``: ``(validate, Candidate)``, by default
    ``trussguard.validate``'s (tests pass their own)."""
    import dataclasses
    import os

    from trussguard.validation_step import ValidationSetupError, load_settings, rules_by_id, validate_result

    project = load_project(repo)
    _, size, rule_dirs, cache_dir = merged_settings(project, "low", None, (), False)
    try:  # a fresh answer, never the cache's: the rotation may have happened a minute ago
        settings = dataclasses.replace(load_settings(os.environ, cache_dir), max_age_seconds=0)
    except ValidationSetupError as exc:
        raise OutputError(f"--verify: {exc}") from None
    result = _result_with_secrets(repo, rule_dirs, size, cache_dir)
    wanted = _advisory_id(advisory)
    mine = [f for f in result.findings if f.advisory_id == wanted or (f.secret_sha256 or "").startswith(advisory)]
    if not mine:
        raise OutputError(f"--verify: {wanted} was not found in {repo} (give the repository that holds it "
                          "with --path)")
    rules = rules_by_id(rule_dirs, cache_dir)
    rule_id = mine[0].rule_id
    if getattr(rules.get(rule_id), "validator", None) is None:
        return Verdict("none", reason=f"no validator for {rule_id}")
    same_files = {(f.path, f.commit) for f in mine}
    scope = [f for f in result.findings if f in mine or (f.path, f.commit) in same_files]  # companions
    validate, make = engine or (None, None)
    checked = validate_result(_only(result, scope), rules, settings, keep_secrets=False, validate=validate, make=make)
    answer = next((f.validation for f in checked.findings if f.advisory_id == wanted and f.validation), None)
    if answer is None:
        return Verdict("unknown", reason="the provider gave no answer")
    return Verdict(answer.get("outcome", "unknown"), answer)


def _only(result, findings):
    import dataclasses

    return dataclasses.replace(result, findings=findings, advisories=[])


def _result_with_secrets(repo: Path, rule_dirs, size, cache_dir):
    from trussguard.audit import AuditConfig, audit_history
    from trussguard.config import ScanConfig
    from trussguard.sources.history_git import GitError, NotARepository

    scan = ScanConfig(rule_dirs=rule_dirs, max_file_size=size, cache_dir=cache_dir, show_secrets=True)
    try:
        return audit_history(AuditConfig(repo, scan))
    except NotARepository:
        from trussguard.pipeline import scan_tree

        try:
            return scan_tree(ScanConfig(paths=(repo,), rule_dirs=rule_dirs, max_file_size=size, cache_dir=cache_dir,
                                        show_secrets=True))
        except FileNotFoundError as exc:
            raise click.UsageError(str(exc)) from None
    except GitError as exc:
        raise OutputError(str(exc)) from None
