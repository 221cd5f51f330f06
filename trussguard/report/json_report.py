"""The JSON report contract (schema_version 1); documented in docs/REPORTS.md and kept stable."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from trussguard import __version__
from trussguard.results import ScanResult
from trussguard.types import Advisory, Finding, Suppressed

SCHEMA_VERSION = 1


def render(result: ScanResult) -> str:
    return json.dumps(to_dict(result), indent=2, ensure_ascii=False) + "\n"


def to_dict(result: ScanResult) -> dict[str, Any]:
    s = result.stats
    out = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "trussguard", "version": __version__},
        "mode": result.mode,
        "target": result.target,
        "stats": {
            "files_scanned": s.files_scanned,
            "bytes_scanned": s.bytes_scanned,
            "skipped": dict(sorted(Counter(k.reason for k in s.skipped).items())),
            "skipped_files": [{"path": k.path, "reason": k.reason, "detail": k.detail} for k in s.skipped],
            "suppressed": len(result.suppressed),
            "suppressed_by_kind": dict(sorted(Counter(x.kind for x in result.suppressed).items())),
            "rules": s.rules,
            "checks": s.checks,
            "trusses": s.trusses,
            "notes": list(s.notes),
            "duration_seconds": round(s.duration_seconds, 3),
        },
        "findings": [finding_dict(f) for f in result.findings],
        "advisories": [advisory_dict(a) for a in result.advisories],
        "suppressed": [suppressed_dict(x) for x in result.suppressed],
    }
    if s.history is not None:
        out["stats"].update(s.history)
    hidden = getattr(result, "hidden", None)  # triage.TriagedResult: what --min-severity / --rule / --check left out
    if hidden is not None and (hidden.below_min_severity or hidden.not_selected):
        out["stats"]["hidden"] = {"below_min_severity": hidden.below_min_severity,
                                  "min_severity": None if hidden.min_severity is None else str(hidden.min_severity),
                                  "failing_hidden": hidden.failing_hidden, "not_selected": hidden.not_selected}
    out["gate_changes"] = [c.to_dict() for c in result.gate_changes]  # pull-request mode: see gate_changes.py
    return out


def finding_dict(f: Finding) -> dict[str, Any]:
    out = {
        "id": f.id, "rule_id": f.rule_id, "kind": f.kind, "severity": str(f.severity), "title": f.title,
        "message": f.message, "path": f.path, "line": f.line, "column": f.column, "commit": f.commit,
        "secret_sha256": f.secret_sha256, "redacted": f.redacted, "advisory_id": f.advisory_id,
        "decoded": f.decoded, "check": f.check, "fix": f.fix, "checksum": f.checksum,
    }
    if f.cell is not None:  # a notebook: the cell (1-based) and the line within its source or output
        out["cell"] = {"index": f.cell.cell, "line": f.cell.line, "output": f.cell.output}
    if f.history is not None:
        out["history"] = f.history
    if f.validation is not None:  # --validate: live / revoked / unknown, with the status, host and time
        out["validation"] = f.validation
    if f.secret is not None:
        out["secret"] = f.secret
    return out


def advisory_dict(a: Advisory) -> dict[str, Any]:
    out = {
        "id": a.id, "secret_sha256": a.secret_sha256, "rule_id": a.rule_id, "title": a.title,
        "urgency": a.urgency, "revoke_url": a.revoke_url, "steps": list(a.steps),
        "truss_secret_name": a.truss_secret_name, "references": list(a.references),
        "finding_ids": list(a.finding_ids),
        "actions": [{"step": x.step, "title": x.title, "details": list(x.details)} for x in a.actions],
        "state": "rotated" if a.rotation else "open",
        "rotation": a.rotation,
    }
    if a.validation is not None:  # --validate: ``urgency`` stays the rule's; ``validation.outcome`` says live
        out["validation"] = a.validation
    return out


def suppressed_dict(x: Suppressed) -> dict[str, Any]:
    """A finding that was hidden, and by what: ``kind`` inline/config/baseline, ``by`` the marker
    (``trussguard: allow[TG205]``) or key (``.trussguard.toml: exclude``) or baseline file."""
    return {"rule_id": x.rule_id, "path": x.path, "line": x.line, "kind": x.kind, "by": x.by, "title": x.title,
            "severity": str(x.severity), "secret_sha256": x.secret_sha256, "redacted": x.redacted,
            "finding_id": x.finding_id}
