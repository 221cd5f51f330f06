"""Git plumbing for the history audit: refs, one pass over the log, and blob bytes by id.

Why this shape: a repository's history holds the same blob at many commits and paths, so the
audit reads each blob once, by object id, through git's persistent batch interface (gitpython's
``cat-file --batch`` process), and learns *where* each blob lived from a single
``git log --raw`` pass. Nothing is ever checked out and ``git log -p`` is never run: diffs would
re-read every blob once per commit that touches it.
"""

from __future__ import annotations

import fnmatch
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from trussguard.sources.tree import SNIFF, is_binary, to_utf8
from trussguard.types import Skipped

NULL_SHA = "0" * 40
LFS_POINTER = b"version https://git-lfs.github.com/spec/v1"
_FIELDS = ("commit", "parents", "author_name", "author_email", "author_date", "committer_date", "subject")
_FORMAT = "%x01" + "%x00".join(("%H", "%P", "%an", "%ae", "%aI", "%cI", "%s"))


class NotARepository(Exception):
    """The audit target is not inside a git repository."""


class GitError(Exception):
    """A git command failed (its stderr's first line is the message)."""


def git(repo: Path, *args: str, check: bool = True) -> bytes:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=3600)
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]}: {message[0] if message else 'failed'}")
    return proc.stdout


def repository_root(path: Path) -> Path:
    """The work-tree root (or the git dir of a bare repository) containing ``path``."""
    if not path.exists():
        raise NotARepository(f"no such directory: {path}")
    proc = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel", "--absolute-git-dir"],
                          capture_output=True, timeout=60)
    if proc.returncode != 0:
        raise NotARepository(f"not a git repository: {path}")
    lines = [ln for ln in proc.stdout.decode("utf-8", "replace").splitlines() if ln]
    return Path(lines[0]) if len(lines) == 2 else Path(lines[-1])


def is_shallow(repo: Path) -> bool:
    return git(repo, "rev-parse", "--is-shallow-repository", check=False).strip() == b"true"


@dataclass(frozen=True)
class Ref:
    name: str  # full name: refs/heads/main, refs/tags/v1, refs/stash, HEAD (detached)
    commit: str  # the commit it points at (annotated tags peeled)

    @property
    def branch(self) -> str | None:
        return self.name[len("refs/heads/"):] if self.name.startswith("refs/heads/") else None


def list_refs(repo: Path, patterns: tuple[str, ...] = ()) -> tuple[list[Ref], list[str]]:
    """Every ref that leads to a commit (branches, tags, remotes, stash, notes), and notes on the rest.

    ``patterns`` (``--refs``) are shell globs matched against the full or the short name.
    """
    out = git(repo, "for-each-ref", "--format=%(refname)%00%(refname:short)%00%(objectname)%00"
                                    "%(objecttype)%00%(*objectname)%00%(*objecttype)")
    refs, notes = [], []
    for line in out.decode("utf-8", "replace").splitlines():
        name, short, obj, kind, peeled, peeled_kind = line.split("\0")
        if patterns and not any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(short, p) for p in patterns):
            continue
        if kind == "commit":
            refs.append(Ref(name, obj))
        elif kind == "tag" and peeled_kind == "commit":
            refs.append(Ref(name, peeled))
        else:
            notes.append(f"{name}: points at a {peeled_kind or kind}, not a commit; not audited")
    if not patterns or any(fnmatch.fnmatchcase("HEAD", p) for p in patterns):
        head = git(repo, "symbolic-ref", "-q", "HEAD", check=False).strip()
        if not head:  # detached HEAD: its commits may be on no branch
            sha = git(repo, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).decode().strip()
            if sha:
                refs.append(Ref("HEAD", sha))
    return refs, notes


@dataclass(frozen=True)
class Commit:
    commit: str
    parents: tuple[str, ...]
    author_name: str
    author_email: str
    author_date: str
    committer_date: str
    subject: str
    order: int  # position in the topological log: a larger number is older

    def meta(self) -> dict[str, str]:
        return {"commit": self.commit, "author_name": self.author_name, "author_email": self.author_email,
                "author_date": self.author_date, "committer_date": self.committer_date, "subject": self.subject}


@dataclass
class HistoryIndex:
    """What one log pass knows: for every blob, the (path, commit) pairs that introduced it."""

    commits: dict[str, Commit] = field(default_factory=dict)
    blobs: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # blob -> [(path, commit)]
    # (path, blob) -> [(commit, new blob or NULL_SHA)]: where that version stopped being at that path
    removals: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)

    def paths(self, blob: str) -> list[str]:
        return list(dict.fromkeys(p for p, _ in self.blobs.get(blob, ())))


def build_index(repo: Path, refs: list[Ref]) -> HistoryIndex:
    """One ``git log --raw -m --root`` over the ref tips; merges are diffed against every parent,
    so a blob that first appears in a merge (an evil merge, a conflict resolution) is seen."""
    index = HistoryIndex()
    tips = sorted({r.commit for r in refs})
    if not tips:
        return index
    out = git(repo, "log", "--raw", "--no-abbrev", "--no-renames", "-m", "--root", "-z", "--topo-order",
              "--no-color", "--no-ext-diff", f"--format={_FORMAT}", *tips, "--")
    seen: set[tuple[str, str, str]] = set()
    removed: set[tuple[str, str, str]] = set()
    for chunk in out.split(b"\x01")[1:]:
        tokens = chunk.split(b"\0")
        head = [t.decode("utf-8", "replace") for t in tokens[:len(_FIELDS)]]
        sha = head[0]
        if sha not in index.commits:
            index.commits[sha] = Commit(sha, tuple(head[1].split()), *head[2:], order=len(index.commits))
        rest = tokens[len(_FIELDS):]
        for meta, raw_path in zip(rest[0::2], rest[1::2]):
            parts = meta.strip().lstrip(b":").split()
            if len(parts) < 5:
                continue
            old_mode, new_mode, old, new = (p.decode() for p in parts[:4])
            path = raw_path.decode("utf-8", "surrogateescape")
            if new != NULL_SHA and new_mode.startswith("100") and (path, new, sha) not in seen:
                seen.add((path, new, sha))
                index.blobs.setdefault(new, []).append((path, sha))
            if old != NULL_SHA and old_mode.startswith("100") and old != new and (path, old, sha) not in removed:
                removed.add((path, old, sha))
                index.removals.setdefault((path, old), []).append((sha, new))
    return index


def tree_blobs(repo: Path, commit: str) -> dict[str, str]:
    """path -> blob id of every file in a commit's tree (for at_head and branch tips)."""
    out = git(repo, "ls-tree", "-r", "-z", "--full-tree", commit, check=False)
    files = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == b"blob":
            files[path.decode("utf-8", "surrogateescape")] = parts[2].decode()
    return files


def reachable(repo: Path, commit: str) -> set[str]:
    return set(git(repo, "rev-list", commit).decode().split())


class BlobReader:
    """Blob bytes by id through one persistent ``git cat-file`` process (gitpython's).

    Sizes come from the batch header first, so blobs over the size limit are never read.
    ``reads`` counts full reads per blob id, so tests can prove each blob was read once.
    """

    def __init__(self, repo: Path, max_size: int):
        import git as gitpython  # imported here: only the audit needs gitpython

        self._repo = gitpython.Repo(repo)
        self._git = self._repo.git
        self.max_size = max_size
        self.reads: dict[str, int] = {}

    def read(self, blob: str, path: str) -> bytes | Skipped:
        """The blob's text (UTF-16 transcoded), or a Skipped saying why it was not scanned."""
        try:
            _, kind, size = self._git.get_object_header(blob)
            if size > self.max_size:
                return Skipped(path, "too_large", f"blob {blob}: {size} bytes")
            _, kind, size, data = self._git.get_object_data(blob)
        except ValueError:  # cat-file says "missing": a partial or damaged clone
            return Skipped(path, "missing", f"blob {blob} is not in the object database")
        self.reads[blob] = self.reads.get(blob, 0) + 1
        if is_binary(data[:SNIFF]):
            return Skipped(path, "binary", f"blob {blob}")
        if data.startswith(LFS_POINTER):
            return Skipped(path, "lfs_pointer", f"blob {blob}: Git LFS content is not in git; not scanned")
        return to_utf8(data)

    def close(self) -> None:
        self._repo.close()
