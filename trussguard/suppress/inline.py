"""Inline suppression comments a reviewer can see, including other scanners' syntaxes so teams can migrate.

On the line of the finding: ``trussguard: allow`` (every rule on that line) or
``trussguard: allow[rule-id, ...]`` (those rules only), detect-secrets' ``pragma: allowlist secret``
and gitleaks' ``gitleaks:allow``. Alone on the line before it: ``trussguard: allow-next-line``
(optionally ``[rule-id, ...]``) and detect-secrets' ``pragma: allowlist nextline secret``.

A suppression hides a credential from a CI gate, so a marker counts only where a reviewer reading
the diff sees a comment that says so:

- **Only inside a real comment of the file's language.** Python is read with ``tokenize`` (a file
  that does not tokenize falls back to a lexer that still skips every string literal, triple-quoted
  ones included); other languages by their comment syntax on the line (``#`` for YAML, shell, TOML,
  .env, Dockerfile, Makefile, requirements, R, Ruby, Perl; ``#``/``;`` for .cfg/.ini; ``//`` and
  ``/* */`` for the C family, JS/TS, Go, Rust, Java, Kotlin, Swift, Scala, PHP (``#`` too);
  ``<!-- -->`` for Markdown/HTML/XML; ``--`` for SQL), never inside quotes. JSON, JSONL and
  notebooks have no comments, so no marker counts there: use the baseline. Any other file: a
  ``#`` or ``//`` comment that starts the line or follows whitespace, outside quotes.
  ``x = "trussguard: allow"`` and ``https://host/p#gitleaks:allow`` allow nothing.
- **Lines are what an editor shows.** Every terminator an editor breaks a line at (``\\n``,
  ``\\r\\n``, a lone ``\\r``, ``\\v``, ``\\f``, ``\\x1c``-``\\x1e``, U+0085, U+2028, U+2029) ends a
  line, so a CR-only file or a U+2028 in YAML cannot put a marker on a finding's "line".
- **Visible.** A finding on a line longer than ``MAX_LINE`` characters (a 30 KB minified bundle
  or one-line JSON) cannot be suppressed inline at all: nobody reviews such a line, and one
  marker would hide every key on it; use the baseline or ``allow-values``. A marker pushed right
  by more than ``MAX_INDENT`` columns of blanks (same line or the line above) does not count.
- **Read as written.** A line holding a bidirectional control character (Trojan Source) neither
  carries a marker nor is suppressed: what a reviewer sees there is not what the file says.
- **Well formed.** ``trussguard: allow[TG205`` (unclosed), ``allow[]``, ``allow-foo`` and any
  other unknown spelling allow nothing; bare ``trussguard: allow`` allows every rule on its line.

``Inline(data, path)`` answers for one file and does the work once (line index, comment spans)
and only when some candidate line mentions ``allow``: files without matches are never read here.
"""

from __future__ import annotations

import bisect
import posixpath
import re
import tokenize

from trussguard.types import Match

MAX_LINE = 1000  # characters: longer lines are not reviewed, so nothing on them is suppressed inline
MAX_INDENT = 120  # columns of blanks (a tab counts 8) before a marker's comment

# Every line terminator an editor (or Python's str.splitlines) shows as a new line.
_TERMINATOR = re.compile(rb"\r\n|[\n\r\x0b\x0c\x1c-\x1e]|\xc2\x85|\xe2\x80[\xa8\xa9]")
_HINT = re.compile(rb"allow", re.I)
# Bidirectional controls (U+061C, U+200E/F, U+202A-E, U+2066-9) reorder what a reviewer sees
# ("Trojan Source"): a line holding one is not read as displayed, so nothing on it is suppressed.
_BIDI = re.compile(rb"\xd8\x9c|\xe2\x80[\x8e\x8f\xaa-\xae]|\xe2\x81[\xa6-\xa9]")
_MARKER = re.compile(
    rb"trussguard:[ \t]*allow(?P<next>-next-line)?(?P<rest>[ \t]*\[[^\]\r\n]*\]?|[A-Za-z0-9_\-]*)"
    rb"|pragma:[ \t]*allowlist[ \t-]+(?P<dsnext>nextline[ \t-]+)?secret(?![A-Za-z0-9_])"
    rb"|gitleaks:allow(?![A-Za-z0-9_])", re.I)
_GAP = re.compile("[\\s\u00a0\u00ad\u115f\u1160\u180e\u2000-\u200f\u202a-\u202f\u205f-\u206f\u3000\u3164\ufeff]+")
_RULE_ID = re.compile(rb"[A-Za-z0-9_.:/\-]+")

PYTHON, HASH, INI, SLASH, PHP, MARKUP, SQL, NONE, UNKNOWN = \
    "python", "hash", "ini", "slash", "php", "markup", "sql", "none", "unknown"
_BY_EXTENSION = {
    **dict.fromkeys((".py", ".pyi", ".pyw"), PYTHON),
    **dict.fromkeys((".yaml", ".yml", ".sh", ".bash", ".zsh", ".ksh", ".toml", ".env", ".mk", ".r", ".rb",
                     ".pl", ".pm", ".dockerfile", ".properties", ".tf", ".hcl"), HASH),
    **dict.fromkeys((".cfg", ".ini", ".conf"), INI),
    **dict.fromkeys((".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".mts", ".cts", ".go", ".rs", ".java", ".c",
                     ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx", ".cs", ".kt", ".kts", ".swift",
                     ".scala", ".sc", ".groovy", ".gradle", ".dart", ".proto"), SLASH),
    ".php": PHP,
    **dict.fromkeys((".md", ".markdown", ".html", ".htm", ".xhtml", ".xml", ".svg"), MARKUP),
    ".sql": SQL,
    **dict.fromkeys((".json", ".jsonl", ".ndjson", ".ipynb", ".geojson"), NONE),
}
_BY_NAME = {"dockerfile": HASH, "containerfile": HASH, "makefile": HASH, "gnumakefile": HASH, ".env": HASH,
            "pipfile": HASH, ".gitignore": HASH, ".dockerignore": HASH}
_QUOTES = {HASH: b"'\"", INI: b"'\"", SLASH: b"'\"`", PHP: b"'\"`", SQL: b"'\"", UNKNOWN: b"'\"",
           PYTHON: b"'\"", MARKUP: b""}


def language(path: str | None) -> str:
    """The comment syntax of ``path`` by its name (``UNKNOWN`` when it says nothing)."""
    if not path:
        return UNKNOWN
    name = posixpath.basename(path).lower()
    ext = posixpath.splitext(name)[1]
    if name in _BY_NAME or name.startswith((".env.", "dockerfile.", "containerfile.")):
        return HASH
    if name.startswith("requirements") and ext in (".txt", ".in"):
        return HASH
    return _BY_EXTENSION.get(ext, UNKNOWN)


def is_suppressed(data: bytes, match: Match, path: str | None = None) -> bool:
    """True when a visible marker in a real comment allows the match's rule at its line."""
    return Inline(data, path).marker(match.start, match.rule_id) is not None


class Inline:
    """The inline markers of one file; ``marker(offset, rule)`` says which one allows a finding."""

    def __init__(self, data: bytes, path: str | None = None):
        self.data, self.path, self.lang = data, path, language(path)
        self._hinted = self.lang != NONE and _HINT.search(data) is not None
        self._starts: list[int] | None = None  # offsets where lines start
        self._ends: list[int] | None = None  # offsets where their content ends (before the terminator)
        self._python: list[tuple[int, int]] | None = None  # comment spans of a Python file
        self._readings: dict[int, list[int]] = {}  # line starts as each parser in _READINGS counts lines

    def marker(self, offset: int, rule_id: str) -> str | None:
        """The marker (normalised, e.g. ``trussguard: allow[TG205]``) that allows ``rule_id`` at
        ``offset``, or None. Never returns text copied from the file beyond the marker's syntax."""
        if not self._hinted:
            return None
        n = self._line_of(offset)
        start, end = self._starts[n], self._ends[n]
        if not self._reviewable(start, end):
            return None
        found = self._find(start, end, rule_id, next_line=False)
        if found is None and n > 0:
            above_start, above_end = self._starts[n - 1], self._ends[n - 1]
            if self._reviewable(above_start, above_end):
                found = self._find(above_start, above_end, rule_id, next_line=True)
        return found

    def marker_at_line(self, line: int, rule_id: str) -> str | None:
        """As ``marker`` for a 1-based line number, as parsers count lines (a Truss check's hit).

        Parsers disagree on what ends a line (ast: ``\\r``/``\\n``; YAML: also U+0085, U+2028,
        U+2029; a plain split: ``\\n``): the line is looked up under each, and allowed only when
        every reading finds it allowed, so no reading can move a marker onto another line's finding."""
        if not self._hinted or line < 1:
            return None
        found = None
        for reading, splitter in enumerate(_READINGS):
            if reading not in self._readings:
                self._readings[reading] = [0] + [m.end() for m in splitter.finditer(self.data)]
            starts = self._readings[reading]
            if line > len(starts):
                return None
            found = self.marker(starts[line - 1], rule_id)
            if found is None:
                return None
        return found

    # ----------------------------------------------------------------------------------- lines

    def _line_of(self, offset: int) -> int:
        if self._starts is None:
            starts, ends = [0], []
            for m in _TERMINATOR.finditer(self.data):
                ends.append(m.start())
                starts.append(m.end())
            ends.append(len(self.data))
            self._starts, self._ends = starts, ends
        return bisect.bisect_right(self._starts, offset) - 1

    def _reviewable(self, start: int, end: int) -> bool:
        """Short enough for a reviewer to read whole (``MAX_LINE`` characters), and shown in the
        order it is written (no bidirectional control)."""
        size = end - start
        if size > 4 * MAX_LINE or _BIDI.search(self.data, start, end):
            return False
        return size <= MAX_LINE or len(self.data[start:end].decode("utf-8", "replace")) <= MAX_LINE

    # -------------------------------------------------------------------------------- markers

    def _find(self, start: int, end: int, rule_id: str, next_line: bool) -> str | None:
        line = self.data[start:end]
        if _HINT.search(line) is None:
            return None
        for c_start, c_end in self._comments(start, end):
            if next_line and (line[:c_start].strip(b" \t") or line[c_end:].strip(b" \t")):
                continue  # a next-line marker's comment stands alone on its line
            for m in _MARKER.finditer(line, c_start, c_end):
                found = _allows(m, rule_id, next_line)
                if found is not None and _widest_gap(line[:m.start()]) <= MAX_INDENT:
                    return found
        return None

    def _comments(self, start: int, end: int) -> list[tuple[int, int]]:
        """Comment spans that start on the line [start, end), relative to ``start`` and cut at its end
        (a Python comment runs to ``\\r``/``\\n``, past a U+2028 or form feed that ends an editor's line)."""
        if self.lang == PYTHON:
            spans = self._python_comments()
            first = bisect.bisect_left(spans, (start, start))
            last = bisect.bisect_left(spans, (end, end), first)
            return [(s - start, min(e, end) - start) for s, e in spans[first:last]]
        return line_comments(self.data[start:end], self.lang)

    def _python_comments(self) -> list[tuple[int, int]]:
        if self._python is None:
            try:
                self._python = _tokenized_comments(self.data)
            except (tokenize.TokenError, SyntaxError, ValueError, UnicodeError, RecursionError):
                self._python = [(m.start("c"), m.end("c")) for m in _PY_LEX.finditer(self.data) if m.group("c")]
        return self._python


def _allows(m: re.Match, rule_id: str, next_line: bool) -> str | None:
    """The normalised marker when ``m`` is a well-formed marker of the wanted form allowing ``rule_id``."""
    text = m.group(0).lower()
    if text.startswith(b"gitleaks"):
        return None if next_line else "gitleaks:allow"
    if text.startswith(b"pragma"):
        is_next = m.group("dsnext") is not None
        if is_next != next_line:
            return None
        return "pragma: allowlist nextline secret" if is_next else "pragma: allowlist secret"
    if (m.group("next") is not None) != next_line:
        return None
    form = "trussguard: allow-next-line" if next_line else "trussguard: allow"
    rest = m.group("rest").lstrip(b" \t")
    if rest == b"":
        return form
    if not (rest.startswith(b"[") and rest.endswith(b"]") and len(rest) > 2):
        return None  # unclosed, empty or unknown spelling: allows nothing
    ids = [i.strip(b" \t") for i in rest[1:-1].split(b",")]
    if not all(_RULE_ID.fullmatch(i) for i in ids):
        return None
    return f"{form}[{rule_id}]" if rule_id.encode() in ids else None


def _widest_gap(prefix: bytes) -> int:
    """Columns of the widest run of blank or invisible characters before a marker (a tab counts 8):
    300 spaces, no-break spaces or zero-width characters push a marker off a reviewer's screen."""
    if len(prefix) <= MAX_INDENT:
        return 0
    text = prefix.decode("utf-8", "replace")
    return max((len(m.group(0).expandtabs(8)) for m in _GAP.finditer(text)), default=0)


# How parsers count lines: a plain split, Python (ast, tokenize), YAML, and every terminator.
_READINGS = (re.compile(rb"\n"), re.compile(rb"\r\n|\r|\n"), re.compile(rb"\r\n|[\r\n]|\xc2\x85|\xe2\x80[\xa8\xa9]"),
             _TERMINATOR)


# ------------------------------------------------------------------------------------ Python


def _tokenized_comments(data: bytes) -> list[tuple[int, int]]:
    """Byte spans of the COMMENT tokens of a Python file. Decoded as UTF-8 with surrogateescape
    (never by the file's coding cookie: a first line like ``# TODO hf_...`` is not an encoding),
    so every character maps back to its bytes exactly."""
    text = data.decode("utf-8", "surrogateescape")
    # Python ends lines at \r, \r\n and \n; a lone \r becomes \n (same length: columns unchanged).
    text = re.sub("\r(?!\n)", "\n", text)
    rows = _split_rows(text)
    row_bytes = [0]
    for row in rows:
        row_bytes.append(row_bytes[-1] + len(row.encode("utf-8", "surrogateescape")))
    spans = []
    feed = iter(rows)
    for tok in tokenize.generate_tokens(lambda: next(feed, "")):
        if tok.type == tokenize.COMMENT:
            (row, col) = tok.start
            base = row_bytes[row - 1]
            line = rows[row - 1]
            s = base + len(line[:col].encode("utf-8", "surrogateescape"))
            spans.append((s, s + len(tok.string.encode("utf-8", "surrogateescape"))))
    return spans


def _split_rows(text: str) -> list[str]:
    """Rows as ``tokenize`` reads them: ended by ``\\n`` only (keeping it)."""
    rows = text.split("\n")
    out = [r + "\n" for r in rows[:-1]]
    if rows[-1]:
        out.append(rows[-1])
    return out


# The fallback for Python that does not tokenize: strings (triple-quoted across lines, single-quoted
# up to the end of the line) are skipped whole; what remains after a # is a comment.
_PY_LEX = re.compile(
    rb'(?P<s>[rRbBuUfF]{0,2}(?:"""(?:\\.|[^\\])*?(?:"""|\Z)|\'\'\'(?:\\.|[^\\])*?(?:\'\'\'|\Z)'
    rb'|"(?:\\.|[^"\\\r\n])*(?:"|(?=[\r\n])|\Z)|\'(?:\\.|[^\'\\\r\n])*(?:\'|(?=[\r\n])|\Z)))'
    rb'|(?P<c>#[^\r\n]*)', re.S)


# ------------------------------------------------------------------------------ other languages


def _line_comment_at(line: bytes, i: int, lang: str, after_blank: bool) -> bool:
    """True when a comment running to the end of the line starts at ``i``."""
    ch = line[i:i + 1]
    if lang in (SLASH, PHP) and line.startswith(b"//", i):
        return True
    if lang == SQL:
        return line.startswith(b"--", i)
    if lang == PHP:
        return ch == b"#" and not line.startswith(b"#[", i)
    if lang == UNKNOWN and line.startswith(b"//", i):
        return after_blank
    return after_blank and (ch == b"#" and lang in (HASH, INI, UNKNOWN) or ch == b";" and lang == INI)


# Block comments (opener, closer) that may also sit inside one line.
_BLOCK_COMMENTS = {MARKUP: (b"<!--", b"-->"), SLASH: (b"/*", b"*/"), PHP: (b"/*", b"*/"), SQL: (b"/*", b"*/")}


def line_comments(line: bytes, lang: str) -> list[tuple[int, int]]:
    """Comment spans on one line (no terminator inside), for a language other than Python. Quotes
    are followed from the line's start (a backslash escapes the next character); a comment never
    starts inside them. Conservative: text after a quote that does not close is never a comment."""
    if lang in (NONE, PYTHON):
        return [] if lang == NONE else [(m.start("c"), m.end("c")) for m in _PY_LEX.finditer(line) if m.group("c")]
    quotes = _QUOTES[lang]
    out: list[tuple[int, int]] = []
    i, n = 0, len(line)
    while i < n:
        ch = line[i:i + 1]
        if ch and ch in quotes:
            j = i + 1
            while j < n and line[j:j + 1] != ch:
                j += 2 if line[j:j + 1] == b"\\" else 1
            if j >= n:
                return out  # unclosed quote: nothing after it is a comment
            i = j + 1
            continue
        after_blank = i == 0 or line[i - 1:i] in (b" ", b"\t")
        opener, closer = _BLOCK_COMMENTS.get(lang, (None, None))
        if opener is not None and line.startswith(opener, i):
            close = line.find(closer, i + len(opener))
            out.append((i, n if close < 0 else close + len(closer)))
            if close < 0:
                return out
            i = close + len(closer)
            continue
        if _line_comment_at(line, i, lang, after_blank):
            out.append((i, n))
            return out
        i += 1
    return out
