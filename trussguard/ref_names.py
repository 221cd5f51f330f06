"""Refs named the way a person reads them: how far a leak spread and a few of the lines of work it reached.

Shared by the text and HTML reports and the purge step of an advisory; the JSON report keeps every ref.
"""

from __future__ import annotations

REFS_NAMED = 3  # refs named in a summary; the JSON report keeps the whole list
_KINDS = (("refs/heads/", "branch", "branches"), ("refs/tags/", "tag", "tags"),
          ("refs/remotes/", "remote-tracking branch", "remote-tracking branches"))
_USUAL = ("main", "master", "trunk")
_RELEASE = ("release", "releases", "rel", "stable")
_DEVELOP = ("dev", "develop", "development", "staging", "next")


def ref_summary(refs, total: int | None = None, named: int = REFS_NAMED) -> str:
    """The refs reaching a leak, in a line a person reads: ``12 branches, e.g. main, release/1.2, dev``.

    A leak in a repository with hundreds of branches is reachable from all of them: listing each made
    63 KB of text for 26 findings. The count says how far it spread, a few names say which lines of work
    (the default branch first, then release branches, development branches, the others by name, tags,
    remote-tracking branches). ``total`` is the whole count when ``refs`` was cut short (``refs_count``).
    """
    refs = sorted(set(refs), key=_ref_rank)
    total = max(total or 0, len(refs))
    kinds: dict[str, int] = {}
    for ref in refs:
        kinds[_kind(ref)] = kinds.get(_kind(ref), 0) + 1
    if total == len(refs) and len(kinds) == 1:
        kind = next(iter(kinds))
        count = f"{total} {_plural(kind, total)}"
    elif total == len(refs):
        count = f"{total} refs (" + ", ".join(f"{n} {_plural(k, n)}" for k, n in kinds.items()) + ")"
    else:
        count = f"{total} refs"
    if not refs:
        return count
    names = [_short(r) for r in refs[:named]]
    return f"{count}: {', '.join(names)}" if total <= named else f"{count}, e.g. {', '.join(names)}"


def _kind(ref: str) -> str:
    return next((singular for prefix, singular, _ in _KINDS if ref.startswith(prefix)), "other ref")


def _plural(kind: str, n: int) -> str:
    if n == 1:
        return kind
    return next((plural for _, singular, plural in _KINDS if singular == kind), "other refs")


def _short(ref: str) -> str:
    return next((ref[len(prefix):] for prefix, _, _ in _KINDS if ref.startswith(prefix)), ref)


def _ref_rank(ref: str) -> tuple:
    name, kind = _short(ref), _kind(ref)
    first = name.split("/", 1)[0].lower()
    if kind == "branch":
        rank = 0 if name in _USUAL else 1 if first in _RELEASE or first.startswith("release") else \
            2 if first in _DEVELOP else 3
    else:
        rank = {"tag": 4, "remote-tracking branch": 5}.get(kind, 6)
    return rank, name
