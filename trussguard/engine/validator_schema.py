"""The ``validator:`` block of a rule: an opt-in liveness check written as data (issue 16).

Kept apart from the rest of the rule schema because it is the one part that describes network traffic:
a reviewer reads here everything that decides what trussguard may send, and where (`{secret}` in exactly
one header, basic-auth field or query parameter; https only; never in the URL or the body).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


# A provider id (the key of an endpoint override): lowercase words joined by `.` or `-`, as rule ids are.
PROVIDER_ID = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")
# Validators that need code rather than data (``trussguard.validate.code_checks`` implements each).
CODE_VALIDATORS = ("aws-sts",)
_HTTP_VALIDATOR_KEYS = {"provider", "method", "url", "headers", "basic_auth", "query", "body", "content_type",
                        "live", "revoked", "docs"}
_CODE_VALIDATOR_KEYS = {"provider", "code", "docs"}
_EXPECT_KEYS = {"status", "json"}
SECRET_FIELD = "{secret}"


@dataclass(frozen=True)
class Expect:
    """How one outcome of a validator request looks: every given condition must hold. ``json`` pairs a
    dotted path into the JSON answer with the value expected there (``("ok", False)``)."""

    status: tuple[int, ...] = ()
    json: tuple[tuple[str, Any], ...] = ()  # a tuple value means "any of these"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.status:
            out["status"] = list(self.status)
        if self.json:
            out["json"] = {k: list(v) if isinstance(v, tuple) else v for k, v in self.json}
        return out


@dataclass(frozen=True)
class Validator:
    """A rule's opt-in liveness check (``trussguard scan --validate``): one read-only request to the
    provider's documented host, or a named code check (``code``) for the few needing signing.

    Data, not code, so a reviewer sees exactly what would be sent: ``{secret}`` marks where the credential
    goes, in exactly one place (``headers``, ``basic_auth`` or ``query``), never in the URL or the body."""

    provider: str  # id for TRUSSGUARD_VALIDATION_ENDPOINTS overrides
    docs: str  # the provider's documentation of this call
    method: str = "GET"
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    basic_auth: tuple[str, str] | None = None  # (user, password)
    query: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    content_type: str | None = None
    live: Expect = Expect()
    revoked: Expect = Expect()
    code: str | None = None  # one of CODE_VALIDATORS, instead of the request fields

    @property
    def credential_place(self) -> str:
        """Where the credential goes, in words (docs, ``rules list``): never a value."""
        if self.code:
            return f"code check {self.code}"
        if self.basic_auth is not None:
            return "HTTP basic auth " + ("user" if SECRET_FIELD in self.basic_auth[0] else "password")
        for name, value in self.headers:
            if SECRET_FIELD in value:
                return f"header {name}: " + value.replace(SECRET_FIELD, "<credential>")
        for name, value in self.query:
            if SECRET_FIELD in value:
                return f"query parameter {name}"
        return "nowhere"

    def to_dict(self) -> dict[str, Any]:
        if self.code:
            return {"provider": self.provider, "code": self.code, "docs": self.docs}
        out: dict[str, Any] = {"provider": self.provider, "method": self.method, "url": self.url}
        if self.headers:
            out["headers"] = dict(self.headers)
        if self.basic_auth is not None:
            out["basic_auth"] = {"user": self.basic_auth[0], "password": self.basic_auth[1]}
        if self.query:
            out["query"] = dict(self.query)
        if self.body is not None:
            out["body"] = self.body
            out["content_type"] = self.content_type
        out.update({"live": self.live.to_dict(), "revoked": self.revoked.to_dict(), "docs": self.docs})
        return out


def validator_from_dict(d: dict[str, Any]) -> Validator:
    """Rebuilds a validator from ``Validator.to_dict`` output (trusted: the rule cache)."""
    if d.get("code"):
        return Validator(provider=d["provider"], docs=d["docs"], code=d["code"])
    auth = d.get("basic_auth")
    return Validator(
        provider=d["provider"], docs=d["docs"], method=d["method"], url=d["url"],
        headers=tuple(d.get("headers", {}).items()), query=tuple(d.get("query", {}).items()),
        basic_auth=None if auth is None else (auth["user"], auth["password"]),
        body=d.get("body"), content_type=d.get("content_type"),
        live=_expect_from_dict(d["live"]), revoked=_expect_from_dict(d["revoked"]))


def _expect_from_dict(d: dict[str, Any]) -> Expect:
    return Expect(tuple(d.get("status", ())), _json_conditions(d.get("json", {})))


def _json_conditions(conditions: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in conditions.items())


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def parse_validator(value: Any, report) -> Validator | None:
    """The ``validator`` block: a request as data (or ``code``), checked so nothing unsafe is ever sent."""
    found: list[str] = []

    def bad(message: str) -> None:
        found.append(message)
        report(message)

    if not isinstance(value, dict):
        bad("`validator` must be a mapping (provider, method, url, one credential place, live, revoked, docs)")
        return None
    provider, docs = value.get("provider"), value.get("docs")
    if not isinstance(provider, str) or not PROVIDER_ID.match(provider):
        bad("`validator.provider` must be a lowercase identifier (the key of an endpoint override)")
    if not isinstance(docs, str) or not docs.startswith("https://"):
        bad("`validator.docs` must be the https URL of the provider's documentation of this call")
    if "code" in value:
        for key in sorted(set(value) - _CODE_VALIDATOR_KEYS):
            bad(f"unknown validator key `{key}` (a code validator takes only provider, code and docs)")
        if value["code"] not in CODE_VALIDATORS:
            bad(f"unknown code validator {value['code']!r} (known: {', '.join(CODE_VALIDATORS)})")
        if found:
            return None
        return Validator(provider=provider, docs=docs, code=value["code"])
    for key in sorted(set(value) - _HTTP_VALIDATOR_KEYS):
        bad(f"unknown validator key `{key}`")
    method = value.get("method")
    if method not in ("GET", "POST"):
        bad("`validator.method` must be GET or POST")
    url = value.get("url")
    _check_validator_url(url, bad)
    headers = _string_map(value.get("headers", {}), "headers", bad)
    query = _string_map(value.get("query", {}), "query", bad)
    auth = value.get("basic_auth")
    basic: tuple[str, str] | None = None
    if auth is not None:
        if not isinstance(auth, dict) or set(auth) != {"user", "password"} \
                or not all(isinstance(v, str) for v in auth.values()):
            bad("`validator.basic_auth` must be {user: <text>, password: <text>}")
        else:
            basic = (auth["user"], auth["password"])
    places = [name for name, texts in (("headers", [v for _, v in headers]), ("query", [v for _, v in query]),
                                       ("basic_auth", list(basic or ())))
              if any(SECRET_FIELD in t for t in texts)]
    if len(places) != 1:
        bad("a validator must put `{secret}` in exactly one place (headers, basic_auth or query), "
            f"not {len(places)} ({', '.join(places) or 'none'})")
    body, content_type = value.get("body"), value.get("content_type")
    if body is not None:
        if method != "POST":
            bad("`validator.body` is for POST requests only")
        if not isinstance(body, str) or SECRET_FIELD in body:
            bad("`validator.body` must be JSON text without `{secret}` (the credential goes in a header, "
                "basic auth or the query)")
        else:
            try:
                json.loads(body)
            except ValueError:
                bad("`validator.body` must be valid JSON text")
        content_type = content_type or "application/json"
    if content_type is not None and (body is None or not isinstance(content_type, str)):
        bad("`validator.content_type` goes with `body` and must be a media type string")
    live = _parse_expect(value.get("live"), "live", bad)
    revoked = _parse_expect(value.get("revoked"), "revoked", bad)
    if found:
        return None
    return Validator(provider=provider, docs=docs, method=method, url=url, headers=headers, basic_auth=basic,
                     query=query, body=body, content_type=content_type, live=live, revoked=revoked)


def _check_validator_url(url: Any, bad) -> None:
    from urllib.parse import urlsplit

    if not isinstance(url, str) or not url.startswith("https://"):
        bad("`validator.url` must be an https URL")
        return
    parts = urlsplit(url)
    if SECRET_FIELD in parts.netloc:
        bad("`{secret}` must never be in the validator URL's host")
    elif SECRET_FIELD in url:
        bad("`{secret}` must not be in the validator URL (URLs end up in proxy logs): use headers, "
            "basic_auth or query")
    if not parts.hostname or parts.query or parts.fragment or parts.username or parts.password:
        bad("`validator.url` must be https://host[:port]/path, without query, fragment or user info "
            "(query parameters go in `query`)")


def _string_map(value: Any, key: str, bad) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and k and isinstance(v, str)
                                              for k, v in value.items()):
        bad(f"`validator.{key}` must map names to text (values may use `{{secret}}`)")
        return ()
    return tuple(value.items())


def _parse_expect(value: Any, label: str, bad) -> Expect:
    """``live``/``revoked``: ``status`` (HTTP codes) and/or ``json`` (dotted path -> scalar)."""
    if not isinstance(value, dict) or not value or set(value) - _EXPECT_KEYS:
        bad(f"`validator.{label}` must be a mapping with `status` (list of HTTP codes) and/or `json` "
            "(dotted path -> value)")
        return Expect()
    status = value.get("status", [])
    if not isinstance(status, list) or not all(isinstance(c, int) and not isinstance(c, bool) and 100 <= c <= 599
                                               for c in status):
        bad(f"`validator.{label}.status` must be a list of HTTP status codes")
        status = []
    conditions = value.get("json", {})
    if not isinstance(conditions, dict) or not all(
            isinstance(k, str) and k and (_scalar(v) or (isinstance(v, list) and v and all(map(_scalar, v))))
            for k, v in conditions.items()):
        bad(f"`validator.{label}.json` must map dotted paths to a scalar value (or a list: any of them)")
        conditions = {}
    if not status and not conditions:
        bad(f"`validator.{label}` needs at least one condition")
    return Expect(tuple(status), _json_conditions(conditions))
