"""What a check sees: one config, one Python file, or one whole Truss.

Value checks (those that find literal credentials) take only (path, bytes) and the parsed
content, never the disk, so the history audit and the staged scan can run them on any
version of a file. Project checks see the whole Truss of the working tree.
"""

from __future__ import annotations

import ast
import bisect
import functools
from dataclasses import dataclass, field

import yaml

from trussguard.engine.detector import Detector
from trussguard.engine.heuristics import is_placeholder
from trussguard.engine.matcher import made_up
from trussguard.policy.truss_dirs import TrussDir
from trussguard.types import Match, Severity


class MatchIndex:
    """A file's matches by line and by secret, so that a check asking about one literal or one YAML node
    pays O(log n) rather than a walk of every match of the file.

    A walk per literal made the policy stage quadratic: 20,000 ``api_key_N = "..."`` lines took 58 s.
    Lookups keep the file order of ``matches`` (by start offset, hence by line), so they answer exactly
    what the walks did.
    """

    def __init__(self, matches: list[Match]):
        self.matches = sorted(matches, key=lambda m: m.line)  # stable: a line keeps its matches' order
        self.lines = [m.line for m in self.matches]
        grouped: dict[str, list[Match]] = {}
        for m in self.matches:
            grouped.setdefault(m.secret, []).append(m)
        self._by_secret = {s: ([m.line for m in ms], ms) for s, ms in grouped.items()}
        self._by_prefix: dict[str, MatchIndex] = {}
        self._firsts: dict[tuple[int, int], tuple[dict[str, int], list[int]]] = {}

    def on_lines(self, first: int, last: int) -> list[Match]:
        """The matches on lines ``first``..``last``, in file order."""
        return self.matches[bisect.bisect_left(self.lines, first):bisect.bisect_right(self.lines, last)]

    def first_of(self, secret: str, first: int, last: int) -> Match | None:
        """The first match of exactly ``secret`` on lines ``first``..``last``."""
        lines, ms = self._by_secret.get(secret, ([], []))
        i = bisect.bisect_left(lines, first)
        return ms[i] if i < len(ms) and ms[i].line <= last else None

    def of_rules(self, prefix: str) -> "MatchIndex":
        """The index of the matches whose rule id starts with ``prefix`` (built once per prefix)."""
        if prefix not in self._by_prefix:
            self._by_prefix[prefix] = MatchIndex([m for m in self.matches if m.rule_id.startswith(prefix)])
        return self._by_prefix[prefix]

    def first_inside(self, value: str, first: int, last: int) -> Match | None:
        """The first match on lines ``first``..``last`` whose secret occurs in ``value``.

        Few matches there (the normal case): each is tried. Many (a hostile line of thousands of keys in
        as many literals): the distinct secrets of those lines are looked up by every substring of
        ``value`` of a length they have. Either way a literal costs O(its length x the number of distinct
        secret lengths), so a file costs O(its literals' length), not O(literals x matches).
        """
        candidates = self.on_lines(first, last)
        if len(candidates) <= 16:
            return next((m for m in candidates if m.secret in value), None)
        key = (first, last)
        if key not in self._firsts:
            order: dict[str, int] = {}
            for i, m in enumerate(candidates):
                order.setdefault(m.secret, i)
            self._firsts[key] = order, sorted({len(s) for s in order})
        order, lengths = self._firsts[key]
        if len(order) <= 4 * len(lengths):  # each `in` scans the value: as dear as one slice per length
            return next((candidates[i] for s, i in order.items() if s in value), None)
        best = min((order[value[j:j + n]] for n in lengths for j in range(len(value) - n + 1)
                    if value[j:j + n] in order), default=None)
        return None if best is None else candidates[best]


@dataclass
class ValueContext:
    """Shared by config and code contexts: the file, its credential-rule matches, the engine."""

    path: str
    data: bytes
    matches: list[Match]  # what the credential rules found in this file (already filtered)
    detector: Detector

    def __post_init__(self) -> None:
        # A provider-format value that looks made up is reported by its rule at low severity; as a policy
        # problem it would be escalated (a "known credential" in a Truss is critical), so checks never see it.
        rules = self.detector.rules
        self.matches = [m for m in self.matches if not made_up(rules[m.rule_id], m.secret)]

    @functools.cached_property
    def index(self) -> MatchIndex:
        """``matches`` by line and by secret (built on first use, once per file)."""
        return MatchIndex(self.matches)

    def credential_in(self, text: str) -> Match | None:
        """The best credential-rule match inside ``text`` (a YAML value, a string literal), if any.

        Specific rules are preferred to generic ones; the match's offsets are relative to ``text``.
        """
        cache = self.__dict__.setdefault("_credential_in", {})  # checks ask about the same literal again
        if text not in cache:
            rules = self.detector.rules
            found = [m for m in self.detector.matcher.scan(text.encode("utf-8", "replace"))
                     if not made_up(rules[m.rule_id], m.secret)]
            cache[text] = min(found, key=lambda m: (rules[m.rule_id].generic, -rules[m.rule_id].severity,
                                                    m.start), default=None)
        return cache[text]

    def leak(self, value: str, default: Severity) -> tuple[str, Severity]:
        """(secret, severity) to report for a literal value found where no value may be.

        When a specific credential rule recognises a token inside the value, that token is the
        secret (so the finding merges with the rule's) and the severity is critical: a known
        credential shipped inside a Truss is uploaded with the model. Otherwise the whole value.
        """
        m = self.credential_in(value)
        if m is not None and not self.detector.rules[m.rule_id].generic:
            return m.secret, Severity.CRITICAL
        return value, default


@dataclass
class ConfigContext(ValueContext):
    doc: yaml.Node | None = None
    truss: TrussDir | None = None  # None for a committed local config (~/.truss/config.yaml)
    kind: str = "truss"  # or "local-config"


@dataclass
class CodeContext(ValueContext):
    tree: ast.Module | None = None
    truss: TrussDir | None = None  # None when the file is seen alone (history blobs, staged files)


@dataclass
class ProjectContext:
    """A whole Truss of the working tree: its config, its code and every path under its root."""

    truss: TrussDir
    paths: list[str]  # every scanned path under the Truss root (and skipped ones)
    code: dict[str, ast.Module] = field(default_factory=dict)  # parsed Python shipped with the Truss
    texts: dict[str, bytes] = field(default_factory=dict)  # bytes of config, code, shell and ignore files
    quiet: frozenset[str] = frozenset()  # Python files not parsed: no secrets read in them (``code_screen``)


__all__ = ["CodeContext", "ConfigContext", "MatchIndex", "ProjectContext", "ValueContext", "is_placeholder"]
