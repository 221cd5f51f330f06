"""``TRUSSGUARD_VALIDATION_ENDPOINTS=FILE``: point a provider's validator at another base URL.

For tests (a fake server on 127.0.0.1) and for egress proxies that expose providers under internal
names. The file is TOML, ``provider_id = "https://host[:port][/prefix]"``. Only https is accepted: a
credential is never sent in clear text, even to a test server.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from trussguard.engine.validator_schema import PROVIDER_ID
from trussguard.validate.model import ENDPOINTS_VARIABLE, ValidationError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def load_endpoints(path: Path) -> dict[str, str]:
    """Provider id -> base URL (no trailing slash); any problem raises ``ValidationError`` (one line)."""
    where = f"{ENDPOINTS_VARIABLE}={path}"
    try:
        doc = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ValidationError(f"{where}: cannot read it ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"{where}: not valid TOML ({exc})") from None
    out = {}
    for provider, url in doc.items():
        if not PROVIDER_ID.match(provider):
            raise ValidationError(f"{where}: {provider!r} is not a provider id (lowercase, as in rules list)")
        out[provider] = check_base_url(url, f"{where}: {provider}")
    return out


def check_base_url(url: object, where: str) -> str:
    """An override must be ``https://host[:port][/path]``, without query, fragment or user info."""
    if not isinstance(url, str):
        raise ValidationError(f"{where} must be a string URL")
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise ValidationError(f"{where}: only https:// base URLs are accepted, not {parts.scheme or 'no'} scheme")
    if not parts.hostname or parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError(f"{where} must be https://host[:port][/path] without query, fragment or user info")
    try:
        parts.port
    except ValueError:
        raise ValidationError(f"{where} has a bad port") from None
    return url.rstrip("/")


def target_url(rule_url: str, provider: str, endpoints: dict[str, str]) -> str:
    """The URL to ask: the rule's, or the override's scheme://host[:port][/prefix] + the rule's path."""
    base = endpoints.get(provider)
    if base is None:
        return rule_url
    path = urlsplit(rule_url).path or "/"
    return base + path


def host_of(url: str) -> str:
    """host[:port] of an https URL, without the default port: the per-host limits' key and the shown host."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return host if parts.port in (None, 443) else f"{host}:{parts.port}"
