"""How each validated provider answers, as its own documentation describes it, played back by a fake
HTTPS server (``DocumentedProviders``, built on tests/fake_providers.py), and what
tests/test_validate_providers.py checks every rule's request against.

One ``Emulation`` per documented call, written from the provider's documentation (``docs``) and
independently of the rule files: the request the provider documents (method, path, where the
credential goes, any fixed header or body), its success answer, its rejection of an invalid credential
and its rate-limit answer. The fake answers by the mode the test gave the credential
(``fake.set_mode(secret, "live" | "revoked" | "rate-limited" | "slow" | "500")``); a credential with no
mode is rejected, as a provider rejects a key it does not know; ``other_answers`` holds further
documented answers a test asks for by name (Stripe's 403 for a restricted key, W&B's null viewer). A
request off the documented shape (wrong method, path, header or body, or the credential elsewhere) gets
a 400 that is neither live nor revoked, so a rule that drifts from the documentation turns "unknown"
and its test fails.

AWS is emulated with its SigV4 signature checked: the fake recomputes it (botocore) from the secret key
the test registered for the key ID, and answers 403 ``SignatureDoesNotMatch`` when it differs, as STS does.

No credential lives here: tests build them from each rule's ``tokens:`` templates at run time.
"""

from __future__ import annotations

import base64
import hmac
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from fake_providers import FakeProviders, Recorded

SECRET = "{secret}"


@dataclass(frozen=True)
class Emulation:
    provider: str  # the rules' validator.provider (the TRUSSGUARD_VALIDATION_ENDPOINTS key)
    rules: tuple[tuple[str, str], ...]  # (rule id, name of the rule's token template for a fake credential)
    method: str
    path: str  # the documented path (the query string, if any, is checked separately)
    # where the documented request carries the credential: ("header", name, template) or
    # ("basic", user template, password template); templates use {secret}
    credential: tuple[str, ...]
    docs: str
    fixed_headers: tuple[tuple[str, str], ...] = ()  # other headers the documentation requires
    json_body: Any = None  # the JSON body the documented call sends (POST), or None for no body
    live: tuple[int, Any] = (200, {})
    revoked: tuple[int, Any] = (401, {})
    rate_limited: tuple[int, Any] = (429, {})
    revoked_headers: tuple[tuple[str, str], ...] = field(default=())
    # other documented answers a test can ask for by mode (``fake.modes[secret] = name``), e.g. Stripe's
    # 403 for a restricted key without the permission: (mode, (status, body))
    other_answers: tuple[tuple[str, tuple[int, Any]], ...] = ()

    def credential_of(self, headers: dict[str, str]) -> str | None:
        """The credential a request carries in this provider's documented place, or None."""
        kind = self.credential[0]
        if kind == "header":
            _, name, template = self.credential
            return _unfill(template, _header(headers, name))
        _, user_template, password_template = self.credential
        auth = _header(headers, "Authorization")
        if auth is None or not auth.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:], validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        if SECRET in user_template:
            return _unfill(user_template, user) if password == password_template else None
        return _unfill(password_template, password) if user == user_template else None

    def shape_problem(self, method: str, path: str, headers: dict[str, str], body: bytes) -> str | None:
        """Why a request does not match the documented call, or None when it does."""
        if method != self.method:
            return f"method {method}, documented {self.method}"
        if path.split("?", 1)[0] != self.path:
            return f"path {path}, documented {self.path}"
        if "?" in path:
            return "a query string the documented call does not send"
        for name, value in self.fixed_headers:
            if _header(headers, name) != value:
                return f"header {name} is {_header(headers, name)!r}, documented {value!r}"
        if self.json_body is None:
            if body:
                return "a body the documented call does not send"
        else:
            if not (_header(headers, "Content-Type") or "").startswith("application/json"):
                return "the JSON body is not sent as application/json"
            try:
                if json.loads(body.decode("utf-8")) != self.json_body:
                    return "a JSON body other than the documented one"
            except (UnicodeDecodeError, ValueError):
                return "a body that is not JSON"
        if self.credential_of(headers) is None:
            return "the credential is not where the documentation puts it"
        return None

    @property
    def fake_place(self) -> str:
        """The credential place in tests/fake_providers.py's notation (``register``)."""
        if self.credential[0] == "header":
            _, name, template = self.credential
            return f"header:{name}:{template.partition(SECRET)[0]}"
        return "basic:user" if SECRET in self.credential[1] else "basic:password"

    def respond(self, fake: "DocumentedProviders", mode: str, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes, float]:
        """(status, headers, body, delay in seconds): the documented answer for a credential in ``mode``."""
        problem = self.shape_problem(method, path, headers, body)
        if problem is not None:
            return _json_answer(400, {"fake_provider": self.provider, "problem": problem})
        if mode in ("live", "slow"):
            status, doc = self.live
            return _json_answer(status, doc, delay=fake.slow_seconds if mode == "slow" else 0.0)
        if mode == "rate-limited":
            status, doc = self.rate_limited
            return _json_answer(status, doc, {"Retry-After": "30"})
        if mode == "500":
            return _json_answer(500, {"error": "internal error"})
        for name, (status, doc) in self.other_answers:
            if mode == name:
                return _json_answer(status, doc)
        status, doc = self.revoked
        return _json_answer(status, doc, dict(self.revoked_headers))

    def expected_credential_header(self, secret: str) -> tuple[str, str]:
        """(header name, exact value) the documented request carries for ``secret``."""
        if self.credential[0] == "header":
            _, name, template = self.credential
            return name, template.replace(SECRET, secret)
        _, user, password = self.credential
        pair = f"{user.replace(SECRET, secret)}:{password.replace(SECRET, secret)}"
        return "Authorization", "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def _json_answer(status: int, doc: Any, headers: dict[str, str] | None = None,
                 delay: float = 0.0) -> tuple[int, dict[str, str], bytes, float]:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(doc).encode(), delay


def _header(headers: dict[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def _unfill(template: str, value: str | None) -> str | None:
    """The secret a filled-in template carries (``Bearer {secret}`` + ``Bearer abc`` -> ``abc``)."""
    if value is None:
        return None
    prefix, _, suffix = template.partition(SECRET)
    if not value.startswith(prefix) or not value.endswith(suffix) or len(value) <= len(prefix) + len(suffix):
        return None
    return value[len(prefix):len(value) - len(suffix)] if suffix else value[len(prefix):]


# Rejection bodies are the documented error shapes (values the docs show, trimmed to their fields).
ANTHROPIC_ERROR = {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
ANTHROPIC_RATE = {"type": "error", "error": {"type": "rate_limit_error", "message": "Number of requests has exceeded your rate limit"}}
OPENAI_STYLE_401 = {"error": {"message": "Invalid API Key", "type": "invalid_request_error", "code": "invalid_api_key"}}
OPENAI_STYLE_429 = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}

EMULATIONS: tuple[Emulation, ...] = (
    Emulation(
        provider="anthropic", rules=(("anthropic.api-key", "token"),),
        method="GET", path="/v1/models", credential=("header", "x-api-key", SECRET),
        fixed_headers=(("anthropic-version", "2023-06-01"),),
        docs="https://docs.claude.com/en/api/models-list",
        live=(200, {"data": [{"type": "model", "id": "claude-sonnet-4-5", "display_name": "Claude Sonnet 4.5",
                              "created_at": "2025-09-29T00:00:00Z"}], "has_more": False,
                    "first_id": "claude-sonnet-4-5", "last_id": "claude-sonnet-4-5"}),
        revoked=(401, ANTHROPIC_ERROR), rate_limited=(429, ANTHROPIC_RATE),
    ),
    Emulation(
        provider="anthropic", rules=(("anthropic.admin-key", "token"),),
        method="GET", path="/v1/organizations/me", credential=("header", "x-api-key", SECRET),
        fixed_headers=(("anthropic-version", "2023-06-01"),),
        docs="https://platform.claude.com/docs/en/api/admin/organizations/me",
        live=(200, {"id": "12345678-1234-5678-1234-567812345678", "name": "Organization Name",
                    "type": "organization"}),
        revoked=(401, ANTHROPIC_ERROR), rate_limited=(429, ANTHROPIC_RATE),
    ),
    Emulation(
        provider="huggingface", rules=(("huggingface.user-token", "token"), ("huggingface.org-token", "token")),
        method="GET", path="/api/whoami-v2", credential=("header", "Authorization", "Bearer " + SECRET),
        docs="https://huggingface.co/docs/hub/api#get-apiwhoami-v2",
        live=(200, {"type": "user", "id": "62f264b9f3c90f4b6514a269", "name": "model-builder", "orgs": [],
                    "auth": {"type": "access_token", "accessToken": {"displayName": "ci", "role": "read"}}}),
        revoked=(401, {"error": "Invalid credentials in Authorization header"}),
        rate_limited=(429, {"error": "Too many requests"}),
    ),
    Emulation(
        provider="baseten", rules=(("baseten.api-key", "token"), ("baseten.trussrc-api-key", "token")),
        method="GET", path="/v1/models", credential=("header", "Authorization", "Api-Key " + SECRET),
        docs="https://docs.baseten.co/reference/management-api/models/gets-all-models",
        live=(200, {"models": [{"id": "abcd1234", "name": "tiny-llm", "deployments_count": 1,
                                "created_at": "2023-11-07T05:31:56Z"}]}),
        revoked=(401, {"error": "Invalid API key"}), rate_limited=(429, {"error": "Too many requests"}),
    ),
    Emulation(
        provider="replicate", rules=(("replicate.api-token", "token"),),
        method="GET", path="/v1/account", credential=("header", "Authorization", "Bearer " + SECRET),
        docs="https://replicate.com/docs/reference/http#account.get",
        live=(200, {"type": "organization", "username": "acme", "name": "Acme Corp, Inc.",
                    "github_url": "https://github.com/acme"}),
        revoked=(401, {"title": "Unauthenticated", "detail": "You did not pass a valid authentication token",
                       "status": 401}),
        rate_limited=(429, {"title": "Request was throttled", "status": 429}),
    ),
    Emulation(
        provider="groq", rules=(("groq.api-key", "token"),),
        method="GET", path="/openai/v1/models", credential=("header", "Authorization", "Bearer " + SECRET),
        docs="https://console.groq.com/docs/api-reference#models-list",
        live=(200, {"object": "list", "data": [{"id": "llama-3.3-70b-versatile", "object": "model",
                                                "owned_by": "Meta", "active": True}]}),
        revoked=(401, OPENAI_STYLE_401), rate_limited=(429, OPENAI_STYLE_429),
    ),
    Emulation(
        provider="together", rules=(("together.api-key", "token"),),
        method="GET", path="/v1/models", credential=("header", "Authorization", "Bearer " + SECRET),
        docs="https://docs.together.ai/reference/models",
        live=(200, [{"id": "meta-llama/Llama-3.3-70B-Instruct-Turbo", "object": "model", "type": "chat"}]),
        revoked=(401, OPENAI_STYLE_401), rate_limited=(429, OPENAI_STYLE_429),
    ),
    Emulation(
        provider="mistral", rules=(("mistral.api-key", "token"),),
        method="GET", path="/v1/models", credential=("header", "Authorization", "Bearer " + SECRET),
        docs="https://docs.mistral.ai/api/endpoint/models",
        live=(200, {"object": "list", "data": [{"id": "mistral-small-latest", "object": "model"}]}),
        revoked=(401, {"message": "Unauthorized", "request_id": "0f3c2d"}),
        rate_limited=(429, {"message": "Requests rate limit exceeded"}),
    ),
    Emulation(
        provider="cohere", rules=(("cohere.api-key", "token"),),
        method="POST", path="/v1/check-api-key", credential=("header", "Authorization", "Bearer " + SECRET),
        docs="https://docs.cohere.com/reference/check-api-key",
        live=(200, {"valid": True, "organization_id": "org-1", "owner_id": "user-1"}),
        revoked=(401, {"message": "invalid api token"}),
        rate_limited=(429, {"message": "You are using a Trial key, which is limited to 1000 API calls / month."}),
    ),
    Emulation(
        provider="wandb", rules=(("wandb.api-key", "token"), ("wandb.legacy-api-key", "token")),
        method="POST", path="/graphql", credential=("basic", "api", SECRET),
        json_body={"query": "query Viewer { viewer { id __typename } }"},
        docs="https://docs.wandb.ai/models/ref/python/public-api/api",
        live=(200, {"data": {"viewer": {"id": "VXNlcjox", "__typename": "User"}}}),
        revoked=(401, {"errors": [{"message": "user is not logged in"}]}),
        rate_limited=(429, {"errors": [{"message": "rate limit exceeded"}]}),
        other_answers=(("anonymous", (200, {"data": {"viewer": None}})),),
    ),
    Emulation(
        provider="pinecone", rules=(("pinecone.api-key", "token"),),
        method="GET", path="/indexes", credential=("header", "Api-Key", SECRET),
        fixed_headers=(("X-Pinecone-Api-Version", "2025-04"),),
        docs="https://docs.pinecone.io/reference/api/2025-04/control-plane/list_indexes",
        live=(200, {"indexes": [{"name": "docs-example", "dimension": 1536, "metric": "cosine",
                                 "status": {"ready": True, "state": "Ready"}}]}),
        revoked=(401, {"error": {"code": "UNAUTHENTICATED", "message": "Invalid API Key"}, "status": 401}),
        rate_limited=(429, {"error": {"code": "RESOURCE_EXHAUSTED", "message": "Too many requests"}, "status": 429}),
    ),
    Emulation(
        provider="stripe", rules=(("stripe.live-secret-key", "key"), ("stripe.test-secret-key", "key")),
        method="GET", path="/v1/balance", credential=("basic", SECRET, ""),
        docs="https://docs.stripe.com/api/balance/balance_retrieve",
        live=(200, {"object": "balance", "livemode": False,
                    "available": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
                    "pending": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}]}),
        revoked=(401, {"error": {"message": "Invalid API Key provided", "type": "invalid_request_error"}}),
        rate_limited=(429, {"error": {"message": "Too many requests hit the API too quickly.",
                                      "type": "invalid_request_error", "code": "rate_limit"}}),
        revoked_headers=(("WWW-Authenticate", 'Basic realm="Stripe"'),),
        other_answers=(("forbidden", (403, {"error": {
            "type": "invalid_request_error",
            "message": "The provided key does not have the required permissions for this endpoint"}})),),
    ),
)


def by_rule() -> dict[str, tuple[Any, str]]:
    """rule id -> (its provider's emulation, the token template name for a fake credential)."""
    return {rule_id: (emulation, token) for emulation in ALL for rule_id, token in emulation.rules}



# -- AWS STS GetCallerIdentity (the code validator aws-sts) -----------------------------------------
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
STS_FORM = {"Action": "GetCallerIdentity", "Version": "2011-06-15"}


def _sts_error(status: int, kind: str, code: str, message: str) -> tuple[int, dict[str, str], bytes, float]:
    xml = (f'<ErrorResponse xmlns="{STS_NS}"><Error><Type>{kind}</Type><Code>{code}</Code>'
           f"<Message>{message}</Message></Error><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>"
           "</ErrorResponse>")
    return status, {"Content-Type": "text/xml"}, xml.encode(), 0.0


@dataclass(frozen=True)
class AwsStsEmulation:
    """STS ``GetCallerIdentity`` as documented: a form-encoded POST to ``/``, signed with SigV4 for
    service ``sts`` in ``us-east-1``; XML answers, 403 ``InvalidClientTokenId`` for an unknown key ID,
    403 ``SignatureDoesNotMatch`` for a wrong secret key, 400 ``Throttling`` when rate limited."""

    provider: str = "aws"
    rules: tuple[tuple[str, str], ...] = (("aws.access-key-id", "id"), ("aws.secret-access-key", "secret"))
    method: str = "POST"
    path: str = "/"
    docs: str = "https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html"
    fake_place: str = "aws-sigv4"

    @staticmethod
    def authorization(headers: dict[str, str]) -> dict[str, str] | None:
        """The SigV4 Authorization header's parts: credential (key ID), scope, signed_headers, signature."""
        value = _header(headers, "Authorization") or ""
        algorithm, _, rest = value.partition(" ")
        if algorithm != "AWS4-HMAC-SHA256":
            return None
        parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        if not {"Credential", "SignedHeaders", "Signature"} <= set(parts):
            return None
        key_id, _, scope = parts["Credential"].partition("/")
        return {"key_id": key_id, "scope": scope, "signed_headers": parts["SignedHeaders"],
                "signature": parts["Signature"]}

    def credential_of(self, headers: dict[str, str]) -> str | None:
        auth = self.authorization(headers)
        return auth["key_id"] if auth else None

    def shape_problem(self, method: str, path: str, headers: dict[str, str], body: bytes) -> str | None:
        auth = self.authorization(headers)
        if method != "POST" or path.split("?", 1)[0] != "/":
            return f"{method} {path}, documented POST /"
        if not (_header(headers, "Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return "the form is not sent as application/x-www-form-urlencoded"
        if dict(parse_qsl(body.decode("utf-8", "replace"))) != STS_FORM:
            return "a form other than Action=GetCallerIdentity&Version=2011-06-15"
        if auth is None or not _header(headers, "X-Amz-Date"):
            return "no SigV4 Authorization header with X-Amz-Date"
        date = _header(headers, "X-Amz-Date")[:8]
        if auth["scope"] != f"{date}/us-east-1/sts/aws4_request":
            return f"credential scope {auth['scope']}, documented <date>/us-east-1/sts/aws4_request"
        return None

    def signature_ok(self, headers: dict[str, str], body: bytes, host_url: str, secret_key: str) -> bool:
        """Recomputes the SigV4 signature with botocore from what was received and the registered secret."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        auth = self.authorization(headers)
        signed = auth["signed_headers"].split(";")
        request = AWSRequest(method="POST", url=host_url + "/", data=body,
                             headers={name: _header(headers, name) or "" for name in signed})
        request.context["timestamp"] = _header(headers, "X-Amz-Date")
        signer = SigV4Auth(Credentials(auth["key_id"], secret_key), "sts", "us-east-1")
        expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
        return hmac.compare_digest(expected, auth["signature"])

    def respond(self, fake: "DocumentedProviders", mode: str, method: str, path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], bytes, float]:
        problem = self.shape_problem(method, path, headers, body)
        if problem is not None:
            return _json_answer(400, {"fake_provider": "aws", "problem": problem})
        key_id = self.credential_of(headers)
        if mode in ("revoked",) or key_id not in fake.aws_pairs:
            return _sts_error(403, "Sender", "InvalidClientTokenId",
                              "The security token included in the request is invalid.")
        if not self.signature_ok(headers, body, f"https://{_header(headers, 'Host')}", fake.aws_pairs[key_id]):
            return _sts_error(403, "Sender", "SignatureDoesNotMatch",
                              "The request signature we calculated does not match the signature you provided.")
        if mode == "rate-limited":
            return _sts_error(400, "Sender", "Throttling", "Rate exceeded")
        if mode == "500":
            return _sts_error(500, "Receiver", "InternalFailure", "An internal error occurred.")
        xml = (f'<GetCallerIdentityResponse xmlns="{STS_NS}"><GetCallerIdentityResult>'
               "<Arn>arn:aws:iam::123456789012:user/model-deployer</Arn><UserId>AIDAFAKEUSERID</UserId>"
               "<Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata>"
               "<RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>"
               "</GetCallerIdentityResponse>")
        return 200, {"Content-Type": "text/xml"}, xml.encode(), fake.slow_seconds if mode == "slow" else 0.0


AWS = AwsStsEmulation()
ALL = (*EMULATIONS, AWS)


class DocumentedProviders(FakeProviders):
    """tests/fake_providers.py's servers (one HTTPS port per provider, requests recorded, modes per
    credential), answering the providers above from their emulations: documented shape checked,
    documented bodies, the provider's own rate-limit answer and, for AWS, the SigV4 signature verified."""

    def __init__(self, cert, slow_seconds: float = 3.0):
        super().__init__(cert, slow_seconds)
        self._documented: dict[str, list] = {}
        self.aws_pairs: dict[str, str] = {}  # access key ID -> secret access key the fake accepts

    def emulate(self, emulation) -> None:
        live = getattr(emulation, "live", (200, {}))
        revoked = getattr(emulation, "revoked", (401, {}))
        self.register(emulation.provider, emulation.method, emulation.path, emulation.fake_place, live, revoked)
        self._documented.setdefault(emulation.provider, []).append(emulation)

    def _answer(self, provider: str, handler) -> None:
        emulations = self._documented.get(provider)
        if not emulations:
            return super()._answer(provider, handler)
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}  # as tests/fake_providers.py records
        emulation = next((e for e in emulations if e.path == split.path and e.method == handler.command),
                         emulations[0])
        credential = emulation.credential_of(headers)
        with self._lock:
            self.requests.append(Recorded(provider, handler.command, split.path, headers,
                                          dict(parse_qsl(split.query, keep_blank_values=True)), body,
                                          time.monotonic(), credential))
        mode = self.modes.get(credential or "", "revoked")
        status, extra, payload, delay = emulation.respond(self, mode, handler.command, handler.path, headers, body)
        if delay:
            time.sleep(delay)
        try:
            handler.send_response(status)
            for name, value in {**extra, "Content-Length": str(len(payload))}.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client gave up (a timeout test)


@pytest.fixture(scope="module")
def documented_providers(tmp_path_factory):
    """A running ``DocumentedProviders`` emulating every provider above (one server set per test
    module), trusted through ``SSL_CERT_FILE`` (a throwaway trustme CA), with no proxy in the
    environment. Tests reset ``modes``, ``requests`` and ``aws_pairs`` themselves."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    bundle = tmp_path_factory.mktemp("fake-ca") / "fake-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SSL_CERT_FILE", str(bundle))
        for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy",
                     "NO_PROXY", "no_proxy"):
            patch.delenv(name, raising=False)
        fake = DocumentedProviders(ca.issue_cert("127.0.0.1", "localhost"), slow_seconds=2.0)
        for emulation in ALL:
            fake.emulate(emulation)
        try:
            yield fake
        finally:
            fake.close()
