"""Value and name heuristics shared by the rule filters and (later) the Truss policy checks.

They follow TRUSS_SECRETS.md section 3.0: a *secret-looking name* is decided on whole words
(so ``max_tokens`` and ``TOKENIZERS_PARALLELISM`` are not secrets), and *placeholders* such
as ``"EMPTY"``, ``"***"``, ``${VAR}`` or ``YOUR_API_KEY`` are never reported as leaks.
"""

from __future__ import annotations

import math
import re
from collections import Counter

_SECRET_WORDS = {"TOKEN", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PWD", "APIKEY", "CREDENTIAL",
                 "CREDENTIALS", "PASS", "PASSPHRASE", "AUTHTOKEN", "ACCESSTOKEN", "APITOKEN"}
_SECRET_PAIRS = {("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"), ("SECRET", "KEY"), ("AUTH", "KEY"),
                 ("ACCOUNT", "KEY"), ("CLIENT", "SECRET"), ("SIGNING", "KEY"), ("ENCRYPTION", "KEY"),
                 ("MASTER", "KEY"), ("SERVICE", "KEY")}
_NOT_SECRET_LAST = {"ID", "PATH", "FILE", "DIR", "URL", "URI", "NAME", "ENABLED", "LIMIT", "REPOSITORY",
                    "TYPE", "LENGTH", "COUNT", "SIZE", "MAX", "MIN", "IDS", "FIELD", "HEADER", "PREFIX",
                    "SUFFIX", "ENV", "VAR", "KEY", "FORMAT", "MODE", "TTL", "EXPIRY", "EXPIRES", "TIMEOUT",
                    "LEN", "NUM", "INDEX", "IDX", "POLICY", "ALGORITHM", "HASH", "SALT", "SCOPE", "SCOPES",
                    "PARAM", "PARAMS", "LOCATION", "DISABLED", "REQUIRED", "CLASS", "REF", "VERSION",
                    "FILES", "PATHS", "DIRS", "NAMES", "PATTERNS", "GLOB", "GLOBS", "TYPES"}
_TOKENIZER_WORDS = {"PAD", "EOS", "BOS", "UNK", "SEP", "CLS", "MASK", "SPECIAL", "START", "END", "STOP",
                    "NEW", "ADDITIONAL", "IMAGE", "AUDIO", "VIDEO", "MAX", "MIN", "NUM", "DECODER", "VISION"}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def identifier_words(name: str) -> list[str]:
    """Splits an identifier on ``_ - .`` and camelCase into upper-case words."""
    return [w.upper() for w in _WORD.findall(name)]


def is_secret_name(name: str) -> bool:
    """True when an identifier names a secret value (``hf_access_token``, ``OPENAI_API_KEY``).

    ``aws_access_key_id`` is a secret name (an AWS key ID is half of a credential pair) even
    though it ends in ``ID``; ``pad_token_id``, ``max_tokens`` and ``token_path`` are not.
    """
    words = identifier_words(name)
    if not words:
        return False
    if words[-3:] == ["ACCESS", "KEY", "ID"]:
        return True
    if words[-1] in _NOT_SECRET_LAST and not (words[-1] == "KEY" and len(words) > 1
                                               and (words[-2], "KEY") in _SECRET_PAIRS):
        return False
    if "TOKEN" in words and words[words.index("TOKEN") - 1:words.index("TOKEN")] \
            and words[words.index("TOKEN") - 1] in _TOKENIZER_WORDS:
        return False  # tokenizer vocabulary: pad_token, eos_token, special_tokens
    if any(w in _SECRET_WORDS for w in words):
        return True
    return any(pair in _SECRET_PAIRS for pair in zip(words, words[1:]))


_PLACEHOLDER = re.compile(
    r"""^(?:
        |none|null|nil|undefined|empty|dummy.*|fake.*|test|example.*|sample.*|placeholder.*|changeme
        |redacted|secret|password|token|todo|tbd|xxx.*|\*+|\.+|-+|_+|<[^>]*>|\[[^\]]*\]
        |\$\{[^}]*\}|\$\([^)]*\)|\$[A-Za-z_][A-Za-z0-9_]*|%\([^)]*\)s|%s|\{\{.*\}\}|\{[A-Za-z_][A-Za-z0-9_.]*\}
        |your[_-].*|.*[_-]here|my[_-].*|insert.*|enter.*|put[_-].*|replace.*|add[_-].*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# Words separated by spaces ("set token in baseten workspace"), as opposed to a key body that
# happens to contain spaces (an indented PEM block has digits, '+' and '/').
_PROSE = re.compile(r"^[A-Za-z][A-Za-z'.,:()-]*(?: +[A-Za-z0-9'.,:()-]+)+$")
_REPEATED_MASK = re.compile(r"([xX*#•0.])\1{5,}")
# Markers that make a value documentation rather than a credential, wherever they stand:
# `sk-ant-api03-...`, `fc-YOUR_API_KEY`, `xoxb-your-bot-token`, `GOCSPX-<secret>`, `${TOKEN}`.
_PLACEHOLDER_MARKER = re.compile(
    r"\.\.\.|…|(?:^|[^a-z])your(?:[_-]|[A-Z])|[_-]here(?:$|[^a-z])|placeholder|changeme|change[_-]me|redacted"
    r"|<[^>]*>|\$\{|\{\{|(?:^|[^a-z])(?:insert|replace)[_-]",
    re.IGNORECASE,
)


def is_placeholder(value: str) -> bool:
    """True for values that stand in for a secret rather than being one.

    Covers TRUSS_SECRETS.md 3.0's allow-list (null, ``""``, ``***``, ``EMPTY``, ``dummy*``,
    ``<...>``, ``${...}``, ``YOUR_*``, ``*_HERE``, ``xxx+``, text with spaces) plus masked
    values (``sk-...xxxxxx``) and template variables.
    """
    v = value.strip().strip("'\"")
    if _PLACEHOLDER.match(v) or _PROSE.match(v):
        return True
    return bool(_REPEATED_MASK.search(v) or _PLACEHOLDER_MARKER.search(v))


def shannon_entropy(value: str) -> float:
    """Bits per character of the value's own character distribution."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_CODE_LIKE = re.compile(
    r"""[()\[\]{}]|^(?:self|cls|os|sys|kwargs|args|config|settings|env)\b|^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_]
        |^(?:true|false|none|null|yes|no|on|off)$|^https?://|^\.\.?/|^[a-z]+(?:_[a-z]+)+$
        |(?-i:^/(?:[a-z0-9_.-]+/)*[a-z0-9_.-]*$)
        |(?-i:^[a-z0-9_.-]+(?:/[a-z0-9_.-]+)+/?$)""",
    re.IGNORECASE | re.VERBOSE,
)


_WORDS_ONLY = re.compile(r"^(?:[a-z]+|[A-Z]+|[A-Z][a-z]+)(?:[-_.](?:[a-z]+|[A-Z]+|[A-Z][a-z]+))+$")


def is_code_like(value: str) -> bool:
    """True for expressions, paths, URLs, identifiers and plain words rather than literals.

    ``hf_access_token:`` (a key name), ``ASIA-see-vault`` (words) and ``self._secrets[`` are
    not credentials even when bound to a secret-looking name.
    """
    v = value.rstrip(":.,=")
    return bool(_CODE_LIKE.search(v) or _WORDS_ONLY.match(v))


LITERAL_MIN_LENGTH = 12  # a shorter unshaped literal is a label, not a credential ("LulaCipher")
LITERAL_MIN_ENTROPY = 3.2  # bits per character, as the generic rule
AUTH_SCHEME = re.compile(r"^(?:bearer|token|api-key|apikey|basic)\s+", re.IGNORECASE)
_WHITESPACE = re.compile(r"\s")  # the characters str.isspace() accepts, searched in C
_CAMEL_WORDS = re.compile(r"^(?:[A-Z]?[a-z])+$")  # "LulaCipher", "mytoken": words; linear (no nested +)


def is_literal_credential(value: str) -> bool:
    """An unshaped literal that still reads as a credential: one high-entropy token, at least 12
    characters, that is no placeholder, label, path or identifier (an ``Authorization`` scheme
    such as ``Bearer`` is looked past). The Python value checks and the history pre-screen
    share it, so the screen can never be stricter than the checks."""
    v = AUTH_SCHEME.sub("", value.strip())
    return not (len(v) < LITERAL_MIN_LENGTH or _WHITESPACE.search(v) or is_placeholder(v)
                or is_code_like(v) or _CAMEL_WORDS.match(v) or shannon_entropy(v) < LITERAL_MIN_ENTROPY)
