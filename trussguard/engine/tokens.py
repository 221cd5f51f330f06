"""Token templates: fake credentials generated at test time from a format description.

Rule files never hold a realistic key (it would trip push protection and other scanners);
they describe its shape instead, e.g. ``hf_{34:A-Za-z}``, and examples refer to it as
``{{token}}``. ``{N:alphabet}`` and ``{N-M:alphabet}`` are random runs; everything else is
literal. The alphabet uses character-class syntax (``A-Za-z0-9_-``; a trailing ``-`` is literal).
"""

from __future__ import annotations

import random
import re
import string

_SEGMENT = re.compile(r"\{(\d+)(?:-(\d+))?:([^}]+)\}")
_REFERENCE = re.compile(r"\{\{\s*([a-z_][a-z0-9_]*)\s*\}\}")


class TemplateError(ValueError):
    """A token template or an example reference that cannot be expanded."""


def alphabet(spec: str) -> str:
    """Expands a character-class body such as ``A-Za-z0-9_-`` into its characters."""
    chars: list[str] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            lo, hi = spec[i], spec[i + 2]
            if ord(lo) > ord(hi):
                raise TemplateError(f"bad range {lo}-{hi} in alphabet {spec!r}")
            chars.extend(chr(c) for c in range(ord(lo), ord(hi) + 1))
            i += 3
        else:
            chars.append(spec[i])
            i += 1
    if not chars:
        raise TemplateError(f"empty alphabet {spec!r}")
    return "".join(dict.fromkeys(chars))


def validate_template(template: str) -> None:
    """Raises TemplateError if the template has a malformed segment."""
    for m in _SEGMENT.finditer(template):
        alphabet(m.group(3))
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
        if not 0 < low <= high <= 4096:
            raise TemplateError(f"bad length {m.group(0)!r} in template {template!r}")


def expand_template(template: str, rng: random.Random) -> str:
    """Returns one random token of the template's shape.

    Random runs of 8 or more characters are drawn until they contain a digit or mixed case
    where the alphabet allows, so generated tokens look random (and pass entropy filters)
    rather than like ``aaaa``.
    """

    def segment(m: re.Match[str]) -> str:
        chars = alphabet(m.group(3))
        low, high = int(m.group(1)), int(m.group(2) or m.group(1))
        length = rng.randint(low, high)
        for _ in range(100):
            run = "".join(rng.choice(chars) for _ in range(length))
            if length < 8 or _looks_random(run, chars):
                return run
        return run

    return _SEGMENT.sub(segment, template)


def _looks_random(run: str, chars: str) -> bool:
    classes = [string.ascii_lowercase, string.ascii_uppercase, string.digits]
    offered = [c for c in classes if any(ch in c for ch in chars)]
    present = [c for c in offered if any(ch in c for ch in run)]
    return len(present) == len(offered) and len(set(run)) > len(run) // 4


def expand_text(text: str, tokens: dict[str, str]) -> str:
    """Replaces ``{{name}}`` references with already-expanded tokens."""

    def ref(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in tokens:
            raise TemplateError(f"example refers to unknown token {{{{{name}}}}}")
        return tokens[name]

    return _REFERENCE.sub(ref, text)


def references(text: str) -> list[str]:
    """Names of the tokens an example text refers to, in order."""
    return _REFERENCE.findall(text)
