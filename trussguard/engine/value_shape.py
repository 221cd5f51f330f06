"""Is a generic-rule candidate a literal value, or code, a type, a path or prose?

The generic assignment rule matches ``<secret-like name> [=:] <run of characters>``. In code that
shape is also a type annotation (``credential: OAuthCredential``), an import (``use
crate::secrets::get_secret_from_file;``), an expression (``per_token_loss = -clamped_ratios * a``),
a volume mount (``./api-key.txt:/etc/baseten/api-key.txt:ro``), a line of vendored minified
JavaScript, or documentation prose (``calculate_per_token_loss: <Chinese text>``). A credential is
always a *literal*: a quoted string in code, or the bare right-hand side of an assignment in the
formats whose values are unquoted (.env, shell, INI, TOML, YAML, properties).

This module decides that from the file's kind (by extension) and the match's line, without a
parser: a few byte comparisons and bounded scans, so it stays linear and runs only on the rare
generic candidates that already passed the rule's name, entropy and placeholder filters.
"""

from __future__ import annotations

import posixpath

# Files whose values are quoted string literals: a bare word after `name =` / `name:` there is an
# identifier, a type or an expression, never a credential.
CODE_EXTENSIONS = frozenset({
    ".py", ".pyi", ".js", ".cjs", ".mjs", ".jsx", ".ts", ".tsx", ".mts", ".cts", ".go", ".rs",
    ".java", ".kt", ".kts", ".scala", ".groovy", ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh",
    ".cs", ".swift", ".m", ".mm", ".rb", ".php", ".dart", ".lua", ".pl", ".r", ".jl", ".zig",
    ".vue", ".svelte", ".proto", ".json", ".jsonc", ".json5",
})
# Minified bundles: one long line of code; a match inside is a vendored library's constant.
_MINIFIED_MIN_LINE = 250
_MINIFIED_PUNCT_EVERY = 40  # at least one `;`, `(` or `)` per this many bytes

# After an unquoted value, these start an expression rather than end a literal.
_OPERATOR_AFTER = frozenset(b"*+/%-?<>=.^|&([{")
# A value starting with these is an expression (`-x`, `!flag`, `*ptr`, `&ref`, `:path`).
_OPERATOR_BEFORE = frozenset("-!*&:~@^")
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGITS = frozenset("0123456789")
_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-:~")
_IDENT_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def file_kind(path: str | None) -> str:
    """``code`` (values must be quoted), ``minified`` (a bundle) or ``data`` (bare values allowed:
    .env, shell, INI, TOML, YAML, properties, docs, notebooks, unknown or no path)."""
    if not path:
        return "data"
    base = posixpath.basename(path.replace("\\", "/")).lower()
    if ".min." in base:
        return "minified"
    ext = posixpath.splitext(base)[1]
    return "code" if ext in CODE_EXTENSIONS else "data"


def is_literal_value(data: bytes, name_start: int, start: int, end: int, kind: str) -> bool:
    """True when ``data[start:end]``, bound to the name starting at ``name_start``, is a literal.

    ``kind`` comes from :func:`file_kind`. Only the match's own line is looked at.
    """
    if kind == "minified":
        return False
    before = data[name_start - 1:name_start] if name_start > 0 else b""
    quoted = start > 0 and data[start - 1:start] in (b'"', b"'", b"`")
    if before in (b"/", b"\\", b"@") or (before == b"$" and not quoted):
        return False  # `./api-key.txt:...` is a path, `$api_token` / `@token` a variable, not a target;
        # `$apiToken = "..."` (PHP, Perl, PowerShell) assigns a quoted literal to one
    line_start = data.rfind(b"\n", 0, start) + 1
    line_end = data.find(b"\n", end)
    if line_end == -1:
        line_end = len(data)
    if _looks_minified(data, line_start, line_end):
        return False
    value = data[start:end].decode("utf-8", "replace")
    if not value_shape_ok(value):
        return False
    quote = data[start - 1:start] if start > line_start else b""
    if quote in (b'"', b"'", b"`"):
        return _closed_literal(data, start, end, quote, line_start)
    if kind == "code":
        return False  # a bare word in code: identifier, type, call or expression
    return _ends_bare_value(data, end, line_end)


def _looks_minified(data: bytes, line_start: int, line_end: int) -> bool:
    """A very long line dense in `;` and parentheses: a bundled script, not a config line."""
    length = line_end - line_start
    if length < _MINIFIED_MIN_LINE:
        return False
    punct = (data.count(b";", line_start, line_end) + data.count(b"(", line_start, line_end)
             + data.count(b")", line_start, line_end))
    return punct * _MINIFIED_PUNCT_EVERY >= length


def _closed_literal(data: bytes, start: int, end: int, quote: bytes, line_start: int) -> bool:
    """The value fills its quotes: `"abc"` and not the head of `"abc${x}"`, `"abc" + x` or `f"abc{x}"`.

    An escaped quote (`\\"abc\\"` inside a notebook's JSON string) must close escaped too.
    """
    escaped = start - 2 >= line_start and data[start - 2:start - 1] == b"\\"
    closing = (b"\\" + quote) if escaped else quote
    return data[end:end + len(closing)] == closing


def _ends_bare_value(data: bytes, end: int, line_end: int) -> bool:
    """A bare value is the last thing of its assignment: end of line, a comment, a separator, a
    shell continuation; not the start of an expression (`-clamped_ratios * advantages`)."""
    i = end
    while i < line_end and data[i] in (0x20, 0x09):
        i += 1
    if i >= line_end:
        return True
    c = data[i]
    if c in (0x23, 0x3B, 0x2C, 0x5C, 0x22, 0x27, 0x5D, 0x7D, 0x29):  # # ; , \ " ' ] } )
        return True
    if c in (0x26, 0x7C):  # `&&` / `|` after `export TOKEN=...` in a shell line
        return i > end
    if c == 0x2F and data[i + 1:i + 2] == b"/":
        return True  # `// comment`
    return c not in _OPERATOR_AFTER


def value_shape_ok(value: str) -> bool:
    """Rejects values no credential has: non-ASCII letters, `::`, expression heads, dotted
    attribute chains, paths, and identifiers (snake_case, camelCase, `OAuthCredential`)."""
    if not value.isascii():
        return False  # prose in any script (`根据全局批次中的…`, `judge0访问Token。`)
    if "::" in value or value[0] in _OPERATOR_BEFORE:
        return False
    if value[0] in "/~" or value.startswith("./"):
        if all(ch in _PATH_CHARS or ch == "/" for ch in value) and value.count("/") >= 2:
            return False  # an absolute or relative path, a mount spec `/etc/x/api-key.txt:ro`
    value = value.rstrip(":.,;!?")  # `OBSERVATION_TOKEN = "Observation:"`: a word and its punctuation
    if not value:
        return False
    if _is_import_reference(value):
        return False  # `"ApiToken": "._internal.cloud.api_token:ApiToken"`, an entry point `pkg.mod:attr`
    if all(ch in _IDENT_CHARS or ch == "." for ch in value):
        parts = value.split(".")
        if len(parts) > 1 and all(p and p[0] not in _DIGITS and not _has_digit(p) for p in parts):
            return False  # `module.exports.CancellationToken`, `this.unsafe`
        if all(_is_wordy_identifier(p) for p in parts if p):
            return False
    return True


def _is_import_reference(value: str) -> bool:
    """`module.path:attribute` (lazy-import tables, entry points), made of wordy identifiers."""
    module, sep, attr = value.partition(":")
    if not sep or not attr or ":" in attr:
        return False
    parts = [p for p in module.split(".") if p] + [attr]
    return ("." in module and len(parts) >= 2 and all(ch in _IDENT_CHARS or ch == "." for ch in module)
            and all(all(ch in _IDENT_CHARS for ch in p) and not _has_digit(p) for p in parts))


def _has_digit(s: str) -> bool:
    return any(ch in _DIGITS for ch in s)


def _is_wordy_identifier(ident: str) -> bool:
    """Made of words, not random characters: no digit, words of four letters on average and a
    quarter of vowels (`CancellationToken`, `get_secret_from_file`, `OAuthCredential`). A random
    mixed-case token splits into words of about two letters (`aXbQrTz` -> a, Xb, Qr, Tz), and a
    random lower-case one has about one vowel in five letters."""
    if _has_digit(ident):
        return False
    words = 0
    letters = 0
    vowels = 0
    prev = ""
    for ch in ident:
        if ch == "_":
            prev = ch
            continue
        letters += 1
        vowels += ch in "aeiouAEIOU"
        # A word starts at a letter after `_`, at the start, or at an upper-case letter after a
        # lower-case one (camelCase); runs of capitals (`OAuth`, `AWS`) stay one word.
        if prev in ("", "_") or (ch.isupper() and prev.islower()):
            words += 1
        prev = ch
    return words > 0 and letters >= 4 * words and vowels * 4 >= letters
