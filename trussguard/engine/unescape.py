"""Escaped text read as what it says: JSON, YAML and TOML string escapes undone, offsets mapped back.

Why: keyword-anchored rules (prefix-less formats such as Mistral's) expect the key after a quote,
``Mistral(api_key="KEY")``; inside a JSON string that code is ``Mistral(api_key=\\"KEY\\")`` and the
backslash breaks the anchor. So escaped strings are also read unescaped, as a second text for the
rules (a ``Reading``), which remembers where each of its bytes came from: a match in it is reported
at the file's own offsets, line and column of the escaped text, with the unescaped value as its
secret.

What is read (``escaped_reading``), for a file whose name says JSON (``.json``, ``.jsonl``,
``.ndjson``, ``.geojson``), YAML or TOML, and only when it holds a backslash (one C-speed search;
every other file pays nothing): each double-quoted string on one line holding an escape, unescaped,
after the text before it on its line (at most ``PREFIX`` bytes, never before the previous string
read: the key ``"MISTRAL_API_KEY": `` stays in front of its value), when a rule keyword occurs in
that stretch (a rule's window never reaches past it in the reading). The reading is never longer
than the file, and mostly a few lines of it. In YAML and TOML a string counts only where one can start (line start, after a blank,
``:``, ``=``, ``,``, ``[`` or ``{``), so a quote inside a plain scalar does not shift the rest of the
line. Multi-line strings (YAML folded, TOML ``\"\"\"``) are read as written only.

A broken escape (``\\q`` in JSON, a truncated ``\\u12``) is kept as written; in JSON it is reported once
per file (``broken_json_escape``: there a backslash only ever stands inside a string). In YAML and TOML a
quote may stand inside a plain or block scalar, so a "string" with an invalid escape is most likely none and
is not reported. The plain text is scanned anyway, so nothing is lost (fail closed).
"""

from __future__ import annotations

import bisect
import posixpath
from json.decoder import scanstring

import re2

PREFIX = 256  # bytes of a string's line read before it (the default rule window's reach back)
JSON, YAML, TOML = "json", "yaml", "toml"
_KINDS = {".json": JSON, ".jsonl": JSON, ".ndjson": JSON, ".geojson": JSON, ".yaml": YAML, ".yml": YAML,
          ".toml": TOML}
# A double-quoted string on one line holding at least one escape. RE2 (linear): a string may be any length.
_ESCAPED_STRING = re2.compile(rb'"[^"\\\n]*(?:\\[^\n][^"\\\n]*)+"')
# An escape writing a printable ASCII character, which could spell a keyword (`\\u006distral`).
_ASCII_ESCAPE = re2.compile(rb"\\u00[2-7][0-9A-Fa-f]|\\U0000[2-7][0-9A-Fa-f]|\\x[2-7][0-9A-Fa-f]")
# An invalid JSON escape after an even number of backslashes (`\\\\q` is a backslash and a `q`).
_BROKEN_JSON = re2.compile(rb'(?:^|[^\\])(?:\\\\)*(?:(\\[^"\\/bfnrtu\n])|(\\u[0-9A-Fa-f]{0,3})(?:[^0-9A-Fa-f]|$))')
_ESCAPE = re2.compile(rb"\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2}|[^\n]|$)")
_OPENERS = b" \t:=,[{"  # what may stand before a YAML/TOML string's opening quote (or a line start)
_SIMPLE = {
    JSON: {b'"': b'"', b"\\": b"\\", b"/": b"/", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t"},
    YAML: {b'"': b'"', b"\\": b"\\", b"/": b"/", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t",
           b"0": b"\0", b"a": b"\a", b"v": b"\v", b"e": b"\x1b", b" ": b" ", b"\t": b"\t",
           b"N": "\u0085".encode(), b"_": "\u00a0".encode(), b"L": "\u2028".encode(), b"P": "\u2029".encode()},
    TOML: {b'"': b'"', b"\\": b"\\", b"b": b"\b", b"f": b"\f", b"n": b"\n", b"r": b"\r", b"t": b"\t",
           b"e": b"\x1b"},
}
_HEX_ESCAPES = {JSON: b"u", YAML: b"uUx", TOML: b"uUx"}


def kind_of(path: str | None) -> str | None:
    """``json``, ``yaml`` or ``toml`` by the file's name, else None (not read unescaped)."""
    if not path:
        return None
    return _KINDS.get(posixpath.splitext(path.lower())[1])


class Reading:
    """A text for the rules assembled from pieces of a file (``data``), and the way back.

    Pieces are copies (a run of the file's bytes, offsets shift by a constant), escapes (the bytes an
    escape stands for, mapped to the whole escape), gaps (a separator that is not in the file, mapped
    to where the previous piece ended) and strings (a whole string's content decoded at C speed by
    ``json``'s scanner, mapped escape by escape only when a match asks: most strings never are).
    ``file_start``/``file_end`` map a reading span to the file's; ``reading_offset`` maps a file
    offset back (None where the reading holds nothing of the file).
    """

    def __init__(self, data: bytes):
        self.data = data
        self.text = b""
        self._out: list[bytes] = []
        self._size = 0
        self._r: list[int] = []  # reading start of each piece
        self._f: list[int] = []  # file start of each piece
        self._fe: list[int] = []  # file end of each piece
        self._type: list[int] = []  # _COPY, _ESCAPE_PIECE or _STRING (a gap is an empty _ESCAPE_PIECE)
        self._kinds: dict[int, str] = {}  # a string piece's kind of escapes
        self._expanded: dict[int, Reading] = {}  # a string piece, escape by escape (built on first use)

    def __len__(self) -> int:
        return self._size

    def copy(self, start: int, end: int) -> None:
        if end <= start:
            return
        if self._type and self._type[-1] == _COPY and self._fe[-1] == start \
                and self._r[-1] + (start - self._f[-1]) == self._size:
            self._fe[-1] = end  # continues the previous copy
        else:
            self._piece(start, end, _COPY)
        self._out.append(self.data[start:end])
        self._size += end - start

    def escape(self, decoded: bytes, start: int, end: int) -> None:
        self._piece(start, end, _ESCAPE_PIECE)
        self._out.append(decoded)
        self._size += len(decoded)

    def gap(self, text: bytes) -> None:
        """A separator that is not in the file (between two strings or two cells)."""
        at = self._fe[-1] if self._fe else 0
        self._piece(at, at, _ESCAPE_PIECE)
        self._out.append(text)
        self._size += len(text)

    def unescape(self, start: int, end: int, kind: str) -> None:
        """The string content ``data[start:end]`` (quotes excluded), its escapes undone as ``kind`` reads them
        (a JSON surrogate pair ``\\ud83d\\ude00`` is one character)."""
        if self.data.find(b"\\", start, end) == -1:
            self.copy(start, end)
            return
        fast = _fast(self.data, start, end, kind)
        if fast is None:
            self._unescape_each(start, end, kind)
            return
        self._kinds[len(self._r)] = kind
        self._piece(start, end, _STRING)
        self._out.append(fast)
        self._size += len(fast)

    def _unescape_each(self, start: int, end: int, kind: str) -> None:
        pos = start
        escapes = [m.span() for m in _ESCAPE.finditer(self.data, start, end)]
        skip = False
        for n, (s, e) in enumerate(escapes):
            if skip:
                skip = False
                continue
            decoded = _decode(self.data[s:e], kind)
            if decoded is None:
                continue  # kept as written: copied with the run around it
            if decoded == _HALF and n + 1 < len(escapes) and escapes[n + 1][0] == e:
                pair = _pair(self.data[s:e], self.data[e:escapes[n + 1][1]])
                if pair is not None:
                    decoded, e, skip = pair, escapes[n + 1][1], True
            self.copy(pos, s)
            self.escape(decoded, s, e)
            pos = e
        self.copy(pos, end)

    def ends_with(self, suffix: bytes) -> bool:
        """Whether the text so far ends with ``suffix`` (the last piece is long enough to tell for a byte)."""
        return bool(self._out) and self._out[-1].endswith(suffix)

    def finish(self) -> bytes:
        self.text = b"".join(self._out)
        self._out = [self.text]
        return self.text

    def _piece(self, start: int, end: int, kind: int) -> None:
        self._r.append(self._size)
        self._f.append(start)
        self._fe.append(end)
        self._type.append(kind)

    def _string(self, i: int) -> "Reading | None":
        """String piece ``i`` escape by escape; None if that does not give the same bytes (never expected)."""
        if i not in self._expanded:
            sub = Reading(self.data)
            sub._unescape_each(self._f[i], self._fe[i], self._kinds[i])
            end = self._r[i + 1] if i + 1 < len(self._r) else self._size
            sub.finish()
            self._expanded[i] = sub if len(sub) == end - self._r[i] else None
        return self._expanded[i]

    def file_start(self, offset: int) -> int:
        """The file offset where the reading's byte at ``offset`` comes from (an escape's first byte)."""
        i = bisect.bisect_right(self._r, offset) - 1
        if i < 0:
            return 0
        kind = self._type[i]
        if kind == _COPY:
            return min(self._f[i] + offset - self._r[i], self._fe[i])
        sub = self._string(i) if kind == _STRING else None
        return sub.file_start(offset - self._r[i]) if sub is not None else self._f[i]

    def file_end(self, offset: int) -> int:
        """The file offset just past where the reading's bytes before ``offset`` come from."""
        i = bisect.bisect_right(self._r, max(offset - 1, 0)) - 1
        if i < 0:
            return 0
        kind = self._type[i]
        if kind == _COPY:
            return min(self._f[i] + offset - self._r[i], self._fe[i])
        sub = self._string(i) if kind == _STRING else None
        return sub.file_end(offset - self._r[i]) if sub is not None else self._fe[i]

    def reading_offset(self, offset: int) -> int | None:
        """The reading offset of the file's byte at ``offset``, when a piece holds it (pieces follow the
        file's order), else None."""
        i = bisect.bisect_right(self._f, offset) - 1
        if i < 0 or not self._f[i] <= offset < self._fe[i]:
            return None
        kind = self._type[i]
        if kind == _COPY:
            return self._r[i] + offset - self._f[i]
        sub = self._string(i) if kind == _STRING else None
        inner = sub.reading_offset(offset) if sub is not None else 0
        return None if inner is None else self._r[i] + inner


_COPY, _ESCAPE_PIECE, _STRING = 0, 1, 2
# Escapes outside the set JSON's scanner decodes (`\\/` is no escape in TOML): such a string is read escape by escape.
_OTHER = {JSON: re2.compile(rb"\\[^\"\\/bfnrtu]"), YAML: re2.compile(rb"\\[^\"\\/bfnrtu]"),
          TOML: re2.compile(rb"\\[^\"\\bfnrtu]")}


def _fast(data: bytes, start: int, end: int, kind: str) -> bytes | None:
    """``data[start:end]`` decoded by ``json``'s C scanner when that reads it exactly as ``kind`` does, else None
    (an escape of another set, a broken one, a lone surrogate, bytes that are not UTF-8)."""
    if _OTHER[kind].search(data, start, end) is not None:
        return None
    try:
        text = data[start:end].decode("utf-8")
        value, stop = scanstring(text + '"', 0, False)
        if stop != len(text) + 1:
            return None
        return value.encode("utf-8")
    except (ValueError, UnicodeError):  # JSONDecodeError is a ValueError
        return None


_HALF = "\ufffd".encode()


def _decode(escape: bytes, kind: str) -> bytes | None:
    """What one escape stands for in ``kind``, as UTF-8; None when ``kind`` has no such escape. A surrogate
    half, or a code point past U+10FFFF, stands for U+FFFD (``unescape`` joins a pair)."""
    letter = escape[1:2]
    if len(escape) == 2:
        return _SIMPLE[kind].get(letter)
    if letter not in _HEX_ESCAPES[kind]:
        return None  # `\\x41` in JSON: not an escape there
    point = int(escape[2:], 16)
    if 0xD800 <= point <= 0xDFFF or point > 0x10FFFF:
        return _HALF
    return chr(point).encode("utf-8")


def _pair(high: bytes, low: bytes) -> bytes | None:
    """The character a ``\\uD8xx\\uDCxx`` pair stands for, or None when the two are not a pair."""
    if len(high) != 6 or len(low) != 6 or high[1:2] != b"u" or low[1:2] != b"u":
        return None
    h, lo = int(high[2:], 16), int(low[2:], 16)
    if not (0xD800 <= h <= 0xDBFF and 0xDC00 <= lo <= 0xDFFF):
        return None
    return chr(0x10000 + ((h - 0xD800) << 10) + (lo - 0xDC00)).encode("utf-8")


def escaped_reading(data: bytes, kind: str, keywords: list[int] | None = None) -> Reading | None:
    """Every escaped one-line double-quoted string of ``data``, unescaped after its line's text before it;
    None when there is none (the common case, decided at C speed when ``data`` holds no backslash).

    ``keywords``: where rule keywords start in ``data`` (sorted). A rule's window lies within one stretch
    of the reading (a string and its line's text before it), so a stretch without a keyword gives no
    match: only the lines holding one are searched for strings, and only strings with one in their
    stretch are read (4 MB of model outputs in JSON cost a few lines, not 4,000 strings), unless the
    file writes printable ASCII characters as escapes (``\\u006d``), which could hide a keyword: then
    every string is searched, and those with such an escape read too.
    """
    if b"\\" not in data:
        return None
    hidden = keywords is not None and _ASCII_ESCAPE.search(data) is not None
    reading = Reading(data)
    done = 0  # file offset read up to
    strict = kind == JSON
    for region_start, region_end in _regions(data, None if hidden else keywords):
        for m in _ESCAPED_STRING.finditer(data, region_start, region_end):
            s, e = m.span()
            line_start = data.rfind(b"\n", 0, s) + 1
            if not strict and s > line_start and data[s - 1] not in _OPENERS:
                continue  # a quote inside a YAML/TOML plain scalar: not a string
            head = max(done, line_start, s - PREFIX)
            if keywords is not None and not _holds(keywords, head, e) \
                    and not (hidden and _ASCII_ESCAPE.search(data, s, e) is not None):
                continue
            if head > done and len(reading):
                reading.gap(b"\n")
            reading.copy(head, s + 1)
            reading.unescape(s + 1, e - 1, kind)
            reading.copy(e - 1, e)
            done = e
    if not len(reading):
        return None
    reading.finish()
    return reading


def broken_json_escape(data: bytes) -> tuple[int, bytes] | None:
    """(offset, escape) of the first invalid escape of a JSON text, in one C-speed search (in JSON a
    backslash is only ever inside a string); None when every escape is valid."""
    m = _BROKEN_JSON.search(data)
    if m is None:
        return None
    group = 1 if m.start(1) >= 0 else 2  # `\\q`, or a short `\\u12`
    return m.start(group), data[m.start(group):m.end(group)]


def _regions(data: bytes, keywords: list[int] | None) -> list[tuple[int, int]]:
    """The whole text, or the lines holding a keyword (strings never span lines), in order."""
    if keywords is None:
        return [(0, len(data))]
    out: list[tuple[int, int]] = []
    for k in keywords:
        if out and k < out[-1][1]:
            continue  # on the line before
        start = data.rfind(b"\n", 0, k) + 1
        end = data.find(b"\n", k)
        out.append((start, len(data) if end == -1 else end))
    return out


def _holds(keywords: list[int], start: int, end: int) -> bool:
    i = bisect.bisect_left(keywords, start)
    return i < len(keywords) and keywords[i] < end
