"""What each CLI command does, as plain functions returning an exit code.

Kept apart from ``cli.py`` so the click layer stays declarative and these can be called
directly from tests and from the demo.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from trussguard.engine.loader import default_cache_dir, load_rules, parse_files, rule_files


def run_rules_list(rule_dirs: list[Path], fmt: str) -> int:
    ruleset = load_rules(rule_dirs, cache_dir=default_cache_dir())
    if fmt == "json":
        click.echo(json.dumps([_rule_summary(r) for r in ruleset.rules], indent=2))
        return 0
    width = max(len(r.id) for r in ruleset.rules)
    for r in sorted(ruleset.rules, key=lambda r: r.id):
        click.echo(f"{r.id:<{width}}  {str(r.severity):<8}  {r.name}")
    click.echo(f"{len(ruleset.rules)} rules")
    return 0


def _rule_summary(rule) -> dict:
    return {
        "id": rule.id, "name": rule.name, "provider": rule.provider, "severity": str(rule.severity),
        "description": rule.description, "keywords": list(rule.keywords), "detector": rule.detector,
        "truss_secret_name": rule.rotation.truss_secret_name if rule.rotation else None,
        "revoke_url": rule.rotation.revoke_url if rule.rotation else None,
        "references": list(rule.references), "source": rule.source,
    }


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
