"""detect-secrets as an extra detector for generic secrets in Truss files.

This is the only module that imports detect_secrets. Its plugins (keyword and high-entropy
detectors) and heuristic filters catch generic secrets that no token-shaped rule describes.
It is slow (pure Python, line by line) and costs 0.12 s to import, so it runs only on the
files a Truss deployment is built from (config.yaml, Python model code, ``.env``-like files)
and is imported on first use. Its settings are process-global: the adapter installs its own
plugins and filters once and installs them again only when they are no longer what is in place
(``transient_settings`` around every file rebuilt every plugin and filter: ~0.2 ms a file, 10% of a
history audit).
"""

from __future__ import annotations

import copy
import functools
import posixpath
import re

from trussguard.engine import heuristics
from trussguard.engine.regex import compile_pattern
from trussguard.engine.schema import Rule
from trussguard.types import Match

_FILTERS = [
    "detect_secrets.filters.heuristic.is_indirect_reference",
    "detect_secrets.filters.heuristic.is_likely_id_string",
    "detect_secrets.filters.heuristic.is_lock_file",
    "detect_secrets.filters.heuristic.is_not_alphanumeric_string",
    "detect_secrets.filters.heuristic.is_potential_uuid",
    "detect_secrets.filters.heuristic.is_prefixed_with_dollar_sign",
    "detect_secrets.filters.heuristic.is_sequential_string",
    "detect_secrets.filters.heuristic.is_swagger_file",
    "detect_secrets.filters.heuristic.is_templated_secret",
]
_LIMITS = {"Base64HighEntropyString": {"limit": 4.5}, "HexHighEntropyString": {"limit": 3.0}}
MAX_BYTES = 2 * 1024 * 1024  # beyond this a file is data, not model code or config
# Lines detect-secrets' plugins can fire on: its KeywordDetector denylist words, or a quoted
# run long enough for the entropy plugins. Other lines are not handed to it at all (its
# per-line plugin x filter calls cost ~20 us a line), which keeps it off the scan's hot path.
_TRAILING_COMMENT = re.compile(r"\s+#.*$")
# Searched over the whole text at once with RE2 (per line with `re`: 0.9 s on 2,000 model files;
# RE2 over the whole text: 30x less). No match can span lines (_BLANK is Python's \s less the line
# break), so a match's line is a candidate line. RE2's \S is ASCII-only, which only adds candidates.
_BLANK = r"[\t\x0b\x0c\r \x1c-\x1f\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]*"
_CANDIDATE_LINE = compile_pattern(r"(?i)(?:key|pass|pwd|secret|contrase)[^=:\n]*[=:]+" + _BLANK
                                  + r"\S|[\"'][A-Za-z0-9+/=_-]{20,}")
# In Python its KeywordDetector only reports quoted values: `self._secrets = kwargs["secrets"]` is no candidate.
_CANDIDATE_PY_LINE = compile_pattern(r"(?i)(?:key|pass|pwd|secret|contrase)[^=:\n]*[=:]+" + _BLANK
                                     + r"[rbuf]{0,2}[\"']\S|[\"'][A-Za-z0-9+/=_-]{20,}")


def applies_to(path: str) -> bool:
    """A guess from the name alone, for a file seen without its tree (rule examples, stdin)."""
    name = posixpath.basename(path)
    return name in ("config.yaml", ".trussrc") or name.endswith(".py") or name == ".env" \
        or name.startswith(".env.") or name.endswith(".env")


class DetectSecretsAdapter:
    """Runs the detect-secrets plugins named by ``detector: detect-secrets`` rules."""

    def __init__(self, rules: list[Rule]):
        self._rule_by_plugin = {r.plugin: r for r in rules}
        self._config = {
            "plugins_used": [{"name": p, **_LIMITS.get(p, {})} for p in self._rule_by_plugin],
            "filters_used": [{"path": f} for f in _FILTERS],
        }
        self._installed: tuple | None = None  # (settings object, its plugins, its filters) as installed

    def _settings(self):
        """detect-secrets' global settings holding this adapter's plugins and filters."""
        from detect_secrets.settings import cache_bust, configure_settings_from_baseline, get_settings

        settings = get_settings()
        if self._installed is not None:
            installed, plugins, filters = self._installed
            if settings is installed and settings.plugins == plugins and settings.filters == filters:
                return settings
        cache_bust()  # drops plugin and filter instances built for other settings
        settings = configure_settings_from_baseline(copy.deepcopy(self._config))
        self._installed = (settings, copy.deepcopy(settings.plugins), copy.deepcopy(settings.filters))
        return settings

    def warm_up(self) -> None:
        """Imports detect-secrets and its plugin table (see ``Detector.warm_up``)."""
        import detect_secrets.core.scan  # noqa: F401
        import detect_secrets.settings  # noqa: F401

        _plugin_types()

    def scan(self, path: str, data: bytes) -> list[Match]:
        if not self._rule_by_plugin or len(data) > MAX_BYTES:
            return []
        text = data.decode("utf-8", "replace").encode("utf-8")  # what the per-line search saw, as valid UTF-8
        candidate = _CANDIDATE_PY_LINE if path.endswith(".py") else _CANDIDATE_LINE
        numbers = _lines_with(candidate, text)
        if not numbers:
            return []  # nothing its plugins could report: do not even import it
        raw_lines = data.split(b"\n")
        candidates = [(n, raw_lines[n - 1].rstrip(b"\r").decode("utf-8", "replace")) for n in numbers]
        from detect_secrets.core.scan import _process_line_based_plugins

        offsets, total = [], 0
        for raw in raw_lines:
            offsets.append(total)
            total += len(raw) + 1
        out = []
        settings = self._settings()
        type_to_plugin = {_plugin_types()[name]: name for name in settings.plugins}
        found = list(_process_line_based_plugins(candidates, path))
        for secret in found:
            rule = self._rule_by_plugin.get(type_to_plugin.get(secret.type, ""))
            value = _TRAILING_COMMENT.sub("", secret.secret_value or "")  # `key: null  # note` is null
            if rule is None or not value or heuristics.is_placeholder(value):
                continue  # `hf_access_token: null` is how Truss declares a secret
            if rule.plugin == "KeywordDetector" and heuristics.is_code_like(value):
                continue  # `runtime_secret_name: hf_access_token` names a secret, it is not one
            raw = raw_lines[secret.line_number - 1]
            if rule.plugin == "KeywordDetector" and _names_no_secret(raw.decode("utf-8", "replace"), value):
                continue  # `runtime_secret_name: "s3-access-creds"`: a NAME field holds the name of a secret
            if rule.plugin in ENTROPY_PLUGINS and not_a_credential(path, raw.decode("utf-8", "replace"), value):
                continue  # `revision="<commit id>"`, `mount_location: "/models/..."`
            at = max(0, raw.find(value.encode("utf-8")))  # bytes: replaced invalid UTF-8 would shift a str index
            column = len(raw[:at].decode("utf-8", "replace")) + 1
            start = offsets[secret.line_number - 1] + at
            out.append(Match(rule.id, value, start, start + len(value.encode()), secret.line_number, column))
        return out


ENTROPY_PLUGINS = ("HexHighEntropyString", "Base64HighEntropyString")
# Names of values that are digests or object ids, not credentials: git commits and revisions, file
# hashes, HTTP etags, lock-file integrity fields.
_DIGEST_WORDS = {"REVISION", "REVISIONS", "REV", "COMMIT", "COMMITS", "SHA", "SHAS", "SHA1", "SHA256", "SHA512",
                 "MD5", "HASH", "HASHES", "DIGEST", "DIGESTS", "ETAG", "CHECKSUM", "CHECKSUMS", "INTEGRITY", "OID"}
_LOCK_FILE = re.compile(r"(?:\.lock|^package-lock\.json|^pnpm-lock\.yaml|^(?:requirements|constraints)[^/]*\.txt)$")
# What stands right before a digest on its line: `sha256:`, `sha512-` (npm integrity), `--hash=`, `@` (pip's
# `git+https://...@<commit>`, `repo@<revision>`).
_DIGEST_PREFIX = re.compile(r"(?:(?:sha\d*|md5)[:-]|--hash=|@)$", re.IGNORECASE)
_NAME_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_.-]*)[\"']?\s*[:=]+\s*[\"']?$")
_PATH_SEGMENT_WORD = re.compile(r"^(?:[A-Za-z][a-z]+|[0-9]+)+$")


def not_a_credential(path: str, line: str, value: str) -> bool:
    """True when an entropy-only hit (no secret-like name needed to fire) is a digest, object id, path
    or identifier by its context: a lock file, a digest-like name or prefix, `/`-separated segments.

    A digest bound to a secret-like name (`api_key_sha = ...` aside) is still reported: a value named
    as a secret is judged by its name, which the keyword and generic rules also see.
    """
    if _LOCK_FILE.search(posixpath.basename(path)):
        return True
    at = line.find(value)
    before = line[:at] if at >= 0 else ""
    if _DIGEST_PREFIX.search(before.rstrip("\"'")):
        return True
    m = _NAME_BEFORE.search(before)
    if m is not None:
        words = set(heuristics.identifier_words(m.group(1)))
        if words & _DIGEST_WORDS and not heuristics.is_secret_name(m.group(1)):
            return True
    return is_path_or_identifier(value)


def _names_no_secret(line: str, value: str) -> bool:
    """The key the keyword plugin saw is no secret name by whole words (`runtime_secret_name`,
    `secret_path`, `token_file`): the value names or locates a secret, it is not one."""
    at = line.find(value)
    m = _NAME_BEFORE.search(line[:at]) if at > 0 else None
    return m is not None and not heuristics.is_secret_name(m.group(1))


def is_path_or_identifier(value: str) -> bool:
    """`/models/Qwen3-235B-Instruct`, `org/model-name`, `snake_case_name`, `camelCaseName`, `a.b.c`.

    Standard base64 uses `+/`, URL-safe base64 `-_`: a value mixing `/` with `-`, `_` or `.` is no
    base64 secret but a path. A `/`-separated value whose segments are all words (`models/llama`) is
    one too. Identifiers are judged by their words: every letter run of 3 or more characters.
    """
    v = value.strip("\"'")
    if "/" in v:
        segments = [s for s in v.split("/") if s]
        if len(segments) >= 2 and (re.search(r"[-_.]", v) or all(_PATH_SEGMENT_WORD.match(s) for s in segments)):
            return True
    pieces = re.split(r"[_.-]", v)
    words = [w for p in pieces for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+", p)]
    letters = [w for w in words if not w.isdigit()]
    return len(letters) >= 2 and "".join(words) == "".join(pieces) \
        and all(len(w) >= 3 for w in letters) and any(w.islower() or w.istitle() for w in letters)


def _lines_with(pattern, text: bytes) -> list[int]:
    """1-based numbers of the lines holding a match, from one search over the whole text."""
    numbers: list[int] = []
    line, pos = 1, 0
    for m in pattern.finditer(text):
        line += text.count(b"\n", pos, m.start())
        pos = m.start()
        if not numbers or numbers[-1] != line:
            numbers.append(line)
    return numbers


@functools.lru_cache(maxsize=1)
def _plugin_types() -> dict[str, str]:
    """Plugin class name -> the secret type it reports (detect-secrets builds this by import scan)."""
    from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class

    return {cls.__name__: secret_type for secret_type, cls in get_mapping_from_secret_type_to_class().items()}


def known_plugins() -> set[str]:
    """Plugin class names this detect-secrets installation offers (checked by rules check)."""
    return set(_plugin_types())
