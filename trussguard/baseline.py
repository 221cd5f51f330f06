"""The baseline file (``.trussguard-baseline.json``): what the team has already dealt with.

This first part holds rotation acknowledgements: a leaked secret that was rotated is still
reported (the history keeps it) but no longer fails the build, and its advisory says
"rotated on ..., history purge pending". Entries name the secret by its advisory id (a prefix of
the secret's SHA-256), never by value. The CI issue adds finding entries to the same file.

Format (``schema_version`` 1)::

    {"schema_version": 1,
     "entries": [{"advisory_id": "adv-0123456789abcdef", "rotated_at": "2026-11-20",
                  "rotated_by": "alice", "reference": "SEC-123", "recorded_at": "2026-11-21T09:30:00+00:00"}]}
"""

from __future__ import annotations

import datetime
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

SCHEMA_VERSION = 1
DEFAULT_NAME = ".trussguard-baseline.json"
_ADVISORY = re.compile(r"^adv-[0-9a-f]{16}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class BaselineError(Exception):
    """A baseline file that cannot be read or is not in the format above (exit 2, one line)."""


@dataclass
class Baseline:
    path: Path
    entries: list[dict] = field(default_factory=list)

    def rotations(self) -> dict[str, dict]:
        """advisory id -> its rotation record (rotated_at, rotated_by, reference); the latest wins."""
        out: dict[str, dict] = {}
        for entry in self.entries:
            if "advisory_id" in entry and entry.get("rotated_at"):
                out[entry["advisory_id"]] = {k: entry.get(k) for k in ("rotated_at", "rotated_by", "reference")}
        return out


def load(path: Path) -> Baseline:
    """The baseline at ``path``; a missing file is an empty baseline (``rotated`` creates it)."""
    if not path.exists():
        return Baseline(path)
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION \
            or not isinstance(data.get("entries"), list):
        raise BaselineError(f"{path} is not a trussguard baseline (schema_version {SCHEMA_VERSION} with entries)")
    for n, entry in enumerate(data["entries"], start=1):
        problem = _problem(entry)
        if problem:
            raise BaselineError(f"{path}: entry {n}: {problem}")
    return Baseline(path, data["entries"])


def _problem(entry) -> str | None:
    if not isinstance(entry, dict):
        return "not an object"
    if "advisory_id" in entry:
        if not isinstance(entry["advisory_id"], str) or not _ADVISORY.match(entry["advisory_id"]):
            return "advisory_id must look like adv-0123456789abcdef"
        if not isinstance(entry.get("rotated_at"), str) or not _DATE.match(entry["rotated_at"]):
            return "rotated_at must be a date (YYYY-MM-DD)"
    for key in ("rotated_by", "reference"):
        if entry.get(key) is not None and not isinstance(entry[key], str):
            return f"{key} must be text"
    return None


def record_rotation(baseline: Baseline, advisory_id: str, by: str, reference: str | None,
                    at: str | None = None) -> Baseline:
    """A new baseline with this rotation acknowledged (an earlier entry for it is replaced)."""
    advisory_id = advisory_id if advisory_id.startswith("adv-") else f"adv-{advisory_id[:16]}"
    if not _ADVISORY.match(advisory_id):
        raise BaselineError(f"not an advisory id or secret SHA-256: {advisory_id}")
    now = datetime.datetime.now(datetime.timezone.utc)
    at = at or now.date().isoformat()
    if not _DATE.match(at):
        raise BaselineError(f"--at expects a date (YYYY-MM-DD), got {at!r}")
    entry = {"advisory_id": advisory_id, "rotated_at": at, "rotated_by": by, "reference": reference,
             "recorded_at": now.isoformat(timespec="seconds")}
    kept = [e for e in baseline.entries if e.get("advisory_id") != advisory_id]
    return replace(baseline, entries=kept + [entry])


def save(baseline: Baseline) -> None:
    """Atomically, sorted, one entry per line-group: the file is reviewed in pull requests."""
    text = json.dumps({"schema_version": SCHEMA_VERSION,
                       "entries": sorted(baseline.entries, key=lambda e: json.dumps(e, sort_keys=True))},
                      indent=2, sort_keys=True) + "\n"
    tmp = baseline.path.with_name(f".{baseline.path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, "utf-8")
        os.replace(tmp, baseline.path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BaselineError(f"cannot write baseline {baseline.path}: {exc.strerror or exc}") from None
