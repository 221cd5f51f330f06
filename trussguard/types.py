"""Small immutable records exchanged between the pipeline stages.

Stages never share mutable settings: a source yields ``Fragment``s, the matcher turns them
into ``Match``es, ``findings`` turns those into ``Finding``s, and reporters only read.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field


class Severity(enum.IntEnum):
    """Ordered so that ``>=`` compares against the ``--fail-on`` threshold."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (expected low, medium, high or critical)") from None

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Fragment:
    """The bytes of one file (or blob) and where they came from."""

    path: str  # relative to the scan root, POSIX separators
    data: bytes  # the text the rules and the policy read (UTF-8), or a binary's raw bytes
    commit: str | None = None
    extra: tuple[bytes, ...] = ()  # other readings for the rules only (sources.content.decode)
    binary: bool = False  # never parsed by the policy


@dataclass(frozen=True)
class CellPlace:
    """Where in a notebook a finding sits: the cell (1-based, in notebook order), the line within its
    source (or within one of its outputs, when ``output``)."""

    cell: int
    line: int
    output: bool = False

    def __str__(self) -> str:
        return f"cell {self.cell}{' output' if self.output else ''}, line {self.line}"


@dataclass(frozen=True)
class Match:
    """One secret found by one rule in one fragment, before suppression and reporting."""

    rule_id: str
    secret: str
    start: int  # byte offset of the secret in the fragment (of the encoded text if decoded)
    end: int
    line: int  # 1-based
    column: int  # 1-based, in characters
    decoded: str | None = None  # "base64" or "percent" inside an encoded run; "escape" when written with escapes
    # the key a generic rule saw the value bound to (`DB_PASSWORD`): names the workspace secret in the advice
    name: str | None = field(default=None, compare=False)
    cell: CellPlace | None = None  # in a notebook: the cell and line within it (``line`` is the file's)


@dataclass(frozen=True)
class Finding:
    """One reported problem; the JSON report contract is built from these fields."""

    id: str
    rule_id: str
    kind: str  # "leak" or "policy"
    severity: Severity
    title: str
    message: str
    path: str
    line: int
    column: int | None
    commit: str | None
    secret_sha256: str | None
    redacted: str | None
    advisory_id: str | None
    decoded: str | None = None
    check: str | None = None  # the Truss policy check (TGnnn) that also applies to this spot
    fix: str | None = None  # the Truss remedy for this spot
    secret: str | None = field(default=None, repr=False, compare=False)  # only kept for --show-secrets
    history: dict | None = field(default=None, compare=False)  # history audit only: where and when it was committed
    checksum: str | None = None  # "valid" / "invalid" when the rule's format carries a checksum (engine.checksums)
    # SHA-1 of the secret: only to match detect-secrets baselines (which hash with SHA-1); never reported
    secret_sha1: str | None = field(default=None, repr=False, compare=False)
    cell: CellPlace | None = None  # in a notebook: the cell and the line within it (``line`` is the file's)
    # --validate: the provider's answer for this secret (``Validation.to_dict()``: outcome, status, host, checked_at,
    # detail, cached); None when not validated
    validation: dict | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Action:
    """One numbered step of an advisory: what to do, in order, with the details filled in."""

    step: int
    title: str
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Advisory:
    """What to do about one distinct leaked secret (one per secret hash)."""

    id: str
    secret_sha256: str
    rule_id: str
    title: str
    urgency: str
    revoke_url: str | None
    steps: tuple[str, ...]
    truss_secret_name: str | None
    references: tuple[str, ...]
    finding_ids: tuple[str, ...]
    actions: tuple[Action, ...] = ()  # the numbered steps (advise.py): five, or two for a never-committed staged key
    rotation: dict | None = field(default=None, compare=False)  # acknowledged in the baseline: rotated_at/by, reference
    validation: dict | None = field(default=None, compare=False)  # --validate: as ``Finding.validation``


@dataclass(frozen=True)
class Skipped:
    """A file that was not scanned, and why (unreadable, missing, symlink, submodule, ...)."""

    path: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class Suppressed:
    """A finding that was not reported because someone said so, and where they said it.

    Every report lists these (a suppression hides a credential from the gate, so a reviewer must
    see each one). ``kind`` is ``inline`` (a marker in the file), ``config`` (the configuration
    file's ``exclude``/``enable``/``disable``/``allow-values``) or ``baseline``; ``by`` names the
    marker or key. The value appears only redacted and hashed, like a finding's.
    """

    rule_id: str
    path: str
    line: int
    kind: str
    by: str
    title: str = ""
    severity: Severity = Severity.HIGH
    secret_sha256: str | None = None
    redacted: str | None = None
    finding_id: str | None = None

    @property
    def check(self) -> None:
        """Described like a finding (``findings.describe_rules``): the rule id names the rule or check."""
        return None

    @classmethod
    def of(cls, finding: "Finding", kind: str, by: str) -> "Suppressed":
        return cls(finding.rule_id, finding.path, finding.line, kind, by, finding.title, finding.severity,
                   finding.secret_sha256, finding.redacted, finding.id)


def secret_sha256(secret: str) -> str:
    """The hash by which reports, baselines and caches name a secret without holding it."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()
