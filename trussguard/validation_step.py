"""``--validate``: ask each provider whether the secrets found still work, then forget the values.

Why a step of its own, after suppression and before reporting: the scan already holds every
secret it found (``ScanConfig.show_secrets`` keeps ``Finding.secret``, which ``--validate`` turns
on internally), so no file is read twice; validation sees only what the reports will show
(baselined findings are gone, rotated ones are still there and are validated: that is how a
rotation is verified); and the values are dropped again here, before any reporter runs, unless
``--show-secrets`` asked for them. The network itself lives in ``trussguard.validate`` (one
request per distinct secret whose rule has a validator); this module only picks the candidates
and attaches the answers (``Finding.validation``, ``Advisory.validation``, by secret hash).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from trussguard.types import Finding

ValidateFn = Callable[[list, Any], Mapping[str, Any]]


class ValidationSetupError(Exception):
    """``TRUSSGUARD_VALIDATION_ENDPOINTS`` names a file that cannot be used (exit 2, one line)."""


def load_settings(environ: Mapping[str, str], cache_dir: Path | None):
    """``ValidationSettings`` from the environment (the endpoint override file); its cache beside the
    scan caches (``cache_dir/validation``), none with ``--no-cache``. A bad override file is a
    ``ValidationSetupError`` whose message never quotes the file's content."""
    from trussguard.validate import ValidationError, ValidationSettings

    try:
        return ValidationSettings.from_environment(environ, cache_dir / "validation" if cache_dir else None)
    except ValidationError as exc:
        raise ValidationSetupError(str(exc)) from None


def candidates(findings: Iterable[Finding], rules: Mapping[str, Any], make: Callable[..., Any]) -> list:
    """One candidate per distinct secret whose rule has a validator, with the other secrets of the
    files it was found in as companions by rule id (an AWS secret key needs its key id)."""
    findings = [f for f in findings if f.secret is not None]
    by_file: dict[tuple[str, str | None], dict[str, str]] = {}
    for f in findings:
        by_file.setdefault((f.path, f.commit), {}).setdefault(f.rule_id, f.secret)
    chosen: dict[str, tuple[Any, str, dict[str, str]]] = {}
    for f in findings:
        rule = rules.get(f.rule_id)
        if rule is None or getattr(rule, "validator", None) is None:
            continue
        others = {r: s for r, s in by_file[(f.path, f.commit)].items() if s != f.secret}
        if f.secret_sha256 in chosen:
            kept = chosen[f.secret_sha256][2]
            for r, s in others.items():
                kept.setdefault(r, s)
            continue
        chosen[f.secret_sha256] = (rule, f.secret, dict(others))
    return [make(rule=rule, secret=secret, companions=companions) for rule, secret, companions in chosen.values()]


def attach(result, outcomes: Mapping[str, Any], keep_secrets: bool):
    """``result`` with each validated finding's and advisory's ``validation`` set (by secret hash) and,
    unless ``keep_secrets`` (``--show-secrets``), every ``Finding.secret`` dropped."""
    answers = {sha: (v.to_dict() if hasattr(v, "to_dict") else dict(v)) for sha, v in outcomes.items()}

    def finding(f: Finding) -> Finding:
        return dataclasses.replace(f, validation=answers.get(f.secret_sha256, f.validation) if f.secret_sha256
                                   else f.validation, secret=f.secret if keep_secrets else None)

    advisories = [dataclasses.replace(a, validation=answers.get(a.secret_sha256, a.validation))
                  for a in result.advisories]
    # A rotation the baseline claims but the provider contradicts (the old secret still works) no longer
    # keeps the finding from failing the gate: the claim is wrong, and the key is live.
    contradicted = {a.id for a in advisories if a.id in result.rotated and (a.validation or {}).get("outcome") == "live"}
    notes = list(result.stats.notes) + [f"{adv}: the baseline says it was rotated, but the provider still accepts it "
                                        f"(live); it fails the gate again" for adv in sorted(contradicted)]
    stats = dataclasses.replace(result.stats, notes=notes) if contradicted else result.stats
    return dataclasses.replace(result, findings=[finding(f) for f in result.findings], advisories=advisories,
                               rotated=frozenset(result.rotated - contradicted), stats=stats)


def validate_result(result, rules: Mapping[str, Any], settings, keep_secrets: bool,
                    validate: ValidateFn | None = None, make: Callable[..., Any] | None = None):
    """Validate the result's distinct secrets (``validate``/``make`` default to ``trussguard.validate``'s
    engine and ``Candidate``; tests pass their own) and attach the outcomes; secrets dropped unless kept."""
    if validate is None or make is None:
        from trussguard import validate as engine

        validate, make = validate or engine.validate, make or engine.Candidate
    found = candidates(result.findings, rules, make)
    outcomes = validate(found, settings) if found else {}
    return attach(result, outcomes, keep_secrets)


def rules_by_id(rule_dirs, cache_dir: Path | None) -> dict[str, Any]:
    """The rules the scan used (with their validators), by id."""
    from trussguard.engine.loader import load_rules

    return load_rules(list(rule_dirs), cache_dir=cache_dir).by_id()
