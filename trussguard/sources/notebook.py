"""Jupyter notebooks (``.ipynb``) read as code: each cell's decoded source, text outputs, and no images.

An ``.ipynb`` is JSON, so a code cell's ``client = Mistral(api_key="KEY")`` is stored as
``"client = Mistral(api_key=\\"KEY\\")\\n",`` and a keyword-anchored rule does not match it, and a
PNG output is megabytes of base64 in which a token-shaped run turns up by chance. ``read`` gives:

- ``plain``: the file's bytes with each binary output payload (``image/png``, ``application/pdf``,
  a markdown cell's attachment: any MIME type but text, JSON, XML, JavaScript and SVG, when its
  value is made of base64 characters only) replaced by blanks of the same length. The rules read
  this instead of the file (offsets unchanged), so nothing is matched, and no base64 run decoded,
  inside a picture; metadata and everything else stay scanned as written.
- ``code``: the code cells' sources, decoded and joined (a newline between cells), as a
  ``unescape.Reading`` whose offsets map back to the escaped text in the file.
- ``text``: markdown and raw cells, and the text outputs of code cells (``stream`` text,
  ``text/*`` data, an error's ``evalue`` and ``traceback``): a printed token is a leak.

Each part (a cell's source, one output) remembers its cell (1-based, in notebook order) so a
match is reported at the file line of its escaped text AND at its cell and the line within it.

Parsed with the standard library's ``json`` (C speed; ``nbformat`` costs about 85 ms to import and
gives no offsets): every JSON string of the document is paired, in order, with the string token
found at its place in the file (outside strings JSON has no quote), so each decoded string has its
span. Notebook format 4 and the older format 3 (``worksheets``, ``input``) are read. Malformed JSON,
or a document that is not a notebook, gives a note and the file is scanned as a plain JSON file.
"""

from __future__ import annotations

import bisect
import json
import posixpath
from dataclasses import dataclass

import re2

from trussguard.engine.unescape import JSON, Reading

_STRING = re2.compile(rb'"(?:[^"\\]|\\.)*"')
_BASE64_VALUE = re2.compile(rb"(?:[A-Za-z0-9+/=]|\\n|\\r)*")
_TEXT_MIME = ("text/", "image/svg")
_TEXT_SUFFIX = ("json", "xml", "javascript", "ecmascript")


def is_notebook(path: str | None) -> bool:
    return bool(path) and posixpath.splitext(path)[1].lower() == ".ipynb"


@dataclass(frozen=True)
class Part:
    """One run of a reading: a cell's source, or one output of a code cell."""

    start: int  # reading offset where it begins
    cell: int  # 1-based, in notebook order
    output: bool


class CellReading:
    """A ``Reading`` of notebook parts, each part's cell known."""

    def __init__(self, data: bytes):
        self.reading = Reading(data)
        self.parts: list[Part] = []
        self._starts: list[int] = []

    @property
    def text(self) -> bytes:
        return self.reading.text

    def add(self, cell: int, output: bool, tokens: list[tuple[tuple[int, int], bool]]) -> None:
        """A part made of these string tokens (spans in the file, quotes included), decoded and joined; a
        token marked True starts a new line (a traceback's next line, an output's next field)."""
        if len(self.reading):
            self.reading.gap(b"\n")
        start = len(self.reading)
        for (s, e), new_line in tokens:
            if new_line and len(self.reading) > start and not self.reading.ends_with(b"\n"):
                self.reading.gap(b"\n")
            self.reading.unescape(s + 1, e - 1, JSON)
        if len(self.reading) > start:
            self.parts.append(Part(start, cell, output))
            self._starts.append(start)

    def part_at(self, offset: int) -> Part | None:
        i = bisect.bisect_right(self._starts, offset) - 1
        return self.parts[i] if i >= 0 else None

    def place(self, offset: int) -> tuple[int, int, bool] | None:
        """(cell, line within the part, output) of a reading offset."""
        part = self.part_at(offset)
        if part is None:
            return None
        return part.cell, self.reading.text.count(b"\n", part.start, offset) + 1, part.output


@dataclass
class NotebookView:
    plain: bytes  # the file, binary payloads blanked (same length)
    code: CellReading  # code cells' sources
    text: CellReading  # markdown/raw cells and text outputs
    blanked: int = 0  # payloads blanked

    def place(self, offset: int) -> tuple[int, int, bool] | None:
        """(cell, line in it, output) of a file offset inside a cell's source or a text output, else None."""
        for reading in (self.code, self.text):
            r = reading.reading.reading_offset(offset)
            if r is not None:
                return reading.place(r)
        return None


class NotANotebook(ValueError):
    """Malformed JSON or no notebook; the message says which, for a note."""


class _Obj(list):
    """A JSON object as its (key, value) pairs, in file order (duplicate keys kept)."""


def read(data: bytes) -> NotebookView:
    """The notebook's readings; raises ``NotANotebook`` (its message fit for a note) when it is none."""
    try:
        doc = json.loads(data, object_pairs_hook=_Obj)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        reason = f"line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else type(exc).__name__
        raise NotANotebook(f"not valid JSON ({reason})") from None
    if not isinstance(doc, _Obj):
        raise NotANotebook("not a notebook (no cells)")
    paths: list[tuple | None] = []
    try:
        _walk(doc, (), paths)
    except RecursionError:
        raise NotANotebook("nested too deeply to read") from None
    tokens = [m.span() for m in _STRING.finditer(data)]
    if len(tokens) != len(paths):
        raise NotANotebook("its strings could not be placed in the file")
    cells = _cells(doc)
    if cells is None:
        raise NotANotebook("not a notebook (no cells)")
    return _view(data, cells, paths, tokens)


def _walk(node, path: tuple, out: list) -> None:
    """Every string of the document in file order: its path (None for an object's key)."""
    kind = type(node)
    if kind is str:
        out.append(path)
    elif kind is _Obj:
        for key, value in node:
            out.append(None)
            _walk(value, path + (key,), out)
    elif kind is list:
        for i, value in enumerate(node):
            _walk(value, path + (i,), out)


def _get(obj, key):
    if type(obj) is not _Obj:
        return None
    for k, v in reversed(obj):  # json keeps the last of duplicate keys; so does this
        if k == key:
            return v
    return None


def _cells(doc: _Obj) -> dict[tuple, tuple[int, str]] | None:
    """The path of each cell -> (its 1-based number, its type); None when the document has no cells."""
    out: dict[tuple, tuple[int, str]] = {}
    cells = _get(doc, "cells")
    if type(cells) is list:
        for i, cell in enumerate(cells):
            out[("cells", i)] = (len(out) + 1, str(_get(cell, "cell_type") or ""))
        return out
    sheets = _get(doc, "worksheets")  # nbformat 3
    if type(sheets) is not list:
        return None
    for w, sheet in enumerate(sheets):
        cells = _get(sheet, "cells")
        for i, cell in enumerate(cells if type(cells) is list else []):
            out[("worksheets", w, "cells", i)] = (len(out) + 1, str(_get(cell, "cell_type") or ""))
    return out


def _view(data: bytes, cells: dict[tuple, tuple[int, str]], paths: list, tokens: list) -> NotebookView:
    code, text = CellReading(data), CellReading(data)
    parts: dict[tuple, tuple[CellReading, int, bool, list]] = {}  # part key -> (reading, cell, output, tokens)
    fields: dict[tuple, tuple] = {}  # output part -> the field its last token was in
    blank: list[tuple[int, int]] = []
    for path, span in zip(paths, tokens):
        if path is None:
            continue
        width = 2 if path[:1] == ("cells",) else 4
        cell = cells.get(path[:width])
        if cell is None:
            continue
        number, cell_type = cell
        rest = path[width:]
        if not rest:
            continue
        if rest[0] in ("source", "input"):
            reading = code if cell_type == "code" else text
            parts.setdefault(path[:width + 1], (reading, number, False, []))[3].append((span, False))
        elif rest[0] == "outputs" and len(rest) >= 3:
            what = _output_string(rest[2:])
            if what == "text":  # one part per output; its fields (and a traceback's lines) on lines of their own
                key, field = path[:width + 2], rest[2:4] if rest[2] == "data" else rest[2:3]
                new_line = rest[2] == "traceback" or fields.get(key, field) != field
                fields[key] = field
                parts.setdefault(key, (text, number, True, []))[3].append((span, new_line))
            elif what == "binary" and _BASE64_VALUE.fullmatch(data, span[0] + 1, span[1] - 1):
                blank.append(span)
        elif rest[0] == "attachments" and len(rest) >= 3 and not _text_mime(str(rest[2])) \
                and _BASE64_VALUE.fullmatch(data, span[0] + 1, span[1] - 1):
            blank.append(span)
    for reading, number, output, spans in parts.values():
        reading.add(number, output, spans)
    code.reading.finish()
    text.reading.finish()
    plain = data
    if blank:
        buffer = bytearray(data)
        for s, e in blank:
            buffer[s + 1:e - 1] = b" " * (e - s - 2)
        plain = bytes(buffer)
    return NotebookView(plain, code, text, len(blank))


def _output_string(rest: tuple) -> str | None:
    """What a string inside an output is, by its path under the output: "text", "binary" or None."""
    key = rest[0]
    if key in ("text", "traceback", "evalue"):
        return "text"
    if key == "data" and len(rest) >= 2:
        return "text" if _text_mime(str(rest[1])) else "binary"
    if key in ("png", "jpeg", "pdf", "svg", "html", "latex", "javascript", "json"):  # nbformat 3 outputs
        return "binary" if key in ("png", "jpeg", "pdf") else "text"
    return None


def _text_mime(mime: str) -> bool:
    mime = mime.lower()
    return mime.startswith(_TEXT_MIME) or mime.split(";")[0].endswith(_TEXT_SUFFIX)
