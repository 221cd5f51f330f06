"""Unit tests of the engine: tokens, heuristics, decode, matcher, suppression, findings,
schema validation, loader and the detect-secrets adapter."""

from __future__ import annotations

import base64
import json
import os
import random
import re
import string
import textwrap
import urllib.parse
from pathlib import Path

import pytest
import yaml

from trussguard.config import ScanConfig
from trussguard.engine import decode, heuristics, loader, tokens
from trussguard.engine.detect_secrets_adapter import DetectSecretsAdapter
from trussguard.engine.loader import RuleLoadError, RuleSet, load_rules, parse_files
from trussguard.engine.matcher import Matcher
from trussguard.engine.schema import parse_rule_file
from trussguard.findings import fingerprint, redact, secret_sha256, to_finding
from trussguard.pipeline import scan_tree
from trussguard.suppress.inline import is_suppressed

from conftest import acme_rule, random_password

HF = "huggingface.user-token"
GENERIC = "generic.secret-assignment"
OPENAI = "openai.project-key"
DS_KEYWORD = "detect-secrets.keyword"


@pytest.fixture(scope="module")
def matcher(ruleset) -> Matcher:
    return Matcher(ruleset, cache_dir=None)


def scan(matcher: Matcher, text: str | bytes):
    return matcher.scan(text.encode("utf-8") if isinstance(text, str) else text)


# --------------------------------------------------------------------------- tokens


def _template_length_range(template: str) -> tuple[int, int]:
    """(min, max) length of a template's expansions, computed independently of the module."""
    low = high = 0
    rest = template
    for m in re.finditer(r"\{(\d+)(?:-(\d+))?:[^}]+\}", template):
        low += int(m.group(1))
        high += int(m.group(2) or m.group(1))
        rest = rest.replace(m.group(0), "", 1)
    return low + len(rest), high + len(rest)


class TestTokens:
    def test_alphabet_ranges_and_literals(self):
        assert tokens.alphabet("a-c") == "abc"
        assert tokens.alphabet("0-9a-f") == "0123456789abcdef"
        full = tokens.alphabet("A-Za-z0-9_-")
        assert len(full) == 26 + 26 + 10 + 2
        assert set(full) == set(string.ascii_letters + string.digits + "_-")
        assert full.endswith("_-")  # a trailing '-' is literal, not a range

    def test_alphabet_deduplicates_and_keeps_order(self):
        assert tokens.alphabet("aa-cb") == "abc"
        assert tokens.alphabet("!#%+") == "!#%+"

    @pytest.mark.parametrize("spec", ["z-a", "9-0", ""])
    def test_alphabet_rejects_bad_specs(self, spec):
        with pytest.raises(tokens.TemplateError):
            tokens.alphabet(spec)

    def test_fixed_length_template(self):
        rng = random.Random(1)
        for _ in range(50):
            tok = tokens.expand_template("hf_{34:A-Za-z}", rng)
            assert len(tok) == 37
            assert tok.startswith("hf_")
            assert set(tok[3:]) <= set(string.ascii_letters)

    def test_multi_segment_template_keeps_literals(self):
        rng = random.Random(2)
        tok = tokens.expand_template("pcsk_{6:A-Za-z0-9}_{63:A-Za-z0-9}", rng)
        head, mid, tail = tok.split("_")
        assert (head, len(mid), len(tail)) == ("pcsk", 6, 63)

    def test_range_length_template_reaches_both_ends(self):
        rng = random.Random(3)
        lengths = {len(tokens.expand_template("k{8-12:0-9a-f}", rng)) - 1 for _ in range(400)}
        assert lengths == {8, 9, 10, 11, 12}

    def test_long_runs_look_random(self):
        rng = random.Random(4)
        for _ in range(100):
            run = tokens.expand_template("{20:A-Za-z0-9}", rng)
            assert any(c.islower() for c in run) and any(c.isupper() for c in run)
            assert any(c.isdigit() for c in run)
            assert len(set(run)) > 5

    def test_different_draws_differ(self):
        rng = random.Random(5)
        draws = {tokens.expand_template("sk-{40:A-Za-z0-9}", rng) for _ in range(20)}
        assert len(draws) == 20

    @pytest.mark.parametrize("template", ["x{0:a}", "x{5-3:a-z}", "x{4097:a}", "x{3:z-a}"])
    def test_validate_template_rejects(self, template):
        with pytest.raises(tokens.TemplateError):
            tokens.validate_template(template)

    def test_validate_template_accepts(self):
        tokens.validate_template("sk-proj-{74:A-Za-z0-9_-}T3BlbkFJ{1-4096:a}")

    def test_references_and_expand_text(self):
        text = 'A="{{token}}" B={{ other }} C={{token}}'
        assert tokens.references(text) == ["token", "other", "token"]
        out = tokens.expand_text(text, {"token": "T1", "other": "O2"})
        assert out == 'A="T1" B=O2 C=T1'

    def test_expand_text_unknown_reference(self):
        with pytest.raises(tokens.TemplateError, match="missing"):
            tokens.expand_text("x={{missing}}", {"token": "T"})

    def test_every_builtin_template_is_valid_and_expands(self, ruleset):
        rng = random.Random(6)
        count = 0
        for rule in ruleset.rules:
            for name, template in rule.tokens.items():
                tokens.validate_template(template)
                low, high = _template_length_range(template)
                for _ in range(3):
                    tok = tokens.expand_template(template, rng)
                    assert low <= len(tok) <= high, (rule.id, name, tok)
                count += 1
        assert count > 0

    def test_fake_token_fixture_builds_from_rule_template(self, fake_token, rules_by_id):
        tok = fake_token(HF)
        assert tok.startswith("hf_") and len(tok) == 37
        assert fake_token(HF) != tok
        with pytest.raises(KeyError):
            fake_token(HF, "no-such-template")


# --------------------------------------------------------------------------- heuristics


class TestHeuristics:
    @pytest.mark.parametrize("name", ["hf_access_token", "OPENAI_API_KEY", "aws_access_key_id",
                                      "dbPassword", "clientSecret", "HF_TOKEN", "api_key", "DB_PASSWD",
                                      "storePassword", "token_for_ci", "public_token_secret"])
    def test_secret_names(self, name):
        assert heuristics.is_secret_name(name) is True

    @pytest.mark.parametrize("name", ["max_tokens", "TOKENIZERS_PARALLELISM", "pad_token", "eos_token_id",
                                      "tokenizer_repository", "BAD_TOKEN_ID_SEQ_CHECK_ENABLED",
                                      "DD_AUTH_TOKEN_FILE_PATH", "secret_name", "token_path",
                                      "special_tokens", "max_new_tokens", "CREDENTIAL_FILES", "SECRET_PATHS", "",
                                      "publicToken", "csrf-token", "XSRF_TOKEN", "keyVaultToStoreSecrets",
                                      "path_to_token", "secret_store", "SECRETS_MANAGER"])
    def test_not_secret_names(self, name):
        assert heuristics.is_secret_name(name) is False

    @pytest.mark.parametrize("value", ["", "EMPTY", "***", "${VAR}", "YOUR_API_KEY",
                                       "ENTER HF ACCESS TOKEN HERE", "set token in baseten workspace",
                                       "<token>", "xxxxxxxx", '"EMPTY"', "null", "changeme", "$HF_TOKEN"])
    def test_placeholders(self, value):
        assert heuristics.is_placeholder(value) is True

    @pytest.mark.parametrize("value", ["hf_access_token", "ASIA-see-vault", "Use-Vault-Here", "/var/run/secrets/x",
                                       "self._secrets[", "models/llama/weights", "APP_ID|token", "str|None"])
    def test_code_like_values(self, value):
        assert heuristics.is_code_like(value) is True

    @pytest.mark.parametrize("value", ["/AbC9xYz0QrStUvWxYz12345678901234567890", "xK9-aB3dE-77qP", "xQ7/mZ2pL9rTb4",
                                       "1234567890|aB3dE7qPxK9mZ2"])  # a Facebook app token: app id, bar, secret
    def test_random_values_are_not_code_like(self, value):
        assert heuristics.is_code_like(value) is False

    def test_generated_tokens_are_not_placeholders(self, fake_token):
        rng = random.Random(7)
        for _ in range(50):
            assert heuristics.is_placeholder(random_password(rng, 24)) is False
        assert heuristics.is_placeholder(fake_token(HF)) is False
        assert heuristics.is_placeholder(fake_token(OPENAI)) is False

    @pytest.mark.parametrize("value, expected", [
        ("", 0.0), ("aaaa", 0.0), ("ab", 1.0), ("abcd", 2.0), ("aabb", 1.0),
        ("0123456789abcdef", 4.0), (string.ascii_letters + string.digits + "+/", 6.0),
    ])
    def test_shannon_entropy(self, value, expected):
        assert heuristics.shannon_entropy(value) == pytest.approx(expected)

    def test_entropy_of_random_tokens_exceeds_rule_thresholds(self, fake_token):
        assert heuristics.shannon_entropy(fake_token(HF)) > 3.0
        assert heuristics.shannon_entropy("x" * 40) < 1.0


# --------------------------------------------------------------------------- decode


class TestDecode:
    def test_base64_env_line_in_json_value(self, matcher, fake_token):
        hf = fake_token(HF)
        blob = base64.b64encode(f"HF_TOKEN={hf}".encode()).decode()
        assert hf not in blob
        text = json.dumps({"name": "demo", "env": blob}, indent=2)
        found = [m for m in scan(matcher, text) if m.rule_id == HF]
        assert len(found) == 1
        m = found[0]
        assert m.decoded == "base64"
        assert m.secret == hf
        # reported at the encoded run's position in the original file
        line_text = text.splitlines()[m.line - 1]
        assert line_text[m.column - 1:].startswith(blob)

    def test_base64_multiline_env_file_in_json(self, matcher, fake_token):
        hf = fake_token(HF)
        env = f"MODEL=llama\nHF_TOKEN={hf}\nDEBUG=0\n"
        text = json.dumps({"dotenv": base64.b64encode(env.encode()).decode()})
        found = [m for m in scan(matcher, text) if m.rule_id == HF]
        assert [(m.secret, m.decoded) for m in found] == [(hf, "base64")]

    def test_percent_encoded_token(self, matcher, fake_token):
        hf = fake_token(HF)
        encoded = urllib.parse.quote(f"HF_TOKEN={hf}\n", safe="").replace("_", "%5F")
        assert hf not in encoded
        text = f'{{"url": "https://example.invalid/setup?env={encoded}"}}'
        found = [m for m in scan(matcher, text) if m.rule_id == HF]
        assert [(m.secret, m.decoded) for m in found] == [(hf, "percent")]

    def test_percent_encoded_assignment_as_urllib_quotes_it(self, matcher, fake_token):
        hf = fake_token(HF)
        encoded = urllib.parse.quote(f"HF_TOKEN={hf}", safe="")  # 'HF_TOKEN%3Dhf_...'
        text = f'{{"url": "https://example.invalid/setup?env={encoded}"}}'
        assert hf in {m.secret for m in scan(matcher, text) if m.rule_id == HF}

    def test_base64_binary_blob_is_not_decoded_to_text(self, matcher):
        rng = random.Random(8)
        png = b"\x89PNG\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(6000))
        blob = base64.b64encode(png)
        data = b'{"image": "' + blob + b'"}'
        assert not [r for r in decode.encoded_runs(data) if r.encoding == "base64"]
        assert scan(matcher, data) == []

    def test_base64_text_of_same_length_is_decoded(self):
        text = (b"HF_TOKEN=placeholder value for a long line of text 0123456789\n" * 100)[:6000]
        data = b'{"env": "' + base64.b64encode(text) + b'"}'
        runs = [r for r in decode.encoded_runs(data) if r.encoding == "base64"]
        assert len(runs) == 1 and runs[0].text == text

    def test_no_decode_when_depth_zero(self, ruleset, fake_token):
        hf = fake_token(HF)
        text = json.dumps({"env": base64.b64encode(f"HF_TOKEN={hf}".encode()).decode()})
        assert Matcher(ruleset, None, decode_depth=0).scan(text.encode()) == []


# --------------------------------------------------------------------------- matcher


class TestMatcher:
    def test_token_on_long_line(self, matcher, fake_token):
        hf = fake_token(HF)
        prefix = "x = [" + ", ".join(str(i) for i in range(20000)) + "]; "
        text = prefix + f'tok = "{hf}"; ' + "y = 1; " * 20000
        found = [m for m in scan(matcher, text) if m.rule_id == HF]
        assert [(m.secret, m.line, m.column) for m in found] == [(hf, 1, len(prefix) + len('tok = "') + 1)]

    def test_many_tokens_on_one_long_line(self, matcher, fake_token):
        toks = [fake_token(HF) for _ in range(30)]
        text = " ; ".join(f'"{t}"' + "-" * 3000 for t in toks)
        assert [m.secret for m in scan(matcher, text) if m.rule_id == HF] == toks

    def test_token_at_start_and_end_of_data(self, matcher, fake_token):
        first, last = fake_token(HF), fake_token(HF)
        text = f"{first} = 1\nother = 2\nvalue = {last}"
        found = [(m.secret, m.line, m.column) for m in scan(matcher, text) if m.rule_id == HF]
        assert found == [(first, 1, 1), (last, 3, 9)]

    def test_token_at_end_of_a_line_followed_by_newline(self, matcher, fake_token):
        hf = fake_token(HF)
        text = f"MODEL=llama\nHF_TOKEN={hf}\nDEBUG=0\n"
        assert [m.secret for m in scan(matcher, text) if m.rule_id == HF] == [hf]

    def test_secret_crossing_the_window_edge_is_reported_whole(self, tmp_path, fake_token):
        rule_file = tmp_path / "edge.yaml"
        rule_file.write_text(_rule_yaml(
            rid="edgetest.key", keywords=["zqxkey"], tokens={"token": "{60:A-Za-z0-9}"},
            pattern=r"zqxkey=(?P<secret>[A-Za-z0-9]{10,80})",
            window={"before": 0, "after": 20}, provider="edgetest",
        ), "utf-8")
        rs = load_rules([rule_file], include_builtin=False, cache_dir=None)
        tok = tokens.expand_template("{60:A-Za-z0-9}", random.Random(9))
        for text in (f"zqxkey={tok}", f"pre zqxkey={tok} post\nnext line\n", "a" * 5000 + f" zqxkey={tok}"):
            found = Matcher(rs, None).scan(text.encode())
            assert [m.secret for m in found] == [tok], text[:40]

    def test_line_and_column_with_multibyte_utf8(self, matcher, fake_token):
        hf = fake_token(HF)
        line1 = "# modèle: 日本語のコメント 😀\n"
        line2_prefix = "ключ = '€😀ü' ; 🤗 = \""
        text = line1 + line2_prefix + hf + '"\n'
        found = [m for m in scan(matcher, text) if m.rule_id == HF]
        assert len(found) == 1
        assert (found[0].line, found[0].column) == (2, len(line2_prefix) + 1)
        # the byte offsets still point at the secret in the encoded data
        data = text.encode()
        assert data[found[0].start:found[0].end].decode() == hf

    def test_columns_are_independent_of_scan_order(self, matcher, fake_token):
        hf, oa = fake_token(HF), fake_token(OPENAI)
        line = f"é{oa} ü {hf} ö {oa[::-1]}"
        found = {m.rule_id: m for m in scan(matcher, line)}
        assert found[HF].column == line.index(hf) + 1
        assert found[OPENAI].column == line.index(oa) + 1

    def test_generic_rule_yields_to_specific_rule(self, matcher, fake_token, rules_by_id):
        key = fake_token(OPENAI)
        text = f'api_key = "{key}"\n'
        generic_only = Matcher(RuleSet((rules_by_id[GENERIC],), "generic-only"), None)
        assert [m.rule_id for m in generic_only.scan(text.encode())] == [GENERIC]  # it would fire alone
        found = scan(matcher, text)
        assert [(m.rule_id, m.secret) for m in found] == [(OPENAI, key)]

    def test_generic_rule_reports_when_no_specific_rule(self, matcher):
        value = random_password(random.Random(10), 20)
        found = scan(matcher, f'INTERNAL_SERVICE_SECRET = "{value}"\n')
        assert [(m.rule_id, m.secret) for m in found] == [(GENERIC, value)]

    def test_placeholder_and_tokenizer_names_not_reported(self, matcher):
        text = textwrap.dedent("""\
            max_tokens: 4096000000
            TOKENIZERS_PARALLELISM: "false"
            api_key = "YOUR_API_KEY"
            client = OpenAI(api_key="EMPTY", base_url="http://localhost:8000/v1")
            token = self._secrets["hf_access_token"]
            hf_access_token: null
            """)
        assert scan(matcher, text) == []

    def test_two_keys_separated_by_one_character(self, matcher, fake_token):
        a, b = fake_token("groq.api-key"), fake_token("groq.api-key")
        found = [m.secret for m in scan(matcher, f"GROQ_API_KEYS={a},{b}\n") if m.rule_id == "groq.api-key"]
        assert found == [a, b]

    def test_two_keys_separated_by_two_characters(self, matcher, fake_token):
        a, b = fake_token("groq.api-key"), fake_token("groq.api-key")
        found = [m.secret for m in scan(matcher, f"GROQ_API_KEYS={a}, {b}\n") if m.rule_id == "groq.api-key"]
        assert found == [a, b]


# --------------------------------------------------------------------------- suppression


class TestSuppression:
    def _one(self, matcher, text: str, rule_id: str = HF):
        data = text.encode()
        found = [m for m in matcher.scan(data) if m.rule_id == rule_id]
        assert len(found) == 1, found
        return data, found[0]

    @pytest.mark.parametrize("comment", [
        "# trussguard: allow",
        "# trussguard:allow",
        "# TrussGuard: Allow",
        f"# trussguard: allow[{HF}]",
        f"# trussguard: allow[{GENERIC}, {HF}]",
        "# pragma: allowlist secret",
        "# gitleaks:allow",
    ])
    def test_same_line_markers_suppress(self, matcher, fake_token, comment):
        data, m = self._one(matcher, f'x = 1\ntok = "{fake_token(HF)}"  {comment}\ny = 2\n')
        assert is_suppressed(data, m) is True

    @pytest.mark.parametrize("comment", [
        f"# trussguard: allow[{GENERIC}]",
        "# trussguard: allow[huggingface]",
        "# trussguard: allow-next-line",
        "# pragma: allowlist nextline secret",
        "# allow",
        "",
    ])
    def test_same_line_non_markers_do_not_suppress(self, matcher, fake_token, comment):
        data, m = self._one(matcher, f'tok = "{fake_token(HF)}"  {comment}\n')
        assert is_suppressed(data, m) is False

    @pytest.mark.parametrize("comment", [
        "# trussguard: allow-next-line",
        f"# trussguard: allow-next-line[{HF}]",
        "# pragma: allowlist nextline secret",
    ])
    def test_next_line_markers_suppress(self, matcher, fake_token, comment):
        data, m = self._one(matcher, f'x = 1\n{comment}\ntok = "{fake_token(HF)}"\n')
        assert is_suppressed(data, m) is True

    @pytest.mark.parametrize("comment", [
        f"# trussguard: allow-next-line[{GENERIC}]",
        "# trussguard: allow",
        "# pragma: allowlist secret",
        "# gitleaks:allow",
    ])
    def test_previous_line_non_markers_do_not_suppress(self, matcher, fake_token, comment):
        data, m = self._one(matcher, f'{comment}\ntok = "{fake_token(HF)}"\n')
        assert is_suppressed(data, m) is False

    def test_next_line_marker_reaches_only_one_line(self, matcher, fake_token):
        data, m = self._one(matcher, f'# trussguard: allow-next-line\nx = 1\ntok = "{fake_token(HF)}"\n')
        assert is_suppressed(data, m) is False

    def test_marker_on_first_line_with_token(self, matcher, fake_token):
        data, m = self._one(matcher, f'tok = "{fake_token(HF)}"  # trussguard: allow')
        assert is_suppressed(data, m) is True

    def test_pipeline_counts_suppressed(self, truss_tree, fake_token, cache_dir):
        a, b = fake_token(HF), fake_token(HF)
        root = truss_tree({"scripts/a.py": f'A = "{a}"  # trussguard: allow[{HF}]\nB = "{b}"\n'})
        result = scan_tree(ScanConfig(paths=(root,), cache_dir=cache_dir, jobs=1))
        assert [f.secret_sha256 for f in result.findings] == [secret_sha256(b)]
        assert result.stats.suppressed == 1


# --------------------------------------------------------------------------- findings


def _scan_root(root: Path, cache_dir: Path, **kw):
    return scan_tree(ScanConfig(paths=(root,), cache_dir=cache_dir, jobs=1, **kw))


class TestFindings:
    def test_fingerprint_survives_inserted_lines(self, truss_tree, fake_token, cache_dir):
        hf = fake_token(HF)
        body = f'def load():\n    token = "{hf}"\n'
        root = truss_tree({"scripts/load.py": body})
        before = [f for f in _scan_root(root, cache_dir).findings if f.rule_id == HF]
        (root / "scripts/load.py").write_text("import os\nimport sys\n\n# comment\n" + body, "utf-8")
        after = [f for f in _scan_root(root, cache_dir).findings if f.rule_id == HF]
        assert len(before) == len(after) == 1
        assert after[0].line == before[0].line + 4
        assert after[0].id == before[0].id

    def test_fingerprint_depends_on_rule_path_and_secret(self):
        d1, d2 = secret_sha256("a"), secret_sha256("b")
        base = fingerprint("r.x", "p.py", d1)
        assert base.startswith("tg-")
        assert len({base, fingerprint("r.y", "p.py", d1), fingerprint("r.x", "q.py", d1),
                    fingerprint("r.x", "p.py", d2), fingerprint("r.x", "p.py", d1, "c0ffee")}) == 5
        assert fingerprint("r.x", "p.py", d1) == base

    @pytest.mark.parametrize("length", list(range(0, 70)) + [80, 100, 164, 200, 1000])
    def test_redact_shows_little(self, length):
        rng = random.Random(length)
        secret = "".join(rng.choice(string.ascii_letters + string.digits + "_-") for _ in range(length))
        red = redact(secret)
        shown = red.split("…", 1)[0]
        assert "…" in red
        assert secret.startswith(shown)
        assert len(shown) <= 11
        assert len(shown) <= length // 4
        if length >= 8:
            assert secret not in red
        tail = red[len(shown):]
        assert not any(secret[i:i + 6] in tail for i in range(max(0, length - 5)))
        assert f"({length} chars" in red

    def test_redact_of_real_token_shapes(self, fake_token, ruleset):
        for rule in ruleset.rules:
            for name in rule.tokens:
                tok = fake_token(rule.id, name)
                shown = redact(tok).split("…", 1)[0]
                assert len(shown) <= min(11, len(tok) // 4), (rule.id, name)
                assert tok not in redact(tok)

    def test_to_finding_fields(self, matcher, fake_token, rules_by_id):
        hf = fake_token(HF)
        m = [m for m in scan(matcher, f'x = "{hf}"') if m.rule_id == HF][0]
        f = to_finding(m, rules_by_id[HF], "a/b.py")
        assert f.secret is None and f.secret_sha256 == secret_sha256(hf)
        assert f.advisory_id == "adv-" + secret_sha256(hf)[:16]
        assert hf not in f.message and hf not in (f.redacted or "")
        assert to_finding(m, rules_by_id[HF], "a/b.py", keep_secret=True).secret == hf

    def test_one_advisory_per_distinct_secret_across_files(self, truss_tree, fake_token, cache_dir):
        shared, other = fake_token(HF), fake_token(HF)
        root = truss_tree({
            "scripts/a.py": f'TOKEN = "{shared}"\n',
            "scripts/b.py": f'login(token="{shared}")\n',
            "notebooks/c.json": json.dumps({"hf": shared, "other": other}),
        })
        result = _scan_root(root, cache_dir)
        hf_findings = [f for f in result.findings if f.rule_id == HF]
        assert len(hf_findings) == 4
        by_secret = {a.secret_sha256: a for a in result.advisories}
        assert set(by_secret) == {secret_sha256(shared), secret_sha256(other)}
        assert len(result.advisories) == 2
        shared_adv = by_secret[secret_sha256(shared)]
        assert len(shared_adv.finding_ids) == 3
        assert set(shared_adv.finding_ids) == {f.id for f in hf_findings if f.secret_sha256 == shared_adv.secret_sha256}
        assert shared_adv.rule_id == HF and shared_adv.urgency == "immediate"
        assert shared_adv.revoke_url and shared_adv.revoke_url.startswith("https://")
        assert all(f.advisory_id == shared_adv.id for f in hf_findings if f.secret_sha256 == shared_adv.secret_sha256)


# --------------------------------------------------------------------------- schema validation




def _rule_yaml(rid: str, keywords: list[str], tokens: dict, pattern: str, provider: str = "acme",
               **over) -> str:
    rule = acme_rule(id=rid, keywords=keywords, tokens=tokens, pattern=pattern,
                      examples=[f"{keywords[0]}={{{{token}}}}"], **over)
    rule.pop("min_entropy", None)
    return yaml.safe_dump({"schema_version": 1, "provider": provider, "rules": [rule]}, sort_keys=False)


def _problems(rule: dict) -> list[str]:
    rules, problems = parse_rule_file({"schema_version": 1, "provider": "acme", "rules": [rule]}, "acme.yaml")
    assert (rules == []) == bool(problems)
    return [str(p) for p in problems]


MISTAKES = {
    "negative example without why": (
        {"negative_examples": [{"text": "ACME_KEY=acme_xxx"}]}, "needs a `why`"),
    "two secret groups": (
        {"pattern": r"(?P<secret>acme_[A-Za-z0-9]{32})|(?P<secret>acme-[A-Za-z0-9]{32})"}, "exactly one named group"),
    "lookahead rejected by RE2": (
        {"pattern": r"(?=acme_)(?P<secret>acme_[A-Za-z0-9]{32})"}, "does not compile under RE2"),
    "unknown key": ({"colour": "red"}, "unknown key `colour`"),
    "bad id": ({"id": "Acme_API_Key"}, "`id` must match"),
    "non-https reference": ({"references": ["http://acme.invalid/docs"]}, "must be an https URL"),
    "non-https revoke url": (
        {"rotation": {"revoke_url": "http://acme.invalid", "steps": ["x"], "truss_secret_name": "a"}}, "revoke_url"),
    "unknown group name": ({"pattern": r"(?P<key>x)(?P<secret>acme_[A-Za-z0-9]{32})"}, "may only name the groups"),
    "undefined token reference": ({"examples": ["ACME={{nope}}"]}, "undefined token {{nope}}"),
    "bad severity": ({"severity": "urgent"}, "unknown severity"),
    "missing rotation": ({"rotation": None}, None),
    "unknown rotation template": (
        {"rotation": {"revoke_url": "https://acme.invalid", "template": "nope", "truss_secret_name": "a"}},
        "unknown rotation template 'nope'"),
    "rotation without steps or template": (
        {"rotation": {"revoke_url": "https://acme.invalid", "truss_secret_name": "a"}}, "`rotation.steps` must be"),
}


class TestSchema:
    def test_valid_rule_has_no_problems(self):
        assert _problems(acme_rule()) == []

    @pytest.mark.parametrize("mistake", sorted(MISTAKES))
    def test_each_mistake_gives_a_problem(self, mistake):
        over, needle = MISTAKES[mistake]
        rule = acme_rule(**over)
        if over.get("rotation", 1) is None:
            del rule["rotation"]
            needle = "missing `rotation`"
        problems = _problems(rule)
        assert problems, mistake
        assert any(needle in p for p in problems), problems
        assert all(p.startswith("acme.yaml:") for p in problems)

    def test_a_rotation_template_gives_shared_steps_before_the_rules_own(self):
        rotation = {"revoke_url": "https://acme.invalid/keys", "template": "api-token", "truss_secret_name": "acme_key",
                    "steps": ["Also tell the Acme account manager."]}
        rules, problems = parse_rule_file({"schema_version": 1, "provider": "acme",
                                           "rules": [acme_rule(rotation=rotation)]}, "acme.yaml")
        assert problems == []
        steps = rules[0].rotation.steps
        assert len(steps) == 4 and steps[-1] == "Also tell the Acme account manager."
        assert steps[0].startswith("Open https://acme.invalid/keys and revoke (delete) the " + rules[0].name)
        assert 'self._secrets["acme_key"]' in steps[1]

    def test_all_mistakes_in_one_file_each_reported(self):
        raw = []
        for i, mistake in enumerate(sorted(MISTAKES)):
            over, _ = MISTAKES[mistake]
            rule = acme_rule(id=f"acme.rule{i}", **{k: v for k, v in over.items() if k != "id"})
            if "id" in over:
                rule["id"] = over["id"]
            if over.get("rotation", 1) is None:
                del rule["rotation"]
            raw.append(rule)
        rules, problems = parse_rule_file({"schema_version": 1, "provider": "acme", "rules": raw}, "acme.yaml")
        assert rules == []
        where = {p.where for p in problems}
        assert len(where) == len(MISTAKES)

    def test_file_level_problems(self):
        _, problems = parse_rule_file({"schema_version": 2, "provider": "Bad Provider", "rules": [],
                                       "extra": 1}, "f.yaml")
        text = " | ".join(str(p) for p in problems)
        assert "schema_version" in text and "provider" in text and "non-empty list" in text
        assert "unknown top-level key `extra`" in text
        assert parse_rule_file(["not", "a", "mapping"], "f.yaml")[1]

    def test_builtin_rules_parse_without_problems(self):
        files = loader.rule_files([loader.builtin_rules_dir()])
        rules, problems = parse_files(files)
        assert problems == []
        assert len(rules) >= 5


# --------------------------------------------------------------------------- loader


def _write_rule_file(path: Path, rid: str, provider: str = "acme") -> Path:
    path.write_text(yaml.safe_dump({"schema_version": 1, "provider": provider, "rules": [acme_rule(id=rid)]}),
                    "utf-8")
    return path


class TestLoader:
    def test_duplicate_ids_across_files_rejected(self, tmp_path):
        _write_rule_file(tmp_path / "a.yaml", "acme.api-key")
        _write_rule_file(tmp_path / "b.yaml", "acme.api-key")
        _, problems = parse_files(loader.rule_files([tmp_path]))
        assert any("duplicate rule id" in p.message and "a.yaml" in p.message for p in problems)
        with pytest.raises(RuleLoadError) as exc:
            load_rules([tmp_path], include_builtin=False, cache_dir=None)
        assert any("duplicate rule id" in str(p) for p in exc.value.problems)

    def test_duplicate_of_builtin_id_rejected(self, tmp_path):
        _write_rule_file(tmp_path / "mine.yaml", HF, provider="huggingface")
        with pytest.raises(RuleLoadError, match="duplicate rule id"):
            load_rules([tmp_path / "mine.yaml"], cache_dir=None)

    def test_extra_rules_added_to_builtin(self, tmp_path, ruleset):
        _write_rule_file(tmp_path / "mine.yaml", "acme.api-key")
        rs = load_rules([tmp_path / "mine.yaml"], cache_dir=None)
        ids = [r.id for r in rs.rules]
        assert "acme.api-key" in ids and HF in ids
        assert rs.digest != ruleset.digest

    def test_missing_rule_path(self, tmp_path):
        with pytest.raises(RuleLoadError, match="no such rule file"):
            load_rules([tmp_path / "nope.yaml"], cache_dir=None)

    def test_cache_is_used_on_second_load(self, tmp_path, monkeypatch):
        rules_dir = tmp_path / "rules"
        rules_dir.mkdir()
        _write_rule_file(rules_dir / "a.yaml", "acme.api-key")
        cache = tmp_path / "cache"
        first = load_rules([rules_dir], include_builtin=False, cache_dir=cache)
        cached = list(cache.glob("rules-*.json"))
        assert len(cached) == 1

        def no_parse(*a, **k):
            raise AssertionError("rules were parsed again instead of read from the cache")

        monkeypatch.setattr(loader, "parse_files", no_parse)
        second = load_rules([rules_dir], include_builtin=False, cache_dir=cache)
        assert second.rules == first.rules and second.digest == first.digest
        assert second.rules[0].tokens == first.rules[0].tokens
        # a changed rule file changes the key: the stale cache is not used
        _write_rule_file(rules_dir / "a.yaml", "acme.other-key")
        with pytest.raises(AssertionError, match="parsed again"):
            load_rules([rules_dir], include_builtin=False, cache_dir=cache)

    @pytest.mark.parametrize("garbage", [b"{not json", b"[{\"id\": 1}]", b"\xff\xfe\x00", b"null", b""])
    def test_corrupt_cache_is_ignored(self, tmp_path, garbage):
        rules_dir = tmp_path / "rules"
        rules_dir.mkdir()
        _write_rule_file(rules_dir / "a.yaml", "acme.api-key")
        cache = tmp_path / "cache"
        good = load_rules([rules_dir], include_builtin=False, cache_dir=cache)
        (cache_file,) = cache.glob("rules-*.json")
        cache_file.write_bytes(garbage)
        again = load_rules([rules_dir], include_builtin=False, cache_dir=cache)
        assert again.rules == good.rules
        assert json.loads(cache_file.read_text("utf-8"))["rules"][0]["id"] == "acme.api-key"  # rewritten

    def test_unwritable_cache_is_not_fatal(self, tmp_path):
        blocker = tmp_path / "cache"
        blocker.write_text("a file where the cache folder should be", "utf-8")
        rs = load_rules(cache_dir=blocker / "sub")
        assert rs.rules

    def test_corrupt_prefilter_cache_is_ignored(self, tmp_path, ruleset, fake_token):
        cache = tmp_path / "cache"
        Matcher(ruleset, cache)
        (db,) = cache.glob("prefilter-*.hsdb")
        db.write_bytes(b"garbage" * 10)
        hf = fake_token(HF)
        assert [m.secret for m in Matcher(ruleset, cache).scan(f'x="{hf}"'.encode()) if m.rule_id == HF] == [hf]

    def test_default_cache_dir_env(self, monkeypatch, tmp_path):
        monkeypatch.setenv("TRUSSGUARD_CACHE_DIR", str(tmp_path))
        assert loader.default_cache_dir() == tmp_path
        monkeypatch.setenv("TRUSSGUARD_NO_CACHE", "1")
        assert loader.default_cache_dir() is None

    def test_session_cache_is_isolated(self, cache_dir):
        assert os.environ["TRUSSGUARD_CACHE_DIR"] == str(cache_dir)
        assert loader.default_cache_dir() == cache_dir


# --------------------------------------------------------------------------- detect-secrets adapter


class TestDetectSecretsAdapter:
    def test_keyword_secret_in_model_code_reported(self, truss_tree, cache_dir):
        value = "q" + tokens.expand_template("{12:a-z0-9}", random.Random(11))
        root = truss_tree({"model/model.py": f'db_pass = "{value}"\n\n\nclass Model:\n    pass\n'})
        result = _scan_root(root, cache_dir)
        hits = [f for f in result.findings if f.path == "model/model.py"]
        assert [(f.rule_id, f.line, f.secret_sha256) for f in hits] == [(DS_KEYWORD, 1, secret_sha256(value))]
        assert [a.rule_id for a in result.advisories] == [DS_KEYWORD]

    def test_same_line_outside_truss_files_not_run(self, truss_tree, cache_dir):
        value = "q" + tokens.expand_template("{12:a-z0-9}", random.Random(12))
        root = truss_tree({"scripts/seed.py": f'db_pass = "{value}"\n'})
        assert _scan_root(root, cache_dir).findings == []

    def test_disabled_with_use_detect_secrets_false(self, truss_tree, cache_dir):
        value = "q" + tokens.expand_template("{12:a-z0-9}", random.Random(13))
        root = truss_tree({"model/model.py": f'db_pass = "{value}"\n'})
        findings = _scan_root(root, cache_dir, use_detect_secrets=False).findings
        assert [f for f in findings if not f.rule_id.startswith("TG")] == []  # Truss checks (TG201, TG208) remain

    def test_not_duplicated_when_generic_rule_matches(self, truss_tree, cache_dir, rules_by_id):
        value = random_password(random.Random(14), 18)
        line = f'DB_PASSWORD = "{value}"\n'
        ds_rules = [r for r in rules_by_id.values() if r.detector == "detect-secrets"]
        alone = DetectSecretsAdapter(ds_rules).scan("model/model.py", line.encode())
        assert [m.secret for m in alone if m.rule_id == DS_KEYWORD] == [value]  # it does fire on its own
        root = truss_tree({"model/model.py": line})
        result = _scan_root(root, cache_dir)
        hits = [f for f in result.findings if f.path == "model/model.py"]
        assert [(f.rule_id, f.secret_sha256) for f in hits] == [(GENERIC, secret_sha256(value))]
        assert len(result.advisories) == 1

    def test_offsets_exact_after_invalid_utf8_on_the_line(self, rules_by_id):
        value = "q" + tokens.expand_template("{13:a-z0-9}", random.Random(15))
        data = b'x = "' + b"\xff" * 12 + b'"; db_pass = "' + value.encode() + b'"\n# gitleaks:allow\n'
        ds_rules = [r for r in rules_by_id.values() if r.detector == "detect-secrets"]
        (m,) = [m for m in DetectSecretsAdapter(ds_rules).scan("model/model.py", data) if m.rule_id == DS_KEYWORD]
        assert m.secret == value and m.line == 1
        assert data[m.start:m.end] == value.encode()
        assert is_suppressed(data, m) is False  # the allow comment is on the next line

    def test_offsets_exact_on_valid_utf8(self, rules_by_id):
        value = "q" + tokens.expand_template("{13:a-z0-9}", random.Random(16))
        data = ('# entête ✓\nx = "ünïcødé 😀"; db_pass = "' + value + '"\n# gitleaks:allow\n').encode()
        ds_rules = [r for r in rules_by_id.values() if r.detector == "detect-secrets"]
        (m,) = [m for m in DetectSecretsAdapter(ds_rules).scan("model/model.py", data) if m.rule_id == DS_KEYWORD]
        assert (m.line, data[m.start:m.end]) == (2, value.encode())
        assert m.column == ('x = "ünïcødé 😀"; db_pass = "').__len__() + 1
        assert is_suppressed(data, m) is False
