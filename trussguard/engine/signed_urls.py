"""Signed URLs that have expired: their signature, session token and key id grant nothing any more.

A presigned S3/GCS/CloudFront/Azure URL carries its own expiry. Once it is past, the URL is as dead as
a revoked key: the signature cannot be replayed, an `ASIA` session token has expired with it (STS
sessions last at most 36 hours, less than any URL that outlived them), and an access key id alone is
not a secret. Real repositories hold many of these in datasets of scraped URLs and in notebook output
of `wget` redirects; reporting them as leaks with a rotation advisory is crying wolf.

Only the parts of the signing scheme are excused (the value of `X-Amz-Signature`, `X-Amz-Credential`,
`X-Amz-Security-Token`, `Signature`, `sig`, ...), never another query parameter of the same URL, so a
live `api_key=` cannot hide behind `&Expires=1`. Each scheme's own expiry field decides: SigV4 reads
`X-Amz-Date` + `X-Amz-Expires` (a stray `Expires=` beside them is ignored), GCS v4 `X-Goog-Date` +
`X-Goog-Expires`, SigV2/GCS v2/CloudFront canned policies `Expires=<epoch>`, Azure SAS `se=`. A URL
whose expiry cannot be read, or is in the future, stays a finding. This holds in a Truss config too
(TG110): an expired URL there is a broken download, which the deploy shows, not a credential.

"Expired" is judged at the time the bytes were exposed: now for a tree or staged scan, the time the blob
was first committed in a history audit (see :func:`as_of`). So a URL committed while it was live stays a
leak in history for good, as a revoked key does; one scraped into a dataset long after it expired never is.

Platform download links are the exception: a model hub or code host answers a download with a redirect
to a URL it signed with its own key (`cdn-lfs.hf.co`, `objects.githubusercontent.com`), minted for that
one download and short-lived. `wget`/`curl` output in notebooks is full of them. The repository's owner
holds no key behind it, so there is nothing to rotate, and the exposure ends at its expiry: such a link
is judged against the current time even in a history audit (reported while it is live, gone after).
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import time
from datetime import datetime, timezone
from urllib.parse import unquote

_MAX_URL = 16384  # how far to look for the URL's ends around a match (a signed URL is a few KiB at most)
_URL_END = re.compile(rb"[\s\"'<>`\\]")
# The parameters a signing scheme writes; a match inside any other parameter is never excused.
_SIGNING_PARAMS = frozenset(p.lower() for p in (
    "X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "AWSAccessKeyId", "Signature",
    "X-Goog-Signature", "X-Goog-Credential", "GoogleAccessId", "sig", "Key-Pair-Id", "Policy"))
_PARAM = re.compile(rb"([A-Za-z0-9_-]{1,40})=([^&;#\s\"'<>`\\]{0,8192})")
_AMZ_DATE = re.compile(r"^(\d{8})T(\d{6})Z$")


def expired_signing_part(data: bytes, start: int, end: int, now: float | None = None,
                         url_start: int | None = None) -> bool:
    """True when ``data[start:end]`` is a signing parameter's value in a signed URL that has expired.

    ``url_start`` is where the URL begins when the caller knows it (decoded text may hold quotes)."""
    if url_start is None:
        url_start = find_url_start(data, start)
    query = data.find(b"?", url_start, start)
    if query == -1:
        return False
    m = _URL_END.search(data, end, min(len(data), end + _MAX_URL))
    url_end = m.start() if m else min(len(data), end + _MAX_URL)
    params: dict[str, str] = {}
    inside = None
    for p in _PARAM.finditer(data, query + 1, url_end):
        key = p.group(1).decode("ascii").lower()
        params.setdefault(key, p.group(2).decode("utf-8", "replace"))
        if p.start(2) <= start and end <= p.end(2):
            inside = key
    if inside not in _SIGNING_PARAMS:
        return False
    expiry = expires_at(params)
    if now is None and not platform_link(data, query, url_start):
        now = _AS_OF.get()
    return expiry is not None and expiry < (time.time() if now is None else now)


# Hosts that sign download redirects with the platform's own key, per download (see the module doc).
_PLATFORM_HOSTS = re.compile(
    rb"(?:cdn-lfs(?:-[a-z0-9]+)*\.(?:huggingface|hf)\.co"  # Hugging Face Hub LFS CDN (CloudFront)
    rb"|cas-bridge\.xethub\.hf\.co"  # Hugging Face Hub Xet storage
    rb"|(?:objects|release-assets|github-releases)\.githubusercontent\.com"  # GitHub release assets
    rb"|github-production-release-asset-[0-9a-f]+\.s3\.amazonaws\.com)")
_HOST = re.compile(rb"https?://([A-Za-z0-9.-]{1,253})[/?]")  # no port or user-info: exact host


def platform_link(data: bytes, query: int, url_start: int | None = None) -> bool:
    """True when the URL whose query starts at ``query`` is a platform's own download redirect."""
    m = _HOST.search(data, find_url_start(data, query) if url_start is None else url_start, query + 1)
    return bool(m and _PLATFORM_HOSTS.fullmatch(m.group(1).lower()))


# When the bytes being scanned were exposed: None means now (a tree or staged scan asks "is this live
# today?"). The history audit sets it to the time the blob was first committed, so it asks "was it live
# when it entered the history?": a URL committed while live is a leak even after it expired; one that
# was dead before anyone committed it never exposed anything.
_AS_OF: contextvars.ContextVar[float | None] = contextvars.ContextVar("signed_url_as_of", default=None)


@contextlib.contextmanager
def as_of(when: float | None):
    """Judges expiry at ``when`` (epoch seconds) for the scans run inside the block."""
    token = _AS_OF.set(when)
    try:
        yield
    finally:
        _AS_OF.reset(token)


def expires_at(params: dict[str, str]) -> float | None:
    """The URL's expiry (epoch seconds) by its own scheme, from lower-cased query parameters."""
    for date_key, expires_key in (("x-amz-date", "x-amz-expires"), ("x-goog-date", "x-goog-expires")):
        if date_key in params or expires_key in params:
            m = _AMZ_DATE.match(unquote(params.get(date_key, "")))
            seconds = params.get(expires_key, "")
            if not m or not seconds.isdigit():
                return None
            signed = datetime.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
            return signed.timestamp() + int(seconds)
    if "se" in params and "sig" in params:
        return _iso_time(unquote(params["se"]))
    epoch = params.get("expires", "")
    if epoch.isdigit() and len(epoch) <= 12:
        return float(epoch)
    return None


def _iso_time(value: str) -> float | None:
    value = value.replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def find_url_start(data: bytes, start: int) -> int:
    """Where the URL holding ``start`` begins: after the last delimiter before it (bounded)."""
    floor = max(0, start - _MAX_URL)
    return max(floor, max(data.rfind(d, floor, start) for d in _DELIMITERS) + 1)


_DELIMITERS = (b" ", b"\t", b"\n", b"\r", b'"', b"'", b"<", b">", b"`", b"\\")
