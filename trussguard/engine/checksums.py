"""Offline format checks for tokens that carry their own checksum or structure.

Why: GitHub's and npm's tokens end in a CRC32 of their random part, and PyPI's are base64 macaroons
naming pypi.org, so a match can be told apart from a sample someone typed or a token altered by hand.
A valid checksum raises confidence (the finding says so); an invalid one never drops a finding, it
is reported with the mismatch named: a token with a broken checksum may still be someone's real
credential mistyped in one character, or a different format that shares the prefix.
"""

from __future__ import annotations

import base64
import binascii

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_VALUE = {c: i for i, c in enumerate(_BASE62)}


def _base62(text: str) -> int | None:
    value = 0
    for c in text:
        digit = _BASE62_VALUE.get(c)
        if digit is None:
            return None
        value = value * 62 + digit
    return value


def github_crc32(secret: str) -> bool:
    """`ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_`/`npm_` + random part + 6 base62 digits of the random part's CRC32
    (GitHub, "Behind GitHub's new authentication token formats", 2021; npm adopted the same layout)."""
    body = secret.rsplit("_", 1)[-1]
    if len(body) <= 6:
        return False
    expected = _base62(body[-6:])
    return expected is not None and expected == binascii.crc32(body[:-6].encode("ascii", "replace"))


_PYPI_LOCATIONS = (b"pypi.org", b"test.pypi.org")


def pypi_macaroon(secret: str) -> bool:
    """`pypi-` + URL-safe base64 of a version-2 macaroon whose location is pypi.org or test.pypi.org
    (its first field: version byte 2, field type 1 = location, then the length-prefixed name)."""
    payload = secret.split("-", 1)[-1]
    try:
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    except (binascii.Error, ValueError):
        return False
    if len(raw) < 4 or raw[0] != 2 or raw[1] != 1:
        return False
    size = raw[2]
    return raw[3:3 + size] in _PYPI_LOCATIONS and len(raw) > 3 + size + 32  # at least a 32-byte signature


KINDS = {"github-crc32": github_crc32, "pypi-macaroon": pypi_macaroon}


def verdict(kind: str | None, secret: str) -> str | None:
    """"valid" or "invalid" for a rule with a checksum kind; None for a rule without one."""
    if kind is None:
        return None
    return "valid" if KINDS[kind](secret) else "invalid"
