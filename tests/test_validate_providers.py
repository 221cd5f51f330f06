"""Every provider validator against its documented fake (tests/provider_emulations.py).

For each rule with a validator in this set: the request is exactly the provider's documented call
(method, path, the exact credential header or basic auth, fixed headers, body), and the four answers
map to the right outcome: documented success -> live, documented rejection -> revoked, 429 (AWS: 400
Throttling) -> unknown "rate limited", an answer slower than the timeout -> unknown "timed out".
Credentials are fakes built from each rule's own ``tokens:`` templates.
"""

from __future__ import annotations

import base64
import random

import pytest

from provider_emulations import ALL, AWS, EMULATIONS, by_rule, documented_providers  # noqa: F401 (fixture)
from trussguard.validate import Candidate, ValidationSettings, secret_hash, validate

RULES = sorted(by_rule())
PROVIDERS = sorted({e.provider for e in ALL})
TIMEOUT = 5.0
SLOW_TIMEOUT = 0.5  # the fake answers slow credentials after 2 s


@pytest.fixture
def fake(documented_providers):
    documented_providers.modes.clear()
    documented_providers.aws_pairs.clear()
    with documented_providers._lock:
        documented_providers.requests.clear()
    return documented_providers


def settings(fake, timeout: float = TIMEOUT) -> ValidationSettings:
    return ValidationSettings(endpoints=fake.endpoints, timeout=timeout, cache_dir=None)


def candidate_for(rule_id: str, rules_by_id, fake_token, fake, mode: str):
    """(candidate, the credential the fake keys its answer on) for ``rule_id`` in ``mode``."""
    emulation, token = by_rule()[rule_id]
    rule = rules_by_id[rule_id]
    if emulation is AWS:
        key_id, secret_key = fake_token("aws.secret-access-key", "id"), fake_token("aws.secret-access-key", "secret")
        fake.aws_pairs[key_id] = secret_key
        fake.set_mode(key_id, mode)
        if rule_id == "aws.access-key-id":
            return Candidate(rule, key_id, {"aws.secret-access-key": secret_key}), key_id
        return Candidate(rule, secret_key, {"aws.access-key-id": key_id}), key_id
    secret = fake_token(rule_id, token)
    fake.set_mode(secret, mode)
    return Candidate(rule, secret), secret


def test_every_emulated_rule_has_the_matching_validator(rules_by_id):
    for rule_id, (emulation, _) in by_rule().items():
        validator = rules_by_id[rule_id].validator
        assert validator is not None, f"{rule_id} has no validator block"
        assert validator.provider == emulation.provider, rule_id
        if emulation is AWS:
            assert validator.code == "aws-sts", rule_id
        else:
            assert validator.method == emulation.method, rule_id
            assert validator.url.startswith("https://") and validator.url.endswith(emulation.path), rule_id


def test_every_validator_of_these_providers_is_emulated(ruleset):
    emulated = set(by_rule())
    for rule in ruleset.rules:
        if rule.validator is not None and rule.validator.provider in PROVIDERS:
            assert rule.id in emulated, f"{rule.id} validates against {rule.validator.provider} but has no emulation"


def test_validators_cite_the_documented_call(rules_by_id):
    for rule_id, (emulation, _) in by_rule().items():
        assert rules_by_id[rule_id].validator.docs == emulation.docs, rule_id


@pytest.mark.parametrize("rule_id", RULES)
def test_request_is_the_documented_call(rule_id, rules_by_id, fake_token, fake):
    cand, credential = candidate_for(rule_id, rules_by_id, fake_token, fake, "live")
    result = validate([cand], settings(fake))[secret_hash(cand.secret)]
    emulation, _ = by_rule()[rule_id]
    sent = fake.requests_for(emulation.provider)
    assert len(sent) == 1, "one request per secret"
    request = sent[0]
    assert (request.method, request.path, request.query) == (emulation.method, emulation.path, {})
    assert request.credential == credential
    headers = {k.lower(): v for k, v in request.headers.items()}
    if emulation is AWS:
        assert request.body == b"Action=GetCallerIdentity&Version=2011-06-15"
        assert headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={credential}/")
        assert "/us-east-1/sts/aws4_request" in headers["authorization"]
        secret_key = fake.aws_pairs[credential]
        assert secret_key not in request.body.decode() and all(secret_key not in v for v in request.headers.values())
    else:
        name, value = emulation.expected_credential_header(cand.secret)
        assert headers[name.lower()] == value
        for fixed, fixed_value in emulation.fixed_headers:
            assert headers[fixed.lower()] == fixed_value
        if emulation.json_body is None:
            assert request.body == b""
        else:
            assert headers["content-type"] == "application/json"
        # the credential is in exactly its documented place: not in the path, the query or the body
        assert cand.secret not in request.path and cand.secret.encode() not in request.body
        others = [v for k, v in headers.items() if k != name.lower()]
        assert not any(cand.secret in v for v in others)
    assert result.outcome == "live", result.detail


@pytest.mark.parametrize("rule_id", RULES)
@pytest.mark.parametrize("mode, outcome, detail", [
    ("live", "live", "HTTP 200"),
    ("revoked", "revoked", None),
    ("rate-limited", "unknown", "rate limited"),
    ("500", "unknown", "provider error (HTTP 500)"),
])
def test_documented_answers_give_the_outcome(rule_id, mode, outcome, detail, rules_by_id, fake_token, fake):
    cand, _ = candidate_for(rule_id, rules_by_id, fake_token, fake, mode)
    result = validate([cand], settings(fake))[secret_hash(cand.secret)]
    emulation, _ = by_rule()[rule_id]
    assert result.outcome == outcome, result.detail
    assert result.host == fake.endpoints[emulation.provider].removeprefix("https://")
    if mode == "revoked":
        expected = 403 if emulation is AWS else emulation.revoked[0]
        assert result.status == expected and result.detail.startswith(f"HTTP {expected}")
    else:
        assert detail in result.detail
    assert cand.secret not in result.detail


@pytest.mark.parametrize("provider", PROVIDERS)
def test_slow_provider_times_out_as_unknown(provider, rules_by_id, fake_token, fake):
    rule_id = next(r for r in RULES if by_rule()[r][0].provider == provider)
    cand, _ = candidate_for(rule_id, rules_by_id, fake_token, fake, "slow")
    result = validate([cand], settings(fake, timeout=SLOW_TIMEOUT))[secret_hash(cand.secret)]
    assert result.outcome == "unknown"
    assert result.status is None and result.detail.startswith("timed out"), result.detail


@pytest.mark.parametrize("emulation", EMULATIONS, ids=lambda e: f"{e.provider}{e.path}")
def test_a_request_off_the_documented_shape_is_never_live_or_revoked(emulation, rules_by_id, fake_token, fake):
    """The fake is strict: the same credential in another place, or another path, is unknown."""
    from dataclasses import replace

    rule_id, token = emulation.rules[0]
    rule = rules_by_id[rule_id]
    secret = fake_token(rule_id, token)
    fake.set_mode(secret, "live")
    validator = rule.validator
    if validator.basic_auth is not None:
        moved = replace(validator, basic_auth=None, headers=(("Authorization", "Bearer {secret}"),))
    else:
        moved = replace(validator, headers=tuple((k, v.replace("{secret}", "x")) for k, v in validator.headers),
                        query=(("key", "{secret}"),))
    wrong_path = replace(validator, url=validator.url.rstrip("/") + "-not-documented")
    for changed in (moved, wrong_path):
        cand = Candidate(replace(rule, validator=changed), secret)
        result = validate([cand], settings(fake))[secret_hash(secret)]
        assert result.outcome == "unknown", (changed, result.detail)


def test_aws_signature_is_checked_by_the_fake(rules_by_id, fake_token, fake):
    """The AWS emulation verifies SigV4: the right key ID with another secret key is rejected as STS does."""
    rule = rules_by_id["aws.secret-access-key"]
    key_id = fake_token("aws.secret-access-key", "id")
    fake.aws_pairs[key_id] = fake_token("aws.secret-access-key", "secret")
    fake.set_mode(key_id, "live")
    wrong = fake_token("aws.secret-access-key", "secret")
    result = validate([Candidate(rule, wrong, {"aws.access-key-id": key_id})], settings(fake))[secret_hash(wrong)]
    assert (result.outcome, result.status) == ("revoked", 403)
    assert "SignatureDoesNotMatch" in result.detail


def test_basic_auth_placements_match_the_providers(rules_by_id, fake_token, fake):
    """Stripe: the key is the basic-auth user with an empty password; W&B: user "api", the key the password."""
    cases = (("stripe.test-secret-key", "key", "stripe", lambda s: f"{s}:"),
             ("wandb.legacy-api-key", "token", "wandb", lambda s: f"api:{s}"))
    for rule_id, token, provider, pair in cases:
        secret = fake_token(rule_id, token)
        fake.set_mode(secret, "live")
        assert validate([Candidate(rules_by_id[rule_id], secret)], settings(fake))[secret_hash(secret)].outcome == "live"
        sent = fake.requests_for(provider)[-1]
        auth = {k.lower(): v for k, v in sent.headers.items()}["authorization"]
        assert base64.b64decode(auth.removeprefix("Basic ")).decode() == pair(secret)


def test_many_providers_at_once_each_asked_once(rules_by_id, fake_token, fake):
    """One run over every provider: each distinct secret asked once, a duplicate not asked again."""
    rng = random.Random(7)
    cands, expected = [], {}
    for rule_id in RULES:
        mode = rng.choice(["live", "revoked"])
        cand, _ = candidate_for(rule_id, rules_by_id, fake_token, fake, mode)
        cands.append(cand)
        expected[secret_hash(cand.secret)] = mode
    results = validate(cands + cands[:3], settings(fake))
    assert {k: v.outcome for k, v in results.items()} == expected
    assert len(fake.requests) == len(RULES)


def test_providers_page_lists_every_rule_and_its_exact_request(rules_by_id):
    """docs/VALIDATION_PROVIDERS.md names every validated rule, the URL asked and the documentation cited."""
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "VALIDATION_PROVIDERS.md").read_text("utf-8")
    for rule_id, (emulation, _) in by_rule().items():
        validator = rules_by_id[rule_id].validator
        assert f"`{rule_id}`" in page, rule_id
        assert validator.docs in page, rule_id
        if validator.code is None:
            assert f"`{validator.method} {validator.url}`" in page, rule_id
            for name, value in validator.headers:
                if "{secret}" not in value:
                    assert f"{name}: {value}" in page, (rule_id, name)


@pytest.mark.parametrize("rule_id, mode, why", [
    ("wandb.api-key", "anonymous", "a 200 whose viewer is null is not a known user"),
    ("stripe.live-secret-key", "forbidden", "a 403 restricted key is valid but may not read the balance"),
])
def test_answers_that_prove_nothing_stay_unknown(rule_id, mode, why, rules_by_id, fake_token, fake):
    emulation, token = by_rule()[rule_id]
    secret = fake_token(rule_id, token)
    fake.modes[secret] = mode  # an emulation-specific documented answer (other_answers)
    result = validate([Candidate(rules_by_id[rule_id], secret)], settings(fake))[secret_hash(secret)]
    assert result.outcome == "unknown", why
    assert result.detail == f"unexpected answer (HTTP {dict(emulation.other_answers)[mode][0]})"


@pytest.fixture(scope="module")
def detector(ruleset):
    from trussguard.engine.detector import Detector

    return Detector(ruleset, cache_dir=None)


def _found_in_example(rule, example, detector, rng):
    """(file text, matches) for a fresh expansion of a rule example in which the rule finds its secret."""
    from trussguard.engine import tokens

    for _ in range(20):  # a draw the rule's own filters reject (low entropy) is redrawn, as rules check does
        generated = {name: tokens.expand_template(t, rng) for name, t in rule.tokens.items()}
        text = tokens.expand_text(example.text, generated)
        expected = tokens.expand_text(example.secret, generated) if example.secret else \
            generated[tokens.references(example.text)[0]]
        matches = detector.detect(example.path, text.encode())
        if any(m.rule_id == rule.id and m.secret == expected for m in matches):
            return expected, matches
    raise AssertionError(f"{rule.id}: example never yields its secret")


@pytest.mark.parametrize("rule_id", RULES)
def test_the_secret_a_scan_finds_is_what_the_provider_receives(rule_id, rules_by_id, detector, fake):
    """From each rule example as a scan finds it (with the other secrets of the same file as companions)
    to the provider: the documented request carries exactly the reported secret."""
    rule = rules_by_id[rule_id]
    emulation, _ = by_rule()[rule_id]
    rng = random.Random(rule_id)
    for example in rule.examples:
        secret, matches = _found_in_example(rule, example, detector, rng)
        companions = {m.rule_id: m.secret for m in matches if m.secret != secret}
        cand = Candidate(rule, secret, companions)
        if emulation is AWS:
            pair = [cand.secret, *companions.values()]
            key_ids = [v for v in pair if v.startswith(("AKIA", "ASIA"))]
            secrets = [v for v in pair if len(v) == 40]
            if not key_ids or not secrets:
                result = validate([cand], settings(fake))[secret_hash(secret)]
                assert result.outcome == "unknown" and "pair" in result.detail, result.detail
                continue
            fake.aws_pairs[key_ids[0]] = secrets[0]
            fake.set_mode(key_ids[0], "live")
            expected_credential = key_ids[0]
        else:
            fake.set_mode(secret, "live")
            expected_credential = secret
        before = len(fake.requests_for(emulation.provider))
        result = validate([cand], settings(fake))[secret_hash(secret)]
        assert result.outcome == "live", (example.text[:60], result.detail)
        assert fake.requests_for(emulation.provider)[before].credential == expected_credential


def test_a_hundred_secrets_across_the_providers_with_one_slow_host(rules_by_id, fake_token, fake):
    """100 distinct secrets over every emulated provider finish within 10 s, and the provider whose
    answers hang (Pinecone here) costs its own secrets a timeout without holding the others back."""
    import time

    rng = random.Random(100)
    cands, expected = [], {}
    rule_ids = [r for r in RULES if not r.startswith("aws.")]
    for i in range(100):
        rule_id = rule_ids[i % len(rule_ids)]
        mode = "slow" if rule_id == "pinecone.api-key" else rng.choice(["live", "revoked"])
        cand, _ = candidate_for(rule_id, rules_by_id, fake_token, fake, mode)
        cands.append(cand)
        expected[cand.key] = "unknown" if mode == "slow" else mode
    started = time.monotonic()
    results = validate(cands, settings(fake, timeout=1.0))
    elapsed = time.monotonic() - started
    assert {k: v.outcome for k, v in results.items()} == expected
    assert elapsed < 10.0, f"{elapsed:.1f} s"
    slow = [r for k, r in results.items() if expected[k] == "unknown"]
    assert slow and all(r.detail.startswith("timed out") for r in slow)


def test_aws_temporary_key_ids_are_not_sent(rules_by_id, fake_token, fake):
    """An ASIA key ID with a secret key but no session token is unknown, and nothing reaches STS."""
    key_id = fake_token("aws.access-key-id", "sts")
    secret_key = fake_token("aws.secret-access-key", "secret")
    fake.aws_pairs[key_id] = secret_key
    fake.set_mode(key_id, "live")
    cand = Candidate(rules_by_id["aws.secret-access-key"], secret_key, {"aws.access-key-id": key_id})
    result = validate([cand], settings(fake))[cand.key]
    assert result.outcome == "unknown" and "session token" in result.detail
    assert fake.requests_for("aws") == []
