"""Readings of a file's text whose matches map back to the file: notebooks and escaped strings.

``prepare`` decides by the unit's paths, with no work at all for most files: an ``.ipynb`` is read
as a notebook (``sources.notebook``: the rules read the file with its binary payloads blanked, plus
its code cells and its text, decoded), a JSON, YAML or TOML file holding a backslash is also read
with its escaped strings unescaped (``engine.unescape``). Every other file: None.

A match in a derived reading is reported at the file offsets of the escaped text it was read from,
so line, column, inline markers and the scan cache (which reads each secret back from the file at
its offsets) all see the file; its secret is the unescaped value. When that value is not written
as such in the file (an escape inside the secret itself), the match is marked ``decoded="escape"``
and the cache does not store its unit. A match the plain reading already gave at an overlapping
place, or with the same secret on the same line, is not reported twice. Matches in a notebook,
from any reading, carry their cell and the line within it (``Match.cell``).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from typing import Callable

from trussguard.engine.matcher import _LineIndex
from trussguard.engine.unescape import JSON, Reading, broken_json_escape, escaped_reading, kind_of
from trussguard.sources import notebook
from trussguard.types import CellPlace, Match

ESCAPE = "escape"  # Match.decoded of a secret written with escapes


@dataclass
class Derived:
    plain: bytes  # what the rules read as the file itself (a notebook's with its payloads blanked)
    readings: list[tuple[Reading, str]]  # (reading, the path whose kind the rules judge it as)
    place: Callable[[int], tuple[int, int, bool] | None] | None = None  # a notebook's cell at a file offset
    note: str | None = None  # a malformed notebook, a broken escape

    def annotate(self, matches: list[Match]) -> list[Match]:
        """Each match in a notebook with its cell and line within it, when it lies in a cell or output."""
        if self.place is None:
            return matches
        return [_placed(m, self.place(m.start)) for m in matches]

    def matches(self, detector, data: bytes, found: list[Match]) -> list[Match]:
        """The matches of the derived readings, at the file's offsets, that ``found`` (the plain
        reading's, allowed inline or not) does not already hold."""
        if not any(len(r) for r, _ in self.readings):
            return []
        lines = _LineIndex(data)
        spans = sorted((m.start, m.end) for m in found)
        starts, reach, furthest = [s for s, _ in spans], [], 0
        for _, e in spans:
            furthest = max(furthest, e)
            reach.append(furthest)  # the furthest end of the spans up to here
        seen = {(m.secret, m.line) for m in found}
        out: list[Match] = []
        for reading, path in self.readings:
            if not len(reading):
                continue
            for m in detector.detect(path, reading.text, False):
                start, end = reading.file_start(m.start), reading.file_end(m.end)
                line, column = lines.position(start)
                if (m.secret, line) in seen or _overlaps(starts, reach, start, end):
                    continue
                decoded = m.decoded
                if decoded is None and data[start:end].decode("utf-8", "replace") != m.secret:
                    decoded = ESCAPE
                seen.add((m.secret, line))
                placed = replace(m, start=start, end=end, line=line, column=column, decoded=decoded)
                out.append(_placed(placed, self.place(start)) if self.place is not None else placed)
        return out


def _placed(m: Match, where: tuple[int, int, bool] | None) -> Match:
    return m if where is None else replace(m, cell=CellPlace(*where))


def _overlaps(starts: list[int], reach: list[int], start: int, end: int) -> bool:
    """Whether a span starting before ``end`` ends after ``start``."""
    i = bisect.bisect_left(starts, max(end, start + 1))
    return i > 0 and reach[i - 1] > start


def prepare(paths: tuple[str, ...], data: bytes, binary: bool, detector=None) -> Derived | None:
    """The derived readings of one unit's text, or None (most files: a check of the name, no more).
    ``detector``: where its keywords are tells which escaped strings a rule could match in
    (``unescape.escaped_reading``); without one every escaped string is read."""
    if binary:
        return None
    nb = next((p for p in paths if notebook.is_notebook(p)), None)
    if nb is not None:
        return _notebook(paths[0], nb, data)
    kind = next((k for k in map(kind_of, paths) if k is not None), None)
    if kind is None:
        return None
    if b"\\" not in data:
        return None
    reading = escaped_reading(data, kind, detector.matcher.keyword_starts(data) if detector is not None else None)
    # Only JSON's broken escapes are noted: in JSON a backslash is only ever inside a string, so one that
    # escapes nothing is a broken file. In YAML and TOML a double quote may stand inside a plain or block
    # scalar (a regex in a rule file: `["'\]]`), so a "string" with an invalid escape is most likely no
    # string at all, and a file that is really broken gets the config parser's note where one is parsed.
    problem = broken_json_escape(data) if kind == JSON else None
    if reading is None and problem is None:
        return None
    return Derived(data, [(reading, paths[0])] if reading is not None else [], note=_escape_note(paths[0], data, problem))


def _notebook(path: str, nb: str, data: bytes) -> Derived:
    try:
        view = notebook.read(data)
    except notebook.NotANotebook as exc:
        reading = escaped_reading(data, JSON)
        note = f"{path}: {exc}; scanned as a plain JSON file, not as a notebook"
        return Derived(data, [(reading, path)] if reading is not None else [], note=note)
    # code cells are judged as Python (their literals are quoted), the rest as text
    return Derived(view.plain, [(view.code.reading, nb + ".py"), (view.text.reading, nb)], view.place)


def _escape_note(path: str, data: bytes, problem: tuple[int, bytes] | None) -> str | None:
    if problem is None:
        return None
    offset, escape = problem
    line = data.count(b"\n", 0, offset) + 1
    shown = escape.decode("ascii", "replace") if escape.isascii() else "\\" + "?"
    return f"{path}: line {line}: a string holds an invalid escape ({shown}); read as written there"
