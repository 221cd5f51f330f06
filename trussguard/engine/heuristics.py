"""Value and name heuristics shared by the rule filters and (later) the Truss policy checks.

They follow TRUSS_SECRETS.md section 3.0: a *secret-looking name* is decided on whole words
(so ``max_tokens`` and ``TOKENIZERS_PARALLELISM`` are not secrets), and *placeholders* such
as ``"EMPTY"``, ``"***"``, ``${VAR}`` or ``YOUR_API_KEY`` are never reported as leaks.
"""

from __future__ import annotations

import base64
import functools
import math
import re
from collections import Counter

_SECRET_WORDS = {"TOKEN", "SECRET", "SECRETS", "PASSWORD", "PASSWD", "PWD", "APIKEY", "CREDENTIAL",
                 "CREDENTIALS", "PASS", "PASSPHRASE", "AUTHTOKEN", "ACCESSTOKEN", "APITOKEN", "CREDS", "AUTH"}
_SECRET_PAIRS = {("API", "KEY"), ("ACCESS", "KEY"), ("PRIVATE", "KEY"), ("SECRET", "KEY"), ("AUTH", "KEY"),
                 ("ACCOUNT", "KEY"), ("CLIENT", "SECRET"), ("SIGNING", "KEY"), ("ENCRYPTION", "KEY"),
                 ("MASTER", "KEY"), ("SERVICE", "KEY")}
_NOT_SECRET_LAST = {"ID", "PATH", "FILE", "DIR", "URL", "URI", "NAME", "ENABLED", "LIMIT", "REPOSITORY",
                    "TYPE", "LENGTH", "COUNT", "SIZE", "MAX", "MIN", "IDS", "FIELD", "HEADER", "PREFIX",
                    "SUFFIX", "ENV", "VAR", "KEY", "FORMAT", "MODE", "TTL", "EXPIRY", "EXPIRES", "TIMEOUT",
                    "LEN", "NUM", "INDEX", "IDX", "POLICY", "ALGORITHM", "HASH", "SALT", "SCOPE", "SCOPES",
                    "PARAM", "PARAMS", "LOCATION", "DISABLED", "REQUIRED", "CLASS", "REF", "VERSION",
                    "FILES", "PATHS", "DIRS", "NAMES", "PATTERNS", "GLOB", "GLOBS", "TYPES", "STDIN",
                    "STORE", "STORES", "VAULT", "MANAGER", "PROVIDER", "BACKEND", "STORAGE"}
# Words that make the secret word right after them a value meant to be seen: a Mapbox or Plaid *public*
# token, a CSRF token (per session, sent to every browser).
_NOT_SECRET_BEFORE = {"PUBLIC", "CSRF", "XSRF"}
# A secret word after "to"/"for" names where secrets go, not one: `path_to_token`, `vault_to_store_secrets`.
_DESTINATION = {"TO", "FOR"}
# Names that say their value is no working secret: test fixtures' `invalid_token`, `fake_password`,
# `nonMatchingToken`, `expired_api_key` (a real key named so is a test's key and, if live, still a provider
# rule's finding by its shape).
_NOT_REAL_WORDS = {"FAKE", "MOCK", "MOCKED", "DUMMY", "INVALID", "WRONG", "BOGUS", "NON", "EXAMPLE", "SAMPLE",
                   "EXPIRED", "REVOKED", "PLACEHOLDER", "REDACTED", "MALFORMED"}
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
    if _NOT_REAL_WORDS.intersection(words):
        return False
    secret_at = [i for i, w in enumerate(words) if w in _SECRET_WORDS]
    if secret_at and all(i > 0 and (words[i - 1] in _NOT_SECRET_BEFORE or _DESTINATION & set(words[:i]))
                         for i in secret_at):
        return False
    if secret_at:
        return True
    return any(pair in _SECRET_PAIRS for pair in zip(words, words[1:]))


_PLACEHOLDER = re.compile(
    r"""^(?:
        |none|null|nil|undefined|empty|dummy.*|fake.*|test|example.*|sample.*|placeholder.*|changeme
        |redacted|secret|password|token|todo|tbd|(?-i:xxx|XXX)(?:[xX]*|[^A-Za-z0-9].*)|\*+|\.+|-+|_+|<[^>]*>|\[[^\]]*\]
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
    r"\.\.\.|…|(?-i:(?:^|[^A-Za-z])(?:your|Your|YOUR)(?:[_.-]|[A-Z]))|[_-]here(?:$|[^a-z])|placeholder|changeme|change[_-]me|redacted"
    r"|<[^>]*>|\$\{|\{\{|(?:^|[^a-z])(?:insert|replace)[_-]",
    re.IGNORECASE,
)
# Documentation words inside a value (AWS's documented `AKIA…EXAMPLE` id, `sk-fake-key`, `hf_xxxx`). Case-exact
# (`example`, `EXAMPLE`, `Example`) or set off by a separator, so that random mixed-case tokens, which
# hold any 4-letter run with probability ~62^-4 per position, do not trip them.
_DOC_WORD = re.compile(
    r"example|EXAMPLE|Example|(?:^|[^A-Za-z0-9])(?:dummy|DUMMY|fake|FAKE|sample|SAMPLE|x{4,}|X{4,})(?:$|[^A-Za-z0-9])"
)


_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(value: str) -> bool:
    """A canonical UUID. To a rule with no provider format it is an identifier (`accountId`,
    `Postman-Token`, a widget id), not a key: detect-secrets filters them the same way. Providers
    whose keys are UUIDs (Heroku) have their own rules, which this does not touch."""
    return bool(_UUID.match(value.strip().strip("'\"")))


_MEMO_MAX_LEN = 1024  # longer values are rare and not worth keeping
_MEMO_SIZE = 1 << 16


def is_placeholder(value: str) -> bool:
    """True for values that stand in for a secret rather than being one.

    Covers TRUSS_SECRETS.md 3.0's allow-list (null, ``""``, ``***``, ``EMPTY``, ``dummy*``,
    ``<...>``, ``${...}``, ``YOUR_*``, ``*_HERE``, ``xxx+``, text with spaces) plus masked
    values (``sk-...xxxxxx``) and template variables.

    Memoised (a pure function of the string): the same candidates recur across the blobs of a
    history (10,763 calls for 791 distinct values in the truss audit), and the patterned-run
    measure behind it is Python-level work per character.
    """
    if type(value) is str and len(value) <= _MEMO_MAX_LEN:
        return _is_placeholder_memo(value)
    return _is_placeholder(value)


def is_marked_placeholder(value: str) -> bool:
    """``is_placeholder`` without the made-up-value measure: the value *says* it stands in for a secret
    (a template variable, ``YOUR_…``, a mask, ``example``, prose, base64 of made-up words).

    Provider rules drop only these. A value in a provider's exact format that is merely made up
    (``sk-1234567890abcdef…``, a UUID ``12345678-ABCD-…``) is reported at low severity instead
    (``looks_made_up``): the sequential-run measure is a heuristic, and gitleaks and kingfisher
    report such values, so hiding them would be a silent gap in a gate."""
    if type(value) is str and len(value) <= _MEMO_MAX_LEN:
        return _is_marked_memo(value)
    return _is_marked(value)


def looks_made_up(value: str) -> bool:
    """Typed by a person for documentation: mostly sequential, keyboard or repeated runs (``is_patterned``).
    Memoised like ``is_placeholder``: the policy context and the findings ask it again for every match of
    a specific rule, and a history repeats the same values across blobs."""
    if type(value) is str and len(value) <= _MEMO_MAX_LEN:
        return _looks_made_up_memo(value)
    return _looks_made_up(value)


def _looks_made_up(value: str) -> bool:
    return is_patterned(value.strip().strip("'\""))


def _is_marked(value: str) -> bool:
    v = value.strip().strip("'\"")
    if _PLACEHOLDER.match(v) or _PROSE.match(v):
        return True
    return bool(_REPEATED_MASK.search(v) or _PLACEHOLDER_MARKER.search(v) or _DOC_WORD.search(v)
                or _encodes_placeholder(v))


def _is_placeholder(value: str) -> bool:
    return _is_marked(value) or _looks_made_up(value)


_is_placeholder_memo = functools.lru_cache(maxsize=_MEMO_SIZE)(_is_placeholder)
_is_marked_memo = functools.lru_cache(maxsize=_MEMO_SIZE)(_is_marked)
_looks_made_up_memo = functools.lru_cache(maxsize=_MEMO_SIZE)(_looks_made_up)


_SHORT_BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4}){2,16}(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$")
_WORD_TEXT = re.compile(r"^[A-Za-z]+(?:[-_. ]+[A-Za-z]+)*$")


def _encodes_placeholder(v: str) -> bool:
    """Short base64 of text that is itself made up: `user:password`, `abc:123`, `Socrata--wekickass`.

    A real key decodes to random bytes, and real Basic credentials to a user and a password that is
    no placeholder; test fixtures and docs encode words."""
    # Also unpadded, or with a character or two appended (`Socrata--wekickass` encoded, then `1`): some
    # prefix of at most 3 characters less, padded, must decode to the made-up text.
    return any(_decodes_to_made_up_text(v[:len(v) - cut]) for cut in range(4) if len(v) - cut >= 8)


def _decodes_to_made_up_text(v: str) -> bool:
    v += "=" * (-len(v) % 4)
    if not _SHORT_BASE64.match(v):
        return False
    try:
        text = base64.b64decode(v, validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return False
    if not text.isprintable() or len(text) < 4:
        return False
    user, sep, password = text.partition(":")
    if sep:
        return len(password) < 6 or is_placeholder(password) or bool(_WORD_TEXT.match(password) and
                                                                     password.lower() == password)
    return bool(_WORD_TEXT.match(text))


# --- patterned (made-up) values ------------------------------------------------------------------
# A person inventing a "key" for documentation types runs: `abcdefgh`, `1234567890`, `hgfedcba`,
# `qwerty`, `abcabcabc`. A random key almost never holds them; `is_patterned` measures how much of
# a value they cover.
SEQUENTIAL_MIN = 3  # `abc`, `123`, `cba`: ASCII successors (or predecessors), `9`->`0` wrapping
KEYBOARD_MIN = 4  # `qwer`, `asdf`, `lkjh`: neighbours along one keyboard row, either direction
REPEAT_MIN = 6  # `aaaaaa`, `ababab`, `abcabcabc`: a unit of 1-8 characters repeated >= 3 times
PATTERNED_SHARE = 0.5  # a value at least half covered by such runs is made up
_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_KEY_NEXT = {(row[i], row[i + 1]) for row in _KEYBOARD_ROWS for i in range(len(row) - 1)}
_KEY_NEXT |= {(b, a) for a, b in _KEY_NEXT}


def _char_class(c: str) -> int:
    return 0 if "0" <= c <= "9" else 1 if "a" <= c <= "z" else 2 if "A" <= c <= "Z" else -1


def _steps(v: str, i: int) -> int:
    """+1 / -1 when ``v[i+1]`` is the ASCII successor / predecessor of ``v[i]`` in the same class
    (digit, lower, upper; ``9``->``0`` counts), else 0."""
    a, b = v[i], v[i + 1]
    if _char_class(a) < 0 or _char_class(a) != _char_class(b):
        return 0
    d = ord(b) - ord(a)
    if d in (1, -1):
        return d
    return 1 if (a, b) == ("9", "0") else -1 if (a, b) == ("0", "9") else 0


def patterned_cover(v: str) -> int:
    """How many letters and digits of ``v`` lie in a sequential run (>= 3, e.g. ``abc``, ``7890``,
    ``cba``), a keyboard-row run (>= 4, ``qwerty``, ``asdf``) or a repeated unit (>= 6 long, unit
    repeated >= 3 times: ``xxxxxx``, ``ababab``, ``abcabcabc``). Linear in ``len(v)`` (x 8 units)."""
    n = len(v)
    covered = bytearray(n)
    i = 0
    while i < n - 1:  # sequential runs: maximal, one direction
        d = _steps(v, i)
        j = i
        while d and j < n - 1 and _steps(v, j) == d:
            j += 1
        if d and j - i + 1 >= SEQUENTIAL_MIN:
            covered[i:j + 1] = b"\x01" * (j - i + 1)
        i = max(j, i + 1)
    low = v.lower()
    i = 0
    while i < n - 1:  # keyboard runs: maximal, one direction
        j = i
        while j < n - 1 and (low[j], low[j + 1]) in _KEY_NEXT and (
                j == i or (low[j - 1], low[j]) in _KEY_NEXT and low[j + 1] != low[j - 1]):
            j += 1
        if j - i + 1 >= KEYBOARD_MIN:
            covered[i:j + 1] = b"\x01" * (j - i + 1)
        i = max(j, i + 1)
    for unit in range(1, 9):  # repeated units
        need = max(REPEAT_MIN, 3 * unit)
        start = 0
        for k in range(unit, n + 1):
            if k < n and v[k] == v[k - unit]:
                continue
            if k - start >= need:
                covered[start:k] = b"\x01" * (k - start)
            start = k - unit + 1 if k < n else k
    return sum(1 for c, flag in zip(v, covered) if flag and c.isascii() and c.isalnum())


def is_patterned(value: str) -> bool:
    """True when at least half of a value's letters and digits are sequential, keyboard or repeated
    runs (``abcdefgh.1234567890ABCDEFGHIJKL1234567890``, ``sk-1234567890``, ``abc123def456``).

    A random token from an alphabet of ``q`` characters starts a 3-long sequential run at a
    position with probability about ``2/q**2`` (1/128 for hex, 1/1922 for base62); covering half
    of a 32-character token takes several such runs, which random keys do not hold (see
    tests/test_precision_values.py for the measured rate on every rule's token shape).
    """
    alnum = sum(1 for c in value if c.isascii() and c.isalnum())
    return alnum >= 6 and patterned_cover(value) * 2 >= alnum * (PATTERNED_SHARE * 2)


def shannon_entropy(value: str) -> float:
    """Bits per character of the value's own character distribution (memoised like ``is_placeholder``)."""
    if type(value) is str and len(value) <= _MEMO_MAX_LEN:
        return _entropy_memo(value)
    return _entropy(value)


def _entropy(value: str) -> float:
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_entropy_memo = functools.lru_cache(maxsize=_MEMO_SIZE)(_entropy)


_CODE_LIKE = re.compile(
    r"""[()\[\]{}]|^(?:self|cls|os|sys|kwargs|args|config|settings|env)\b|^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_]
        |^(?:true|false|none|null|yes|no|on|off)$|^https?://|^\.\.?/|^[a-z]+(?:_[a-z]+)+$
        |^[A-Za-z_][A-Za-z0-9_]*(?:\|[A-Za-z_][A-Za-z0-9_]*)+$  # `str|None`, `APP_ID|token`: a union of names
        |(?-i:^[A-Za-z_][A-Za-z0-9_.-]*:(?:[A-Z][a-z]{2,}){3,}$)  # `clm54321:AgencyIdentificationCodeType`: an XML QName
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
