"""One level of decoding: base64 and percent-encoded runs that hide a credential.

A base64-wrapped ``.env`` in a JSON value or notebook, or ``hf%5F...`` in a URL, would
otherwise slip past every token regex. Only runs that decode to mostly printable text are
rescanned, so images and compressed blobs embedded as base64 cost one decode and no more.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import re2

MIN_BASE64 = 24
MAX_RUN = 16384  # longer runs are media or archives, not a pasted credential file
_B64 = rb"[A-Za-z0-9+/_-]"
# A run of base64 characters holding a digit, an upper- and a lower-case letter (in any order): base64 of
# text always does, while identifiers, words, paths and hex digests, millions of runs in vendored code,
# mostly do not. RE2 rejects those in C; a Python loop over every run was 60% of a history audit.
_MIXED_ORDERS = (rb"[0-9]", rb"[A-Z]", rb"[a-z]")
_BASE64_RUN = re2.compile(_B64 + rb"*(?:" + rb"|".join(
    a + _B64 + rb"*" + b + _B64 + rb"*" + c for a, b, c in itertools.permutations(_MIXED_ORDERS)) + rb")"
    + _B64 + rb"*={0,2}")
_UPPER, _LOWER, _DIGITS = bytes(range(65, 91)), bytes(range(97, 123)), bytes(range(48, 58))
_PRINTABLE = bytes(range(32, 127)) + b"\t\n\r"
_PERCENT_RUN = re2.compile(rb"[A-Za-z0-9._~+/=&?:-]*(?:%[0-9A-Fa-f]{2}[A-Za-z0-9._~+/=&?:-]*)+")
# Every percent run holds an escape; this literal-led search runs at memchr speed, the run pattern at
# DFA speed, and most texts with a `%` (format strings: `%s`, `%(name)d`) hold no escape.
_PERCENT_ESCAPE = re2.compile(rb"%[0-9A-Fa-f]{2}")


@dataclass(frozen=True)
class EncodedRun:
    start: int
    end: int
    encoding: str  # "base64" or "percent"
    text: bytes  # the decoded bytes


def encoded_runs(data: bytes) -> list[EncodedRun]:
    """Decoded base64 and percent-encoded runs of ``data`` that look like text."""
    runs = []
    if b"%" in data and _PERCENT_ESCAPE.search(data) is not None:
        for m in _PERCENT_RUN.finditer(data):
            decoded = unquote_to_bytes(m.group(0))
            if decoded != m.group(0):
                runs.append(EncodedRun(m.start(), m.end(), "percent", decoded))
    for m in _BASE64_RUN.finditer(data):
        start, end = m.span()
        if not MIN_BASE64 <= end - start <= MAX_RUN:
            continue  # three runs in four: `Float32`, `x86_64`, `utf8`; judged before any copy
        run = data[start:end]
        if not _mixed(run):
            continue
        decoded = _b64decode(run)
        if decoded is not None and _is_text(decoded):
            runs.append(EncodedRun(start, end, "base64", decoded))
    return runs


def _mixed(run: bytes) -> bool:
    """Base64 of text mixes upper and lower case early, and digits; identifiers and hex digests do not."""
    head = run[:64]
    return (len(head.translate(None, _UPPER)) < len(head) and len(head.translate(None, _LOWER)) < len(head)
            and len(run.translate(None, _DIGITS)) < len(run))


def _b64decode(run: bytes) -> bytes | None:
    body = run.rstrip(b"=")
    body = body[: len(body) - len(body) % 4] if len(body) % 4 == 1 else body
    padded = body + b"=" * (-len(body) % 4)
    try:
        if b"-" in padded or b"_" in padded:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _is_text(data: bytes) -> bool:
    if len(data) < MIN_BASE64 * 3 // 4 - 2:
        return False
    unprintable = len(data.translate(None, _PRINTABLE))
    return unprintable <= 0.05 * len(data)
