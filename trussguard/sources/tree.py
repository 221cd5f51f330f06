"""The working tree: which files to scan, and their bytes.

In a git repository that is what git would commit: tracked files plus untracked files that
are not ignored (``git ls-files --cached --others --exclude-standard``). Elsewhere it is every
file under the path. Symbolic links are never followed (a link can point outside the scanned
root). Every regular file is scanned, whatever its content (``content.decode`` reads it by
content: text, UTF-16/32, or binary bytes) or size (over the limit it is streamed in chunks);
unreadable files and directories are reported, never silently dropped. A directory is a
submodule only when git records it as one (a gitlink) or it holds a ``.git``; any other
directory where a file was expected (one that could not be listed) is unreadable.
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from trussguard.sources.content import Oversize, ReadFailed, decode
from trussguard.types import Fragment, Skipped

_GIT_UNREADABLE = re.compile(r"could not open directory '(?P<dir>.+)/': ")


@dataclass(frozen=True)
class Candidate:
    """A file to scan: its path for reports and on disk, and its size."""

    path: str  # relative to the scan root, POSIX separators
    absolute: str
    size: int
    # (device, inode, size, mtime ns, ctime ns) when listed: a file whose signature is unchanged holds
    # the same bytes, as git's index assumes (``scan_cache`` keeps each signature's content digest)
    signature: tuple[int, ...] = ()


@dataclass
class TreeListing:
    root: Path
    candidates: list[Candidate]
    skipped: list[Skipped]
    git: bool


def list_tree(paths: list[Path]) -> TreeListing:
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
        files, is_git, gitlinks = _enumerate(path.resolve() if not path.is_symlink() else path.absolute())
        any_git = any_git or is_git
        for absolute in files:
            _classify(absolute, root, candidates, skipped, gitlinks)
    return TreeListing(root, candidates, skipped, any_git)


def _enumerate(path: Path) -> tuple[list[str], bool, set[str]]:
    """(absolute paths, whether git listed them, absolute paths of the gitlinks among them)."""
    if not path.is_dir() or path.is_symlink():
        return [str(path)], False, set()
    listed = _git_ls_files(path)
    if listed is not None:
        files, gitlinks = listed
        return [os.path.join(path, p) for p in files], True, {os.path.join(path, p) for p in gitlinks}
    return _walk(path), False, set()


def _git_ls_files(directory: Path) -> tuple[list[str], list[str]] | None:
    """(files git would commit below ``directory``, its gitlinks), or None outside a work tree.

    A directory git could not open is missing from its listing (git only warns); those are
    added back from its warnings, so that ``_classify`` reports them as unreadable.
    """
    try:
        proc = subprocess.run(
            ["git", "-C", str(directory), "ls-files", "-z", "--cached", "--others", "--exclude-standard",
             "--deduplicate"],
            capture_output=True, check=True, timeout=600,
        )
        staged = subprocess.run(["git", "-C", str(directory), "ls-files", "-z", "--stage"],
                                capture_output=True, check=True, timeout=600).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = [os.fsdecode(p) for p in proc.stdout.split(b"\0") if p]
    unreadable = {m["dir"] for m in map(_GIT_UNREADABLE.search, os.fsdecode(proc.stderr).splitlines()) if m}
    if unreadable:  # git names them from the top of the work tree, not from ``directory``
        prefix = os.fsdecode(subprocess.run(["git", "-C", str(directory), "rev-parse", "--show-prefix"],
                                            capture_output=True, timeout=60).stdout.strip())
        files += sorted(d[len(prefix):] if d.startswith(prefix) else d for d in unreadable)
    gitlinks = []
    for entry in staged.split(b"\0"):
        meta, _, name = entry.partition(b"\t")
        if meta.startswith(b"160000 "):
            gitlinks.append(os.fsdecode(name))
    return files, gitlinks


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


def _classify(absolute: str, root: Path, candidates: list[Candidate], skipped: list[Skipped],
              gitlinks: set[str] = frozenset()) -> None:
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
        skipped.append(_directory(absolute, rel, gitlinks))
    elif not stat.S_ISREG(st.st_mode):
        skipped.append(Skipped(rel, "special", "not a regular file"))
    else:
        candidates.append(Candidate(rel, absolute, st.st_size,
                                    (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)))


def _directory(absolute: str, rel: str, gitlinks: set[str]) -> Skipped:
    """A directory listed where a file was expected: a submodule, or a directory nobody could list."""
    if absolute in gitlinks or os.path.lexists(os.path.join(absolute, ".git")):
        return Skipped(rel, "submodule", "git submodules are not scanned")
    try:
        os.listdir(absolute)
    except OSError as exc:
        return Skipped(rel, "unreadable", f"directory: {exc.strerror or exc}")
    return Skipped(rel, "unreadable", "directory: its files could not be listed")


def _relative(absolute: str, root: Path) -> str:
    """The path as reported: relative, POSIX separators, and printable: a byte that is not UTF-8
    (a Latin-1 file name) is shown as ``\\xNN``, as the history audit shows it, where the raw
    surrogate escape crashed every report writer with UnicodeEncodeError. ``Candidate.absolute``
    keeps the real name for reading."""
    from trussguard.sources.history_git import decode_path

    prefix = str(root).rstrip(os.sep) + os.sep
    if absolute.startswith(prefix) and os.sep == "/":  # the common case, without relpath's normalising
        rel = absolute[len(prefix):]
    else:
        try:
            rel = os.path.relpath(absolute, root)
        except ValueError:  # another drive on Windows
            rel = absolute
        rel = Path(rel).as_posix()
    return rel if rel.isascii() else decode_path(os.fsencode(rel))


def read_fragment(candidate: Candidate, max_size: int) -> Fragment | Oversize | Skipped:
    """The file's content as a Fragment (decoded by ``content.decode``), an Oversize to stream
    when it is over ``max_size``, or why it could not be read. Never raises on I/O errors."""
    if candidate.size > max_size:
        return Oversize(candidate.path, candidate.size, lambda n: _pieces(candidate, n))
    try:
        with open(candidate.absolute, "rb") as f:
            data = f.read(max_size + 1)
    except FileNotFoundError:
        return Skipped(candidate.path, "vanished", "deleted during the scan")
    except OSError as exc:
        return Skipped(candidate.path, "unreadable", exc.strerror or str(exc))
    if len(data) > max_size:  # grew since it was listed
        return Oversize(candidate.path, len(data), lambda n: _pieces(candidate, n))
    decoded = decode(data)
    return Fragment(candidate.path, decoded.text, extra=decoded.extra, binary=decoded.binary)


def _pieces(candidate: Candidate, size: int):
    """The file's bytes in pieces of ``size`` (a shorter piece only at the end)."""
    try:
        with open(candidate.absolute, "rb") as f:
            while True:
                piece = f.read(size)
                if not piece:
                    return
                yield piece
    except OSError as exc:
        raise ReadFailed(exc.strerror or str(exc)) from None
