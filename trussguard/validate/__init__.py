"""Opt-in credential validation (``--validate``): is a found secret still live?

For each distinct secret whose rule has a ``validator``, one read-only request to the provider's
documented host (or the ``TRUSSGUARD_VALIDATION_ENDPOINTS`` override), over HTTPS, bounded in
concurrency and rate (``scheduler``), cached by secret hash (``cache``). Nothing is sent unless a
command was given ``--validate``; this package is never imported otherwise.
"""

from __future__ import annotations

from trussguard.validate.cache import ValidationCache
from trussguard.validate.code_checks import CODE_CHECKS
from trussguard.validate.endpoints import host_of, target_url
from trussguard.validate.http_check import check, opener
from trussguard.validate.model import (Candidate, Validation, ValidationError, ValidationSettings, secret_hash,
                                       unknown)
from trussguard.validate.scheduler import run

__all__ = ["Candidate", "Validation", "ValidationError", "ValidationSettings", "secret_hash", "validate"]


def validate(candidates: list[Candidate], settings: ValidationSettings) -> dict[str, Validation]:
    """sha256(secret) -> Validation for every candidate whose rule has a validator (others are absent).

    Each distinct secret is asked once; a cached live/revoked answer younger than ``max_age_seconds``
    from the same host is reused (``cached=True``)."""
    todo: dict[str, Candidate] = {}
    for candidate in candidates:
        if candidate.rule.validator is not None and candidate.secret:
            todo.setdefault(candidate.key, candidate)
    cache = ValidationCache(settings.cache_dir, settings.max_age_seconds)
    results: dict[str, Validation] = {}
    jobs = []
    director = opener(settings.timeout)
    try:
        for key, candidate in todo.items():
            validator = candidate.rule.validator
            url = target_url(validator.url or _code_url(validator.code), validator.provider, settings.endpoints)
            host = host_of(url)
            hit = cache.get(key, host)
            if hit is not None:
                results[key] = hit
                continue
            jobs.append((host, key, _job(candidate, settings, director, host)))
        fresh = run(jobs, settings.concurrency, settings.per_host, settings.rate_per_host)
        for key, result in fresh.items():
            cache.put(key, result)
        results.update(fresh)
    finally:
        cache.close()
    return results


def _code_url(code: str | None) -> str:
    from trussguard.validate.code_checks import STS_URL

    return {"aws-sts": STS_URL}.get(code or "", "")


def _job(candidate: Candidate, settings: ValidationSettings, director, host: str):
    validator = candidate.rule.validator

    def call() -> Validation:
        try:
            if validator.code:
                return CODE_CHECKS[validator.code](candidate, settings.endpoints, settings.timeout, director)
            return check(validator, candidate.secret, settings.endpoints, settings.timeout, director)
        except Exception as exc:  # a bug must not lose the other results, nor leak the secret in a traceback
            return unknown(host, f"validation failed ({type(exc).__name__})")
    return call
