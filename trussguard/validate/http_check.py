"""One validator request: build it from the rule's ``Validator``, send it, classify the answer.

``urllib.request`` because it honours ``HTTPS_PROXY``/``NO_PROXY`` (its default ``ProxyHandler``) and
``ssl.create_default_context()`` honours ``SSL_CERT_FILE``; no dependency needed. Redirects are never
followed (an answer that redirects is ``unknown``), so a request only ever reaches the rule's documented
host or the override. Nothing derived from the secret reaches a detail or an exception: errors are
described by their kind, and any text from outside is scrubbed of the secret before use.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote, urlencode

from trussguard import __version__
from trussguard.engine.validator_schema import SECRET_FIELD, Expect, Validator
from trussguard.validate.endpoints import host_of, target_url
from trussguard.validate.model import Validation, now_iso, unknown

USER_AGENT = f"trussguard/{__version__} (secret validation; --validate)"
MAX_BODY = 256 * 1024  # bytes of an answer read to classify it


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401 - urllib's hook
        return None  # the 3xx answer comes back as an HTTPError and is classified as unknown


def opener(timeout: float) -> urllib.request.OpenerDirector:
    """An opener with the environment's proxies, the default TLS trust store and no redirects."""
    context = ssl.create_default_context()
    return urllib.request.build_opener(urllib.request.ProxyHandler(), urllib.request.HTTPSHandler(context=context),
                                       _NoRedirect())


def build_request(validator: Validator, secret: str, endpoints: dict[str, str]) -> urllib.request.Request:
    """The request a validator describes, with the secret in its one place."""
    url = target_url(validator.url, validator.provider, endpoints)
    fill = lambda text: text.replace(SECRET_FIELD, secret)  # noqa: E731
    if validator.query:
        url += "?" + urlencode([(k, fill(v)) for k, v in validator.query])
    headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    headers.update({k: fill(v) for k, v in validator.headers})
    if validator.basic_auth is not None:
        user, password = (fill(p) for p in validator.basic_auth)
        headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    data = None
    if validator.method == "POST":
        data = (validator.body or "").encode("utf-8")
        if validator.body is not None:
            headers["Content-Type"] = validator.content_type or "application/json"
    return urllib.request.Request(url, data=data, headers=headers, method=validator.method)


def check(validator: Validator, secret: str, endpoints: dict[str, str], timeout: float,
          director: urllib.request.OpenerDirector | None = None) -> Validation:
    """Sends the validator's request and classifies the answer; never raises for network trouble."""
    request = build_request(validator, secret, endpoints)
    host = host_of(request.full_url)
    return send(request, host, secret, timeout, director or opener(timeout),
                lambda status, body: classify(validator, status, body, host))


def send(request: urllib.request.Request, host: str, secret: str, timeout: float,
         director: urllib.request.OpenerDirector, judge) -> Validation:
    """Sends one request; ``judge(status, body)`` classifies an answer. Failures are ``unknown``."""
    try:
        with director.open(request, timeout=timeout) as answer:
            return judge(answer.status, answer.read(MAX_BODY))
    except urllib.error.HTTPError as exc:
        try:
            body = exc.read(MAX_BODY)
        except (OSError, ValueError):
            body = b""
        finally:
            exc.close()
        return judge(exc.code, body)
    except (TimeoutError, socket.timeout):
        return unknown(host, f"timed out after {timeout:g} s")
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (TimeoutError, socket.timeout)):  # while connecting
            return unknown(host, f"timed out after {timeout:g} s")
        return unknown(host, describe_error(exc.reason, secret))
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return unknown(host, describe_error(exc, secret))


def describe_error(reason: Any, secret: str) -> str:
    """A network failure in one line without the secret: its kind and, for TLS, the verification reason."""
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return "timed out"
    if isinstance(reason, ssl.SSLCertVerificationError):
        text = f"TLS certificate not trusted ({reason.verify_message})"
    elif isinstance(reason, ssl.SSLError):
        text = f"TLS error ({reason.reason or type(reason).__name__})"
    elif isinstance(reason, ConnectionRefusedError):
        text = "connection refused"
    elif isinstance(reason, socket.gaierror):
        text = "host name not found"
    elif isinstance(reason, OSError) and reason.strerror:
        text = f"network error ({reason.strerror})"
    else:
        text = f"network error ({str(reason) or type(reason).__name__})"
    return scrub(text, secret)


def scrub(text: str, secret: str) -> str:
    """``text`` on one line with the secret (raw, URL-quoted or form-encoded) cut out."""
    for form in {secret, quote(secret, safe=""), quote(secret)}:
        if form:
            text = text.replace(form, "[secret]")
    return " ".join(text.split())[:200]


def classify(validator: Validator, status: int, body: bytes, host: str) -> Validation:
    """``live`` or ``revoked`` when the rule's conditions hold, else ``unknown`` with the reason."""
    parsed = _json(body)
    for outcome, expect in (("live", validator.live), ("revoked", validator.revoked)):
        if matches(expect, status, parsed):
            # the values shown equal one the rule file expects: nothing of the answer beyond that
            extra = ", ".join(f"{path}={_show(_lookup(parsed, path)[1])}" for path, _ in expect.json)
            detail = f"HTTP {status}" + (f" ({extra})" if extra else "")
            return Validation(outcome, status, host, now_iso(), detail)
    if status == 429:
        return Validation("unknown", status, host, now_iso(), f"rate limited (HTTP {status})")
    if 300 <= status < 400:
        return Validation("unknown", status, host, now_iso(), f"redirected, not followed (HTTP {status})")
    if status >= 500:
        return Validation("unknown", status, host, now_iso(), f"provider error (HTTP {status})")
    return Validation("unknown", status, host, now_iso(), f"unexpected answer (HTTP {status})")


def matches(expect: Expect, status: int, parsed: Any) -> bool:
    """Every condition of ``expect`` holds (status in the list; each JSON path has the value, or one of them)."""
    if expect.status and status not in expect.status:
        return False
    for path, wanted in expect.json:
        found, value = _lookup(parsed, path)
        options = wanted if isinstance(wanted, tuple) else (wanted,)
        if not found or not any(type(value) is type(o) and value == o for o in options):
            return False
    return bool(expect.status or expect.json)


def _lookup(doc: Any, path: str) -> tuple[bool, Any]:
    for part in path.split("."):
        if isinstance(doc, dict) and part in doc:
            doc = doc[part]
        elif isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        else:
            return False, None
    return True, doc


def _json(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def _show(value: Any) -> str:
    """A condition's expected value as the rule wrote it (from the rule file, never from the answer)."""
    if isinstance(value, tuple):
        return "|".join(_show(v) for v in value)
    return json.dumps(value) if not isinstance(value, str) else value
