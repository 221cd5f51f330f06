"""One redactor for every message that may quote a file's content, a path or a URL.

Findings carry a redacted value by construction; messages did not: a ``model.py`` starting
``# TODO stop hard-coding: hf_...`` is read by Python as an encoding declaration (the
``coding[:=]`` regex of PEP 263 matches "hard-coding:"), and the note "not valid Python: unknown
encoding: hf_..." carried the token into every report, the audit cache and the Action's
``::notice::`` lines. So every note, skipped-file detail and error line goes through
``redact_text``: the credential rules run over the message (the same engine as the scan, so
what would be a finding in a file is masked in a message) and each match becomes the findings'
redacted form (prefix, length, short hash); URL passwords and token-like query parameters are
masked whatever their shape, since a URL's secret need not look like any provider's key.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING

from trussguard.findings import redact as redact_secret

if TYPE_CHECKING:
    from trussguard.engine.detector import Detector

MASK = "****"
# scheme://[user[:password]@]host: the userinfo ends at the LAST "@" of the word (a raw "@" or "/"
# in a password must not leave a tail behind); the host after it must look like one.
_SCHEME_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s]*)@(?=[^\s@/?#]+)")
_TOKEN_QUERY = re.compile(
    r"(?P<key>[?&;](?:[A-Za-z0-9_.-]*?)(?:token|key|secret|password|passwd|pwd|pass|sig|signature|auth|"
    r"credential|session|code)[A-Za-z0-9_.-]*=)(?P<value>[^&#\s]*)", re.IGNORECASE)
_SCP_LIKE = re.compile(r"^(?P<user>.*)@(?P<host>[^@:/\s]+):(?P<path>.*)$", re.DOTALL)
_UNKNOWN_ENCODING = re.compile(r"unknown encoding(?: for [^:]*)?: .*", re.IGNORECASE | re.DOTALL)

_DEFAULT: Detector | None = None
_DEFAULT_FAILED = False
_FALLBACK = re.compile(r"[A-Za-z0-9_+/=-]{20,}")  # when no rule set can be loaded: mask long token-like runs


def redact_text(text: str, detector: Detector | None = None) -> str:
    """``text`` with every credential the rules find, every URL password and every token-like
    query value masked. ``detector`` is the scan's own (its rules, custom ones included); without
    one the built-in rules are used, loaded once per process and only when a message needs it."""
    if not text:
        return text
    text = _mask_urls(text)
    detector = detector or _default_detector()
    if detector is None:
        return _FALLBACK.sub(lambda m: redact_secret(m.group()), text)
    data = text.encode("utf-8", "surrogateescape")
    matches = sorted(detector.matcher.scan(data), key=lambda m: (m.start, -m.end))
    if not matches:
        return text
    out, at = [], 0
    for m in matches:
        if m.start < at:
            continue  # inside a span already replaced
        out += [data[at:m.start], redact_secret(m.secret).encode("utf-8")]
        at = m.end
    out.append(data[at:])
    return b"".join(out).decode("utf-8", "surrogateescape")


def redact_python_error(message: str) -> str:
    """A SyntaxError's message without the value of an encoding declaration: Python quotes it
    ("unknown encoding: <whatever followed `coding:`>"), and whatever followed may be a secret
    no rule knows."""
    return _UNKNOWN_ENCODING.sub("unknown encoding declared on the first two lines (value not shown)", message)


def redact_url(url: str) -> str:
    """A remote URL fit for a document: no userinfo, no query, no fragment.

    ``https://user:pa/ss@wo@rd@host/org/repo?private_token=x#y`` -> ``https://host/org/repo``;
    ``user:pass@host:org/repo`` (scp-like) -> ``host:org/repo``. The userinfo ends at the last
    "@" before the host, since a password may hold raw "/", "@" and "%"; a remaining
    credential-shaped value is still masked by the rules (``redact_text``)."""
    url = url.strip()
    if "://" in url:
        scheme, _, rest = url.partition("://")
        rest = re.split(r"[?#]", rest, maxsplit=1)[0]
        if "@" in rest:
            before, _, host = rest.rpartition("@")
            if ":" in before or "/" not in before or not host:  # userinfo, not an "@" inside the path
                rest = host
        url = f"{scheme}://{rest}"
    else:
        scp = _SCP_LIKE.match(url)
        if scp:
            url = f"{scp.group('host')}:{scp.group('path')}"
    return redact_text(url)


def redact_result(result, detector: Detector | None = None):
    """Masks the notes and skipped-file details of a ScanResult in place (and returns it): the
    one place every reporter, the exit-2 line and the Action's notices read them from.

    Finding paths are masked too when a file or folder name itself holds a credential (a file
    named after the token it holds): the report then shows ``hf_Ab…(37 chars, sha256:…).txt``,
    enough to find the file, not to use the key; fingerprints keep the real path, so baselines
    still match."""
    stats = result.stats
    stats.notes = [redact_text(n, detector) for n in stats.notes]
    stats.skipped = [dataclasses.replace(s, path=redact_text(s.path, detector), detail=redact_text(s.detail, detector))
                     for s in stats.skipped]
    suppressed = getattr(result, "suppressed", [])  # findings hidden by a marker, config or baseline
    masked = {p: redact_text(p, detector) for p in {f.path for f in result.findings} | {s.path for s in suppressed}}
    masked = {p: m for p, m in masked.items() if m != p}
    if masked:
        result.findings = [_masked_finding(f, masked) for f in result.findings]
        result.advisories = [_masked_advisory(a, masked) for a in result.advisories]
        result.suppressed = [dataclasses.replace(s, path=masked.get(s.path, s.path)) for s in suppressed]
    return result


def _replace_all(text: str, masked: dict[str, str]) -> str:
    for raw, shown in masked.items():
        text = text.replace(raw, shown)
    return text


def _masked_finding(f, masked: dict[str, str]):
    if f.path not in masked:
        return f
    history = f.history
    if history and history.get("occurrences"):
        history = dict(history, occurrences=[dict(o, path=masked.get(o.get("path"), o.get("path")))
                                             for o in history["occurrences"]])
    return dataclasses.replace(f, path=masked[f.path], message=_replace_all(f.message, masked), history=history)


def _masked_advisory(a, masked: dict[str, str]):
    actions = tuple(dataclasses.replace(x, title=_replace_all(x.title, masked),
                                        details=tuple(_replace_all(d, masked) for d in x.details)) for x in a.actions)
    return dataclasses.replace(a, steps=tuple(_replace_all(s, masked) for s in a.steps), actions=actions)


def _mask_urls(text: str) -> str:
    if "://" in text:
        text = _SCHEME_USERINFO.sub(_mask_userinfo, text)
    if "=" in text:
        text = _TOKEN_QUERY.sub(lambda m: f"{m.group('key')}{MASK}" if m.group("value") else m.group(), text)
    return text


def _mask_userinfo(m: re.Match) -> str:
    """user:password@ (or a bare token@) masked; an "@" further down a path is no userinfo."""
    info = m.group("userinfo")
    return f"{m.group('scheme')}{MASK}@" if ":" in info or "/" not in info else m.group()


def _default_detector() -> Detector | None:
    """The built-in rules' detector, built on first use; None (and the fallback mask) if the rule
    set cannot be loaded, e.g. while reporting that very failure."""
    global _DEFAULT, _DEFAULT_FAILED
    if _DEFAULT is None and not _DEFAULT_FAILED:
        try:
            from trussguard.engine.detector import Detector
            from trussguard.engine.loader import default_cache_dir, load_rules

            cache = default_cache_dir()
            _DEFAULT = Detector(load_rules(cache_dir=cache), cache, use_detect_secrets=False)
        except Exception:  # noqa: BLE001 - a redactor that cannot load rules still masks
            _DEFAULT_FAILED = True
    return _DEFAULT
