"""``rules list``, ``rules check`` and ``explain``: what the scanner knows, and whether its rules
behave. Plain functions returning an exit code, like ``commands``.
"""

from __future__ import annotations

import json
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
    click.echo("\nCredential rules (validator: the provider asked by --validate, or -):")
    vwidth = max([len("validator")] + [len(r.validator.provider) for r in ruleset.rules if r.validator])
    for r in sorted(ruleset.rules, key=lambda r: r.id):
        validator = r.validator.provider if r.validator else "-"
        click.echo(f"{r.id:<{width}}  {str(r.severity):<8}  leak    {validator:<{vwidth}}  {r.name}")
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
        "validator": rule.validator.provider if rule.validator else None,
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

