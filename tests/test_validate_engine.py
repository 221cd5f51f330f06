"""The validation engine (issue 16, ``trussguard.validate``) against a fake of the providers on 127.0.0.1.

Every credential is a fake built at test time from the rule's token template; nothing leaves the machine.
"""

from __future__ import annotations

import dataclasses
import json
import select
import socket
import sys
import threading
import time

import pytest
import yaml
from click.testing import CliRunner
from conftest import acme_rule
from fake_providers import fake_providers  # noqa: F401 (the fixture; tests name it as a parameter)

from trussguard.cli import cli as cli_main
from trussguard.engine.schema import parse_rule_file, rule_from_dict
from trussguard.engine.validator_schema import Validator
from trussguard.validate import Candidate, ValidationError, ValidationSettings, secret_hash, validate
from trussguard.validate.cache import FILENAME
from trussguard.validate.endpoints import load_endpoints

THREE = ("openai.project-key", "github.pat", "slack.bot-token")
EXPECTED_CALL = {  # rule -> (provider, method, path): the call each provider documents
    "openai.project-key": ("openai", "GET", "/v1/models"),
    "github.pat": ("github", "GET", "/user"),
    "slack.bot-token": ("slack", "POST", "/api/auth.test"),
}


def _settings(fake, **over) -> ValidationSettings:
    return ValidationSettings(endpoints=fake.endpoints, **over)


def _one(ruleset, fake_token, rule_id, fake, mode, **over):
    rule = ruleset.by_id()[rule_id]
    secret = fake_token(rule_id)
    fake.set_mode(secret, mode)
    results = validate([Candidate(rule, secret)], _settings(fake, **over))
    return secret, results[secret_hash(secret)]


@pytest.mark.parametrize("rule_id", THREE)
def test_live_answer_and_the_request_sent(ruleset, fake_token, fake_providers, rule_id):
    secret, result = _one(ruleset, fake_token, rule_id, fake_providers, "live")
    provider, method, path = EXPECTED_CALL[rule_id]
    assert result.outcome == "live" and result.status == 200 and not result.cached
    assert result.host == fake_providers.endpoints[provider].removeprefix("https://")
    assert result.checked_at.endswith("Z") and len(result.checked_at) == 20
    [request] = fake_providers.requests_for(provider)
    assert (request.method, request.path) == (method, path)
    assert request.headers["authorization"] == f"Bearer {secret}"  # the credential's one documented place
    assert secret not in request.path and secret not in json.dumps(request.query) and secret.encode() not in request.body
    assert request.headers["user-agent"].startswith("trussguard/")
    if provider == "github":
        assert request.headers["x-github-api-version"] == "2022-11-28"


@pytest.mark.parametrize("rule_id", THREE)
def test_revoked_answer(ruleset, fake_token, fake_providers, rule_id):
    _, result = _one(ruleset, fake_token, rule_id, fake_providers, "revoked")
    assert result.outcome == "revoked"
    assert (result.status, result.detail) == {
        "slack.bot-token": (200, "HTTP 200 (ok=false, error=invalid_auth)"),  # Slack: 200 with ok: false
        "openai.project-key": (401, "HTTP 401 (error.code=invalid_api_key)"),
        "github.pat": (401, "HTTP 401"),
    }[rule_id]


def test_an_answer_matching_neither_is_unknown(ruleset):
    """OpenAI answers 401 also to a restricted key lacking a scope (it works): only invalid_api_key is revoked."""
    from trussguard.validate.http_check import classify

    validator = ruleset.by_id()["openai.project-key"].validator
    missing_scope = json.dumps({"error": {"message": "You have insufficient permissions", "code": None}}).encode()
    result = classify(validator, 401, missing_scope, "api.openai.com")
    assert (result.outcome, result.detail) == ("unknown", "unexpected answer (HTTP 401)")
    assert classify(validator, 401, b"not json", "api.openai.com").outcome == "unknown"
    assert classify(validator, 200, b"", "api.openai.com").outcome == "live"


@pytest.mark.parametrize("rule_id", THREE)
def test_rate_limited_is_unknown(ruleset, fake_token, fake_providers, rule_id):
    _, result = _one(ruleset, fake_token, rule_id, fake_providers, "rate-limited")
    assert (result.outcome, result.status, result.detail) == ("unknown", 429, "rate limited (HTTP 429)")


@pytest.mark.parametrize("rule_id", THREE)
def test_timeout_is_unknown(ruleset, fake_token, fake_providers, rule_id):
    fake_providers.slow_seconds = 1.5
    started = time.monotonic()
    _, result = _one(ruleset, fake_token, rule_id, fake_providers, "slow", timeout=0.3)
    assert (result.outcome, result.status, result.detail) == ("unknown", None, "timed out after 0.3 s")
    assert time.monotonic() - started < 1.4


def test_server_error_is_unknown(ruleset, fake_token, fake_providers):
    _, result = _one(ruleset, fake_token, "github.pat", fake_providers, "500")
    assert (result.outcome, result.status, result.detail) == ("unknown", 500, "provider error (HTTP 500)")


def test_a_redirect_is_never_followed(ruleset, fake_token, fake_providers):
    _, result = _one(ruleset, fake_token, "openai.project-key", fake_providers, "redirect")
    assert (result.outcome, result.status, result.detail) == ("unknown", 302, "redirected, not followed (HTTP 302)")
    assert len(fake_providers.requests) == 1


def test_every_shipped_validator_reaches_the_fake(ruleset, fake_token, fake_providers):
    """Each rule with a validator (openai, github, slack here) sends a request the fake recognises."""
    rules = [r for r in ruleset.rules if r.validator is not None and r.validator.provider in ("openai", "github",
                                                                                              "slack")]
    assert {r.id for r in rules} >= set(THREE) | {"openai.admin-key", "github.app-token", "slack.user-token"}
    candidates = []
    for rule in rules:
        secret = fake_token(rule.id, "token" if "token" in rule.tokens else next(iter(rule.tokens)))
        fake_providers.set_mode(secret, "live")
        candidates.append(Candidate(rule, secret))
    results = validate(candidates, _settings(fake_providers, rate_per_host=50))
    assert {c.rule.id: results[c.key].outcome for c in candidates} == {c.rule.id: "live" for c in candidates}


def test_a_rule_without_validator_is_absent(ruleset, fake_token, fake_providers):
    rule = dataclasses.replace(ruleset.by_id()["github.pat"], validator=None)
    assert validate([Candidate(rule, "value")], _settings(fake_providers)) == {}
    assert fake_providers.requests == []


def test_untrusted_certificate_is_unknown(ruleset, fake_token, fake_providers, monkeypatch, tmp_path):
    other = pytest.importorskip("trustme").CA()
    bundle = tmp_path / "other-ca.pem"
    other.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    _, result = _one(ruleset, fake_token, "github.pat", fake_providers, "live")
    assert result.outcome == "unknown" and result.detail.startswith("TLS certificate not trusted")


# -- the endpoints override ---------------------------------------------------------------------------

def test_endpoints_file_is_read(fake_providers, tmp_path):
    path = fake_providers.write_endpoints(tmp_path / "endpoints.toml")
    settings = ValidationSettings.from_environment({"TRUSSGUARD_VALIDATION_ENDPOINTS": str(path)}, tmp_path)
    assert settings.endpoints == fake_providers.endpoints and settings.cache_dir == tmp_path
    assert ValidationSettings.from_environment({}, None).endpoints == {}


@pytest.mark.parametrize("text,message", [
    ('openai = "http://127.0.0.1:8080"', "only https://"),
    ('openai = "ftp://example.invalid"', "only https://"),
    ('openai = "https://127.0.0.1:8443?x=1"', "without query"),
    ('openai = 8443', "must be a string URL"),
    ('Open-AI = "https://127.0.0.1"', "not a provider id"),
    ('openai = "https://127.0.0.1', "not valid TOML"),
])
def test_bad_endpoints_file_is_a_validation_error(tmp_path, text, message):
    path = tmp_path / "endpoints.toml"
    path.write_text(text, "utf-8")
    with pytest.raises(ValidationError, match=message):
        ValidationSettings.from_environment({"TRUSSGUARD_VALIDATION_ENDPOINTS": str(path)})


def test_missing_endpoints_file_is_a_validation_error(tmp_path):
    with pytest.raises(ValidationError, match="cannot read it"):
        load_endpoints(tmp_path / "absent.toml")


# -- HTTPS_PROXY --------------------------------------------------------------------------------------

class ConnectProxy:
    """A tiny HTTP CONNECT proxy on 127.0.0.1 that counts the tunnels it opened."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.tunnels: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client):
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                return client.close()
            head += chunk
        method, target = head.split(b" ")[:2]
        if method != b"CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\n\r\n")
            return client.close()
        self.tunnels.append(target.decode())
        host, port = target.decode().rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pair = [client, upstream]
        try:
            while True:
                readable, _, _ = select.select(pair, [], [], 5)
                if not readable:
                    break
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (upstream if s is client else client).sendall(data)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()

    def close(self):
        self.sock.close()


def test_https_proxy_is_honoured(ruleset, fake_token, fake_providers, monkeypatch):
    proxy = ConnectProxy()
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
    try:
        _, result = _one(ruleset, fake_token, "github.pat", fake_providers, "live")
    finally:
        proxy.close()
    assert result.outcome == "live"
    assert proxy.tunnels == [fake_providers.endpoints["github"].removeprefix("https://")]


# -- the cache ----------------------------------------------------------------------------------------

def test_cache_is_reused_within_max_age_and_not_after(ruleset, fake_token, fake_providers, tmp_path):
    rule = ruleset.by_id()["openai.project-key"]
    secret = fake_token("openai.project-key")
    fake_providers.set_mode(secret, "revoked")
    settings = _settings(fake_providers, cache_dir=tmp_path, max_age_seconds=1)
    first = validate([Candidate(rule, secret)], settings)[secret_hash(secret)]
    again = validate([Candidate(rule, secret)], settings)[secret_hash(secret)]
    assert (first.outcome, first.cached, again.outcome, again.cached) == ("revoked", False, "revoked", True)
    assert again.checked_at == first.checked_at and len(fake_providers.requests) == 1
    time.sleep(1.1)
    later = validate([Candidate(rule, secret)], settings)[secret_hash(secret)]
    assert later.outcome == "revoked" and not later.cached and len(fake_providers.requests) == 2
    # an override to another host is never answered from the cache
    moved = dataclasses.replace(settings, max_age_seconds=3600,
                                endpoints={**settings.endpoints, "openai": settings.endpoints["github"]})
    assert not validate([Candidate(rule, secret)], moved)[secret_hash(secret)].cached


def test_unknown_outcomes_are_not_cached(ruleset, fake_token, fake_providers, tmp_path):
    rule = ruleset.by_id()["github.pat"]
    secret = fake_token("github.pat")
    fake_providers.set_mode(secret, "rate-limited")
    settings = _settings(fake_providers, cache_dir=tmp_path)
    validate([Candidate(rule, secret)], settings)
    fake_providers.set_mode(secret, "live")
    assert validate([Candidate(rule, secret)], settings)[secret_hash(secret)].outcome == "live"
    assert len(fake_providers.requests) == 2


def test_each_distinct_secret_is_asked_once(ruleset, fake_token, fake_providers):
    rule = ruleset.by_id()["github.pat"]
    secret = fake_token("github.pat")
    fake_providers.set_mode(secret, "live")
    results = validate([Candidate(rule, secret)] * 5, _settings(fake_providers))
    assert list(results) == [secret_hash(secret)] and len(fake_providers.requests) == 1


# -- concurrency and limits ---------------------------------------------------------------------------

def test_a_hundred_secrets_within_ten_seconds(ruleset, fake_token, fake_providers):
    """100 distinct secrets over the three providers' hosts. The rate per host is raised to 20/s: this
    measures concurrency, not the per-host rate limit (tested below)."""
    candidates = []
    for n in range(100):
        rule_id = THREE[n % 3]
        secret = fake_token(rule_id)
        fake_providers.set_mode(secret, ("live", "revoked")[n % 2])
        candidates.append(Candidate(ruleset.by_id()[rule_id], secret))
    started = time.monotonic()
    results = validate(candidates, _settings(fake_providers, rate_per_host=20.0))
    elapsed = time.monotonic() - started
    print(f"\n100 secrets validated in {elapsed:.2f} s")
    assert len(results) == 100 and elapsed < 10
    assert [results[c.key].outcome for c in candidates] == [("live", "revoked")[n % 2] for n in range(100)]


def test_a_slow_host_does_not_stall_the_others(ruleset, fake_token, fake_providers):
    fake_providers.slow_seconds = 3.0
    by_id = ruleset.by_id()
    slow, fast = [], []
    for _ in range(4):
        secret = fake_token("openai.project-key")
        fake_providers.set_mode(secret, "slow")
        slow.append(Candidate(by_id["openai.project-key"], secret))
    for n in range(20):
        rule_id = ("github.pat", "slack.bot-token")[n % 2]
        secret = fake_token(rule_id)
        fake_providers.set_mode(secret, "live")
        fast.append(Candidate(by_id[rule_id], secret))
    started = time.monotonic()
    results = validate(slow + fast, _settings(fake_providers, concurrency=4, per_host=2, rate_per_host=50.0))
    elapsed = time.monotonic() - started
    fast_arrivals = [r.at - started for r in fake_providers.requests if r.provider != "openai"]
    slow_arrivals = sorted(r.at - started for r in fake_providers.requests if r.provider == "openai")
    print(f"\nslow host: {elapsed:.2f} s in all; fast hosts' last request at {max(fast_arrivals):.2f} s")
    assert all(results[c.key].outcome == "live" for c in slow + fast)
    assert len(fast_arrivals) == 20 and max(fast_arrivals) < 2.0  # not queued behind the slow answers
    # per_host=2: the slow host never had more than two requests in flight
    assert slow_arrivals[2] - slow_arrivals[0] >= 2.9 and elapsed >= 6.0


def test_rate_per_host_is_honoured(ruleset, fake_token, fake_providers):
    rule = ruleset.by_id()["github.pat"]
    candidates = []
    for _ in range(6):
        secret = fake_token("github.pat")
        fake_providers.set_mode(secret, "live")
        candidates.append(Candidate(rule, secret))
    validate(candidates, _settings(fake_providers, rate_per_host=5.0))
    arrivals = sorted(r.at for r in fake_providers.requests)
    assert arrivals[-1] - arrivals[0] >= 0.9  # six starts at 5 a second span at least a second


# -- the AWS code check -------------------------------------------------------------------------------

def _aws(ruleset, fake_token):
    by_id = ruleset.by_id()
    rule = dataclasses.replace(by_id["aws.secret-access-key"], validator=Validator(
        provider="aws", docs="https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html",
        code="aws-sts"))
    key_id = fake_token("aws.access-key-id", "id")
    secret = fake_token("aws.secret-access-key", "secret")
    return rule, key_id, secret


def _register_sts(fake):
    fake.register("aws", "POST", "/", "aws-sigv4",
                  (200, b"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::1:user/x</Arn>"
                        b"</GetCallerIdentityResult></GetCallerIdentityResponse>"),
                  (403, b"<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>"))


@pytest.mark.parametrize("mode,outcome,status", [("live", "live", 200), ("revoked", "revoked", 403),
                                                  ("rate-limited", "unknown", 429)])
def test_aws_sts_signed_with_botocore(ruleset, fake_token, fake_providers, mode, outcome, status):
    pytest.importorskip("botocore")
    _register_sts(fake_providers)
    rule, key_id, secret = _aws(ruleset, fake_token)
    fake_providers.set_mode(key_id, mode)
    candidate = Candidate(rule, secret, {"aws.access-key-id": key_id})
    result = validate([candidate], _settings(fake_providers))[candidate.key]
    assert (result.outcome, result.status) == (outcome, status)
    [request] = fake_providers.requests_for("aws")
    assert request.body == b"Action=GetCallerIdentity&Version=2011-06-15"
    assert request.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={key_id}/")
    assert "/us-east-1/sts/aws4_request" in request.headers["authorization"]
    assert secret not in json.dumps(request.headers)


def test_aws_without_botocore_is_unknown(ruleset, fake_token, fake_providers, monkeypatch):
    _register_sts(fake_providers)
    monkeypatch.setitem(sys.modules, "botocore.auth", None)
    rule, key_id, secret = _aws(ruleset, fake_token)
    candidate = Candidate(rule, secret, {"aws.access-key-id": key_id})
    result = validate([candidate], _settings(fake_providers))[candidate.key]
    assert result.outcome == "unknown" and result.detail.startswith("botocore is not installed")
    assert fake_providers.requests == []


def test_aws_temporary_credentials_are_unknown(ruleset, fake_token, fake_providers):
    """An ASIA key id needs its session token: STS would call the pair invalid even while it works."""
    pytest.importorskip("botocore")
    _register_sts(fake_providers)
    rule, _, secret = _aws(ruleset, fake_token)
    candidate = Candidate(rule, secret, {"aws.access-key-id": fake_token("aws.access-key-id", "sts")})
    result = validate([candidate], _settings(fake_providers))[candidate.key]
    assert result.outcome == "unknown" and "session token" in result.detail and fake_providers.requests == []


def test_aws_without_its_pair_is_unknown(ruleset, fake_token, fake_providers):
    _register_sts(fake_providers)
    rule, _, secret = _aws(ruleset, fake_token)
    result = validate([Candidate(rule, secret)], _settings(fake_providers))[secret_hash(secret)]
    assert result.outcome == "unknown" and "pair" in result.detail and fake_providers.requests == []


# -- the secret never leaks ---------------------------------------------------------------------------

def test_secrets_never_in_results_errors_or_cache(ruleset, fake_token, fake_providers, tmp_path, monkeypatch):
    by_id = ruleset.by_id()
    candidates = []
    for mode in ("live", "revoked", "rate-limited", "500", "slow"):
        for rule_id in THREE:
            secret = fake_token(rule_id)
            fake_providers.set_mode(secret, mode)
            candidates.append(Candidate(by_id[rule_id], secret))
    fake_providers.slow_seconds = 1.0
    settings = _settings(fake_providers, cache_dir=tmp_path / "cache", timeout=0.4, rate_per_host=50)
    results = list(validate(candidates, settings).values())
    refused = socket.create_server(("127.0.0.1", 0))
    closed_port = refused.getsockname()[1]
    refused.close()
    dead = dataclasses.replace(settings, endpoints={p: f"https://127.0.0.1:{closed_port}" for p in settings.endpoints})
    extra = [Candidate(by_id[rule_id], fake_token(rule_id)) for rule_id in THREE]
    results += list(validate(extra, dead).values())
    details = {r.detail for r in results}
    assert {"timed out after 0.4 s", "connection refused", "rate limited (HTTP 429)"} <= details
    secrets = [c.secret for c in candidates + extra]
    text = repr(results) + json.dumps([r.to_dict() for r in results]) + repr(candidates + extra)
    written = b"".join(p.read_bytes() for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert (tmp_path / "cache" / FILENAME).is_file() and written
    for secret in secrets:
        assert secret not in text and secret.encode() not in written


def test_an_unexpected_failure_is_unknown_without_the_secret(ruleset, fake_token, fake_providers, monkeypatch):
    import trussguard.validate as validate_module

    secret = fake_token("github.pat")

    def broken(*args, **kwargs):
        raise RuntimeError(f"boom {secret}")

    monkeypatch.setattr(validate_module, "check", broken)
    result = validate([Candidate(ruleset.by_id()["github.pat"], secret)], _settings(fake_providers))
    [value] = result.values()
    assert value.outcome == "unknown" and value.detail == "validation failed (RuntimeError)"


# -- the schema ---------------------------------------------------------------------------------------

GOOD = {"provider": "acme", "method": "GET", "url": "https://api.acme.invalid/v1/me",
        "headers": {"Authorization": "Bearer {secret}"}, "live": {"status": [200]},
        "revoked": {"status": [401, 403]}, "docs": "https://acme.invalid/docs/me"}


def _problems(validator) -> list[str]:
    doc = {"schema_version": 1, "provider": "acme", "rules": [acme_rule(validator=validator)]}
    rules, problems = parse_rule_file(doc, "acme.yaml")
    return [p.message for p in problems]


def test_a_good_validator_parses_and_round_trips():
    doc = {"schema_version": 1, "provider": "acme", "rules": [acme_rule(validator={
        **GOOD, "method": "POST", "body": '{"query": "{ viewer { id } }"}',
        "revoked": {"status": [200], "json": {"ok": False, "error": ["invalid_auth", "token_revoked"]}}})]}
    [rule], problems = parse_rule_file(doc, "acme.yaml")
    assert problems == []
    assert rule.validator.content_type == "application/json" and rule.validator.method == "POST"
    assert rule_from_dict(json.loads(json.dumps(rule.to_dict()))) == rule
    code = parse_rule_file({"schema_version": 1, "provider": "acme", "rules": [acme_rule(validator={
        "provider": "aws", "code": "aws-sts", "docs": "https://acme.invalid/sts"})]}, "acme.yaml")[0][0]
    assert code.validator.code == "aws-sts" and rule_from_dict(code.to_dict()) == code


@pytest.mark.parametrize("change,message", [
    ({"url": "http://api.acme.invalid/v1/me"}, "must be an https URL"),
    ({"url": "https://{secret}.acme.invalid/v1/me"}, "never be in the validator URL's host"),
    ({"url": "https://api.acme.invalid/v1/{secret}"}, "must not be in the validator URL"),
    ({"url": "https://api.acme.invalid/v1/me?key=1"}, "without query"),
    ({"headers": {"Accept": "application/json"}}, "exactly one place"),
    ({"query": {"key": "{secret}"}}, "exactly one place"),
    ({"basic_auth": {"user": "{secret}"}}, "basic_auth` must be"),
    ({"method": "DELETE"}, "GET or POST"),
    ({"body": '{"a": 1}'}, "POST requests only"),
    ({"method": "POST", "body": '{"token": "{secret}"}'}, "without `{secret}`"),
    ({"method": "POST", "body": "not json"}, "valid JSON"),
    ({"content_type": "text/plain"}, "goes with `body`"),
    ({"live": {}}, "`validator.live` must be a mapping"),
    ({"live": {"status": ["200"]}}, "list of HTTP status codes"),
    ({"revoked": {"json": {"error": {"nested": 1}}}}, "dotted paths to a scalar"),
    ({"revoked": {"status": [401], "text": "no"}}, "`validator.revoked` must be a mapping"),
    ({"docs": "http://acme.invalid"}, "documentation of this call"),
    ({"provider": "Acme"}, "lowercase identifier"),
    ({"retries": 3}, "unknown validator key `retries`"),
])
def test_malformed_validator_blocks_are_problems(change, message):
    problems = _problems({**GOOD, **change})
    assert any(message in p for p in problems), problems


def test_malformed_code_validators_are_problems():
    assert any("unknown code validator 'gcp-iam'" in p for p in _problems(
        {"provider": "gcp", "code": "gcp-iam", "docs": "https://acme.invalid/d"}))
    assert any("unknown validator key `url`" in p for p in _problems(
        {"provider": "aws", "code": "aws-sts", "url": "https://x.invalid/", "docs": "https://acme.invalid/d"}))
    assert any("`validator` must be a mapping" in p for p in _problems("openai"))


def test_rules_check_and_rules_list_show_validators(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "acme.yaml").write_text(yaml.safe_dump({"schema_version": 1, "provider": "acme", "rules": [
        acme_rule(validator={**GOOD, "url": "http://api.acme.invalid/"})]}), "utf-8")
    result = CliRunner().invoke(cli_main, ["rules", "check", str(bad)])
    assert result.exit_code == 1 and "`validator.url` must be an https URL" in result.output
    data = json.loads(CliRunner().invoke(cli_main, ["rules", "list", "--format", "json"]).stdout)
    by_id = {r["id"]: r for r in data}
    assert by_id["openai.project-key"]["validator"] == "openai" and by_id["slack.bot-token"]["validator"] == "slack"
    assert by_id["slack.webhook-url"]["validator"] is None  # posting to a webhook is not read-only
    text = CliRunner().invoke(cli_main, ["rules", "list"]).stdout
    assert any(line.startswith("github.pat ") and " github " in line for line in text.splitlines())


def test_the_cache_interval_comes_from_the_environment(tmp_path):
    assert ValidationSettings.from_environment({}, tmp_path).max_age_seconds == 3600
    assert ValidationSettings.from_environment({"TRUSSGUARD_VALIDATION_MAX_AGE": "0"}, tmp_path).max_age_seconds == 0
    assert ValidationSettings.from_environment({"TRUSSGUARD_VALIDATION_MAX_AGE": "86400"}).max_age_seconds == 86400
    for bad in ("-1", "1h", "1e3"):
        with pytest.raises(ValidationError, match="TRUSSGUARD_VALIDATION_MAX_AGE"):
            ValidationSettings.from_environment({"TRUSSGUARD_VALIDATION_MAX_AGE": bad})
