"""Offline checksums (``engine.checksums``): a valid one raises confidence, an invalid one never drops a finding.

Tokens are built at test time from random parts; the checksums are computed here the way the formats
define them, so nothing credential-shaped is committed.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import random
import string

import pytest

from trussguard.engine import checksums
from trussguard.engine.detector import Detector
from trussguard.engine.loader import RuleSet
from trussguard.engine.schema import parse_rule_file, rule_from_dict
from trussguard.findings import to_finding
from trussguard.report.json_report import finding_dict
from trussguard.report.sarif import _result as sarif_result
from conftest import acme_rule

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase


def _base62(value: int, width: int = 6) -> str:
    out = ""
    while value:
        value, digit = divmod(value, 62)
        out = BASE62[digit] + out
    return out.rjust(width, "0")


def crc_token(prefix: str, rng: random.Random) -> str:
    body = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(30))
    return prefix + body + _base62(binascii.crc32(body.encode()))


def macaroon_token(location: bytes = b"pypi.org") -> str:
    identifier = os.urandom(24)
    raw = bytes([2, 1, len(location)]) + location + bytes([2, len(identifier)]) + identifier + b"\x00\x00" \
        + bytes([6, 32]) + os.urandom(32)
    return "pypi-" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("prefix", ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "npm_"])
def test_a_crc32_token_is_valid_and_one_changed_character_is_not(prefix):
    rng = random.Random(prefix)
    for _ in range(50):
        token = crc_token(prefix, rng)
        assert checksums.github_crc32(token), token[:8]
        i = rng.randrange(len(prefix), len(token))
        other = next(c for c in "aZ0" if c != token[i])
        assert not checksums.github_crc32(token[:i] + other + token[i + 1:])
    assert not checksums.github_crc32(prefix + "x" * 36)
    assert not checksums.github_crc32(prefix + "abc")


def test_a_pypi_macaroon_names_pypi_org_or_is_invalid():
    assert checksums.pypi_macaroon(macaroon_token())
    assert checksums.pypi_macaroon(macaroon_token(b"test.pypi.org"))
    assert not checksums.pypi_macaroon(macaroon_token(b"evil.example"))
    assert not checksums.pypi_macaroon("pypi-" + "A" * 80)
    assert not checksums.pypi_macaroon("pypi-!!notbase64")


def _acme(**over):
    raw = acme_rule(keywords=["acmp_"], pattern=r"(?:^|[^A-Za-z0-9_])(?P<secret>acmp_[A-Za-z0-9]{36})(?:[^A-Za-z0-9_]|$)",
                    tokens={"token": "acmp_{36:A-Za-z0-9}"}, examples=['ACME="{{token}}"'],
                    negative_examples=[{"text": "ACME=acmp_xxx", "why": "placeholder"}], **over)
    rules, problems = parse_rule_file({"schema_version": 1, "provider": "acme", "rules": [raw]}, "acme.yaml")
    assert problems == []
    return rules[0]


def test_a_finding_says_whether_its_checksum_holds_and_is_reported_either_way():
    rule = _acme(checksum="github-crc32")
    assert rule_from_dict(rule.to_dict()) == rule  # the rule cache keeps the field
    detector = Detector(RuleSet((rule,), "checksum-test"), None, use_detect_secrets=False)
    good = crc_token("acmp_", random.Random(1))
    bad = good[:-1] + ("a" if good[-1] != "a" else "b")
    text = f'GOOD="{good}"\nBAD="{bad}"\n'
    matches = detector.detect("settings.py", text.encode())
    found = {m.secret: to_finding(m, rule, "settings.py") for m in matches}
    assert set(found) == {good, bad}  # the bad checksum is not dropped
    assert found[good].checksum == "valid" and "checksum is valid" in found[good].message
    assert found[bad].checksum == "invalid" and "does not match" in found[bad].message
    assert json.loads(json.dumps(finding_dict(found[bad])))["checksum"] == "invalid"
    assert sarif_result(found[good], 0)["properties"]["checksum"] == "valid"
    plain = _acme()
    assert to_finding(matches[0], plain, "settings.py").checksum is None


def test_an_unknown_checksum_kind_is_a_rule_problem():
    raw = acme_rule(checksum="luhn")
    _, problems = parse_rule_file({"schema_version": 1, "provider": "acme", "rules": [raw]}, "acme.yaml")
    assert any("unknown `checksum` 'luhn'" in str(p) for p in problems)


@pytest.mark.parametrize("rule_id,prefix", [("github.pat", "ghp_"), ("github.oauth-token", "gho_"),
                                            ("npm.access-token", "npm_")])
def test_the_builtin_token_rules_check_their_checksum(rule_id, prefix):
    from trussguard.engine.loader import load_rules
    ruleset = load_rules(cache_dir=None)
    rule = ruleset.by_id()[rule_id]
    detector = Detector(ruleset, None, use_detect_secrets=False)
    good = crc_token(prefix, random.Random(rule_id))
    i = len(prefix) + 3  # one character of the random part changed: the CRC no longer holds
    bad = good[:i] + ("Q" if good[i] != "Q" else "R") + good[i + 1:]
    for token, verdict in ((good, "valid"), (bad, "invalid")):
        matches = [m for m in detector.detect(".env", f"TOKEN={token}\n".encode()) if m.rule_id == rule_id]
        assert [to_finding(m, rule, ".env").checksum for m in matches] == [verdict]


def test_the_builtin_pypi_rule_checks_the_macaroon():
    from trussguard.engine.loader import load_rules
    ruleset = load_rules(cache_dir=None)
    rule = ruleset.by_id()["pypi.upload-token"]
    detector = Detector(ruleset, None, use_detect_secrets=False)
    token = macaroon_token()
    matches = [m for m in detector.detect(".pypirc", f"password = {token}\n".encode()) if m.rule_id == rule.id]
    assert [to_finding(m, rule, ".pypirc").checksum for m in matches] == ["valid"]
