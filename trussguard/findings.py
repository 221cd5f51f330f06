"""Matches become Findings: a stable fingerprint, a redacted value, the rule's words.

The fingerprint is ``sha256(rule id, path, sha256(secret))`` and so survives inserted lines
(detect-secrets' lesson; gitleaks' line-based fingerprints churn). The redacted form shows at
most 8 characters of the secret (never more than a quarter of it), its length and a short
hash, e.g. ``sk-proj-…(164 chars, sha256:1a2b3c4d)``: enough to recognise a key, not to use it.
"""

from __future__ import annotations

import hashlib

import dataclasses

from trussguard.engine import checksums
from trussguard.engine.heuristics import identifier_words
from trussguard.engine.matcher import made_up
from trussguard.engine.schema import SECRET_NAME, Rule
from trussguard.policy.registry import Check, PolicyHit
from trussguard.types import Finding, Match, Severity, secret_sha256

MAX_PREFIX = 8
# Findings listed per file (per path, all commits together, in a history audit). A hostile file (100,000 AWS key ids on one
# line, 80,000 `api_key_N = "..."` lines) would otherwise make a report of hundreds of megabytes and a
# process of gigabytes; no reviewer reads past the first thousand anyway. What is not listed is still
# counted and still fails the gate: one summary finding per rule says how many more there are.
MAX_FINDINGS_PER_FILE = 1000


def fingerprint(rule_id: str, path: str, digest: str, commit: str | None = None) -> str:
    material = "\0".join([rule_id, path, digest] + ([commit] if commit else []))
    return "tg-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:20]


def advisory_id(digest: str) -> str:
    return "adv-" + digest[:16]


def redact(secret: str) -> str:
    shown = min(MAX_PREFIX, len(secret) // 4)
    return f"{secret[:shown]}…({len(secret)} chars, sha256:{secret_sha256(secret)[:8]})"


def workspace_secret_name(rule: Rule, match: Match) -> str:
    """The rule's usual workspace secret; for a generic rule, the key it saw the value bound to
    (`DB_PASSWORD = "..."` -> `db_password`) says more than its catch-all name."""
    usual = rule.rotation.truss_secret_name if rule.rotation else "api_key"
    if not rule.generic or not match.name:
        return usual
    words = identifier_words(match.name.rsplit(".", 1)[-1])  # self.api_key; captchaApiKey -> captcha_api_key
    name = "_".join(words).lower()
    return name if name and SECRET_NAME.match(name) else usual


def to_finding(match: Match, rule: Rule, path: str, commit: str | None = None,
               keep_secret: bool = False) -> Finding:
    digest = secret_sha256(match.secret)
    where = " (written with escapes)" if match.decoded == "escape" else \
        f" (inside a {match.decoded}-encoded run)" if match.decoded else ""
    checksum = checksums.verdict(rule.checksum, match.secret)
    where += _CHECKSUM_SAYS.get(checksum, "")
    sample = made_up(rule, match.secret) and checksum != "valid"
    if sample:
        where += _MADE_UP_SAYS
    return Finding(
        id=fingerprint(rule.id, path, digest),
        rule_id=rule.id,
        kind="leak",
        severity=Severity.LOW if sample else rule.severity,
        title=rule.name,
        message=f"{rule.name} found{where}; rotate it, then read it from a Baseten workspace secret "
                f"(`{workspace_secret_name(rule, match)}`)." if rule.rotation else f"{rule.name} found{where}.",
        path=path,
        line=match.line,
        column=match.column,
        commit=commit,
        secret_sha256=digest,
        redacted=redact(match.secret),
        advisory_id=advisory_id(digest),
        decoded=match.decoded,
        secret=match.secret if keep_secret else None,
        secret_sha1=hashlib.sha1(match.secret.encode("utf-8")).hexdigest(),
        checksum=checksum,
        cell=match.cell,
    )


_MADE_UP_SAYS = (" (it looks made up, mostly sequential or keyboard runs, so it is reported at low severity; "
                 "check that it is not a real key)")
_CHECKSUM_SAYS = {
    "valid": " (its checksum is valid: an issued token's format, not a sample)",
    "invalid": " (its checksum does not match: a sample or an altered token, or one mistyped; still reported)",
}


def from_policy(hit: PolicyHit, check: Check, keep_secret: bool = False) -> Finding:
    """A policy hit as a finding: kind leak with the value's hash, or kind policy without one."""
    digest = secret_sha256(hit.secret) if hit.secret is not None else None
    return Finding(
        id=fingerprint(check.code, hit.path, digest or hit.message),
        rule_id=check.code,
        kind="leak" if hit.secret is not None else "policy",
        severity=hit.severity or check.severity,
        title=check.name,
        message=hit.message,
        path=hit.path,
        line=hit.line,
        column=hit.column,
        commit=None,
        secret_sha256=digest,
        redacted=redact(hit.secret) if hit.secret is not None else None,
        advisory_id=advisory_id(digest) if digest else None,
        check=check.code,
        fix=hit.fix,
        secret=hit.secret if keep_secret else None,
        secret_sha1=hashlib.sha1(hit.secret.encode("utf-8")).hexdigest() if hit.secret is not None else None,
        cell=hit.cell,
    )


def merge_policy(findings: list[Finding], hits: list[PolicyHit], checks: dict[str, Check],
                 keep_secret: bool = False) -> list[Finding]:
    """Adds policy findings; a hit on a value a credential rule already reported at the same place
    enriches that finding (worst severity, the Truss fix) instead of reporting the key twice. A hit that
    judged a value not to be a credential (``not_secret_sha256``) drops a rule's leak finding of that value there."""
    cleared = {(h.path, h.line, h.not_secret_sha256) for h in hits if h.not_secret_sha256 is not None}
    findings = [f for f in findings if (f.path, f.line, f.secret_sha256) not in cleared]
    by_place = {(f.path, f.line, f.secret_sha256): i for i, f in enumerate(findings) if f.secret_sha256}
    out = list(findings)
    for hit in hits:
        new = from_policy(hit, checks[hit.code], keep_secret)
        i = by_place.get((new.path, new.line, new.secret_sha256)) if new.secret_sha256 else None
        if i is None:
            out.append(new)
            continue
        old = out[i]
        out[i] = dataclasses.replace(old, severity=max(old.severity, new.severity), check=new.check, fix=new.fix,
                                     cell=old.cell or new.cell)
    return out


def describe_rules(findings: list[Finding], rules: dict[str, Rule]) -> dict[str, dict]:
    """What reporters that list rules (SARIF) need about each rule or check a finding names:
    its name, description, severity, help (the rule's rotation steps or the check's explanation)
    and a reference URL. Carried on the result, so custom rule packs are described too."""
    from trussguard.policy.registry import explanation_sections, iter_checks

    checks = {c.code: c for c in iter_checks()}
    out: dict[str, dict] = {}
    for rule_id in sorted({f.rule_id for f in findings} | {f.check for f in findings if f.check}):
        if rule_id in rules:
            r = rules[rule_id]
            steps = list(r.rotation.steps) if r.rotation else []
            out[rule_id] = {"name": r.name, "description": r.description, "severity": str(r.severity),
                            "help": steps, "uri": r.references[0] if r.references else None}
        elif rule_id in checks:
            c = checks[rule_id]
            sections = explanation_sections(c)
            out[rule_id] = {"name": c.name, "description": c.summary, "severity": str(c.severity),
                            "help": [sections.get("Why it matters", ""), sections.get("Use instead", "")],
                            "uri": None}
    return out


def cap_findings(findings: list[Finding], limit: int = MAX_FINDINGS_PER_FILE) -> list[Finding]:
    """At most ``limit`` findings per file (per path in a history audit), the first ones in the order
    given; the rest of each rule become one finding "N more matches of rule X in this file not listed".

    The summary carries the worst severity of what it stands for, so a capped file fails the gate exactly
    as the full list would (a cap never turns a hostile file into a pass); its fingerprint hashes the ids
    of those findings, so a baseline entry for it stops covering the file as soon as one more key
    appears. It names no secret, so it has no advisory.
    """
    counts: dict[str, int] = {}
    kept: list[Finding] = []
    dropped: dict[tuple[str, str], list[Finding]] = {}
    for f in findings:
        counts[f.path] = counts.get(f.path, 0) + 1
        if counts[f.path] <= limit:
            kept.append(f)
        else:
            dropped.setdefault((f.path, f.rule_id), []).append(f)
    for (path, rule_id), group in dropped.items():
        first = group[0]
        commit = first.commit
        ids = hashlib.sha256("\0".join(f.id for f in group).encode("utf-8")).hexdigest()
        more = f"{len(group)} more match{'es' if len(group) > 1 else ''} of rule {rule_id} in this file not listed"
        kept.append(Finding(
            id=fingerprint(rule_id, path, "capped:" + ids, commit),
            rule_id=rule_id,
            kind="policy",
            severity=max(f.severity for f in group),
            title=first.title,
            message=f"{more} (trussguard lists at most {limit} findings per file; they fail the gate like "
                    f"those listed)",
            path=path,
            line=first.line,
            column=first.column,
            commit=commit,
            secret_sha256=None,
            redacted=None,
            advisory_id=None,
            check=first.check,
            fix=f"{more}: fix the findings listed for this file, then scan again to see the next ones",
            history=first.history,  # a history audit: where the first of them was committed
        ))
    if dropped:  # each summary after the findings listed for its file, in the callers' order
        kept.sort(key=lambda f: (f.path, f.line, f.column or 0, f.rule_id))
    return kept
