"""Precision on values: made-up placeholders and digests are not leaks; random keys still are.

Every value is built at test time: git-id-like hex from ``random.getrandbits``, keys from the
rules' own ``tokens:`` templates.
"""

from __future__ import annotations

import base64
import random
import re

import pytest

from trussguard.engine import heuristics, tokens
from trussguard.engine.detect_secrets_adapter import DetectSecretsAdapter, is_path_or_identifier, not_a_credential

RNG_SEED = 1212


def _hex40(rng: random.Random) -> str:
    return f"{rng.getrandbits(160):040x}"


@pytest.mark.parametrize("value", [
    "abcdefgh.1234567890ABCDEFGHIJKL1234567890",  # the trussrc docs placeholder
    "hgfedcba.0987654321LKJIHGFEDCBA0987654321",  # its reverse
    "sk-1234567890", "abc123def456", "xxxxxxxxxxxxxxxx", "sk-xxxx", "your-api-key", "YOUR_API_KEY",
    "YOUR.API_KEY", "<api-key>", "my-example-key", "replace-me", "changeme", "abcabcabcabc", "qwerty123456",
    "asdfasdfasdf",
])
def test_documentation_placeholders_are_placeholders(value):
    assert heuristics.is_placeholder(value)


@pytest.mark.parametrize("text,tail", [(b"Acme--placeholder", "7"), (b"demo-token-words", "x2"),
                                       (b"user:password", "")])
def test_base64_of_made_up_words_is_a_placeholder_even_unpadded_or_with_a_tail(text, tail):
    """A public demo app token in fastchat's history was base64 of two words plus one digit."""
    encoded = base64.b64encode(text).decode().rstrip("=") + tail
    assert heuristics.is_placeholder(encoded)


def test_base64_of_random_bytes_with_a_tail_is_not_a_placeholder():
    rng = random.Random(RNG_SEED)
    for _ in range(500):
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randrange(6, 40)))
        value = base64.b64encode(raw).decode().rstrip("=") + rng.choice(["", "1", "ab"])
        assert not heuristics._encodes_placeholder(value), value


def _random_templates(ruleset):
    for rule in ruleset.rules:
        for name, template in sorted(rule.tokens.items()):
            alphabets = re.findall(r"\{\d+(?:-\d+)?:([^}]+)\}", template)
            # not `{74:x}` masks; not short all-digit ids (`{16:0-9}`: 0.1% of random 16-digit values hold
            # enough sequential runs to count as patterned, measured over 20,000 draws; 0.0% at 32)
            if re.fullmatch(r"\{\d+:0-9\}", template) and int(re.match(r"\{(\d+)", template).group(1)) < 20:
                continue
            if sum(int(n) for n in re.findall(r"\{(\d+)(?:-\d+)?:", template)) < 12:
                continue  # a `short` token for a wrong-length negative example, not a key shape
            if alphabets and all(len(tokens.alphabet(a)) > 1 for a in alphabets):
                yield rule.id, name, template


def test_random_tokens_of_every_rule_are_never_patterned(ruleset):
    """60 random tokens per template: none is patterned or carries a documentation word.

    Measured with 1,000 per template (175,000 tokens): 0 patterned. Covering half of a random
    token with runs needs several 3-long sequential runs (2/q**2 per position), so the rate for
    32+ random characters is below 1e-6.
    """
    rng = random.Random(RNG_SEED)
    dropped = []
    for rule_id, name, template in _random_templates(ruleset):
        for _ in range(60):  # 324 rules: 200 draws a template took a minute of the suite
            v = tokens.expand_template(template, rng)
            if heuristics.is_patterned(v) or heuristics._DOC_WORD.search(v):
                dropped.append((rule_id, name, heuristics.patterned_cover(v)))
    assert dropped == []


def test_real_format_key_in_a_test_file_is_still_reported(ruleset, fake_token, tmp_path):
    from trussguard.engine.detector import Detector

    token = fake_token("huggingface.user-token")
    detector = Detector(ruleset)
    matches = detector.detect("tests/test_model.py", f'HF_TOKEN = "{token}"\n'.encode())
    assert any(m.secret == token for m in matches)


@pytest.mark.parametrize("line", [
    '    revision="{h}",', '    commit_hash = "{h}"', '  commit: "{h}"', '  sha: "{h}"', '  sha256: "{h}"',
    '  "digest": "{h}",', '  etag: "{h}"', '  checksum: "{h}"', '  model_revision: "{h}"',
    '  "git+https://github.com/org/repo@{h}"', '  "sha256:{h}"', '  "--hash=sha256:{h}"',
])
def test_git_ids_and_digests_are_not_entropy_leaks(line):
    rng = random.Random(RNG_SEED)
    for _ in range(20):
        h = _hex40(rng)
        assert not_a_credential("model/model.py", line.format(h=h), h)


def test_lock_files_integrity_is_not_an_entropy_leak():
    rng = random.Random(RNG_SEED)
    h = _hex40(rng)
    for path in ("poetry.lock", "package-lock.json", "requirements-dev.txt", "uv.lock"):
        assert not_a_credential(path, f'  "integrity": "sha512-{h}"', h)
        assert not_a_credential(path, f'  VALUE = "{h}"', h)


def test_entropy_hit_without_digest_context_is_kept():
    rng = random.Random(RNG_SEED)
    h = _hex40(rng)
    assert not not_a_credential("model/model.py", f'    VALUE = "{h}"', h)
    assert not not_a_credential("model/model.py", f'    api_key_sha = "{h}"', h)  # secret-like name wins


@pytest.mark.parametrize("value", [
    "/models/Qwen3-235B-A22B-Instruct-2507-NVFP4", "meta-llama/Llama-3.1-8B-Instruct", "/app/data/KokoroModel",
    "transformersModelsLlamaModeling", "some_snake_case_identifier_name",
])
def test_paths_and_identifiers_are_not_entropy_leaks(value):
    assert is_path_or_identifier(value)


def test_random_base64_is_not_a_path_or_identifier():
    rng = random.Random(RNG_SEED)
    for template in ("{40:A-Za-z0-9+/}", "{40:A-Za-z0-9_-}", "{40:A-Z0-9}", "{40:0-9a-f}"):
        for _ in range(500):
            assert not is_path_or_identifier(tokens.expand_template(template, rng))


def test_adapter_drops_commit_id_but_keeps_random_hex(ruleset):
    rng = random.Random(RNG_SEED)
    adapter = DetectSecretsAdapter([r for r in ruleset.rules if r.detector == "detect-secrets"])
    rev, value = _hex40(rng), _hex40(rng)
    text = f'x = load("org/model", revision="{rev}")\nVALUE = "{value}"\n'.encode()
    secrets = {m.secret for m in adapter.scan("model/model.py", text)}
    assert rev not in secrets
    assert value in secrets


@pytest.mark.parametrize("line", ['  runtime_secret_name: "s3-reader"', '  secret_path: "/v1/kv-prod"'])
def test_keyword_plugin_skips_keys_that_name_a_secret(ruleset, line):
    """detect-secrets' keyword plugin fires on any key holding `secret`; a NAME or PATH key holds the
    name or place of a secret (the OpenFold Truss in truss-examples' history), not a value."""
    from trussguard.engine.detector import Detector

    text = f"model_cache:\n  - repo_id: s3://acme-bucket/ckpt\n  {line}\n  kind: s3\n"
    assert Detector(ruleset).detect("trusses/fold/config.yaml", text.encode(), True) == []
