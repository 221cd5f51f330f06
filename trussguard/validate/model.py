"""The data of opt-in credential validation (``--validate``): what is asked, how, and what came back.

Kept apart from the code that sends requests so the commands and reporters can use the types without
importing anything that talks to the network.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from trussguard.engine.schema import Rule

ENDPOINTS_VARIABLE = "TRUSSGUARD_VALIDATION_ENDPOINTS"
MAX_AGE_VARIABLE = "TRUSSGUARD_VALIDATION_MAX_AGE"  # seconds a cached answer is reused (0: always ask again)


class ValidationError(Exception):
    """A usage problem with validation (a bad endpoints file): one line, exit 2. Never holds a secret."""


@dataclass(frozen=True)
class Validation:
    """The outcome of validating one secret. ``detail`` is one line and never holds the secret."""

    outcome: str  # "live" | "revoked" | "unknown"
    status: int | None  # HTTP status when there was an answer
    host: str  # host asked (host[:port] of the rule's URL or of the override)
    checked_at: str  # ISO 8601 UTC, seconds
    detail: str
    cached: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "status": self.status, "host": self.host,
                "checked_at": self.checked_at, "detail": self.detail, "cached": self.cached}


@dataclass(frozen=True)
class ValidationSettings:
    """How validation behaves; ``from_environment`` reads the endpoint override file."""

    endpoints: dict[str, str] = field(default_factory=dict)  # provider id -> https base URL
    timeout: float = 5.0
    concurrency: int = 8  # requests in flight overall
    per_host: int = 2  # in flight per host: one slow host never holds every worker
    rate_per_host: float = 5.0  # requests per second per host
    max_age_seconds: int = 3600  # a cached live/revoked outcome newer than this is reused
    cache_dir: Path | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None,
                         cache_dir: Path | None = None) -> "ValidationSettings":
        """Settings with the endpoints of ``TRUSSGUARD_VALIDATION_ENDPOINTS=FILE`` (TOML) and the cache interval
        of ``TRUSSGUARD_VALIDATION_MAX_AGE=SECONDS``; a bad file or interval raises ``ValidationError``."""
        from trussguard.validate.endpoints import load_endpoints

        environ = os.environ if environ is None else environ
        path = environ.get(ENDPOINTS_VARIABLE, "").strip()
        age = environ.get(MAX_AGE_VARIABLE, "").strip()
        if age and not (age.isascii() and age.isdigit()):
            raise ValidationError(f"{MAX_AGE_VARIABLE} must be a whole number of seconds, got {age[:20]!r}")
        return cls(endpoints=load_endpoints(Path(path)) if path else {}, cache_dir=cache_dir,
                   max_age_seconds=int(age) if age else cls.max_age_seconds)


@dataclass(frozen=True)
class Candidate:
    """A secret to validate, with the rule that found it. The secret lives in memory only."""

    rule: Rule
    secret: str = field(repr=False)
    # other secrets of the same file by rule id (AWS: the access key id that goes with a secret key)
    companions: dict[str, str] = field(default_factory=dict, repr=False, hash=False, compare=False)

    @property
    def key(self) -> str:
        return secret_hash(self.secret)


def secret_hash(secret: str) -> str:
    """The key of a secret in results and the cache: SHA-256 of its UTF-8 bytes, hex."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def unknown(host: str, detail: str, status: int | None = None) -> Validation:
    return Validation("unknown", status, host, now_iso(), detail)
