"""``--format sarif``: SARIF 2.1.0 for GitHub code scanning and every other SARIF consumer.

Checked in the test suite with Microsoft's SARIF Multitool (its SARIF and GitHub-ingestion rules,
errors and warnings alike). Rules carry their description and, as help, what to do (the rule's
rotation steps or the check's explanation); results carry a relative location, a fingerprint
that survives moved lines, the commit of history findings, and a ``security-severity``. Values
appear only redacted. Suppressed findings are results too, with a SARIF ``suppressions`` entry
(``inSource`` for an inline marker, ``external`` for the configuration file or the baseline) and
its justification, so code scanning shows them as dismissed instead of not at all.

``render_runs`` puts several results in one log, one run each (SARIF 2.1.0 allows several runs per
log): the GitHub Action's pull-request gate uploads its history audit and its tree scan as one file.
Each run keeps its own ``automationDetails.id`` (``trussguard/history/``, ``trussguard/tree/``), so
code scanning files them under two categories and never merges or replaces one with the other.
"""

from __future__ import annotations

import json
import re
from typing import Any

from trussguard import __version__
from trussguard.results import ScanResult
from trussguard.types import Finding, Suppressed

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/trussguard/"
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def render(result: ScanResult) -> str:
    return json.dumps(to_sarif(result), indent=2, ensure_ascii=False) + "\n"


def render_runs(results: list[ScanResult]) -> str:
    """One SARIF log with one run per result (each under its own category); results of one mode twice is
    an error: code scanning would reject two runs of one tool in one category."""
    modes = [r.mode for r in results]
    if len(set(modes)) != len(modes):
        raise ValueError(f"one SARIF run per mode, got {modes}")
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [_run(r) for r in results]}
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def to_sarif(result: ScanResult) -> dict[str, Any]:
    return {"$schema": SCHEMA, "version": "2.1.0", "runs": [_run(result)]}


def _run(result: ScanResult) -> dict[str, Any]:
    ids = sorted({f.rule_id for f in result.findings} | {x.rule_id for x in result.suppressed})
    index = {rule_id: n for n, rule_id in enumerate(ids)}
    run: dict[str, Any] = {
        "tool": {"driver": {"name": "trussguard", "version": __version__, "semanticVersion": __version__,
                            "informationUri": INFORMATION_URI,
                            "rules": [_rule(i, result.catalogue.get(i, {})) for i in ids]}},
        "automationDetails": {"id": f"trussguard/{result.mode}/"},
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[f.rule_id]) for f in result.findings]
        + [_suppressed(x, index[x.rule_id]) for x in result.suppressed],
    }
    return run


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith((".", "!", "?")) else text + "."


def _rule(rule_id: str, info: dict) -> dict[str, Any]:
    severity = info.get("severity", "high")
    help_lines = [line for line in info.get("help", []) if line]
    name = "".join(w.capitalize() for w in re.split(r"[^A-Za-z0-9]+", info.get("name", rule_id)) if w)
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": name or "Rule",
        "shortDescription": {"text": _sentence(info.get("name", rule_id))},
        "fullDescription": {"text": _sentence(info.get("description", rule_id))},
        "help": {"text": _sentence(" ".join(help_lines) or "Rotate the value and read it from a Baseten workspace "
                                                         "secret."),
                 "markdown": "\n".join(f"{n}. {line}" for n, line in enumerate(help_lines, start=1))
                 or "Rotate the value and read it from a Baseten workspace secret."},
        "defaultConfiguration": {"level": LEVELS.get(severity, "error")},
        "properties": {"tags": ["security", "secrets"], "precision": "high",
                       "security-severity": SECURITY_SEVERITY.get(severity, "8.0")},
    }
    if info.get("uri"):
        rule["helpUri"] = info["uri"]
    return rule


def _result(f: Finding, rule_index: int) -> dict[str, Any]:
    value = f" ({f.redacted})" if f.redacted else ""
    region: dict[str, Any] = {"startLine": max(f.line, 1)}
    if f.column:
        region["startColumn"] = f.column
    out: dict[str, Any] = {
        "ruleId": f.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS.get(str(f.severity), "error"),
        "message": {"text": _sentence(f"{f.message}{value}" + (f" Fix: {f.fix}" if f.fix else ""))},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(f.path)}, "region": region}}],
        "partialFingerprints": {"trussguardFindingId/v1": f.id},
        "properties": {"security-severity": SECURITY_SEVERITY.get(str(f.severity), "8.0"), "kind": f.kind},
    }
    if f.commit:
        out["properties"]["commit"] = f.commit
    if f.advisory_id:
        out["properties"]["advisoryId"] = f.advisory_id
    if f.checksum:
        out["properties"]["checksum"] = f.checksum
    if f.validation is not None:  # --validate: live / revoked / unknown, with the status, host and time
        out["properties"]["validation"] = f.validation
    if f.cell is not None:  # a notebook: the region is the escaped text in the file; this is the cell
        out["properties"].update({"notebookCell": f.cell.cell, "notebookCellLine": f.cell.line,
                                  "notebookOutput": f.cell.output})
    return out


def _uri(path: str) -> str:
    """A relative URI reference (RFC 3986): spaces and the like percent-encoded, slashes kept."""
    from urllib.parse import quote

    return quote(path, safe="/")


def _suppressed(x: Suppressed, rule_index: int) -> dict[str, Any]:
    value = f" ({x.redacted})" if x.redacted else ""
    how = "an inline marker" if x.kind == "inline" else "the configuration file" if x.kind == "config" \
        else "the baseline"
    out: dict[str, Any] = {
        "ruleId": x.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS.get(str(x.severity), "error"),
        "message": {"text": _sentence(f"{x.title or x.rule_id}{value}: suppressed by {how} ({x.by})")},
        "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(x.path)},
                                            "region": {"startLine": max(x.line, 1)}}}],
        "suppressions": [{"kind": "inSource" if x.kind == "inline" else "external", "status": "accepted",
                          "justification": f"{x.kind}: {x.by}"}],
        "properties": {"security-severity": SECURITY_SEVERITY.get(str(x.severity), "8.0"),
                       "suppressedBy": x.kind},
    }
    if x.finding_id:
        out["partialFingerprints"] = {"trussguardFindingId/v1": x.finding_id}
    return out
