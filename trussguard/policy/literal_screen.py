"""Which versions of a Python file can hold a literal secret at all, decided without parsing them.

Why: the history audit runs the Python value checks (TG201-TG204, TG210, TG212) on every version
of every model file, and parsing them is most of the audit's time (2,045 versions of a 16 KB
model.py: ~1.5 s of ``ast.parse`` alone, as much again in the checks). Every leak those checks
report comes from a string literal whose value is *shaped* (a credential rule recognises a token
in it) or passes ``is_literal_credential``; so a version whose literals can do neither needs no
parse. This module lexes only comments and string tokens with one linear regex and decides that
conservatively:

- a version with any credential-rule match (the caller passes that in) is parsed: a shaped
  literal of one token is in the bytes as they are, where the rules see it;
- every run of string tokens joined by ``+``, parentheses, line breaks or comments (the pieces
  of one implicitly or explicitly concatenated literal), and every contiguous part of such a run,
  is tested with ``is_literal_credential``; runs of two or more pieces also go through ``shaped``,
  since a rule cannot see a token split across pieces;
- escapes are decoded exactly (``ast.literal_eval`` of the token); the strings inside f-string
  fields are screened too; command-line secrets (Chains ``pip_requirements``/``build_commands``)
  are looked for with the checks' own patterns;
- whatever the lexer cannot account for (a stray quote, an f-string cut short by 3.12 same-quote
  nesting, an undecodable escape, a non-UTF-8 file, a run of more than ``MAX_RUN`` pieces) makes
  the answer "parse it". A file that does not parse has no findings from these checks anyway.
"""

from __future__ import annotations

import ast
import re
from typing import Callable, Iterator

from trussguard.engine.heuristics import LITERAL_MIN_LENGTH, is_literal_credential

MAX_RUN = 64  # pieces of one concatenated literal screened part by part; more: parse the file
# A string token's body. Every alternative starts with a different character, so the pattern is
# unambiguous and a failed attempt (an unterminated string) costs one linear pass.
_BODY = r"""(?:
        '''[^'\\]*(?:(?:\\.|'(?!')|''(?!'))[^'\\]*)*'''
       |\"\"\"[^"\\]*(?:(?:\\.|"(?!")|""(?!"))[^"\\]*)*\"\"\"
       |'[^'\\\n]*(?:\\.[^'\\\n]*)*'
       |"[^"\\\n]*(?:\\.[^"\\\n]*)*")"""
_PREFIX = r"[rRbBuUfF]{0,2}"
# What may stand between the pieces of one literal: space, brackets, `+`, a line continuation, and
# comments to the end of their line (the look-ahead keeps a quote inside a comment from counting).
_JOIN = r"[\s()+\\]*(?:\#[^\n]*(?![^\n])[\s()+\\]*)*"
# One match per comment, per run of joined string tokens, or per quote that starts no string.
# It starts at a quote (the prefix letters are read back from the text): the look-ahead on the
# first character lets the regex engine skip ahead, three times faster than trying every position.
_RUN = re.compile(rf"(?=[\#'\"])(?:\#[^\n]*|({_BODY}(?:{_JOIN}{_PREFIX}{_BODY})*)|(['\"]))",
                  re.VERBOSE | re.DOTALL)
_PREFIX_BEFORE = re.compile(r"(?<![A-Za-z0-9_])[rRbBuUfF]{1,2}$")  # `rb"..."`, not the `f` of `if"..."`
_TOKEN = re.compile(rf"\#[^\n]*|(?P<prefix>{_PREFIX})(?P<string>{_BODY})", re.VERBOSE | re.DOTALL)
_SHORT = LITERAL_MIN_LENGTH + 2  # a one-piece run shorter than this (quotes included) is no credential


class _Undecided(Exception):
    """The lexer met something it cannot account for: the file must be parsed."""


def may_hold_literal_secret(data: bytes, shaped: Callable[[str], bool], command_patterns=()) -> bool:
    """False only when no string literal of ``data`` can be reported by the Python value checks.

    ``shaped(text)`` says whether a credential rule recognises a token in ``text``;
    ``command_patterns`` are the checks' command-line secret patterns (pass them for Chains files).
    """
    try:
        text = data.decode("utf-8")
        return any(_run_may_hold(run, shaped, command_patterns) for run in _runs(text))
    except (_Undecided, UnicodeDecodeError):
        return True


def _runs(text: str) -> Iterator[list[str]]:
    """The values of the string literals, as runs of the pieces one literal can be joined from
    (by ``+``, brackets or space); the strings inside f-string fields come out as runs of their own.

    One regex pass finds whole runs; only runs long enough to matter, or of several pieces
    (more than two quote characters), are taken apart: most literals are short labels.
    """
    for found in _RUN.finditer(text):
        run, stray = found.groups()
        if stray:
            raise _Undecided
        if run and (len(run) >= _SHORT or run.count('"') + run.count("'") > 2):
            prefix = _PREFIX_BEFORE.search(text, max(0, found.start() - 3), found.start())
            yield from _pieces((prefix.group() if prefix else "") + run)


def _pieces(run_text: str) -> Iterator[list[str]]:
    """One run's token values; a bytes piece or an f-string with fields breaks it in two."""
    run: list[str] = []
    for token in _TOKEN.finditer(run_text):
        if token.group("string") is None:  # a comment between the pieces
            continue
        prefix, string = token.group("prefix").lower(), token.group("string")
        quote = 3 if string[:3] in ("'''", '"""') else 1
        body = string[quote:-quote]
        if "f" in prefix:
            yield from _runs(body)
        value = _value(prefix, string, body)
        if value is None:
            if run:
                yield run
            run = []
        else:
            run.append(value)
    if run:
        yield run


def _value(prefix: str, string: str, body: str) -> str | None:
    """A token's str value; None for bytes and for f-strings with fields (no literal value)."""
    if "b" in prefix:
        return None
    if "f" in prefix:
        fields = body.replace("{{", "").replace("}}", "")
        if fields.count("{") != fields.count("}"):  # cut short by same-quote nesting (3.12)
            raise _Undecided
        if "{" in fields:
            return None
        if "\\" in body:
            raise _Undecided
        return body.replace("{{", "{").replace("}}", "}")
    if "\\" not in body or "r" in prefix:
        return body
    try:
        return ast.literal_eval(prefix + string)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise _Undecided from None


def _run_may_hold(run: list[str], shaped: Callable[[str], bool], command_patterns) -> bool:
    """Every contiguous part of the run, as the checks could see it as one literal's value."""
    if len(run) > MAX_RUN:
        return True
    for i in range(len(run)):
        value = ""
        for j in range(i, len(run)):
            value += run[j]
            if j > i and shaped(value):
                return True
            if len(value) < LITERAL_MIN_LENGTH:  # is_literal_credential's first test, without its cost
                continue
            if is_literal_credential(value):
                return True
            if any(is_literal_credential(m.group("secret")) for p in command_patterns for m in p.finditer(value)):
                return True
    return False
