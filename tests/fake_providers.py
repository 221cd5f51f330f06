"""A fake of the providers' validation endpoints: HTTPS on 127.0.0.1, one server (port) per provider.

Why one port per provider: they are different hosts in real life, and the validator's per-host limits
must see them as such. The certificate comes from a throwaway CA made by ``trustme`` at test time;
``SSL_CERT_FILE`` points at it (the ``fake_providers`` fixture), so the code under test verifies TLS as
it would against a provider. Each credential has a mode: ``live``, ``revoked``, ``rate-limited``,
``slow`` (answers live after ``slow_seconds``), ``500`` or ``redirect`` (302 to another host); a credential never set answers as revoked,
like a provider that does not know the token. Every request is recorded (method, path, headers,
query, body, time) for assertions.

Adding a provider is one ``register`` call (``register_standard`` holds them all):

    fake.register("openai", "GET", "/v1/models", "header:Authorization:Bearer ",
                  live_response=(200, {"data": []}), revoked_response=(401, {"error": {"code": "invalid_api_key"}}))

``credential_place`` is how the fake finds the credential: ``header:NAME:PREFIX``, ``query:NAME``,
``basic:user``, ``basic:password`` or ``aws-sigv4`` (the access key id of a SigV4 Authorization header).
"""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

MODES = ("live", "revoked", "rate-limited", "slow", "500", "redirect")


@dataclass
class Recorded:
    provider: str
    method: str
    path: str
    headers: dict[str, str]  # names in lower case (HTTP header names are case-insensitive)
    query: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when the request arrived
    credential: str | None


@dataclass
class Route:
    method: str
    path: str
    credential_place: str
    live_response: tuple[int, object]
    revoked_response: tuple[int, object]


@dataclass
class _Provider:
    name: str
    server: ThreadingHTTPServer
    routes: list[Route] = field(default_factory=list)


class FakeProviders:
    def __init__(self, cert, slow_seconds: float = 3.0):
        self._cert = cert  # trustme.LeafCert for 127.0.0.1
        self.slow_seconds = slow_seconds
        self.modes: dict[str, str] = {}
        self.requests: list[Recorded] = []
        self._providers: dict[str, _Provider] = {}
        self._lock = threading.Lock()

    # -- setup ------------------------------------------------------------------------------------
    def register(self, provider: str, method: str, path: str, credential_place: str,
                 live_response: tuple[int, object], revoked_response: tuple[int, object]) -> None:
        if provider not in self._providers:
            self._providers[provider] = _Provider(provider, self._start(provider))
        self._providers[provider].routes.append(Route(method, path, credential_place, live_response,
                                                      revoked_response))

    def set_mode(self, credential: str, mode: str) -> None:
        assert mode in MODES, mode
        self.modes[credential] = mode

    @property
    def endpoints(self) -> dict[str, str]:
        return {name: f"https://127.0.0.1:{p.server.server_address[1]}" for name, p in self._providers.items()}

    def write_endpoints(self, path: Path) -> Path:
        path.write_text("".join(f'{name} = "{url}"\n' for name, url in self.endpoints.items()), "utf-8")
        return path

    def requests_for(self, provider: str) -> list[Recorded]:
        return [r for r in self.requests if r.provider == provider]

    def close(self) -> None:
        for p in self._providers.values():
            p.server.shutdown()
            p.server.server_close()

    # -- the servers --------------------------------------------------------------------------------
    def _start(self, provider: str) -> ThreadingHTTPServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                fake._answer(provider, self)

            do_POST = do_GET

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=server.serve_forever, daemon=True, name=f"fake-{provider}").start()
        return server

    def _answer(self, provider: str, handler: BaseHTTPRequestHandler) -> None:
        split = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in handler.headers.items()}
        route = next((r for r in self._providers[provider].routes
                      if r.method == handler.command and r.path == split.path), None)
        credential = _credential(route.credential_place, headers, query) if route else None
        with self._lock:
            self.requests.append(Recorded(provider, handler.command, split.path, headers, query, body,
                                          time.monotonic(), credential))
        if route is None:
            return _send(handler, 404, {"error": "no such route in the fake"})
        mode = self.modes.get(credential or "", "revoked")
        if credential is None or mode == "revoked":
            return _send(handler, *route.revoked_response)
        if mode == "rate-limited":
            return _send(handler, 429, {"error": "rate limited"}, {"Retry-After": "30"})
        if mode == "500":
            return _send(handler, 500, {"error": "internal"})
        if mode == "redirect":
            return _send(handler, 302, {}, {"Location": "https://elsewhere.invalid/collect"})
        if mode == "slow":
            time.sleep(self.slow_seconds)
        return _send(handler, *route.live_response)


def _credential(place: str, headers: dict[str, str], query: dict[str, str]) -> str | None:
    kind, _, rest = place.partition(":")
    lower = headers
    if kind == "header":
        name, _, prefix = rest.partition(":")
        value = lower.get(name.lower())
        return value[len(prefix):] if value is not None and value.startswith(prefix) else None
    if kind == "query":
        return query.get(rest)
    if kind == "basic":
        value = lower.get("authorization", "")
        if not value.startswith("Basic "):
            return None
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
        return user if rest == "user" else password
    if kind == "aws-sigv4":
        value = lower.get("authorization", "")
        marker = "Credential="
        return value.split(marker, 1)[1].split("/", 1)[0] if marker in value else None
    raise ValueError(f"unknown credential place {place!r}")


def _send(handler: BaseHTTPRequestHandler, status: int, payload: object, headers: dict | None = None) -> None:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
        pass  # the client gave up (a timeout test)


# Each provider as its documentation describes the call the rule's validator makes.
def register_standard(fake: FakeProviders) -> None:
    bearer = "header:Authorization:Bearer "
    fake.register("openai", "GET", "/v1/models", bearer, (200, {"object": "list", "data": []}),
                  (401, {"error": {"code": "invalid_api_key", "message": "Incorrect API key provided"}}))
    fake.register("openai", "GET", "/v1/organization/projects", bearer, (200, {"object": "list", "data": []}),
                  (401, {"error": {"code": "invalid_api_key"}}))
    fake.register("github", "GET", "/user", bearer, (200, {"login": "octocat", "id": 1}),
                  (401, {"message": "Bad credentials"}))
    fake.register("github", "GET", "/rate_limit", bearer, (200, {"resources": {}}),
                  (401, {"message": "Bad credentials"}))
    fake.register("slack", "POST", "/api/auth.test", bearer, (200, {"ok": True, "user_id": "U1", "team": "T"}),
                  (200, {"ok": False, "error": "invalid_auth"}))


@pytest.fixture
def fake_providers(tmp_path, monkeypatch):
    """A running ``FakeProviders`` with the standard providers, trusted through ``SSL_CERT_FILE``, with
    no proxy in the environment (a test that wants one sets it)."""
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    bundle = tmp_path / "fake-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    fake = FakeProviders(ca.issue_cert("127.0.0.1", "localhost"))
    register_standard(fake)
    yield fake
    fake.close()
