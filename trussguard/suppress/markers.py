"""Inline markers applied to what the scan found: rule matches, Truss-check hits, oversize chunks.

``suppress.inline`` says whether a marker allows a finding at one place of one file; this module
sorts a file's matches and hits into kept and allowed, and lists the allowed ones for the
reports. Every orchestrator (tree, staged, history) applies markers through these, so a marker
means the same thing whichever scan reads it.
"""

from __future__ import annotations

from trussguard.suppress.inline import Inline
from trussguard.types import Finding, Match, Suppressed


def split_matches(data: bytes, path: str, matches: list[Match]) -> tuple[list[Match], list[tuple[Match, str]]]:
    """(the matches no inline marker allows, [(match, marker)] for those one does)."""
    if not matches:
        return [], []
    inline = Inline(data, path)
    kept, dropped = [], []
    for m in matches:
        marker = inline.marker(m.start, m.rule_id)
        if marker is None:
            kept.append(m)
        else:
            dropped.append((m, marker))
    return kept, dropped


def split_hits(hits: list, read) -> tuple[list, list]:
    """(the Truss-check hits no inline marker allows, [(hit, marker)] for those one does);
    ``read(path)`` gives a file's bytes (None: no marker can apply). One ``Inline`` per file."""
    inline: dict[str, Inline | None] = {}
    kept, dropped = [], []
    for hit in hits:
        if hit.path not in inline:
            data = read(hit.path)
            inline[hit.path] = None if data is None else Inline(data, hit.path)
        marker = hit_marker(hit, inline[hit.path])
        if marker is None:
            kept.append(hit)
        else:
            dropped.append((hit, marker))
    return kept, dropped


def hit_marker(hit, inline: Inline | None) -> str | None:
    """The marker that allows a Truss check's hit at its line, or None."""
    return None if inline is None else inline.marker_at_line(hit.line, hit.code)


def oversize_markers(path: str):
    """``scan_oversize``'s marker test for ``path``: one ``Inline`` per chunk window (every match
    of a window is asked with the same bytes), not one per match."""
    last: list = [None, None]

    def marker_of(view: bytes, match: Match) -> str | None:
        if last[0] is not view:
            last[0], last[1] = view, Inline(view, path)
        return last[1].marker(match.start, match.rule_id)

    return marker_of


def inline_records(hidden: list[tuple[Finding, str]]) -> list[Suppressed]:
    """One record per (rule, path, line) suppressed by a marker, in report order."""
    records = {(f.rule_id, f.path, f.line): Suppressed.of(f, "inline", marker) for f, marker in hidden}
    return [records[k] for k in sorted(records, key=lambda k: (k[1], k[2], k[0]))]
