"""The rules over what the scan loops do not hold whole: a file's extra readings, and files over
``--max-file-size`` read in bounded, overlapping chunks.

Why chunks and not a skip: a size limit is a bypass (10 MiB of padding before a token, a 50 MB
minified bundle). Above the limit a file is streamed in chunks of at most ``CHUNK`` bytes, each
scanned with ``OVERLAP`` bytes of the previous and the next chunk around it, so a match that
straddles a boundary is seen whole with its keyword context (rule windows reach at most 64 KiB
before a keyword). A match is kept only by the chunk whose own part it starts in, so nothing in
an overlap is reported twice; offsets, lines and columns are mapped back to the whole file.
Memory is a few chunks, whatever the file's size. Only the rules run here: no YAML or Python
parsing and no detect-secrets on a file that size.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from trussguard.sources.content import SAMPLE, Oversize, chars, readings, sniff, strip_nuls
from trussguard.types import Match

CHUNK = 4 << 20
MIN_CHUNK = 64 << 10  # a small --max-file-size does not make the chunks tiny
OVERLAP = 128 << 10  # >= the widest rule window (64 KiB) plus the matcher's 4 KiB stretch


def oversize_note(path: str) -> str:
    return f"{path}: over --max-file-size, so scanned in chunks by the secret rules only (not parsed)"


def extra_matches(detector, path: str, extra: Iterable[bytes], found: list[Match]) -> list[Match]:
    """Rule matches in a file's other readings (raw bytes of a transcoded file, NUL-free bytes)
    whose secret the main reading did not already give (suppressed or not)."""
    seen = {m.secret for m in found}
    out = []
    for view in extra:
        for m in detector.detect(path, view, False):
            if m.secret not in seen:
                seen.add(m.secret)
                out.append(m)
    return out


@dataclass
class _Position:
    """Where one reading stands at the start of a chunk's own part."""

    lines: int = 0  # newlines before it
    column: int = 0  # characters since the last newline before it
    offset: int = 0  # bytes of this reading before it


@dataclass
class ChunkedScan:
    matches: list[Match] = field(default_factory=list)
    hidden: list[tuple[Match, str]] = field(default_factory=list)  # (match, marker) allowed inline
    bytes: int = 0
    encoding: str = ""


def scan_oversize(detector, item: Oversize, chunk_size: int,
                  marker_of: Callable[[bytes, Match], str | None]) -> ChunkedScan:
    """Every rule match in an oversize file, streamed in chunks of about ``chunk_size`` (clamped
    to [MIN_CHUNK, CHUNK]). ``marker_of(window, match)`` names the inline marker that allows the
    match (None: none does), asked on the main reading's window around the match. Raises ``ReadFailed``/``OSError`` from ``parts``."""
    chunk = max(MIN_CHUNK, min(CHUNK, chunk_size)) // 4 * 4  # whole UTF-32 units in every part
    overlap = min(OVERLAP, chunk)
    parts = iter(item.parts(chunk))
    cur = next(parts, b"")
    result = ChunkedScan(encoding=sniff(cur[:SAMPLE]))
    transforms = readings(result.encoding)
    positions = [_Position() for _ in transforms]
    seen: set[tuple[str, int]] = set()  # (secret, line): one report per place across readings
    tail = b""
    while cur:
        nxt = next(parts, b"")
        ahead = nxt[:overlap]
        has_nul = b"\0" in tail or b"\0" in cur or b"\0" in ahead
        for i, (transform, pos) in enumerate(zip(transforms, positions)):
            pre, own = transform(tail), transform(cur)
            if transform is not strip_nuls or has_nul:
                view = pre + own + transform(ahead)
                for m in detector.detect(item.path, view, False):
                    if not len(pre) <= m.start < len(pre) + len(own):
                        continue  # another chunk owns it
                    placed = _place(m, pre, pos)
                    if (m.secret, placed.line) in seen:
                        continue
                    seen.add((m.secret, placed.line))
                    marker = marker_of(view, m) if i == 0 else None
                    if marker is not None:
                        result.hidden.append((placed, marker))
                        continue
                    result.matches.append(placed)
            _advance(pos, own)
        result.bytes += len(cur)
        tail = cur[-overlap:] if len(cur) >= overlap else (tail + cur)[-overlap:]
        cur = nxt
    result.matches.sort(key=lambda m: (m.line, m.column, m.rule_id))
    return result


def _place(m: Match, pre: bytes, pos: _Position) -> Match:
    """A window's match at its place in the whole file."""
    line = pos.lines - pre.count(b"\n") + m.line
    column = m.column
    if m.line == 1:  # on the line the window starts in: count the characters before the window
        column += pos.column - chars(pre)
    shift = pos.offset - len(pre)
    return replace(m, start=m.start + shift, end=m.end + shift, line=line, column=column)


def _advance(pos: _Position, own: bytes) -> None:
    last = own.rfind(b"\n")
    pos.column = chars(own[last + 1:]) if last != -1 else pos.column + chars(own)
    pos.lines += own.count(b"\n")
    pos.offset += len(own)
