"""``trussguard audit --evidence FILE.json``: what was audited and what was found, for auditors.

Security teams are asked for "evidence of secret scanning and rotation for the trailing year".
This document states the scope (repository, every ref and its tip, commits and blobs covered,
the date range, what was skipped and why), the tool and rule-set versions, when it ran, and each
leaked secret by fingerprint only (never a value), open and rotated ones listed apart, and for every
rotated one its ``verification``: the provider's answer that the old secret no longer works (from
``audit --validate`` or ``rotated --verify``), or ``claimed, not verified``. ``run`` also
says who ran it (``$GITHUB_ACTOR``, ``$GITLAB_USER_LOGIN``, else ``git config user.email``, else the
OS user), the CI run it belongs to (GitHub Actions run or GitLab job URL) and the command line, with
the value of any ``--*token*``/``--*key*`` option dropped (trussguard takes no secret as an argument;
this is defence in depth) and every argument masked by the redactor. Its last field is the SHA-256
of the rest of the document (canonical JSON), so a copy can be checked.
"""

from __future__ import annotations

import datetime
import getpass
import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

from trussguard import __version__
from trussguard.results import ScanResult
from trussguard.redact import redact_url

EVIDENCE_VERSION = 1


def evidence(result: ScanResult, started_at: str, remote: str | None, env: Mapping[str, str] | None = None,
             argv: Sequence[str] | None = None) -> dict[str, Any]:
    s, h = result.stats, result.stats.history or {}
    by_advisory = {a.id: a for a in result.advisories}
    secrets: dict[str, list] = {}
    for f in result.findings:
        if f.advisory_id is not None:
            secrets.setdefault(f.advisory_id, []).append(f)
    summaries = [_summary(by_advisory.get(adv), group) for adv, group in sorted(secrets.items())]
    doc = {
        "evidence_version": EVIDENCE_VERSION,
        "tool": {"name": "trussguard", "version": __version__, "rules": s.rules, "checks": s.checks,
                 "rules_digest": h.get("rules_digest")},
        "run": {"started_at": started_at, "duration_seconds": round(s.duration_seconds, 3),
                **run_context(Path(result.target), os.environ if env is None else env,
                              sys.argv if argv is None else argv)},
        "scope": {
            "repository": result.target,
            "remote": redact_url(remote) if remote else None,
            "refs": h.get("ref_tips", {}),
            "range": h.get("range"),
            "unreachable_commits": h.get("unreachable_commits", 0),
            "commits": h.get("commits"), "unique_blobs": h.get("unique_blobs"), "bytes_scanned": s.bytes_scanned,
            "date_range": h.get("date_range"),
            "shallow": h.get("shallow"),
            "submodules": h.get("submodules", []),
            "skipped": dict(sorted(Counter(k.reason for k in s.skipped).items())),
            "skipped_blobs": [{"path": k.path, "reason": k.reason, "detail": k.detail} for k in s.skipped],
            "notes": list(s.notes),
        },
        "leaks": {
            "open": [x for x in summaries if x["rotation"] is None],
            "rotated": [x for x in summaries if x["rotation"] is not None],
        },
        "verification": [verification(by_advisory.get(x["advisory_id"]), x) for x in summaries
                         if x["rotation"] is not None],
    }
    doc["sha256"] = digest(doc)
    return doc


def digest(doc: dict[str, Any]) -> str:
    """SHA-256 of the document without its ``sha256`` field, as canonical JSON (sorted keys, no spaces)."""
    body = {k: v for k, v in doc.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode("utf-8")).hexdigest()


def render_evidence(result: ScanResult, started_at: str, remote: str | None, argv: Sequence[str] | None = None) -> str:
    return json.dumps(evidence(result, started_at, remote, argv=argv), indent=2, sort_keys=True,
                      ensure_ascii=False) + "\n"


_SENSITIVE_OPTION = re.compile(r"^--[\w-]*(token|key)[\w-]*$", re.IGNORECASE)


def run_context(repo: Path, env: Mapping[str, str], argv: Sequence[str]) -> dict[str, Any]:
    """Who ran the audit, in which CI run, with which command line."""
    return {"by": _who(repo, env), "ci_run_url": _ci_run_url(env), "command": command_line(argv)}


def _who(repo: Path, env: Mapping[str, str]) -> dict[str, str] | None:
    for variable in ("GITHUB_ACTOR", "GITLAB_USER_LOGIN"):
        if env.get(variable):
            return {"name": env[variable], "source": f"${variable}"}
    try:
        out = subprocess.run(["git", "-C", str(repo), "config", "--get", "user.email"], capture_output=True,
                             timeout=30, check=False, env={**os.environ, **env})
        email = out.stdout.decode("utf-8", "replace").strip()
    except (OSError, subprocess.SubprocessError):
        email = ""
    if email:
        return {"name": email, "source": "git config user.email"}
    try:
        return {"name": getpass.getuser(), "source": "operating-system user"}
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        return None


def _ci_run_url(env: Mapping[str, str]) -> str | None:
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        server = (env.get("GITHUB_SERVER_URL") or "https://github.com").rstrip("/")
        return redact_url(f"{server}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}")
    return redact_url(env["CI_JOB_URL"]) if env.get("CI_JOB_URL") else None


def command_line(argv: Sequence[str]) -> list[str]:
    """``argv`` with the program as ``trussguard``, the value of every ``--*token*``/``--*key*`` option
    replaced by ``***`` (``--x-token V`` and ``--x-token=V``), and each argument masked by the redactor."""
    from trussguard.redact import redact_text

    out: list[str] = []
    hide_next = False
    for i, arg in enumerate(argv):
        if i == 0:
            out.append("trussguard")
            continue
        name, eq, _ = arg.partition("=")
        if hide_next:
            out.append("***")
            hide_next = False
        elif _SENSITIVE_OPTION.match(name):
            out.append(f"{name}=***" if eq else arg)
            hide_next = not eq
        else:
            out.append(redact_text(arg))
    return out


def _summary(advisory, group: list) -> dict[str, Any]:
    """One leaked secret: fingerprints, rule, where and when it was seen, whether it is still there."""
    histories = [f.history for f in group if f.history]
    firsts = [h["first_seen"] for h in histories if h.get("first_seen")]
    lasts = [h["last_seen"] for h in histories if h.get("last_seen")]
    still = any(h.get("still_present") for h in histories)
    return {
        "advisory_id": group[0].advisory_id,
        "secret_sha256": group[0].secret_sha256,
        "finding_ids": sorted(f.id for f in group),
        "rule_id": advisory.rule_id if advisory else group[0].rule_id,
        "urgency": advisory.urgency if advisory else None,
        "paths": sorted({f.path for f in group}),
        "first_seen": min(firsts, key=_instant) if firsts else None,
        "last_seen": None if still else (max(lasts, key=_instant) if lasts else None),
        "still_present": still,
        "rotation": advisory.rotation if advisory else None,
    }


VERIFIED, CLAIMED, STILL_LIVE = "verified revoked", "claimed, not verified", "still live"


def verification(advisory, summary: dict[str, Any]) -> dict[str, Any]:
    """One rotated secret's proof: the provider's last answer that it is revoked, from this run
    (``audit --validate``) or recorded in the baseline (``rotated --verify``); ``still live`` when this
    run found the "rotated" secret still accepted; else ``claimed, not verified`` (no validator, not
    validated, or no clear answer: ``last_attempt`` keeps this run's unknown)."""
    now = advisory.validation if advisory is not None else None
    recorded = (summary["rotation"] or {}).get("verification")
    state, proof, source = CLAIMED, None, None
    if now and now.get("outcome") in ("revoked", "live"):
        state, proof, source = (VERIFIED if now["outcome"] == "revoked" else STILL_LIVE), now, "this run"
    elif recorded and recorded.get("outcome") == "revoked":
        state, proof, source = VERIFIED, recorded, "baseline"
    out = {"advisory_id": summary["advisory_id"], "secret_sha256": summary["secret_sha256"],
           "rule_id": summary["rule_id"], "rotated_at": summary["rotation"].get("rotated_at"),
           "rotated_by": summary["rotation"].get("rotated_by"), "status": state, "source": source,
           "verification": proof, "statement": _statement(state, proof)}
    if state == CLAIMED and now:
        out["last_attempt"] = now
    return out


def _statement(state: str, proof: dict | None) -> str:
    """``verified revoked at 2026-12-07T01:45:00Z (HTTP 401 from api.openai.com)``."""
    if proof is None:
        return state
    return f"{state} at {proof.get('checked_at')} ({proof.get('detail')} from {proof.get('host')})"


def _instant(iso: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(iso)
