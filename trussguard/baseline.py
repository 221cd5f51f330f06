"""The baseline file (``.trussguard-baseline.json``): what the team has already dealt with.

Three kinds of entries share one file (``schema_version`` 1), each naming a secret by a hash,
never by value, and never by line number (inserting lines above a secret changes nothing):

- **finding entries** (``baseline create`` / ``update``) acknowledge one finding by its
  fingerprint, ``sha256(rule id, path, sha256(secret))``: a baselined finding is no longer
  reported, and an entry that matches nothing any more is listed as stale;
- **imported entries** come from a detect-secrets ``.secrets.baseline`` (its SHA-1 of the secret
  and its file name), so a team migrates without triaging again; they hide a finding in that file
  whose secret has that SHA-1, whether detect-secrets' audit marked it a secret or not;
- **rotation entries** (``trussguard rotated``): a leaked secret that was rotated is still
  reported (the history keeps it) but no longer fails the build. They never hide a finding and
  are never stale. Finding entries may carry the same rotation fields; ``rotations()`` reads both.

Format::

    {"schema_version": 1,
     "entries": [
       {"advisory_id": "adv-0123456789abcdef", "rotated_at": "2026-11-20",
        "rotated_by": "alice", "reference": "SEC-123", "recorded_at": "2026-11-21T09:30:00+00:00",
        "verification": {"outcome": "revoked", "status": 401, "host": "api.openai.com",
                         "checked_at": "2026-11-21T09:31:00Z", "detail": "HTTP 401"}},
       {"fingerprint": "tg-0123456789abcdef0123", "rule_id": "huggingface.user-token",
        "path": "model/model.py", "secret_sha256": "<64 hex, null for a policy finding>",
        "advisory_id": "adv-0123456789abcdef", "reason": "test fixture, revoked",
        "added_by": "alice", "added_at": "2026-11-21T09:30:00+00:00",
        "rotated_at": "2026-11-20", "rotated_by": "alice", "reference": "SEC-123"},
       {"detect_secrets": {"hashed_secret": "<40 hex>", "filename": "model/model.py",
                           "type": "Secret Keyword", "place": "<16 hex>"},
        "reason": "imported from .secrets.baseline", "added_by": "alice",
        "added_at": "2026-11-21T09:30:00+00:00"}]}

``verification`` (optional, rotation fields only) is written by ``trussguard rotated --verify`` when
the provider rejected the old secret: proof that the rotation happened, not only a claim. It holds
the provider's answer (outcome ``revoked``, HTTP status, host asked, time, a one-line detail), never
the secret. The last three fields of the finding entry are optional; so is ``place`` (imported entries reported
at the same spot share it: ``_place``). Imported file names are relative to
where detect-secrets ran (usually the repository root), as trussguard's paths are to the scan root.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trussguard.results import ScanResult
    from trussguard.types import Finding

SCHEMA_VERSION = 1
DEFAULT_NAME = ".trussguard-baseline.json"
IMPORT_REASON = "imported from .secrets.baseline"
BASELINE_FILES = (DEFAULT_NAME, ".secrets.baseline")  # files of hashes, never of secrets
NOTE_PREFIX = "baseline: "  # the note naming the baseline a run applied (the text report's summary line)
_ADVISORY = re.compile(r"^adv-[0-9a-f]{16}$")
_FINGERPRINT = re.compile(r"^tg-[0-9a-f]{20}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")
_PLACE = re.compile(r"^[0-9a-f]{16}$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_ROTATION = ("rotated_at", "rotated_by", "reference")
VERIFICATION_FIELDS = ("outcome", "status", "host", "checked_at", "detail")  # ``rotated --verify``; never the secret
_TEXT = ("rotated_by", "reference", "reason", "added_by", "added_at", "recorded_at")
_NEVER = ("secret", "secret_sha1", "redacted", "line", "line_number", "column")  # values and places


class BaselineError(Exception):
    """A baseline file that cannot be read or is not in the format above (exit 2, one line)."""


@dataclass
class Baseline:
    path: Path
    entries: list[dict] = field(default_factory=list)

    def rotations(self) -> dict[str, dict]:
        """advisory id -> its rotation record (rotated_at, rotated_by, reference), from rotation
        entries and finding entries alike; the most recently recorded wins."""
        best: dict[str, tuple[tuple[str, str], dict]] = {}
        for entry in self.entries:
            advisory = _advisory_of(entry)
            if advisory is None or not entry.get("rotated_at"):
                continue
            when = (entry.get("recorded_at") or entry.get("added_at") or "", entry["rotated_at"])
            if advisory not in best or when >= best[advisory][0]:
                record = {k: entry.get(k) for k in _ROTATION}
                if entry.get("verification"):
                    record["verification"] = dict(entry["verification"])
                best[advisory] = (when, record)
        return {advisory: record for advisory, (_, record) in best.items()}


def default_path(start: Path, setting: Path | bool | None, must_exist: bool = True) -> Path | None:
    """The baseline a command uses when ``--baseline`` is not given. ``setting`` is the configuration
    file's ``baseline`` key: a path moves it, ``False`` turns it off; otherwise it is ``DEFAULT_NAME``
    at the repository root (git's top level; outside git, the scanned folder), the file ``baseline
    create`` and ``rotated`` write, when it exists (``must_exist=False``: whether or not it does, for a
    pull request's gate, which reads it at the trusted revision). Why: an acknowledgement written by
    ``trussguard rotated`` that the next plain ``trussguard audit`` ignored was no acknowledgement."""
    if setting is False:
        return None
    if isinstance(setting, Path):
        return setting
    candidate = repository_folder(start) / DEFAULT_NAME
    return candidate if not must_exist or candidate.is_file() else None


def repository_folder(start: Path) -> Path:
    """git's top level for ``start``, or ``start`` itself (its folder, for a file) outside a repository."""
    from trussguard.sources.history_git import GitError, NotARepository, repository_root

    folder = Path(start).resolve()
    folder = folder if folder.is_dir() or not folder.exists() else folder.parent
    try:
        return Path(repository_root(folder))
    except (NotARepository, GitError, OSError):
        return folder


def load(path: Path) -> Baseline:
    """The baseline at ``path``; a missing file is an empty baseline (``rotated`` creates it)."""
    if not path.exists():
        return Baseline(path)
    return _parsed(_read_json(path, "baseline"), path)


def loads(data: bytes, path: Path) -> Baseline:
    """The baseline in ``data`` (a file's bytes read elsewhere, e.g. from a git revision), checked as
    strictly as ``load``; ``path`` names it in messages."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise BaselineError(f"cannot read baseline {path}: {exc}") from None
    return _parsed(parsed, path)


def load_at_revision(root: Path, commit: str, path: Path) -> Baseline:
    """The baseline ``path`` as revision ``commit`` holds it, read through git (a pull request's gate
    uses its base's acknowledgements, not the ones the pull request adds); missing there: empty.
    A file outside the repository is not versioned: it is read from disk."""
    from trussguard.sources.at_revision import read_file, relative

    rel = relative(root, path)
    if rel is None:
        return load(path)
    data = read_file(root, commit, rel)
    return Baseline(path) if data is None else loads(data, path)


def hash_values(data: bytes, detect_secrets: bool = False) -> frozenset[str] | None:
    """The hashes a baseline file holds where its format expects hashes (fingerprints, SHA-256s,
    advisory ids, detect-secrets' SHA-1s), or None when ``data`` is not a well-formed baseline of
    that kind (trussguard's, or detect-secrets' with ``detect_secrets``).

    Why: these hashes look like generic secrets to the rules, so a scan must not report them; but
    only them, and only in a file that really is a baseline. Anything else in the file (a token in
    ``reason``, a file that merely carries the name) is scanned like any other text."""
    try:
        parsed = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if detect_secrets:
        return _detect_secrets_hashes(parsed)
    try:
        entries = _parsed(parsed, Path(DEFAULT_NAME)).entries
    except BaselineError:
        return None
    values = set()
    for entry in entries:
        imported = entry.get("detect_secrets") or {}
        values.update(v for v in (entry.get("fingerprint"), entry.get("secret_sha256"), entry.get("advisory_id"),
                                  imported.get("hashed_secret"), imported.get("place")) if isinstance(v, str))
    return frozenset(values)


def _detect_secrets_hashes(parsed) -> frozenset[str] | None:
    results = parsed.get("results") if isinstance(parsed, dict) else None
    if not isinstance(results, dict) or not isinstance(parsed.get("version"), str):
        return None
    values = set()
    for filename, secrets in results.items():
        if not isinstance(secrets, list):
            return None
        for secret in secrets:
            if not isinstance(secret, dict) or not isinstance(secret.get("hashed_secret"), str) \
                    or not _SHA1.match(secret["hashed_secret"]) or not isinstance(secret.get("type"), str):
                return None
            values.add(secret["hashed_secret"])
    return frozenset(values)


def _parsed(data, path: Path) -> Baseline:
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION \
            or not isinstance(data.get("entries"), list):
        raise BaselineError(f"{path} is not a trussguard baseline (schema_version {SCHEMA_VERSION} with entries)")
    for n, entry in enumerate(data["entries"], start=1):
        problem = _problem(entry)
        if problem:
            raise BaselineError(f"{path}: entry {n}: {problem}")
    return Baseline(path, data["entries"])


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise BaselineError(f"cannot read {what} {path}: {exc}") from None


def _problem(entry) -> str | None:
    if not isinstance(entry, dict):
        return "not an object"
    kinds = [k for k in ("fingerprint", "detect_secrets") if k in entry]
    if len(kinds) > 1:
        return "an entry has a fingerprint or a detect_secrets import, not both"
    if not kinds and "advisory_id" not in entry:
        return "an entry needs a fingerprint, a detect_secrets import or an advisory_id"
    imported = entry.get("detect_secrets")
    leaked = [k for k in _NEVER if k in entry or (isinstance(imported, dict) and k in imported)]
    if leaked:
        return f"{leaked[0]!r} is not allowed: entries never hold secret values, SHA-1s or line numbers"
    problem = _fingerprint_problem(entry) if kinds == ["fingerprint"] else \
        _import_problem(imported) if kinds else None
    return problem or _rotation_problem(entry, rotation_only=not kinds)


def _fingerprint_problem(entry: dict) -> str | None:
    if not isinstance(entry["fingerprint"], str) or not _FINGERPRINT.match(entry["fingerprint"]):
        return "fingerprint must look like tg-0123456789abcdef0123"
    for key in ("rule_id", "path"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            return f"{key} must be text"
    digest = entry.get("secret_sha256")
    if digest is not None and (not isinstance(digest, str) or not _SHA256.match(digest)):
        return "secret_sha256 must be 64 lowercase hex digits (or null)"
    return None


def _import_problem(imported) -> str | None:
    if not isinstance(imported, dict):
        return "detect_secrets must be an object"
    if not isinstance(imported.get("hashed_secret"), str) or not _SHA1.match(imported["hashed_secret"]):
        return "detect_secrets.hashed_secret must be 40 lowercase hex digits"
    if not isinstance(imported.get("filename"), str) or not imported["filename"]:
        return "detect_secrets.filename must be text"
    if imported.get("type") is not None and not isinstance(imported["type"], str):
        return "detect_secrets.type must be text"
    if imported.get("place") is not None and (not isinstance(imported["place"], str)
                                              or not _PLACE.match(imported["place"])):
        return "detect_secrets.place must be 16 lowercase hex digits"
    return None


def _rotation_problem(entry: dict, rotation_only: bool) -> str | None:
    if "advisory_id" in entry:
        if not isinstance(entry["advisory_id"], str) or not _ADVISORY.match(entry["advisory_id"]):
            return "advisory_id must look like adv-0123456789abcdef"
        digest = entry.get("secret_sha256")
        if isinstance(digest, str) and entry["advisory_id"] != f"adv-{digest[:16]}":
            return "advisory_id does not belong to secret_sha256"
    if rotation_only or entry.get("rotated_at") is not None:
        if not isinstance(entry.get("rotated_at"), str) or not _DATE.match(entry["rotated_at"]):
            return "rotated_at must be a date (YYYY-MM-DD)"
        if _advisory_of(entry) is None:
            return "rotation fields need the secret's advisory_id or secret_sha256"
    for key in _TEXT:
        if entry.get(key) is not None and not isinstance(entry[key], str):
            return f"{key} must be text"
    return _verification_problem(entry) if "verification" in entry else None


def _verification_problem(entry: dict) -> str | None:
    """``verification`` (``rotated --verify``): the provider's answer that the old secret is revoked."""
    v = entry["verification"]
    if not entry.get("rotated_at"):
        return "verification belongs to a rotation (rotated_at)"
    if not isinstance(v, dict) or set(v) - set(VERIFICATION_FIELDS):
        return f"verification must be an object with {', '.join(VERIFICATION_FIELDS)}"
    if v.get("outcome") != "revoked":
        return "verification.outcome must be revoked (only a rejected secret verifies a rotation)"
    if v.get("status") is not None and (not isinstance(v["status"], int) or isinstance(v["status"], bool)):
        return "verification.status must be an HTTP status code (or null)"
    for key in ("host", "checked_at", "detail"):
        if not isinstance(v.get(key), str) or not v[key]:
            return f"verification.{key} must be text"
    return None


def _advisory_of(entry: dict) -> str | None:
    if entry.get("advisory_id"):
        return entry["advisory_id"]
    digest = entry.get("secret_sha256")
    return f"adv-{digest[:16]}" if isinstance(digest, str) and digest else None


def record_rotation(baseline: Baseline, advisory_id: str, by: str, reference: str | None,
                    at: str | None = None, verification: dict | None = None) -> Baseline:
    """A new baseline with this rotation acknowledged (an earlier rotation entry for it is
    replaced; finding entries naming the same secret stay); ``verification`` (``rotated --verify``,
    a revoked outcome) is the provider's proof."""
    advisory_id = advisory_id if advisory_id.startswith("adv-") else f"adv-{advisory_id[:16]}"
    if not _ADVISORY.match(advisory_id):
        raise BaselineError(f"not an advisory id or secret SHA-256: {advisory_id}")
    at = at or _now()[:10]
    if not _DATE.match(at):
        raise BaselineError(f"--at expects a date (YYYY-MM-DD), got {at!r}")
    entry = {"advisory_id": advisory_id, "rotated_at": at, "rotated_by": by, "reference": reference,
             "recorded_at": _now()}
    if verification is not None:
        entry["verification"] = {k: verification.get(k) for k in VERIFICATION_FIELDS}
        problem = _verification_problem(entry)
        if problem:
            raise BaselineError(problem)
    kept = [e for e in baseline.entries if e.get("advisory_id") != advisory_id or _kind(e) != "rotation"]
    return replace(baseline, entries=kept + [entry])


def record_verifications(baseline: Baseline, proofs: dict[str, dict]) -> tuple[Baseline, list[str]]:
    """``audit --validate``: a new baseline in which each rotation entry whose advisory has a proof (a
    revoked outcome) carries it as ``verification``, everything else of the entry unchanged; and the
    advisory ids whose entry changed. Only rotations already recorded are touched: a provider's
    rejection verifies a claim, it never makes one."""
    changed, entries = [], []
    for entry in baseline.entries:
        proof = proofs.get(entry.get("advisory_id")) if _kind(entry) == "rotation" else None
        if proof is not None and proof.get("outcome") == "revoked":
            verification = {k: proof.get(k) for k in VERIFICATION_FIELDS}
            if entry.get("verification") != verification:
                entry = {**entry, "verification": verification}
                problem = _verification_problem(entry)
                if problem:
                    raise BaselineError(problem)
                changed.append(entry["advisory_id"])
        entries.append(entry)
    return replace(baseline, entries=entries), changed


# ----------------------------------------------------------------------------- finding entries


def create(result: ScanResult, reason: str, who: str, path: Path) -> Baseline:
    """A new baseline acknowledging every finding of ``result``: one entry per fingerprint."""
    return Baseline(path, _entries_for(result.findings, reason, who))


def update(baseline: Baseline, result: ScanResult, reason: str, who: str) -> tuple[Baseline, list[dict]]:
    """(the baseline with entries for the findings it does not cover yet, stale entries dropped;
    the dropped entries). Entries still matching keep their reason, author and date; rotation
    entries are always kept."""
    new, stale = apply(baseline, result)
    dropped = {id(e) for e in stale}
    kept = [e for e in baseline.entries if id(e) not in dropped]
    return replace(baseline, entries=kept + _entries_for(new, reason, who)), stale


def apply(baseline: Baseline, result: ScanResult) -> tuple[list[Finding], list[dict]]:
    """(the findings the baseline does not cover, in order; its finding and imported entries
    that matched no finding of ``result`` although it could have: ``_could_match``). Rotation
    entries neither hide nor go stale."""
    by_fingerprint = {e["fingerprint"]: e for e in baseline.entries if _kind(e) == "finding"}
    by_import: dict[tuple[str, str], list[dict]] = {}
    for e in baseline.entries:
        if _kind(e) == "import":
            by_import.setdefault((_posix(e["detect_secrets"]["filename"]), e["detect_secrets"]["hashed_secret"]),
                                 []).append(e)
    used: set[int] = set()
    new = []
    for finding in result.findings:
        hits = ([by_fingerprint[finding.id]] if finding.id in by_fingerprint else []) \
            + (by_import.get((finding.path, finding.secret_sha1), []) if finding.secret_sha1 else [])
        used.update(id(e) for e in hits)
        if not hits:
            new.append(finding)
    places = {e["detect_secrets"].get("place") for e in baseline.entries if id(e) in used and _kind(e) == "import"}
    stale = [e for e in baseline.entries if _kind(e) != "rotation" and id(e) not in used and not _of_a_baseline(e)
             and (_kind(e) != "import" or e["detect_secrets"].get("place") not in places - {None})
             and _could_match(e, result)]
    return new, stale


def _could_match(entry: dict, result: ScanResult) -> bool:
    """Whether this run could have found what ``entry`` acknowledges, so that finding nothing makes it
    stale. Not a history audit of part of the history (``--range``, ``--since``: a pull request's
    commits hold few of the acknowledged secrets), nor, in any history audit, an entry for a Truss
    policy finding (audits report leaks only). Why: with the baseline found by default, one file
    serves the tree scan, the pre-commit hook and the pull request's audit alike."""
    history = result.stats.history
    if history is None:
        return True
    if history.get("range"):
        return False
    return not (_kind(entry) == "finding" and entry.get("secret_sha256") is None)


def _entries_for(findings, reason: str, who: str) -> list[dict]:
    now = _now()
    entries: dict[str, dict] = {}
    for f in findings:
        entry = {"fingerprint": f.id, "rule_id": f.rule_id, "path": f.path, "secret_sha256": f.secret_sha256,
                 "reason": reason, "added_by": who, "added_at": now}
        if f.advisory_id:
            entry["advisory_id"] = f.advisory_id
        entries.setdefault(f.id, entry)
    return sorted(entries.values(), key=_order)


def _of_a_baseline(entry: dict) -> bool:
    """An imported entry naming a baseline file (trussguard's or detect-secrets' own): detect-secrets
    flags the hashes such a file holds as high-entropy strings, while trussguard never reports them
    (``suppress.project.BASELINE_NAMES``), so the entry can never match and would be listed as stale
    right after the import. Such entries are not imported any more; older files may still hold them."""
    imported = entry.get("detect_secrets")
    return isinstance(imported, dict) and _posix(imported.get("filename", "")) in BASELINE_FILES


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _kind(entry: dict) -> str:
    return "finding" if "fingerprint" in entry else "import" if "detect_secrets" in entry else "rotation"


# ----------------------------------------------------------------------------- detect-secrets import


def import_detect_secrets(baseline: Baseline, ds_path: Path, who: str) -> tuple[Baseline, int]:
    """(the baseline with one imported entry per secret of the detect-secrets baseline at
    ``ds_path`` it does not hold yet; how many were added). Only the SHA-1, the file name and
    the type are kept (not detect-secrets' line numbers). Results for a baseline file (trussguard's,
    or detect-secrets' own) are hashes, not secrets: they are left out (see ``_of_a_baseline``)."""
    data = _read_json(ds_path, "detect-secrets baseline")
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, dict):
        raise BaselineError(f"{ds_path} is not a detect-secrets baseline (no results object)")
    have = {_import_key(e["detect_secrets"]) for e in baseline.entries if _kind(e) == "import"}
    now, added = _now(), []
    for filename, secrets in sorted(results.items()):
        if not isinstance(secrets, list):
            raise BaselineError(f"{ds_path}: results[{filename!r}] is not a list of secrets")
        for n, secret in enumerate(secrets, start=1):
            imported = _imported(secret, filename)
            if imported is None:
                raise BaselineError(f"{ds_path}: results[{filename!r}] secret {n}: "
                                    "needs a hashed_secret of 40 hex digits")
            if _import_key(imported) in have or _of_a_baseline({"detect_secrets": imported}) \
                    or _same_file(ds_path.parent / imported["filename"], baseline.path):
                continue
            have.add(_import_key(imported))
            if isinstance(secret.get("line_number"), int):
                imported["place"] = _place(imported["filename"], secret["line_number"])
            reason = IMPORT_REASON + _audited(secret.get("is_secret"))
            added.append({"detect_secrets": imported, "reason": reason, "added_by": who, "added_at": now})
    return replace(baseline, entries=baseline.entries + sorted(added, key=_order)), len(added)


def _imported(secret, filename: str) -> dict | None:
    if not isinstance(secret, dict) or not isinstance(secret.get("hashed_secret"), str):
        return None
    digest = secret["hashed_secret"].lower()
    if not _SHA1.match(digest):
        return None
    kind = secret.get("type")
    return {"hashed_secret": digest, "filename": _posix(filename), "type": kind if isinstance(kind, str) else None}


def _place(filename: str, line: int) -> str:
    """Which results were reported at the same spot: detect-secrets often reports one value under two
    plugins (its OpenAI Token plugin hashes part of a key, Base64 High Entropy String the whole), and
    trussguard's finding matches only the hash of the whole value. Results of one place are one
    acknowledgement: once one matches, the others are not stale. A hash, fixed at import: nothing is
    ever matched by line number (lines move)."""
    return hashlib.sha256(f"{filename}\0{line}".encode("utf-8")).hexdigest()[:16]


def _audited(is_secret) -> str:
    return " (audited: a real secret)" if is_secret is True else \
        " (audited: not a secret)" if is_secret is False else ""


def _import_key(imported: dict) -> tuple:
    return (_posix(imported["filename"]), imported["hashed_secret"], imported.get("type"))


def _posix(filename: str) -> str:
    name = filename.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


# ----------------------------------------------------------------------------- writing


def _order(entry: dict) -> tuple:
    """Rotation entries first, then by path, rule and id: the order reviewers read the file in."""
    imported = entry.get("detect_secrets") or {}
    return (_kind(entry) != "rotation", entry.get("path") or imported.get("filename") or "",
            entry.get("rule_id") or imported.get("type") or "",
            entry.get("fingerprint") or imported.get("hashed_secret") or entry.get("advisory_id") or "",
            json.dumps(entry, sort_keys=True))


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def save(baseline: Baseline) -> None:
    """Atomically, sorted, one entry per line-group: the file is reviewed in pull requests."""
    text = json.dumps({"schema_version": SCHEMA_VERSION, "entries": sorted(baseline.entries, key=_order)},
                      indent=2, sort_keys=True) + "\n"
    tmp = baseline.path.with_name(f".{baseline.path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, "utf-8")
        os.replace(tmp, baseline.path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise BaselineError(f"cannot write baseline {baseline.path}: {exc.strerror or exc}") from None
