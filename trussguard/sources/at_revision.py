"""Files as a git revision holds them, read through git (never from the working tree).

Why: the configuration and the baseline that decide what a pull request's gate checks must come
from the revision the change is measured against (its base), not from the change itself: a pull
request that adds ``exclude = ["*"]`` must not get to switch off its own scan. Reading the blob
from the object store makes the working tree (the pull request's checkout) irrelevant.
"""

from __future__ import annotations

from pathlib import Path

from trussguard.sources.history import git


def relative(root: Path, path: Path) -> str | None:
    """``path`` as a POSIX path relative to the repository ``root`` ("" for the root itself), or None
    when it lies outside the repository (git cannot vouch for it)."""
    try:
        rel = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return None
    return "" if rel == "." else rel


def read_file(root: Path, commit: str, rel: str) -> bytes | None:
    """The bytes of ``rel`` at ``commit`` (a resolved commit id), or None when the revision has no
    file there (nothing, a folder or a submodule)."""
    spec = f"{commit}:{rel}"
    if git(root, "cat-file", "-t", spec, check=False).strip() != b"blob":
        return None
    return git(root, "cat-file", "blob", spec)


def merge_base(root: Path, one: str, other: str) -> str | None:
    """The best common ancestor of two revisions, or None (unrelated histories, a shallow clone)."""
    found = git(root, "merge-base", "--end-of-options", one, other, check=False).decode().strip()
    return found.splitlines()[0] if found else None
