"""Literal gates (trussguard/engine/gates.py) and the keyword prefilter's first-only keywords: both
skip work, and must never change a finding."""

from __future__ import annotations

import dataclasses
import random

import pytest

from trussguard.engine import gates, tokens
from trussguard.engine.loader import load_rules
from trussguard.engine.matcher import Matcher
from trussguard.engine.prefilter import KeywordPrefilter, _compile, _finds_every_keyword
from trussguard.engine.regex import compile_pattern


@pytest.fixture(scope="module")
def ruleset():
    return load_rules(cache_dir=None)


def test_re2_judges_anchors_and_boundaries_on_the_whole_text():
    """Gates, candidate stretches and skipped windows rely on it: a search between pos and endpos finds
    only matches of the pattern in the whole text (^, $, \\b and classes see the bytes around)."""
    assert compile_pattern(r"(?m)^abc").search(b"xabc", 1) is None
    assert compile_pattern(r"abc$").search(b"abcx", 0, 3) is None
    assert compile_pattern(r"(?m)abc$").search(b"abcx", 0, 3) is None
    assert compile_pattern(r"\babc").search(b"xabc", 1) is None
    assert compile_pattern(r"abc\b").search(b"abcx", 0, 3) is None
    assert compile_pattern(r"(?:^|[^a-z])abc").search(b"xabc", 1) is None
    assert compile_pattern(r"(?m)^abc").search(b"\nabc", 1) is not None


@pytest.mark.parametrize("pattern, gate", [
    (r"(?m)(?:^|[^a-z])(?:https?|ssh)://[^\s:@]{1,64}:(?P<secret>[^\s@]{3,128})@[a-z]",
     r"(?m)://[^\s:@]{1,64}:[^\s@]{3,128}@[a-z]"),
    (r"(?m)(?:^|[^A-Za-z0-9_-])(?P<secret>eyJ[A-Za-z0-9_-]{10,500}\.eyJ)", r"(?m)eyJ[A-Za-z0-9_-]{10,500}\.eyJ"),
    (r"(?i)(?:^|\s)--(?P<name>[a-z]{1,4})=x", r"(?i)--[a-z]{1,4}=x"),
    (r"[a-z]\.\-x", r"\.\-x"),
])
def test_gate_is_the_literal_led_tail(pattern, gate):
    assert gates.literal_gate(pattern) == gate


@pytest.mark.parametrize("pattern", [
    r"abc|def",  # top-level alternation
    r"ab[0-9]+",  # already literal-led
    r"[0-9](?i)ab",  # flags changed mid-pattern
    r"[0-9]\Qab\E",  # quoted literal
    r"[0-9]a{x",  # a brace that is no repetition
    r"[0-9]ab?",  # `b?` is no literal: one literal character only
    r"[0-9]a\nb",  # escapes that are letters are not literals
    r"(?:a|b)[0-9]+",
])
def test_no_gate_when_unsure_or_useless(pattern):
    assert gates.literal_gate(pattern) is None


def _noise(rng: random.Random, n: int) -> str:
    alphabet = "aZ9:/@._-=\"' \t\n\v\x0bK\u212a\u017f\u00e9%+~#?&"
    return "".join(rng.choice(alphabet) for _ in range(n))


def _texts(rule, rng: random.Random):
    for example in rule.examples + rule.negative_examples:
        generated = {name: tokens.expand_template(t, rng) for name, t in rule.tokens.items()}
        text = tokens.expand_text(example.text, generated)
        yield text
        for _ in range(4):  # cut, glued to noise, a character replaced
            i = rng.randrange(len(text) + 1)
            yield _noise(rng, 5) + text[:i] + rng.choice(["", "\u212a", "\u017f", "\v", "@", ":"]) + text[i:] + _noise(rng, 5)


def test_gate_matches_wherever_its_rule_does(ruleset):
    rng = random.Random(7)
    checked = 0
    for rule in ruleset.rules:
        if rule.detector != "regex":
            continue
        gate = gates.literal_gate(rule.pattern)
        if gate is None:
            continue
        full, cheap = compile_pattern(rule.pattern), compile_pattern(gate)
        for text in _texts(rule, rng):
            data = text.encode()
            if full.search(data) is not None:
                checked += 1
                assert cheap.search(data) is not None, (rule.id, text)
    assert checked > 100


def test_matcher_finds_the_same_with_and_without_gates(ruleset):
    rng = random.Random(11)
    gated, plain = Matcher(ruleset), Matcher(ruleset)
    gated.compile_all()
    plain.compile_all()
    for c in plain.rules:
        c.gate = None
    assert any(c.gate is not None for c in gated.rules)
    whole = [c.rule for c in gated.rules if c.whole]
    found = 0
    for rule in whole:
        for text in _texts(rule, rng):
            data = (_noise(rng, 30) + "\n" + text + "\nx = 1\n").encode()
            a, b = gated.scan(data, "app/config.env"), plain.scan(data, "app/config.env")
            assert a == b, (rule.id, text)
            found += len(a)
    assert found > 10


def test_first_only_keywords_report_their_first_hit_only():
    pf = KeywordPrefilter(["abc", "://"], None, frozenset({1}))
    hits = pf.hits(b"abc http://x abc ftp://y")
    assert hits == [(0, 3), (1, 11), (0, 16)]


def test_cached_database_with_other_first_only_flags_is_not_used():
    keywords = ["abc", "://"]
    assert _finds_every_keyword(_compile(keywords, frozenset({1})), keywords, frozenset({1}))
    assert not _finds_every_keyword(_compile(keywords, frozenset({0, 1})), keywords, frozenset({1}))
    assert not _finds_every_keyword(_compile(keywords), keywords, frozenset({1}))


def test_prefilter_cache_key_covers_the_flags(tmp_path):
    KeywordPrefilter(["abc", "://"], tmp_path, frozenset({1}))
    KeywordPrefilter(["abc", "://"], tmp_path)
    assert len(list(tmp_path.glob("prefilter-*.hsdb"))) == 2
    pf = KeywordPrefilter(["abc", "://"], tmp_path)
    assert pf.hits(b"://://") == [(1, 3), (1, 6)]


# --- candidate positions (candidates.py) ------------------------------------------------------------


def test_every_candidate_table_entry_is_a_builtin_rule(ruleset):
    """A rule whose pattern changed falls back to whole-text RE2 (correct, slower): say so here."""
    from trussguard.engine import candidates
    used = {candidates.for_pattern(r.pattern) for r in ruleset.rules if r.detector == "regex"} - {None}
    assert len(used) == len(candidates.KNOWN)


def test_candidate_width_covers_the_longest_match(ruleset):
    import re._parser
    from trussguard.engine import candidates
    for rule in ruleset.rules:
        spec = candidates.for_pattern(rule.pattern) if rule.detector == "regex" else None
        if spec is not None and spec.width:
            assert spec.width >= 4 * re._parser.parse(rule.pattern).getwidth()[1]


_PIECES = ["api_key", "token_\u017fuffix", "auth_\u212aey_old", "API_KEY", "db_password", "token", "ToKen", "to\u212aen", "\u017fecret", "my_\u017fecret_value",
           "pass\u017fphrase", "api_-key", "auth_key", "account_key", "private_key", "tokenizer"]
_OPS = [" = ", "=", ": ", ' = "', "': '", '"]: ', " := ", " => ", "\t=\t"]


def _value(rng: random.Random) -> str:
    alphabet = "abcdefghijkLMNOPQRST0123456789_-+/.\u00e9\u212a\u017f\u4e2d\v"
    if rng.random() < 0.1:
        return "\u4e2d" * rng.randrange(190, 205)  # 3 bytes a character: the longest matches in bytes
    return "".join(rng.choice(alphabet) for _ in range(rng.choice([5, 11, 12, 13, 40, 199, 200, 201, 260])))


def _assignment_text(rng: random.Random) -> str:
    parts = []
    for _ in range(rng.randrange(1, 40)):
        parts.append(rng.choice(["", "x" * rng.randrange(60), "\n", " ", "self.", "\u00e9" * rng.randrange(30)]))
        parts.append(rng.choice(_PIECES) + rng.choice(["", "_" + "z" * rng.randrange(45)]))
        parts.append(rng.choice(_OPS) + _value(rng) + rng.choice(['"', "'", "\n", " ", ",", "", ")"]))
        if rng.random() < 0.2:
            parts.append("\n" + "y" * rng.randrange(3000) + "\n")
    return "".join(parts)


def test_candidate_runs_match_whole_text_runs(ruleset):
    from trussguard.engine.matcher import _LineIndex
    m = Matcher(ruleset)
    m.compile_all()
    (ri,) = [i for i, c in enumerate(m.rules) if c.width]
    c = m.rules[ri]
    rng = random.Random(5)
    total = 0
    for _ in range(300):
        data = _assignment_text(rng).encode()
        ends = [e for k, e in m.prefilter.hits(data) if k >= m._keyword_count]
        whole = [(x.span(), s, e) for x, s, e in m._window_matches(c, data, 0, len(data), _LineIndex(data))]
        near = [(x.span(), s, e) for x, s, e in m._whole_matches(c, data, ends)]
        assert near == whole, data[:200]
        total += len(whole)
    assert total > 1000


# --- decoding: span checked before the copy, percent runs only where an escape is -------------------


def _reference_runs(data: bytes) -> list:
    """decode.encoded_runs as it was written before its shortcuts."""
    from urllib.parse import unquote_to_bytes

    from trussguard.engine import decode
    runs = []
    if b"%" in data:
        for m in decode._PERCENT_RUN.finditer(data):
            if unquote_to_bytes(m.group(0)) != m.group(0):
                runs.append((m.start(), m.end(), "percent", unquote_to_bytes(m.group(0))))
    for m in decode._BASE64_RUN.finditer(data):
        run = m.group(0)
        if not decode.MIN_BASE64 <= len(run) <= decode.MAX_RUN or not decode._mixed(run):
            continue
        decoded = decode._b64decode(run)
        if decoded is not None and decode._is_text(decoded):
            runs.append((m.start(), m.end(), "base64", decoded))
    return runs


def test_encoded_runs_are_those_of_the_plain_loop():
    import base64

    from trussguard.engine import decode
    rng = random.Random(3)
    seen = 0
    for _ in range(300):
        parts = []
        for _ in range(rng.randrange(1, 12)):
            kind = rng.randrange(5)
            if kind == 0:
                text = "".join(rng.choice("abcXYZ019 =:\n") for _ in range(rng.randrange(10, 60)))
                parts.append(base64.b64encode(text.encode()).decode().rstrip("=" * rng.randrange(3)))
            elif kind == 1:
                parts.append("".join(rng.choice("%2F%3Dab%s%d%(x)s%zz%4") for _ in range(rng.randrange(1, 30))))
            elif kind == 2:
                parts.append("Float32 x86_64 utf8 " + "a" * rng.randrange(30))
            else:
                parts.append(_noise(rng, rng.randrange(40)))
        data = "".join(parts).encode()
        got = [(r.start, r.end, r.encoding, r.text) for r in decode.encoded_runs(data)]
        assert got == _reference_runs(data), data
        seen += len(got)
    assert seen > 100


def _baseten_text(rng: random.Random) -> str:
    def key(n1: int = 8, n2: int = 32) -> str:
        alphabet = "abcXYZ0123456789\u017f\u212aK"
        return "".join(rng.choice(alphabet) for _ in range(n1)) + "." + "".join(rng.choice(alphabet) for _ in range(n2))
    lines = []
    for _ in range(rng.randrange(1, 60)):
        lines.append(rng.choice([
            f'BASETEN_API_KEY = "{key()}"', f"baseten_key: {key()}", f'baseten.login("{key()}")',
            f'api_key = "{key(8, rng.choice([31, 32, 33]))}"', "import baseten  # baseten " * rng.randrange(1, 6),
            f"api-key  {key()}", f"x = {key()}", "baseten " + "y" * rng.randrange(2000),
            f'BASETEN_API_KEY = "{key()}' + "z" * rng.randrange(1300),
        ]))
    return "\n".join(lines)


def test_windows_without_a_candidate_end_hold_no_match(ruleset):
    with_ends, without = Matcher(ruleset), Matcher(ruleset)
    with_ends.compile_all()
    without.compile_all()
    assert any(c.windowed_ends for c in with_ends.rules)
    for c in without.rules:
        c.windowed_ends = False
    rng = random.Random(9)
    found = 0
    for _ in range(300):
        data = _baseten_text(rng).encode()
        a, b = with_ends.scan(data, "app/model.py"), without.scan(data, "app/model.py")
        assert a == b, data[:300]
        found += sum(m.rule_id == "baseten.api-key" for m in a)
    assert found > 100


def test_rules_led_by_their_candidates_find_what_keyword_windows_find(ruleset, monkeypatch):
    """A rule whose windows come from its token's ends (``Candidates.leads``) finds exactly what windows
    around its keyword's hits find, on texts full of the keyword's common-word hits (`task`, `path`)."""
    from trussguard.engine import candidates
    led = Matcher(ruleset)
    led.compile_all()
    rules = [c.rule for c, on in zip(led.rules, led._led) if on]
    assert {r.id for r in rules} >= {"twilio.api-key-sid", "airtable.personal-access-token"}
    real = candidates.for_pattern
    monkeypatch.setattr(candidates, "for_pattern",
                        lambda p: None if real(p) is None else dataclasses.replace(real(p), leads=False))
    keyed = Matcher(ruleset)
    keyed.compile_all()
    assert not any(keyed._led)
    rng = random.Random(14)
    noise = ["task", "disk", "path", "pattern", "API-key", "test_", "live_", "-us", "EAAA", "sk", "pat", "\n"]
    found = {r.id: 0 for r in rules}
    for _ in range(200):
        parts = [rng.choice(noise) for _ in range(rng.randrange(5, 40))]
        for rule in rng.sample(rules, 2):
            template = rule.tokens.get("token") or next(iter(rule.tokens.values()))
            value = tokens.expand_template(template, rng)
            parts.insert(rng.randrange(len(parts) + 1), f'{rule.provider.upper()}_TOKEN="{value}"')
        data = " ".join(parts).encode()
        a, b = led.scan(data, "app/settings.py"), keyed.scan(data, "app/settings.py")
        assert a == b, data[:300]
        for m in a:
            if m.rule_id in found:
                found[m.rule_id] += 1
    assert all(n > 0 for n in found.values()), found
