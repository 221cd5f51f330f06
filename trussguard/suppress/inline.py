"""Inline suppression comments, including other scanners' syntaxes so teams can migrate.

On the line of the finding: ``trussguard: allow`` (any rule) or ``trussguard: allow[rule-id, ...]``,
detect-secrets' ``pragma: allowlist secret`` and gitleaks' ``gitleaks:allow``. On the line
before it: ``trussguard: allow-next-line`` (optionally ``[rule-id]``) and detect-secrets'
``pragma: allowlist nextline secret``.
"""

from __future__ import annotations

import re

from trussguard.types import Match

_REACH = 65536  # on a pathological multi-megabyte line, look this far for the comment
_SAME_LINE = re.compile(
    rb"trussguard:\s*allow(?!-)(?:\[(?P<ids>[^\]]*)\])?|pragma:\s*allowlist[ -]secret|gitleaks:allow", re.I)
_ALLOW_WORD = re.compile(rb"allow", re.I)
_NEXT_LINE = re.compile(
    rb"trussguard:\s*allow-next-line(?:\[(?P<ids>[^\]]*)\])?|pragma:\s*allowlist[ -]nextline[ -]secret", re.I)


def is_suppressed(data: bytes, match: Match) -> bool:
    """True when the match's line (or the line before) carries an allow comment for its rule."""
    return allowed_at(data, match.start, match.rule_id)


def allowed_at(data: bytes, offset: int, rule_id: str) -> bool:
    """True when the line holding ``offset`` (or the line before) allows ``rule_id`` (a rule or a check)."""
    if not _mentions_allow(data):
        return False
    floor = max(0, offset - _REACH)
    start = data.rfind(b"\n", floor, offset) + 1 or floor
    end = data.find(b"\n", offset, offset + _REACH)
    line = data[start: min(len(data), offset + _REACH) if end == -1 else end]
    if _allows(_SAME_LINE, line, rule_id):
        return True
    if start == 0:
        return False
    prev_floor = max(0, start - 1 - _REACH)
    prev_start = data.rfind(b"\n", prev_floor, start - 1) + 1 or prev_floor
    return _allows(_NEXT_LINE, data[prev_start:start - 1], rule_id)


def _mentions_allow(data: bytes) -> bool:
    """Every marker spells "allow": a file without it needs no per-match look at its lines, which cost
    up to 128 KiB each on a long line (100,000 keys on one 2 MB line: 14 s). Once per file object, kept
    by identity: an equal copy of the file (the policy stage re-reads it) would cost a full comparison
    per lookup in a cache keyed by value."""
    found = _MENTIONS.get(id(data))
    if found is None or found[0] is not data:
        if len(_MENTIONS) >= 8:
            _MENTIONS.clear()
        found = _MENTIONS[id(data)] = (data, _ALLOW_WORD.search(data) is not None)
    return found[1]


_MENTIONS: dict[int, tuple[bytes, bool]] = {}


def _allows(marker: re.Pattern[bytes], line: bytes, rule_id: str) -> bool:
    if b"allow" not in line.lower():
        return False
    for m in marker.finditer(line):
        ids = m.groupdict().get("ids")
        if ids is None or rule_id in {i.strip().decode("utf-8", "replace") for i in ids.split(b",")}:
            return True
    return False
