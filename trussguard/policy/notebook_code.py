"""The Python checks on a notebook's code cells, for notebooks shipped with a Truss.

A notebook under a Truss's model, ``packages/`` or ``data/`` folder is uploaded with it on
``truss push`` (``TrussDir.owns_code``), so a key hard-coded in one of its cells is shipped like
one in ``model.py``. Its code cells (``sources.notebook``: decoded, joined in notebook order, as
Jupyter runs them into one namespace) are checked as one Python module:

- IPython syntax is blanked first, byte for byte (offsets do not move): line magics (``%pip``),
  shell escapes (``!ls``, ``files = !ls``), help (``obj?``) and cell magics (``%%bash``: the whole
  cell; ``%%time`` and the like: the magic line only, their body is Python). An indented blanked
  line becomes ``pass`` so its block stays valid.
- A cell that still does not parse is left out (with a note naming it); the others are checked.
- Each hit is reported at the file line and column of the escaped text of the cell, with its cell
  and the line within it (``PolicyHit.cell``), so it merges with the credential rule's finding of
  the same value.

Notebooks outside any Truss get the credential rules only (as other Python outside a Truss does).
"""

from __future__ import annotations

import ast
import dataclasses
import warnings

import re2

from trussguard.engine.matcher import _LineIndex
from trussguard.policy.registry import PolicyHit
from trussguard.redact import redact_python_error, redact_text
from trussguard.sources import notebook
from trussguard.types import CellPlace, Match

_PYTHON_CELL_MAGICS = (b"time", b"timeit", b"capture", b"prun", b"debug", b"python", b"python3")
_MAGIC_LINE = re2.compile(rb"^[ \t]*(?:[%!?]|[\w.,() \t\[\]]{1,200}=[ \t]*[%!]|[\w.]{1,200}\?{1,2}[ \t]*$)")


@dataclasses.dataclass
class NotebookCode:
    """A notebook's code cells as one Python text, and the way back to the file."""

    text: bytes  # the code reading with IPython syntax blanked (same offsets)
    view: notebook.NotebookView
    bounds: list[int]  # where each code cell starts in ``text``, and its end
    tree: ast.Module | None = None
    notes: list[str] = dataclasses.field(default_factory=list)

    def parse(self, path: str, detector) -> ast.Module | None:
        """The module (cells that do not parse are blanked out of ``text`` and named in ``notes``)."""
        self.tree, self.text, self.notes = _parse(path, self.text, self.bounds, self.view.code, detector)
        return self.tree

    def matches(self, found: list[Match]) -> list[Match]:
        """The file's matches that lie in code cells, at their offsets and lines in ``text``."""
        reading, lines, out = self.view.code.reading, _LineIndex(self.text), []
        for m in found:
            start = reading.reading_offset(m.start)
            last = reading.reading_offset(max(m.end - 1, m.start))
            if start is None or last is None:
                continue
            line, column = lines.position(start)
            out.append(dataclasses.replace(m, start=start, end=last + 1, line=line, column=column))
        return out

    def to_file(self, hit: PolicyHit, data: bytes, file_lines: _LineIndex) -> PolicyHit:
        """A hit on ``text`` at the file's line and column, with its cell."""
        starts = self._line_starts()
        if not 1 <= hit.line <= len(starts):
            return hit
        offset = min(starts[hit.line - 1] + max((hit.column or 1) - 1, 0), max(len(self.text) - 1, 0))
        at = self.view.code.reading.file_start(offset)
        line, column = file_lines.position(at)
        place = self.view.code.place(offset)
        return dataclasses.replace(hit, line=line, column=column if hit.column else None,
                                   cell=CellPlace(*place) if place else None)

    def _line_starts(self) -> list[int]:
        if not hasattr(self, "_starts"):
            starts, i = [0], self.text.find(b"\n")
            while i != -1:
                starts.append(i + 1)
                i = self.text.find(b"\n", i + 1)
            self._starts = starts
        return self._starts


def code_of(data: bytes) -> NotebookCode | None:
    """The notebook's code cells, IPython syntax blanked, not parsed yet; None when it is no notebook (its
    unit noted that) or has no code."""
    try:
        view = notebook.read(data)
    except notebook.NotANotebook:
        return None
    cells = view.code
    if not cells.parts:
        return None
    text = bytearray(cells.text)
    bounds = [p.start for p in cells.parts] + [len(text)]
    for start, end in zip(bounds, bounds[1:]):
        _blank_ipython(text, start, end)
    return NotebookCode(bytes(text), view, bounds)


def _blank_ipython(text: bytearray, start: int, end: int) -> None:
    """IPython-only syntax of the cell ``text[start:end]`` replaced by blanks (or ``pass``)."""
    cell = bytes(text[start:end])
    first = cell.lstrip()
    if first.startswith(b"%%"):
        name = (first[2:].split(None, 1) or [b""])[0]
        line_end = cell.find(b"\n", len(cell) - len(first))
        if name not in _PYTHON_CELL_MAGICS or line_end == -1:
            _blank(text, start, end)
            return
        _blank(text, start, start + line_end)
    pos = start
    while pos < end:
        nl = text.find(b"\n", pos, end)
        stop = end if nl == -1 else nl
        line = bytes(text[pos:stop])
        if line.strip() and _MAGIC_LINE.search(line) is not None and not line.lstrip().startswith(b"#"):
            indent = len(line) - len(line.lstrip(b" \t"))
            _blank(text, pos, stop)
            if indent and stop - pos >= indent + 4:
                text[pos + indent:pos + indent + 4] = b"pass"
        pos = stop + 1


def _blank(text: bytearray, start: int, end: int) -> None:
    for i in range(start, end):
        if text[i] not in (10, 13):
            text[i] = 32


def _parse(path: str, text: bytes, bounds: list[int], cells, detector
           ) -> tuple[ast.Module | None, bytes, list[str]]:
    """The module and its text, the cells that do not parse blanked out (each named in a note)."""
    tree = _try(text)
    if not isinstance(tree, SyntaxError):
        return tree, text, []
    buffer, notes = bytearray(text), []
    for part, start, end in zip(cells.parts, bounds, bounds[1:]):
        failed = _try(text[start:end])
        if isinstance(failed, SyntaxError):
            _blank(buffer, start, end)
            reason = redact_python_error(failed.msg) if failed.msg else "invalid syntax"
            where = f" (line {failed.lineno})" if failed.lineno else ""
            notes.append(redact_text(f"{path}: cell {part.cell} is not valid Python{where}: {reason}; "
                                     "its code is checked by the credential rules only", detector))
    text = bytes(buffer)
    tree = _try(text)
    if isinstance(tree, SyntaxError):
        return None, text, notes + [f"{path}: its code cells do not parse together; checked by the credential "
                                    "rules only"]
    return tree, text, notes


def _try(text: bytes):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError) as exc:
        return exc if isinstance(exc, SyntaxError) else SyntaxError(type(exc).__name__)
    except (RecursionError, MemoryError) as exc:
        return SyntaxError(type(exc).__name__)
