"""One advisory per distinct leaked secret, from the rule's rotation advice.

A secret committed in three files is one key to rotate, so advisories are keyed by the
secret's hash and list every finding that carries it. Later stages (history audit, Truss
policy) enrich the steps; this module gives the provider's own revoke-and-reissue steps.
"""

from __future__ import annotations

from trussguard.engine.schema import Rule
from trussguard.findings import advisory_id
from trussguard.types import Advisory, Finding, Severity


def build_advisories(findings: list[Finding], rules: dict[str, Rule]) -> list[Advisory]:
    by_secret: dict[str, list[Finding]] = {}
    for f in findings:
        if f.secret_sha256 is not None:
            by_secret.setdefault(f.secret_sha256, []).append(f)
    out = []
    for digest, group in by_secret.items():
        lead = max(group, key=lambda f: (f.severity, not rules[f.rule_id].generic if f.rule_id in rules else 0))
        rule = rules.get(lead.rule_id)
        rotation = rule.rotation if rule else None
        out.append(Advisory(
            id=advisory_id(digest),
            secret_sha256=digest,
            rule_id=lead.rule_id,
            title=lead.title,
            urgency="immediate" if lead.severity >= Severity.HIGH else "review",
            revoke_url=rotation.revoke_url if rotation else None,
            steps=rotation.steps if rotation else (),
            truss_secret_name=rotation.truss_secret_name if rotation else None,
            references=rule.references if rule else (),
            finding_ids=tuple(f.id for f in group),
        ))
    return out  # in the order the secrets first appear in the (sorted) findings
