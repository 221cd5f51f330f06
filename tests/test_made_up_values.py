"""Values a person typed, values a provider rule owns, values published on purpose.

- A value in a provider's exact format that only *looks* made up (sequential or keyboard runs) is
  reported at low severity with a note, never dropped and never escalated by the Truss policy.
- A value that *says* it is a placeholder (``hf_xxxx…``, ``YOUR_KEY``) is still dropped.
- ``claims``: a provider rule's format family that the provider rule rejected is not the generic
  rule's to report (a Telegram-shaped token with an impossible bot id).
- ``public_values``: SHA-256 of values published on purpose, never reported.

Every credential-shaped value is built at test time.
"""

from __future__ import annotations

import hashlib
import random
import string
from pathlib import Path

import pytest
import yaml

from trussguard.config import ScanConfig
from trussguard.engine import heuristics, selfcheck, tokens
from trussguard.engine.detector import Detector
from trussguard.engine.loader import RuleSet, load_rules
from trussguard.engine.schema import parse_rule_file
from trussguard.pipeline import scan_tree
from trussguard.types import Severity

from conftest import acme_rule, random_password

HF = "huggingface.user-token"
RNG = random.Random(7070)


def _made_up_hf() -> str:
    """`hf_` and 34 letters in alphabet order: the provider's shape, typed by a person."""
    return "hf_" + (string.ascii_lowercase + string.ascii_uppercase)[:34]


def _scan(root: Path, cache_dir: Path):
    return scan_tree(ScanConfig(paths=(root,), cache_dir=cache_dir, jobs=1)).findings


class TestMadeUpProviderValues:
    def test_made_up_value_in_a_provider_format_is_reported_low_with_a_note(self, truss_tree, cache_dir):
        value = _made_up_hf()
        assert heuristics.looks_made_up(value) and not heuristics.is_marked_placeholder(value)
        root = truss_tree({"scripts/fetch.py": f'HF_TOKEN = "{value}"\n'})
        found = [f for f in _scan(root, cache_dir) if f.path == "scripts/fetch.py"]
        assert [(f.rule_id, f.severity) for f in found] == [(HF, Severity.LOW)]
        assert "looks made up" in found[0].message

    def test_made_up_value_in_model_code_is_not_escalated_by_the_policy(self, truss_tree, cache_dir):
        """A real HF token in model.py is critical (a known credential inside a Truss); a made-up one
        stays a low leak finding: the policy checks never see it."""
        value = _made_up_hf()
        model = f'class Model:\n    def load(self):\n        self.token = "{value}"\n'
        root = truss_tree({"model/model.py": model})
        at_line = [f for f in _scan(root, cache_dir) if f.path == "model/model.py" and f.line == 3]
        assert at_line and all(f.severity == Severity.LOW for f in at_line)
        assert {f.rule_id for f in at_line} == {HF}

    def test_random_value_of_the_same_rule_keeps_its_severity(self, truss_tree, cache_dir, fake_token):
        value = fake_token(HF)
        root = truss_tree({"scripts/fetch.py": f'HF_TOKEN = "{value}"\n'})
        found = [f for f in _scan(root, cache_dir) if f.path == "scripts/fetch.py"]
        assert [(f.rule_id, f.severity) for f in found] == [(HF, Severity.HIGH)]
        assert "made up" not in found[0].message

    @pytest.mark.parametrize("value", ["hf_" + "x" * 34, "hf_YOUR_TOKEN_GOES_HERE_abcdefghijklm",
                                       "hf_" + "example" + "TokenForTheDocsOnly" + "AbCdEfGh"])  # built here
    def test_marked_placeholders_are_still_dropped(self, value, ruleset):
        matches = Detector(ruleset, cache_dir=None).detect("fetch.py", f'HF_TOKEN = "{value}"\n'.encode())
        assert matches == []

    def test_generic_rule_still_drops_made_up_values(self, ruleset):
        value = "abcdefgh.1234567890ABCDEFGHIJKL1234567890"
        matches = Detector(ruleset, cache_dir=None).detect("app.py", f'db_password = "{value}"\n'.encode())
        assert matches == []


def _telegram_shaped(rng: random.Random, id_digits: int) -> str:
    return tokens.expand_template(f"{{{id_digits}:0-9}}:AA{{33:A-Za-z0-9_-}}", rng)


class TestClaims:
    @pytest.mark.parametrize("id_digits", [3, 4, 17, 20])
    def test_generic_rule_leaves_a_telegram_shaped_value_the_telegram_rule_rejected(self, id_digits, ruleset):
        value = _telegram_shaped(RNG, id_digits)
        text = f'telegram_api_token = "{value}"\n'.encode()
        assert Detector(ruleset, cache_dir=None).detect("bot.py", text) == []

    def test_the_telegram_rule_still_reports_a_well_formed_token(self, ruleset):
        value = _telegram_shaped(RNG, 10)
        text = f'telegram_api_token = "{value}"\n'.encode()
        found = Detector(ruleset, cache_dir=None).detect("bot.py", text)
        assert [(m.rule_id, m.secret) for m in found] == [("telegram.bot-token", value)]

    def test_an_unclaimed_value_under_the_same_name_is_still_generic(self, ruleset):
        value = random_password(RNG, 40)
        text = f'telegram_api_token = "{value}"\n'.encode()
        found = Detector(ruleset, cache_dir=None).detect("bot.py", text)
        assert [(m.rule_id, m.secret) for m in found] == [("generic.secret-assignment", value)]


def _rule_dir(tmp_path: Path, **over) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    doc = {"schema_version": 1, "provider": "acme", "rules": [acme_rule(**over)]}
    (folder / "acme.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), "utf-8")
    return folder


class TestPublicValues:
    def test_a_published_value_is_not_reported_and_others_are(self, tmp_path):
        published = tokens.expand_template("acme_{32:A-Za-z0-9}", RNG)
        other = tokens.expand_template("acme_{32:A-Za-z0-9}", RNG)
        digest = hashlib.sha256(published.encode()).hexdigest()
        folder = _rule_dir(tmp_path, public_values=[{"sha256": digest, "why": "in the Acme SDK's README"}])
        detector = Detector(load_rules([folder], include_builtin=False, cache_dir=None), cache_dir=None)
        text = f'ACME_KEY="{published}"\nACME_OTHER="{other}"\n'.encode()
        assert [m.secret for m in detector.detect("x.env", text)] == [other]

    @pytest.mark.parametrize("entry", [
        {"sha256": "ABC", "why": "x"},  # not 64 lowercase hex digits
        {"sha256": "0" * 64},  # no why
        "0" * 64,  # not a mapping
    ])
    def test_malformed_entries_are_rule_problems(self, entry):
        _, problems = parse_rule_file({"schema_version": 1, "provider": "acme",
                                       "rules": [acme_rule(public_values=[entry])]}, "acme.yaml")
        assert any("public_values" in str(p) for p in problems)


class TestClaimsSchema:
    def test_claims_must_compile_under_re2(self):
        _, problems = parse_rule_file({"schema_version": 1, "provider": "acme",
                                       "rules": [acme_rule(claims=["(?=acme)x"])]}, "acme.yaml")
        assert any("claims pattern" in str(p) for p in problems)

    def test_a_generic_rule_cannot_claim(self):
        _, problems = parse_rule_file({"schema_version": 1, "provider": "acme",
                                       "rules": [acme_rule(claims=["^acme_"], generic=True)]}, "acme.yaml")
        assert any("cannot have `claims`" in str(p) for p in problems)


@pytest.mark.parametrize("value,code", [
    ("clm09089:AgencyIdentificationCodeContentType", True),
    ("xsd:SecretKeyValueType", True),
    ("clm09089:Agency", False),  # one word: could be a token's tail
])
def test_xml_qualified_type_names_are_code(value, code):
    assert heuristics.is_code_like(value) is code


def test_random_token_after_a_colon_is_not_a_qualified_name():
    for _ in range(2000):
        value = tokens.expand_template("{8:a-z0-9}:{34:A-Za-z0-9}", RNG)
        assert not heuristics.is_code_like(value), value


def test_rules_check_redraws_a_token_its_own_filters_reject():
    """A 32-character base62 token measures 4.3-4.9 bits per character; with the floor at 4.7 about
    half of the draws fall under it. Before redrawing, `rules check` failed on such an example."""
    over = {"min_entropy": 4.7}
    rules, problems = parse_rule_file({"schema_version": 1, "provider": "acme", "rules": [acme_rule(**over)]},
                                      "acme.yaml")
    assert not problems
    rule = rules[0]
    detector = Detector(RuleSet(tuple(rules), "test"), cache_dir=None)
    for seed in range(30):
        assert selfcheck.check_rule(detector, rule, random.Random(seed)) == [], seed


def test_curl_user_whose_password_starts_with_x_is_reported(ruleset):
    credential = "deploy:x" + random_password(RNG, 15)
    text = ("curl -u " + credential + " https://registry.acme.dev/api\n").encode()
    found = Detector(ruleset, cache_dir=None).detect("README.md", text)
    assert ("curl.basic-auth", credential) in [(m.rule_id, m.secret) for m in found]
