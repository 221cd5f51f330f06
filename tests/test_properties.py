"""Property tests (hypothesis, derandomized): no leak in reports, stable fingerprints, no crash."""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from trussguard.cli import cli
from trussguard.engine import decode, tokens
from trussguard.engine.detector import Detector
from trussguard.engine.matcher import Matcher
from trussguard.findings import to_finding
from trussguard.suppress.inline import is_suppressed

from conftest import write_truss

# Fixed examples every run, no example database, and no "explain" phase (its tracing makes a
# failing run take minutes); shrinking still reports a minimal counter-example.
SETTINGS = dict(derandomize=True, database=None, deadline=None,
                phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

# (rule id, token template name, line that plants it, file it goes into)
PLANTS = [
    ("huggingface.user-token", "token", 'HF_TOKEN = "{t}"', "scripts/hf.py"),
    ("openai.project-key", "token", "OPENAI_API_KEY={t}", ".env"),
    ("groq.api-key", "token", "  groq_api_key: '{t}'", "config/extra.yaml"),
    ("anthropic.api-key", "token", 'client = Anthropic(api_key="{t}")', "model/model.py"),
    ("replicate.api-token", "token", "export REPLICATE_API_TOKEN={t}", "deploy.sh"),
    ("generic.secret-assignment", "password", 'DB_PASSWORD = "{t}"', "scripts/db.py"),
]

# Surrounding text: printable text without the characters that would glue onto the planted line.
filler_line = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"),
    max_size=60,
)
filler = st.lists(filler_line, max_size=6)


def _slices(value: str, width: int = 12) -> list[str]:
    return [value[i:i + width] for i in range(len(value) - width + 1)]


def _assert_no_leak(text: str, planted: list[str]) -> None:
    for value in planted:
        assert value not in text
        leaked = [s for s in _slices(value) if s in text]
        assert not leaked, f"12-character slice of a planted secret in the report: {leaked[:1]}"


@settings(max_examples=25, **SETTINGS)
@given(choice=st.lists(st.sampled_from(range(len(PLANTS))), min_size=1, max_size=4, unique=True),
       seed=st.integers(0, 2**32), before=filler, after=filler)
def test_reports_never_contain_planted_secrets(ctx, choice, seed, before, after):
    by_id = ctx.by_id
    rng = random.Random(seed)  # not st.randoms(): shrinking it yields 'AAAA...' tokens no rule accepts
    planted: dict[str, str] = {}
    files: dict[str, str] = {}
    for index in choice:
        rule_id, name, line, path = PLANTS[index]
        value = tokens.expand_template(by_id[rule_id].tokens[name], rng)
        planted[rule_id] = value
        files[path] = "\n".join(before + [line.format(t=value)] + after) + "\n"
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        root = write_truss(Path(tmp) / "truss", files)
        values = list(planted.values())

        text = runner.invoke(cli, ["scan", str(root), "--jobs", "1"], catch_exceptions=False)
        assert text.exit_code == 1, text.output
        _assert_no_leak(text.output, values)

        js = runner.invoke(cli, ["scan", str(root), "--format", "json", "--jobs", "1"], catch_exceptions=False)
        _assert_no_leak(js.output, values)
        report = json.loads(js.stdout)
        found_rules = {f["rule_id"] for f in report["findings"]}
        assert set(planted) <= found_rules  # every plant was found (so redaction was exercised)

        for fmt in ("text", "json"):
            out = Path(tmp) / f"report.{fmt}"
            res = runner.invoke(cli, ["scan", str(root), "--format", fmt, "--output", str(out), "--jobs", "1"],
                                catch_exceptions=False)
            assert res.exit_code == 1
            _assert_no_leak(res.output + out.read_text("utf-8"), values)

        shown = runner.invoke(cli, ["scan", str(root), "--format", "json", "--show-secrets", "--jobs", "1"],
                              catch_exceptions=False)
        for value in values:
            assert value in shown.stdout
        shown_text = runner.invoke(cli, ["scan", str(root), "--show-secrets", "--jobs", "1"], catch_exceptions=False)
        for value in values:
            assert value in shown_text.stdout


class _Context:
    """Engine objects shared by the property tests (short repr: hypothesis prints its arguments)."""

    def __init__(self, ruleset):
        self.by_id = ruleset.by_id()
        self.detector = Detector(ruleset, cache_dir=None)
        self.matcher = self.detector.matcher
        self.keywords = sorted({k.encode() for r in ruleset.rules for k in r.keywords})

    def __repr__(self) -> str:
        return "<engine context>"


@pytest.fixture(scope="module")
def ctx(ruleset) -> _Context:
    return _Context(ruleset)


@settings(max_examples=60, **SETTINGS)
@given(index=st.sampled_from(range(len(PLANTS))), seed=st.integers(0, 2**32),
       above=filler, inserted=st.lists(filler_line, min_size=1, max_size=8), below=filler)
def test_fingerprint_stable_under_inserted_lines(ctx, index, seed, above, inserted, below):
    rng = random.Random(seed)
    rule_id, name, line, path = PLANTS[index]
    rule = ctx.by_id[rule_id]
    detector = ctx.detector
    value = tokens.expand_template(rule.tokens[name], rng)
    planted = line.format(t=value)

    def finding(lines: list[str]):
        data = ("\n".join(lines) + "\n").encode("utf-8")
        hits = [m for m in detector.detect(path, data) if m.rule_id == rule_id and m.secret == value]
        assert len(hits) == 1, hits
        return to_finding(hits[0], rule, path)

    original = finding(above + [planted] + below)
    moved = finding(above + inserted + [planted] + below + inserted)
    assert moved.id == original.id
    assert moved.line == original.line + len(inserted)
    assert moved.column == original.column
    assert moved.secret_sha256 == original.secret_sha256 and moved.advisory_id == original.advisory_id


@pytest.fixture(scope="module")
def matcher(ruleset) -> Matcher:
    return Matcher(ruleset, cache_dir=None)


@st.composite
def nasty_bytes(draw, keywords: list[bytes]):
    pieces = draw(st.lists(st.one_of(
        st.binary(max_size=64),
        st.sampled_from(keywords),
        st.sampled_from([b"\x00", b"\xff\xfe", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\n", b"\r\n", b"=", b'"',
                         b"%", b"%5F", b"%zz", b"==", b"\xed\xa0\x80", b"trussguard: allow[", b"\t"]),
        st.text(max_size=40).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/_-",
                min_size=20, max_size=120).map(str.encode),
    ), max_size=40))
    return b"".join(pieces)


@settings(max_examples=200, **SETTINGS)
@given(data=st.data())
def test_matcher_never_raises_on_arbitrary_bytes(ctx, data):
    matcher, detector = ctx.matcher, ctx.detector
    blob = data.draw(st.one_of(st.binary(max_size=2048), nasty_bytes(ctx.keywords)))
    matches = matcher.scan(blob)
    assert isinstance(matches, list)
    for m in matches:
        assert 0 <= m.start <= m.end <= len(blob)
        assert m.line >= 1 and m.column >= 1
        assert m.line <= blob.count(b"\n") + 1
        is_suppressed(blob, m)
    for m in detector.detect("model/model.py", blob, True):
        # (exact offsets after invalid UTF-8 are covered by a dedicated test in test_engine.py)
        assert 0 <= m.start <= m.end and m.line >= 1 and m.column >= 1
        is_suppressed(blob, m, "model/model.py")
    decode.encoded_runs(blob)


def test_matcher_handles_specific_binary_shapes(matcher, fake_token):
    hf = fake_token("huggingface.user-token").encode()
    samples = [
        b"", b"\x00" * 10000, bytes(range(256)) * 64, b"\xff" * 5000 + hf, b"hf_" * 3000 + b"\x00",
        b"\x00hf_" + hf + b"\x00", hf + b"\xc3", b"\xc3" + hf, "ü".encode() * 1000 + b"\n" + hf,
    ]
    for blob in samples:
        matches = matcher.scan(blob)
        assert all(0 <= m.start <= m.end <= len(blob) for m in matches)
    # sanity: a token delimited by NULs or invalid UTF-8 is still found
    assert [m.secret.encode() for m in matcher.scan(b"\x00" + hf + b"\x00")] == [hf]
    assert hf in [m.secret.encode() for m in matcher.scan(b"\xff\xfe garbage " + hf + b" \xc3\x28")]


def test_random_seeds_reproducible():
    rng_a, rng_b = random.Random(5), random.Random(5)
    assert tokens.expand_template("hf_{34:A-Za-z}", rng_a) == tokens.expand_template("hf_{34:A-Za-z}", rng_b)
