"""``--format gitlab``: GitLab's secret-detection report (``gl-secret-detection-report.json``).

Why: a GitLab pipeline that declares this file under ``artifacts: reports: secret_detection`` shows
each finding in the merge request's security widget and the vulnerability report, and security
policies can gate on it, the way GitLab's own secret detection does. The layout follows GitLab's
security report schema (``secret-detection-report-format.json``, version ``SCHEMA_VERSION``):
``version``, ``vulnerabilities[]`` (``id``, ``category``, ``name``, ``description``, ``severity``,
``location`` {``file``, ``start_line``, ``commit`` {``sha``}}, ``identifiers``) and ``scan``
(scanner, analyzer, type, status, start and end time).

No value ever goes in: ``description`` carries the redacted value at most, and there is no
``raw_source_code_extract``. Suppressed findings are left out (GitLab would list them as open
vulnerabilities to dismiss again; every other trussguard report lists them). The schema requires a
commit for each finding: a history finding has its own; a working-tree finding gets
``$CI_COMMIT_SHA``, else the scanned repository's ``HEAD``, else ``0000000`` (no git at all).
``scan.status`` is ``failure`` when something could not be scanned.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import uuid
from pathlib import Path

from trussguard import __version__
from trussguard.results import ScanResult

SCHEMA_VERSION = "15.0.7"
SEVERITIES = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}
_IDS = uuid.UUID("7a1f0c52-5b0e-4f43-9d1c-2b7f4e8a9c10")  # namespace of the vulnerabilities' stable ids
_TOOL = {"id": "trussguard", "name": "trussguard", "version": __version__, "vendor": {"name": "trussguard"}}
_NO_COMMIT = "0000000"


def render(result: ScanResult, now: datetime.datetime | None = None) -> str:
    return json.dumps(to_dict(result, now), indent=2, ensure_ascii=False) + "\n"


def to_dict(result: ScanResult, now: datetime.datetime | None = None) -> dict:
    end = (now or datetime.datetime.now(datetime.timezone.utc)).replace(microsecond=0)
    start = end - datetime.timedelta(seconds=round(result.stats.duration_seconds))
    head = None if all(f.commit for f in result.findings) else _head(Path(result.target))
    return {
        "version": SCHEMA_VERSION,
        "vulnerabilities": [_vulnerability(f, head, f.advisory_id in result.rotated) for f in result.findings],
        "scan": {
            "scanner": {**_TOOL, "url": "https://pypi.org/project/trussguard/"},
            "analyzer": dict(_TOOL),
            "type": "secret_detection",
            "start_time": _time(start),
            "end_time": _time(end),
            "status": "failure" if result.errors else "success",
        },
    }


def _vulnerability(f, head: str | None, rotated: bool) -> dict:
    value = f" Value (redacted): {f.redacted}." if f.redacted else ""
    fix = f" Fix: {f.fix}" if f.fix else ""
    state = " The baseline records this secret as rotated." if rotated else ""
    identifiers = [{"type": "trussguard_rule_id", "name": f"trussguard {f.rule_id}", "value": f.rule_id}]
    if f.check and f.check != f.rule_id:
        identifiers.append({"type": "trussguard_check", "name": f"trussguard {f.check}", "value": f.check})
    return {
        "id": str(uuid.uuid5(_IDS, f.id)),
        "category": "secret_detection",
        "name": f.title[:255],
        "description": f"{f.message}{value}{fix}{state}",
        "severity": SEVERITIES.get(str(f.severity), "Unknown"),
        "location": {"file": f.path, "start_line": max(f.line, 1),
                     "commit": {"sha": f.commit or head or _NO_COMMIT}},
        "identifiers": identifiers,
    }


def _head(target: Path) -> str | None:
    """The commit a working-tree scan saw: GitLab CI's ``$CI_COMMIT_SHA``, else ``git rev-parse HEAD``."""
    if os.environ.get("CI_COMMIT_SHA"):
        return os.environ["CI_COMMIT_SHA"]
    folder = target if target.is_dir() else target.parent
    try:
        out = subprocess.run(["git", "-C", str(folder), "rev-parse", "--verify", "-q", "HEAD"],
                             capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.decode("ascii", "replace").strip()
    return sha if out.returncode == 0 and sha else None


def _time(when: datetime.datetime) -> str:
    return when.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
