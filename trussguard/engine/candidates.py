"""Candidate positions for a whole-text rule, found by the keyword prefilter's hyperscan pass.

``generic.secret-assignment`` runs on the whole text of any file that says `token` or `secret`
(most ML code): one RE2 pass over 636 MB of the truss history was its cost (1.3 s). Hyperscan
finds, in the pass it already makes for the keywords (+0.05 s), every place where a *necessary
part* of the rule can end: the secret word, the rest of the name, the operator and the first 12
characters of the value. Every match of the rule contains such a part, so it lies within ``width``
bytes of a reported end; RE2, still the engine that decides, then runs only on those stretches,
so the matches and their order are the same as one pass over the whole text (see
``Matcher._whole_matches`` for the argument). For a rule that runs in windows around its keywords,
a window that holds no reported end cannot hold a match, and is skipped.

The hyperscan pattern is written by hand for one exact rule pattern (keyed by its SHA-256): when
the rule changes, the rule simply runs on the whole text again until this table is updated (a
test fails to say so). Rules for hand-written patterns, so that they are supersets of RE2's:

- RE2 matches Unicode text: with ``(?i)``, `s` also matches U+017F and `k` U+212A (the only
  non-ASCII letters that fold to ASCII ones), so both are spelled out; hyperscan is caseless over
  bytes only.
- RE2's ``\\s`` is ``[\\t\\n\\f\\r ]``, hyperscan's adds ``\\v``: classes list the characters.
- A repeat of a class that matches non-ASCII counts characters in RE2 (1-4 bytes each) and
  bytes in hyperscan: only a fixed lower count of such a class is used (n characters hold at
  least n bytes, each a byte the negated class accepts).
- A looser part is still a superset, and compiles faster: the name's ``{0,40}`` characters are an
  unbounded run of a class holding their bytes (0.05 s to compile instead of 0.17 s, the same ends
  on real code). A needless end costs one RE2 search over a short stretch, never a finding.
- ``width`` bounds a match's length in bytes: the pattern's greatest width in characters x 4.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

_S, _K = r"(?:s|\xc5\xbf)", r"(?:k|\xe2\x84\xaa)"  # s, k and their Unicode case-fold partners
_ALNUM = r"(?:[a-z0-9]|\xc5\xbf|\xe2\x84\xaa)"  # (?i)[A-Za-z0-9] in RE2


@dataclass(frozen=True)
class Candidates:
    expression: str  # hyperscan, caseless: matches end at least once inside every rule match
    probe: bytes  # a text it matches: a cached database without it is not used
    width: int  # bytes: no rule match is longer (a whole-text rule's; 0 for a windowed rule, which needs none)
    # A windowed rule each of whose matches ends at one of these ends (or a boundary character after it) and
    # starts less than its window's `before` bytes before it, on the same line: its windows are built around
    # these ends instead of around its keyword's hits, which are then not searched for at all (`sk`, `pat`,
    # `token`: thousands of hits, each a turn of the Python loop, for a handful of candidates).
    leads: bool = False


_SECRET_WORD = (f"to{_K}en|{_S}ecret|pa{_S}{_S}w(?:or)?d|pwd|api_?-?{_K}ey|credential|private[_-]?{_K}ey"
                f"|acce{_S}{_S}_?{_K}ey|auth|account_?{_K}ey|pa{_S}{_S}phra{_S}e|cred{_S}")

KNOWN: dict[str, Candidates] = {
    # generic.secret-assignment: (?i) name{0,40}WORD name{0,40} quote/bracket, an optional type word (`var t
    # string =`), spaces, OP (`=` `:` `:=` `::=` `:::=` `?=` `.=` `=>`) spaces, quote or backtick, SECRET{12,200}
    # end. The part from WORD to the first 12 characters of SECRET; 314 characters at most. (`auth` stands for
    # `auth_?key` too: every `auth_key` holds `auth`.)
    "1e32d62196248c0dc12b5c1e1a36a5ff2ce2afcd54c759036db2f1b8fd3119c4": Candidates(
        # The type word and the operators as loose classes (a superset: 16 bytes hold `   ſtring   `, every
        # operator is 1-4 of `:?.=>`): spelled out, they tripled the database's compile time (+0.07 s a cold run).
        expression=(f"(?:{_SECRET_WORD})[a-z0-9_.\\-\\xc5\\xbf\\xe2\\x84\\xaa]*[\"']?\\]?"
                    f"[ \\t\\w\\xc5\\xbf]{{0,16}}[:?.=>]{{1,4}}"
                    f"[ \\t]{{0,3}}[`\"']?[^\"'\\t\\n\\f\\r ,;`<>(){{}}\\[\\]\\\\]{{12}}"),
        probe=b"api_token = 0123456789ab",
        width=4 * 314,
    ),
    # baseten.api-key, a windowed rule (`baseten` is on most lines of the truss repository): every match
    # holds the key, 8 letters or digits, a dot and 32 more. Windows holding no such end are skipped.
    "ec70cb36ea44f9c43558f3c7ce590cac7038719119771d2871d0e41854c1e027": Candidates(
        expression=f"{_ALNUM}{{8}}\\.{_ALNUM}{{32}}",
        probe=b"abcdefgh.0123456789abcdefghijklmnopqrstuv",
        width=0,
    ),
    # Windowed rules of issue 14 whose keyword is a common word or fragment (`sk` 8,716 and `pat` 8,405 hits on
    # truss-examples: task, disk, path, pattern), so most windows hold no key: each entry is the token itself,
    # caseless (a superset of the case-sensitive rule); a window without an end of it is skipped.
    "de5ea0dcc47f56d3afdd1c71240f5b4d4bfcd1f589a8af4f12474e8cdc025c47": Candidates(  # twilio.api-key-sid
        expression="sk[0-9a-f]{32}", probe=b"SK" + b"0123456789abcdef" * 2, width=0, leads=True),
    "7e568a7f0ea227bde90b236cafa90150a16d64ec87c6674a464fbad6d8ef92b6": Candidates(  # airtable.personal-access-token
        expression="pat[a-z0-9]{14}\\.[a-f0-9]{64}",
        probe=b"patABCDEFGHIJ0123." + b"0123456789abcdef" * 4, width=0, leads=True),
    "211078b5d531a731167ccc8a58eb779dd89530bc917bed80b3dd892e6672164a": Candidates(  # octopusdeploy.api-key
        expression="api-[a-z0-9]{26}", probe=b"API-" + b"ABCDEFGHIJKLM" * 2, width=0, leads=True),
    # vault.legacy-service-token: `vault` or `token`, at most ~45 characters of name and operator, `s.` + 24
    "9215fbed34152eba306ca6f070eace6b6269ca500afd9608061f4a2650642dec": Candidates(
        expression="s\\.[a-z0-9]{24}", probe=b"s.ABCDEFGHIJKLMNOPQRSTUVWX", width=0, leads=True),
}


def for_pattern(pattern: str) -> Candidates | None:
    return KNOWN.get(hashlib.sha256(pattern.encode()).hexdigest())
