"""One unit of content through the rules: detect -> inline suppression -> the other readings.

A *unit* is what every source hands over: the bytes of one file or blob and where they live (a
working-tree file has no blob id; an index entry or a history blob has one, and a blob may sit
at several paths). The tree scan, the staged scan and (later) the history audit all call
``scan_unit`` here, so a match is found, allowed by a marker, or counted the same way whichever
scan reads it. The Truss policy is not run per unit in the tree and staged scans: its checks need
the whole Truss (which config owns a model file, every file of a project), so it runs after the
units, on their matches.

A notebook is read as code and a JSON/YAML/TOML file's escaped strings unescaped here
(``engine.derived``), so all three scans see them alike; their matches carry the file's own offsets,
so inline markers and the scan cache treat them as any other match.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trussguard.engine import derived
from trussguard.engine.chunked import extra_matches, scan_oversize
from trussguard.engine.detector import Detector
from trussguard.policy.runner import chains_source
from trussguard.sources.content import Decoded, Oversize, ReadFailed
from trussguard.suppress.inline import Inline, language
from trussguard.suppress.markers import oversize_markers
from trussguard.types import Fragment, Match, Skipped


@dataclass(frozen=True)
class Unit:
    """Content to scan and where it lives: ``content`` is what the source read (a working-tree
    ``Fragment``, a blob's ``Decoded``, an ``Oversize`` to stream, or why it could not be read);
    ``paths`` are where it sits (the first is reported for path-free results); ``blob`` is its git
    object id, or None for a working-tree file."""

    paths: tuple[str, ...]
    content: Fragment | Decoded | Oversize | Skipped
    blob: str | None = None

    @property
    def path(self) -> str:
        return self.paths[0]


@dataclass(frozen=True)
class UnitContext:
    """What scanning a unit needs besides the unit; built once per scan, sent once to each worker."""

    detector: Detector
    truss_files: frozenset[str]  # paths the Truss-aware detectors (detect-secrets) also read
    max_file_size: int  # chunk size for oversize content


@dataclass
class UnitResult:
    matches: list[Match] = field(default_factory=list)  # the rule matches no marker allows
    hidden: list[tuple[Match, str]] = field(default_factory=list)  # (match, marker) allowed inline
    skipped: Skipped | None = None  # not scanned, and why
    scanned: bool = False
    bytes: int = 0
    chains: bool = False  # a Python file importing truss_chains: the policy checks it without a Truss
    oversize: bool = False  # scanned in chunks by the rules only (never parsed)
    binary: bool = False
    notes: list[str] = field(default_factory=list)  # a malformed notebook, a broken escape (``engine.derived``)


def scan_unit(unit: Unit, ctx: UnitContext) -> UnitResult:
    """The rules over one unit, its inline markers applied. A marker counts only when every path
    of the unit reads it as one (a blob at ``a.py`` and ``a.json`` allows nothing by comment)."""
    content = unit.content
    if isinstance(content, Oversize):
        return _scan_oversize(unit, content, ctx)
    if isinstance(content, Skipped):
        return UnitResult(skipped=content)
    data = content.data if isinstance(content, Fragment) else content.text
    result = UnitResult(scanned=True, bytes=len(data), binary=content.binary)
    result.chains = not content.binary and chains_source(unit.path, data)
    truss_path = next((p for p in unit.paths if p in ctx.truss_files), None)
    # a notebook read as code, escaped strings unescaped (None for most files: no work)
    other = derived.prepare(unit.paths, data, content.binary, ctx.detector)
    found = ctx.detector.detect(truss_path or unit.path, other.plain if other else data, truss_path is not None)
    if other is not None:
        found = other.annotate(found)
        found = sorted(found + other.matches(ctx.detector, data, found), key=lambda m: (m.start, m.rule_id))
        result.notes += [other.note] if other.note else []
    inlines = list({language(p): Inline(data, p) for p in unit.paths}.values()) if found else []
    for m in found:
        marker = _agreed(inlines, m)
        if marker is None:
            result.matches.append(m)
        else:
            result.hidden.append((m, marker))
    result.matches += extra_matches(ctx.detector, unit.path, content.extra, found)
    return result


def _agreed(inlines: list[Inline], match: Match) -> str | None:
    """The marker when every reading agrees one allows the match, else None."""
    marker = None
    for inline in inlines:
        marker = inline.marker(match.start, match.rule_id)
        if marker is None:
            return None
    return marker


def _scan_oversize(unit: Unit, item: Oversize, ctx: UnitContext) -> UnitResult:
    """Content over the size limit: the rules over its chunks, counted as scanned; skipped as
    unreadable when it could not be read to its end."""
    marker_of = oversize_markers(item.path) if len({language(p) for p in unit.paths}) == 1 else _no_marker
    try:
        scanned = scan_oversize(ctx.detector, item, ctx.max_file_size, marker_of)
    except (OSError, ReadFailed) as exc:
        return UnitResult(skipped=Skipped(item.path, "unreadable", str(exc)))
    return UnitResult(scanned.matches, scanned.hidden, scanned=True, bytes=scanned.bytes, oversize=True)


def _no_marker(view: bytes, match: Match) -> None:
    return None
