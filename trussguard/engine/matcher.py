"""The matching engine: keyword prefilter, then each rule's RE2 regex near its keywords, then filters.

RE2 guarantees time linear in the input, so no rule can backtrack catastrophically on a
crafted file. Regexes run only inside windows around keyword hits (merged per rule), which
keeps the cost proportional to the number of keyword occurrences rather than rules x bytes.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from pathlib import Path

from trussguard.engine import candidates, decode, gates, heuristics, signed_urls, value_shape
from trussguard.engine.loader import RuleSet
from trussguard.engine.prefilter import KeywordPrefilter
from trussguard.engine.regex import compile_pattern
from trussguard.engine.schema import Rule
from trussguard.types import Match, secret_sha256

_EXTEND = 4096  # how far a window is stretched when a match touches its cut edge
_GATED_WINDOWS = 16  # from this many windows (or an eighth of the text) a rule's gate is searched first


@dataclass
class _CompiledRule:
    rule: Rule
    regex: object = None
    secret_group: int = 0
    name_group: int | None = None
    placeholders: tuple = ()
    claimed: object = None  # generic rules: every provider rule's `claims` in one regex (values they judge)
    whole: bool = False  # runs on the whole text, not in windows around its keywords
    gate: object = None  # a literal-led slice of its pattern (see gates.py)
    width: int = 0  # for a whole-text rule with candidate positions (candidates.py): longest match, bytes
    windowed_ends: bool = False  # a windowed rule with candidate positions: windows without one are skipped

    def compile(self) -> None:
        """Compiles lazily: a small scan touches few rules, so start-up stays fast."""
        if self.regex is None:
            gate = gates.literal_gate(self.rule.pattern)
            self.gate = compile_pattern(gate) if gate else None
            self.regex = compile_pattern(self.rule.pattern)
            index = {(k.decode() if isinstance(k, bytes) else k): v for k, v in self.regex.groupindex.items()}
            self.secret_group = index["secret"]
            self.name_group = index.get("name")
            self.placeholders = tuple(compile_pattern(p) for p in self.rule.placeholders)


class Matcher:
    """Scans bytes with every regex rule of a rule set."""

    def __init__(self, ruleset: RuleSet, cache_dir: Path | None = None, decode_depth: int = 1):
        self.rules = [_CompiledRule(r) for r in ruleset.rules if r.detector == "regex"]
        specs = [candidates.for_pattern(c.rule.pattern) for c in self.rules]
        # Rules whose windows come from their candidate ends (``Candidates.leads``), not from keyword hits.
        self._led = [spec is not None and spec.leads and not c.rule.generic for c, spec in zip(self.rules, specs)]
        keywords = sorted({k for ri, c in enumerate(self.rules) if not self._led[ri] for k in c.rule.keywords})
        index = {k: i for i, k in enumerate(keywords)}
        self._rules_by_keyword: list[list[int]] = [[] for _ in keywords]
        for ri, c in enumerate(self.rules):
            for k in set(c.rule.keywords) if not self._led[ri] else ():
                self._rules_by_keyword[index[k]].append(ri)
        self._keyword_lengths = [len(k.encode()) for k in keywords]
        self.decode_depth = decode_depth
        self._rule_map = {c.rule.id: c.rule for c in self.rules}
        claims = [p for c in self.rules for p in c.rule.claims]
        if claims:
            claimed = compile_pattern("|".join(f"(?:{p})" for p in claims))
            for c in self.rules:
                c.claimed = claimed if c.rule.generic else None
        self._windows = [c.rule.window for c in self.rules]
        # Generic rules' keywords (`token`, `secret`) occur on most lines of ML code ("tokenizer"):
        # one RE2 pass over the whole text costs less than a window per keyword hit (0.85 s -> 0.73 s
        # on 105 MB of history). Their patterns spell out their keywords, so a match still lies on a
        # keyword's line; only long lines are no longer cut at the window's bounds.
        self._whole = [c.rule.generic and not c.rule.window.multiline for c in self.rules]
        for c, whole in zip(self.rules, self._whole):
            c.whole = whole
        # A keyword whose rules all run on the whole text is needed once per text: the prefilter
        # reports only its first hit (1.24M -> 0.37M hits, each a Python callback and loop turn).
        first_only = frozenset(i for i, rules in enumerate(self._rules_by_keyword)
                               if rules and all(self._whole[ri] for ri in rules))
        # Whole-text rules whose matches hyperscan can place (candidates.py): their candidate ends
        # come from the same pass as the keywords, under the ids after the keywords'.
        self._keyword_count = len(keywords)
        self._candidate_rule: list[int] = []
        extras = []
        for ri, c in enumerate(self.rules):
            spec = specs[ri]
            if spec is not None and (spec.width or not c.whole):
                c.width = spec.width if c.whole else 0
                c.windowed_ends = not c.whole
                self._candidate_rule.append(ri)
                extras.append(spec)
        self.prefilter = KeywordPrefilter(keywords, cache_dir, first_only, extras)
        self._cache_dir = cache_dir
        self._every: KeywordPrefilter | None = None  # every hit of every keyword (``keyword_starts``)

    def compile_all(self, common_only: bool = False) -> None:
        """Compiles every rule now: called before forking workers, which then inherit the compiled
        regexes instead of each compiling the rules it meets. ``common_only``: only the rules that most
        files reach (whole-text and keyword-anchored generic rules); with 324 rules, compiling every one
        in the parent cost 0.28 s of serial start-up for rules most scans never meet, which the workers
        now compile, in parallel, when they do (``compile_pattern`` is memoised per process)."""
        for compiled in self.rules:
            if not common_only or compiled.rule.generic:
                compiled.compile()

    def keyword_starts(self, data: bytes) -> list[int]:
        """Where every occurrence of every keyword starts in ``data``, sorted. The scan's own prefilter
        reports a keyword whose rules all read the whole text only once; this one (compiled on first use,
        7 ms, or read from the cache) reports them all, for ``unescape.escaped_reading``."""
        if self._every is None:
            self._every = KeywordPrefilter(self.prefilter.keywords, self._cache_dir)
        lengths = self._keyword_lengths
        return sorted(end - lengths[kw] for kw, end in self._every.hits(data))

    def scan(self, data: bytes, path: str | None = None) -> list[Match]:
        """All matches in ``data``, specific rules winning over generic ones on the same secret.

        ``path`` tells the `literal-value` filter the file's kind (code files quote their literals);
        without it every value is judged as in a data file, which is never stricter.
        """
        lines = _LineIndex(data)
        matches = self._scan_plain(data, lines, None, value_shape.file_kind(path))
        if self.decode_depth > 0:
            matches.extend(self._scan_decoded(data, lines, matches))
        return prefer_specific(matches, self._rule_map)

    def _scan_plain(self, data: bytes, lines: "_LineIndex", decoded: str | None,
                    kind: str = "data") -> list[Match]:
        windows: dict[int, list[tuple[int, int]]] = {}
        covered: dict[int, int] = {}  # rule -> end of its last window
        ends: dict[int, list[int]] = {}  # rule -> candidate ends (candidates.py)
        size, find, rfind = len(data), data.find, data.rfind
        keyword_count = self._keyword_count
        for kw, end in self.prefilter.hits(data):  # hyperscan reports hits by increasing end offset
            if kw >= keyword_count:
                ri = self._candidate_rule[kw - keyword_count]
                ends[ri] = ends.get(ri) or []
                ends[ri].append(end)
                if not self._led[ri]:
                    continue
                start, targets = end, (ri,)  # the token ends here: its window is built as a keyword's would be
            else:
                start, targets = end - self._keyword_lengths[kw], self._rules_by_keyword[kw]
            for ri in targets:
                if end <= covered.get(ri, -1):
                    continue  # inside the window this rule already has (a line full of `token`)
                if self._whole[ri]:
                    windows[ri] = [(0, size)]
                    covered[ri] = size
                    continue
                window = self._windows[ri]
                if window.multiline:
                    span = (max(0, start - window.before), min(size, end + window.after))
                else:
                    # The keyword's line, bounded, plus one byte past each edge so that `^`, `$` and
                    # `[^A-Za-z0-9_]` boundaries see the delimiting newline (RE2's ^/$ match only at
                    # the text's ends). Inlined: this loop runs once per keyword hit.
                    floor = start - window.before if start > window.before else 0
                    i = rfind(b"\n", floor, start)
                    ceiling = end + window.after if end + window.after < size else size
                    j = find(b"\n", end, ceiling)
                    span = (floor - 1 if i == -1 and floor else i if i != -1 else 0,
                            min(size, (ceiling if j == -1 else j) + 1))
                windows.setdefault(ri, []).append(span)
                covered[ri] = span[1]
        out: list[Match] = []
        for ri, spans in windows.items():
            compiled = self.rules[ri]
            compiled.compile()
            merged = _merge(spans)
            if compiled.gate is not None and (
                    len(merged) >= _GATED_WINDOWS or sum(e - s for s, e in merged) * 8 >= len(data)) \
                    and compiled.gate.search(data) is None:
                # The rule's literal-led tail occurs nowhere in the text, so no window can hold a match
                # (whatever RE2 finds in a window is a match of the whole pattern in the whole text):
                # one search at memchr speed instead of many windows, or one long one, at DFA speed.
                continue
            if compiled.width:
                found = self._whole_matches(compiled, data, ends.get(ri, []))
                out.extend(self._report(compiled, data, found, lines, decoded, kind))
                continue
            if compiled.windowed_ends:
                here = ends.get(ri, [])
                # A match found in [s, e) holds a candidate end in (s, e]: a window without one has none.
                merged = [(s, e) for s, e in merged if (k := bisect.bisect_right(here, s)) < len(here)
                          and here[k] <= e]
            for s, e in merged:
                out.extend(self._run(compiled, data, s, e, lines, decoded, kind))
        return out

    def _run(self, c: _CompiledRule, data: bytes, s: int, e: int, lines: "_LineIndex",
             decoded: str | None, kind: str = "data") -> list[Match]:
        return self._report(c, data, self._window_matches(c, data, s, e, lines), lines, decoded, kind)

    def _window_matches(self, c: _CompiledRule, data: bytes, s: int, e: int, lines: "_LineIndex"):
        """(match, secret start, secret end) for each match of ``c`` in the window [s, e)."""
        pos = s
        while pos < e:
            m = c.regex.search(data, pos, e)  # one C call for the common no-match window
            if m is None:
                break
            ms, me = m.span(c.secret_group)
            pos = max(me, pos + 1)  # not m.end(): a trailing boundary may lead the next key
            if me == e and e < len(data) and (c.rule.window.multiline or data[e - 1:e] != b"\n"):
                # The window cut through this line: re-run with room to see where the token ends.
                limit = len(data) if c.rule.window.multiline else lines.line_end(e, _EXTEND)
                m = c.regex.search(data, m.start(), min(limit, e + _EXTEND))
                if m is None:
                    continue
                ms, me = m.span(c.secret_group)
                pos = max(pos, me)
            yield m, ms, me

    @staticmethod
    def _whole_matches(c: _CompiledRule, data: bytes, ends: list[int]):
        """What ``_window_matches(c, data, 0, len(data))`` yields, with RE2 run only near ``ends``.

        ``ends`` holds, in increasing order, every offset where a necessary part of ``c``'s pattern
        can end (candidates.py), and no match is longer than ``w = c.width`` bytes: a match that
        starts at or after ``pos`` contains such an end ``q >= pos`` and lies within [q - w, q + w].
        So for the first ends from ``pos`` on, grouped while their stretches overlap ([lo, hi)),
        RE2 finds in [lo, hi) the leftmost match starting at or after ``pos`` if its part ends in
        the group; none if it ends in a later group (it then starts at or after ``hi``). A match it
        finds is that same leftmost match, only possibly cut short by ``hi``: when it starts less
        than ``w`` before ``hi``, RE2 runs again from its start with ``w`` bytes of room, where every
        match from that start fits. RE2 sees the whole text around a search, so ``^``, ``$`` and
        boundaries judge the same characters either way."""
        size, w, search = len(data), c.width, c.regex.search
        n = len(ends)
        group_end = [n] * n  # index past the group that an end starts (groups break at gaps >= 2w)
        for k in range(n - 2, -1, -1):
            group_end[k] = group_end[k + 1] if ends[k + 1] - ends[k] < 2 * w else k + 1
        pos, i = 0, 0
        while pos < size:
            while i < n and ends[i] < pos:
                i += 1
            if i == n:
                break
            lo = max(pos, ends[i] - w)
            i = group_end[i]
            hi = min(size, ends[i - 1] + w)
            m = search(data, lo, hi)
            if m is None:
                continue
            if hi < size and m.start() + w > hi:
                m = search(data, m.start(), min(size, m.start() + w))
            ms, me = m.span(c.secret_group)
            pos = max(me, pos + 1)
            i = bisect.bisect_left(ends, pos)  # ends of this group past the match may lead the next one
            yield m, ms, me

    def _report(self, c: _CompiledRule, data: bytes, found, lines: "_LineIndex",
                decoded: str | None, kind: str) -> list[Match]:
        out = []
        for m, ms, me in found:
            secret = data[ms:me].decode("utf-8", "replace")
            name = None
            if c.name_group is not None and m.span(c.name_group)[0] >= 0:
                name = data[slice(*m.span(c.name_group))].decode("utf-8", "replace")
            if not passes_filters(c, secret, name):
                continue
            if "literal-value" in c.rule.filters and not value_shape.is_literal_value(
                    data, m.start(c.name_group) if c.name_group is not None else ms, ms, me,
                    kind):
                continue  # a type, import, expression, path or prose, not a literal
            if signed_urls.expired_signing_part(data, ms, me):
                continue  # the signature/token/key id of a signed URL past its own expiry grants nothing
            line, column = lines.position(ms)
            out.append(Match(c.rule.id, secret, ms, me, line, column, decoded, name=name))
        return out

    def _scan_decoded(self, data: bytes, lines: "_LineIndex", plain: list[Match]) -> list[Match]:
        """Looks one level inside base64 and percent-encoded runs; reports at the run's position."""
        in_plain = {m.secret for m in plain}
        out = []
        for run in decode.encoded_runs(data):
            inner = _LineIndex(run.text)
            for m in self._scan_plain(run.text, inner, run.encoding):
                if m.secret in in_plain:
                    continue  # already reported where it stands in clear text
                if _expired_in_url(data, run, m):
                    continue  # a signing part of an expired signed URL, once its URL is seen whole
                line, column = lines.position(run.start)
                out.append(Match(m.rule_id, m.secret, run.start, run.end, line, column, run.encoding))
        return out


def _expired_in_url(data: bytes, run: "decode.EncodedRun", m: Match) -> bool:
    """True when ``m`` (offsets in ``run.text``) is a signing part of an expired signed URL.

    A percent-encoded run starts mid-URL (at the first `%3D`), so its decoded text alone shows
    neither the `?` nor the host (a platform download link is judged at today's date:
    `signed_urls.platform_link`): the URL's clear-text beginning is put back in front of it."""
    start = signed_urls.find_url_start(data, run.start)
    prefix = data[start:run.start]
    if b"?" not in prefix and b"?" not in run.text:
        return False
    return signed_urls.expired_signing_part(prefix + run.text, len(prefix) + m.start,
                                            len(prefix) + m.end, url_start=0)


def passes_filters(c: _CompiledRule, secret: str, name: str | None) -> bool:
    """Entropy, placeholder and name filters; True when the match should be reported."""
    rule = c.rule
    if not secret or (heuristics.is_placeholder(secret) if rule.generic else heuristics.is_marked_placeholder(secret)):
        return False  # a provider-format value that only looks made up is kept: `made_up` reports it low
    if c.placeholders and any(p.search(secret.encode()) for p in c.placeholders):
        return False
    if rule.public_values and secret_sha256(secret) in rule.public_values:
        return False  # published on purpose (the rule file says where)
    if c.claimed is not None and c.claimed.search(secret.encode()):
        return False  # a provider's format family that its own rule did not report: not the generic rule's to call
    if rule.min_entropy is not None and heuristics.shannon_entropy(secret) < rule.min_entropy:
        return False
    if "secret-name" in rule.filters and heuristics.is_uuid(secret):
        return False  # an id (account, request, widget), as detect-secrets' is_potential_uuid filter holds
    if "secret-name" in rule.filters and (name is None or not heuristics.is_secret_name(name)):
        return False
    if "not-code" in rule.filters and heuristics.is_code_like(secret):
        return False
    if "value-shape" in rule.filters and not value_shape.value_shape_ok(secret):
        return False  # an identifier, import reference, path or prose: the literal-value test without its file context
    return True


def made_up(rule: Rule, secret: str) -> bool:
    """A specific rule's match whose value looks typed for documentation (``heuristics.looks_made_up``).

    It is reported at low severity with a note, never as a Truss policy problem: the policy checks
    (``policy.context``) do not see it, so it cannot escalate to critical."""
    return not rule.generic and heuristics.looks_made_up(secret)


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    spans.sort()
    merged = [list(spans[0])]
    for s, e in spans[1:]:
        if s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


def prefer_specific(matches: list[Match], rules: dict[str, Rule]) -> list[Match]:
    """One match per secret and place: specific rules beat generic ones, which beat detect-secrets.

    On one line, a match is dropped when a match kept before it (equally or better ranked)
    overlaps it or carries the same secret; among equals the more precise (shorter) secret
    wins, so `url-credentials` keeps the token of `https://user:TOKEN@host` rather than the
    generic assignment rule's `TOKEN@host/...`. Kept matches of a line never overlap, so one
    bisection finds the only one that could: the whole merge is O(n log n).
    """
    ranked = sorted(matches, key=lambda m: (_rank(rules, m.rule_id), len(m.secret), m.start, m.rule_id))
    spans: dict[int, _Spans] = {}
    secrets: dict[int, set[str]] = {}
    kept: list[Match] = []
    for m in ranked:
        line_spans = spans.get(m.line) or spans.setdefault(m.line, _Spans())
        line_secrets = secrets.setdefault(m.line, set())
        if m.secret in line_secrets or line_spans.overlaps(m.start, m.end):
            continue
        line_spans.add(m.start, m.end)
        line_secrets.add(m.secret)
        kept.append(m)
    return sorted(kept, key=lambda m: (m.start, m.rule_id))


class _Spans:
    """The disjoint [start, end) spans kept on one line, sorted, in blocks of at most ``_BLOCK``: an
    insertion moves one block rather than the whole line's list. One list per line made 100,000 keys of
    two lengths alternating on one line quadratic (each longer key inserted mid-list)."""

    _BLOCK = 512

    def __init__(self) -> None:
        self.blocks: list[list[tuple[int, int]]] = []
        self.firsts: list[int] = []  # each block's first start

    def overlaps(self, start: int, end: int) -> bool:
        """Whether a kept span overlaps [start, end): only the one starting last before ``end`` can."""
        b = bisect.bisect_left(self.firsts, end) - 1
        if b < 0:
            return False
        block = self.blocks[b]
        return block[bisect.bisect_left(block, (end,)) - 1][1] > start

    def add(self, start: int, end: int) -> None:
        if not self.blocks:
            self.blocks.append([(start, end)])
            self.firsts.append(start)
            return
        b = max(0, bisect.bisect_right(self.firsts, start) - 1)
        block = self.blocks[b]
        bisect.insort(block, (start, end))
        self.firsts[b] = block[0][0]
        if len(block) > self._BLOCK:
            tail = block[len(block) // 2:]
            del block[len(block) // 2:]
            self.blocks.insert(b + 1, tail)
            self.firsts.insert(b + 1, tail[0][0])


def _rank(rules: dict[str, Rule], rule_id: str) -> int:
    rule = rules.get(rule_id)
    if rule is None or rule.detector != "regex":
        return 2
    return 1 if rule.generic else 0


class _LineIndex:
    """Line and column of byte offsets, computed lazily (most fragments have no match)."""

    def __init__(self, data: bytes):
        self.data = data
        self._newlines: list[int] | None = None
        self._columns: dict[int, tuple[int, int]] = {}  # line start -> last (offset, column)

    def _nl(self) -> list[int]:
        if self._newlines is None:
            d, out, i = self.data, [], self.data.find(b"\n")
            while i != -1:
                out.append(i)
                i = d.find(b"\n", i + 1)
            self._newlines = out
        return self._newlines

    def line_end(self, offset: int, at_most: int) -> int:
        """End of the offset's line, but no more than ``at_most`` bytes ahead."""
        ceiling = min(len(self.data), offset + at_most)
        i = self.data.find(b"\n", offset, ceiling)
        return ceiling if i == -1 else i

    def position(self, offset: int) -> tuple[int, int]:
        nl = self._nl()
        index = bisect.bisect_left(nl, offset)
        start = nl[index - 1] + 1 if index else 0
        base, column = self._columns.get(start, (start, 1))
        if base > offset:  # counting forward from an earlier point keeps long lines linear
            base, column = start, 1
        column += len(self.data[base:offset].decode("utf-8", "replace"))
        self._columns[start] = (offset, column)
        return index + 1, column
