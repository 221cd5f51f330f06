"""Which versions of a Python file can hold a literal secret at all, decided without parsing them.

Why: the history audit runs the Python value checks (TG201-TG204, TG210, TG212) on every version
of every model file, and parsing them is most of the audit's time (2,045 versions of a 16 KB
model.py: ~1.5 s of ``ast.parse`` alone, as much again in the checks). Every leak those checks
report comes from a string literal whose value is *shaped* (a credential rule recognises a token
in it) or passes ``is_literal_credential``; so a version whose literals can do neither needs no
parse. This module lexes only comments and string tokens with one linear regex and decides that
conservatively:

- a version with any credential-rule match (the caller passes that in) is parsed: a one-line
  literal that reads as written is in the bytes between quotes, where the rules see it as they
  see it alone (every rule accepts a quote where it accepts the edge of a line);
- every run of string tokens joined by ``+``, parentheses, line breaks or comments (the pieces
  of one implicitly or explicitly concatenated literal), and every contiguous part of such a run,
  is tested with ``is_literal_credential``; runs of two or more pieces also go through ``shaped``,
  since a rule cannot see a token split across pieces, and so does a literal that does not read
  as written (an escape or a line continuation decoded, or a value spanning lines);
- escapes are decoded exactly (``ast.literal_eval`` of the token) and line ends are read as
  Python reads them (``\\r\\n`` and a lone ``\\r`` are newlines); only the replacement fields of an
  f-string or t-string are lexed as code (never its text, where a ``#`` or a quote is text), and
  the strings inside them are screened too; command-line secrets (Chains
  ``pip_requirements``/``build_commands``) are looked for with the checks' own patterns;
- whatever the lexer cannot account for (a stray quote, an f-string cut short by 3.12 same-quote
  nesting, an undecodable escape, a non-UTF-8 file or encoding declaration, a run of more than
  ``MAX_RUN`` pieces, more work than ``WORK_PER_CHAR`` per character of the file) makes the answer
  "parse it". A file that does not parse has no findings from these checks anyway.
"""

from __future__ import annotations

import ast
import codecs
import re
import warnings
from typing import Callable, Iterator

from trussguard.engine.heuristics import LITERAL_MIN_LENGTH, is_literal_credential

MAX_RUN = 64  # pieces of one concatenated literal screened part by part; more: parse the file
# Characters the screen may test per character of the file, plus a floor, a call to ``shaped``
# counting as SHAPED_COST more: screening every part of a run costs O(pieces^2 x length), so a file
# of long many-piece literals is cheaper to parse than to screen.
WORK_PER_CHAR, WORK_FLOOR, SHAPED_COST = 8, 1 << 15, 128
# A string token's body. Every alternative starts with a different character, so the pattern is
# unambiguous and a failed attempt (an unterminated string) costs one linear pass.
_BODY = r"""(?:
        '''[^'\\]*(?:(?:\\.|'(?!')|''(?!'))[^'\\]*)*'''
       |\"\"\"[^"\\]*(?:(?:\\.|"(?!")|""(?!"))[^"\\]*)*\"\"\"
       |'[^'\\\n]*(?:\\.[^'\\\n]*)*'
       |"[^"\\\n]*(?:\\.[^"\\\n]*)*")"""
_PREFIX = r"[rRbBuUfFtT]{0,2}"
# What may stand between the pieces of one literal: space, brackets, `+`, a line continuation, and
# comments to the end of their line (the look-ahead keeps a quote inside a comment from counting).
_JOIN = r"[\s()+\\]*(?:\#[^\n]*(?![^\n])[\s()+\\]*)*"
# One match per comment, per run of joined string tokens, or per quote that starts no string.
# It starts at a quote (the prefix letters are read back from the text): the look-ahead on the
# first character lets the regex engine skip ahead, three times faster than trying every position.
_RUN = re.compile(rf"(?=[\#'\"])(?:\#[^\n]*|({_BODY}(?:{_JOIN}{_PREFIX}{_BODY})*)|(['\"]))",
                  re.VERBOSE | re.DOTALL)
_PREFIX_BEFORE = re.compile(r"(?<![A-Za-z0-9_])[rRbBuUfFtT]{1,2}$")  # `rb"..."`, not the `f` of `if"..."`
_TOKEN = re.compile(rf"\#[^\n]*|(?P<prefix>{_PREFIX})(?P<string>{_BODY})", re.VERBOSE | re.DOTALL)
_SHORT = LITERAL_MIN_LENGTH + 2  # a one-piece run shorter than this (quotes included) is no credential
_STRING = re.compile(_BODY, re.VERBOSE | re.DOTALL)  # a string nested in an f-string's field
_FIELD_TEXT = re.compile(r"[^\\{}]*")  # literal text of an f-string up to an escape or a brace
_FIELD_CODE = re.compile(r"[^'\"#()\[\]{}:]*")  # field code up to a string, comment, bracket or colon
_COOKIE = re.compile(r"[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")  # PEP 263, on line 1 or 2


class _Undecided(Exception):
    """The lexer met something it cannot account for: the file must be parsed."""


def may_hold_literal_secret(data: bytes, shaped: Callable[[str], bool], command_patterns=()) -> bool:
    """False only when no string literal of ``data`` can be reported by the Python value checks.

    ``shaped(text)`` says whether a credential rule recognises a token in ``text``;
    ``command_patterns`` are the checks' command-line secret patterns (pass them for Chains files).
    """
    try:
        text = data.decode("utf-8")
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")  # as Python's tokenizer does
        for line in text.split("\n", 2)[:2]:
            cookie = _COOKIE.match(line)
            if cookie and _codec(cookie.group(1)) != "utf-8":
                return True  # Python decodes the file otherwise than screened here
        budget = _Budget(WORK_PER_CHAR * len(text) + WORK_FLOOR)
        return any(_run_may_hold(run, shaped, command_patterns, budget) for run in _runs(text))
    except (_Undecided, UnicodeDecodeError, RecursionError):
        return True


def _codec(name: str) -> str | None:
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


class _Budget:
    """Characters left to test; running out means the file is cheaper to parse than to screen."""

    def __init__(self, chars: int):
        self.left = chars

    def spend(self, chars: int) -> None:
        self.left -= chars
        if self.left < 0:
            raise _Undecided


def _runs(text: str) -> Iterator[list[tuple[str, bool]]]:
    """The values of the string literals, as runs of the pieces one literal can be joined from
    (by ``+``, brackets or space); the strings inside f-string fields come out as runs of their own.
    Each piece comes with whether it reads as written (one line, nothing decoded).

    One regex pass finds whole runs; only runs long enough to matter, of several pieces (more
    than two quote characters) or with a brace (an f-string's field) are taken apart: most
    literals are short labels.
    """
    for found in _RUN.finditer(text):
        run, stray = found.groups()
        if stray:
            raise _Undecided
        if run and (len(run) >= _SHORT or run.count('"') + run.count("'") > 2 or "{" in run):
            prefix = _PREFIX_BEFORE.search(text, max(0, found.start() - 3), found.start())
            yield from _pieces((prefix.group() if prefix else "") + run)


def _pieces(run_text: str) -> Iterator[list[tuple[str, bool]]]:
    """One run's token values; a bytes piece, a t-string or an f-string with fields breaks it in two."""
    run: list[tuple[str, bool]] = []
    for token in _TOKEN.finditer(run_text):
        if token.group("string") is None:  # a comment between the pieces
            continue
        prefix, string = token.group("prefix").lower(), token.group("string")
        quote = 3 if string[:3] in ("'''", '"""') else 1
        body = string[quote:-quote]
        fields = None
        if "f" in prefix or "t" in prefix:
            fields = _fields(body, "r" in prefix)
            for field in fields:
                yield from _runs(field)
        value = _value(prefix, string, body, fields)
        if value is None:
            if run:
                yield run
            run = []
        else:
            run.append((value, value == body and "\n" not in value))
    if run:
        yield run


def _fields(body: str, raw: bool) -> list[str]:
    """The code of each replacement field of an f-string (or t-string) body, those nested in format
    specs included; the literal text around them is never lexed as code (a ``#`` or a quote there
    is text). A body that ends inside a field was cut short by 3.12 same-quote nesting: undecided."""
    fields: list[str] = []
    i = 0
    while True:
        i = _FIELD_TEXT.match(body, i).end()
        if i == len(body):
            return fields
        if body[i] == "\\":
            if body.startswith("\\N{", i) and not raw:  # a named escape, not a field
                i = body.find("}", i) + 1
                if i == 0:
                    raise _Undecided
            else:  # `\{` is a backslash, then a field
                i += 1 if raw or body[i + 1:i + 2] in "{}" else 2
        elif body.startswith(("{{", "}}"), i):
            i += 2
        elif body[i] == "{":
            i = _field(body, i + 1, fields)
        else:
            i += 1  # a lone "}": not valid Python


def _field(body: str, i: int, fields: list[str]) -> int:
    """Reads the field starting at ``body[i]`` (after its brace) into ``fields``; returns the index past it."""
    start, depth, n = i, 0, len(body)
    while True:
        i = _FIELD_CODE.match(body, i).end()
        if i >= n:
            raise _Undecided
        c = body[i]
        if c in "'\"":
            nested = _STRING.match(body, i)
            if nested is None:
                raise _Undecided
            i = nested.end()
        elif c == "#":  # a comment inside a multi-line field (3.12)
            i = body.find("\n", i) + 1
            if i == 0:
                raise _Undecided
        elif c in "([{":
            depth, i = depth + 1, i + 1
        elif c in ")]" or (c == "}" and depth):
            if not depth:
                raise _Undecided  # a bracket closed that was never opened: not valid Python
            depth, i = depth - 1, i + 1
        elif c == ":" and depth:
            i += 1  # a slice, a dict entry or a lambda inside brackets
        else:  # the field's closing brace, or the colon opening its format spec
            fields.append(body[start:i])
            return i + 1 if c == "}" else _spec(body, i + 1, fields)


def _spec(body: str, i: int, fields: list[str]) -> int:
    """Reads a format spec (literal text, fields nested in braces) up to the field's closing brace."""
    while True:
        i = _FIELD_TEXT.match(body, i).end()
        if i == len(body) or body[i] == "\\":
            raise _Undecided
        if body[i] == "}":
            return i + 1
        i = _field(body, i + 1, fields)


def _value(prefix: str, string: str, body: str, fields: list[str] | None) -> str | None:
    """A token's str value; None for bytes, t-strings and f-strings with fields (no literal value)."""
    if "b" in prefix or "t" in prefix:
        return None
    if "f" in prefix:
        if fields:
            return None
        if "\\" in body:
            raise _Undecided
        return body.replace("{{", "{").replace("}}", "}")
    if "\\" not in body or "r" in prefix:
        return body
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an invalid escape warns (3.12: SyntaxWarning); -W error must not change the answer
            return ast.literal_eval(prefix + string)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise _Undecided from None


def _run_may_hold(run: list[tuple[str, bool]], shaped: Callable[[str], bool], command_patterns,
                  budget: _Budget) -> bool:
    """Every contiguous part of the run, as the checks could see it as one literal's value."""
    if len(run) > MAX_RUN:
        return True
    for i in range(len(run)):
        value = ""
        for j in range(i, len(run)):
            value += run[j][0]
            budget.spend(len(value))
            if j > i or not run[i][1]:
                budget.spend(SHAPED_COST)
                if shaped(value):
                    return True
            if len(value) < LITERAL_MIN_LENGTH:  # is_literal_credential's first test, without its cost
                continue
            if is_literal_credential(value):
                return True
            if any(is_literal_credential(m.group("secret")) for p in command_patterns for m in p.finditer(value)):
                return True
    return False
