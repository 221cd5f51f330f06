"""The working tree: which files to scan, and their bytes.

In a git repository that is what git would commit: tracked files plus untracked files that
are not ignored (``git ls-files --cached --others --exclude-standard``). Elsewhere it is every
file under the path. Symbolic links are never followed (a link can point outside the scanned
root), binary files (a NUL byte in the first 8 KiB, unless UTF-16) and files over the size
limit are skipped and counted, and unreadable files are reported, never silently dropped.
"""

from __future__ import annotations

import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from trussguard.types import Fragment, Skipped

SNIFF = 8192
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class Candidate:
    """A file to scan: its path for reports and on disk, and its size."""

    path: str  # relative to the scan root, POSIX separators
    absolute: str
    size: int


@dataclass
class TreeListing:
    root: Path
    candidates: list[Candidate]
    skipped: list[Skipped]
    git: bool


def list_tree(paths: list[Path], max_size: int) -> TreeListing:
    """Enumerates the files under ``paths`` (default: the current directory)."""
    paths = paths or [Path(".")]
    root = paths[0] if len(paths) == 1 and paths[0].is_dir() else Path(".")
    root = root.resolve()
    candidates: list[Candidate] = []
    skipped: list[Skipped] = []
    any_git = False
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise FileNotFoundError(f"no such file or directory: {path}")
        files, is_git = _enumerate(path.resolve() if not path.is_symlink() else path.absolute())
        any_git = any_git or is_git
        for absolute in files:
            _classify(absolute, root, max_size, candidates, skipped)
    return TreeListing(root, candidates, skipped, any_git)


def _enumerate(path: Path) -> tuple[list[str], bool]:
    if not path.is_dir() or path.is_symlink():
        return [str(path)], False
    listed = _git_ls_files(path)
    if listed is not None:
        return [os.path.join(path, p) for p in listed], True
    return _walk(path), False


def _git_ls_files(directory: Path) -> list[str] | None:
    """Files git would commit below ``directory``, or None if it is not in a work tree."""
    try:
        out = subprocess.run(
            ["git", "-C", str(directory), "ls-files", "-z", "--cached", "--others", "--exclude-standard",
             "--deduplicate"],
            capture_output=True, check=True, timeout=600,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [os.fsdecode(p) for p in out.split(b"\0") if p]


def _walk(directory: Path) -> list[str]:
    out: list[str] = []
    stack = [str(directory)]
    while stack:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            out.append(current)  # reported as unreadable by _classify
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != ".git":
                    stack.append(entry.path)
            else:
                out.append(entry.path)
    return sorted(out)


def _classify(absolute: str, root: Path, max_size: int, candidates: list[Candidate],
              skipped: list[Skipped]) -> None:
    rel = _relative(absolute, root)
    try:
        st = os.lstat(absolute)
    except FileNotFoundError:
        return  # tracked by git but deleted in the working tree: nothing to scan
    except OSError as exc:
        skipped.append(Skipped(rel, "unreadable", exc.strerror or str(exc)))
        return
    if stat.S_ISLNK(st.st_mode):
        skipped.append(Skipped(rel, "symlink", "links are not followed"))
    elif stat.S_ISDIR(st.st_mode):
        skipped.append(Skipped(rel, "submodule", "git submodules are not scanned"))
    elif not stat.S_ISREG(st.st_mode):
        skipped.append(Skipped(rel, "special", "not a regular file"))
    elif st.st_size > max_size:
        skipped.append(Skipped(rel, "too_large", f"{st.st_size} bytes"))
    else:
        candidates.append(Candidate(rel, absolute, st.st_size))


def _relative(absolute: str, root: Path) -> str:
    """The path as reported: relative, POSIX separators, and printable: a byte that is not UTF-8
    (a Latin-1 file name) is shown as ``\\xNN``, as the history audit shows it, where the raw
    surrogate escape crashed every report writer with UnicodeEncodeError. ``Candidate.absolute``
    keeps the real name for reading."""
    from trussguard.sources.history import decode_path  # history imports this module

    try:
        rel = os.path.relpath(absolute, root)
    except ValueError:  # another drive on Windows
        rel = absolute
    return decode_path(os.fsencode(Path(rel).as_posix()))


def read_fragment(candidate: Candidate, max_size: int) -> Fragment | Skipped:
    """The file's bytes as a Fragment, or why it was skipped. Never raises on I/O errors."""
    try:
        with open(candidate.absolute, "rb") as f:
            head = f.read(SNIFF)
            if is_binary(head):
                return Skipped(candidate.path, "binary")
            data = head + f.read(max_size + 1 - len(head))
    except FileNotFoundError:
        return Skipped(candidate.path, "vanished", "deleted during the scan")
    except OSError as exc:
        return Skipped(candidate.path, "unreadable", exc.strerror or str(exc))
    if len(data) > max_size:
        return Skipped(candidate.path, "too_large", f"grew past {max_size} bytes during the scan")
    return Fragment(candidate.path, to_utf8(data))


def is_binary(head: bytes) -> bool:
    return b"\0" in head and not head.startswith(_UTF16_BOMS)


def to_utf8(data: bytes) -> bytes:
    """Transcodes UTF-16 (with BOM) to UTF-8 so the ASCII rule patterns see the text."""
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return data.decode("utf-16", "replace").encode("utf-8")
    return data
