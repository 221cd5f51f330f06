"""Files as a git revision holds them, read through git (never from the working tree).

Why: the configuration and the baseline that decide what a pull request's gate checks must come
from the revision the change is measured against (its base), not from the change itself: a pull
request that adds ``exclude = ["*"]`` must not get to switch off its own scan. Reading the blob
from the object store makes the working tree (the pull request's checkout) irrelevant.
"""

from __future__ import annotations

import posixpath
from pathlib import Path

from trussguard.sources.history_git import git


def relative(root: Path, path: Path) -> str | None:
    """``path`` as a POSIX path relative to the repository ``root`` ("" for the root itself), or None
    when it lies outside the repository (git cannot vouch for it)."""
    try:
        rel = Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return None
    return "" if rel == "." else rel


def read_file(root: Path, commit: str, rel: str, _hops: int = 0) -> bytes | None:
    """The bytes of ``rel`` at ``commit`` (a resolved commit id; "" for the index), or None when the
    revision has no file there (nothing, a folder or a submodule). A symbolic link is followed while
    it stays inside the repository (as the working tree's ``open`` would), at most 8 links deep."""
    spec = f"{commit}:{rel}"
    if git(root, "cat-file", "-t", spec, check=False).strip() != b"blob":
        return None
    data = git(root, "cat-file", "blob", spec)
    if commit and _is_symlink(root, commit, rel):
        target = posixpath.normpath(posixpath.join(posixpath.dirname(rel), data.decode("utf-8", "replace")))
        if _hops >= 8 or target.startswith(("../", "/")) or target == "..":
            return None
        return read_file(root, commit, target, _hops + 1)
    return data


def _is_symlink(root: Path, commit: str, rel: str) -> bool:
    entry = git(root, "--literal-pathspecs", "ls-tree", "-z", "--full-tree", commit, "--", rel, check=False)
    return entry.startswith(b"120000 ")


def merge_base(root: Path, one: str, other: str) -> str | None:
    """The best common ancestor of two revisions, or None (unrelated histories, a shallow clone)."""
    found = git(root, "merge-base", "--end-of-options", one, other, check=False).decode().strip()
    return found.splitlines()[0] if found else None
