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
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from trussguard.sources.content import Decoded, Oversize, ReadFailed, decode
from trussguard.types import Skipped

NULL_SHA = "0" * 40
DANGLING = "(unreachable blob)"  # the path of a blob that belongs to no commit at all
GITLINK = "160000"  # a submodule entry in a tree: a commit of another repository
_FIELDS = ("commit", "parents", "author_name", "author_email", "author_date", "committer_date", "subject")
_FORMAT = "%x01" + "%x00".join(("%H", "%P", "%an", "%ae", "%aI", "%cI", "%s"))


class NotARepository(Exception):
    """The audit target is not inside a git repository."""


class GitError(Exception):
    """A git command failed (its stderr's first line is the message)."""


def decode_path(raw: bytes) -> str:
    """A path as reported: UTF-8, with any other byte shown as ``\\xNN`` (the same in log and ls-tree,
    so lookups agree, and printable in every report format)."""
    return raw.decode("utf-8", "backslashreplace")


GIT_MISSING = "git is not installed or not on PATH (the history audit and --staged need it)"


def git(repo: Path, *args: str, check: bool = True) -> bytes:
    try:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=3600)
    except FileNotFoundError:
        raise GitError(GIT_MISSING) from None
    if check and proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {args[0]}: {message[0] if message else 'failed'}")
    return proc.stdout


def repository_root(path: Path) -> Path:
    """The work-tree root (or the git dir of a bare repository) containing ``path``."""
    if not path.exists():
        raise NotARepository(f"no such directory: {path}")
    try:
        proc = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel", "--absolute-git-dir"],
                              capture_output=True, timeout=60)
    except FileNotFoundError:
        raise GitError(GIT_MISSING) from None
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
    submodules: dict[str, set[str]] = field(default_factory=dict)  # gitlink path -> commits it pinned

    def paths(self, blob: str) -> list[str]:
        return list(dict.fromkeys(p for p, _ in self.blobs.get(blob, ())))


def build_index(repo: Path, tips: list[str], excludes: list[str] = ()) -> HistoryIndex:
    """One ``git log --raw -m --root`` from ``tips``, minus what ``excludes`` reach (``--range``,
    ``--since``); merges are diffed against every parent, so a blob that first appears in a merge
    (an evil merge, a conflict resolution) is seen."""
    index = HistoryIndex()
    tips = sorted(set(tips))
    if not tips:
        return index
    out = git(repo, "log", "--raw", "--no-abbrev", "--no-renames", "-m", "--root", "-z", "--topo-order",
              "--no-color", "--no-ext-diff", f"--format={_FORMAT}", *tips, *(f"^{e}" for e in excludes), "--")
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
            path = decode_path(raw_path)
            if new_mode == GITLINK and new != NULL_SHA:
                index.submodules.setdefault(path, set()).add(new)
                continue
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
            files[decode_path(path)] = parts[2].decode()
    return files


def refs_reaching(index: HistoryIndex, refs: list[Ref], repo: Path) -> dict[str, set[str]]:
    """commit -> names of the refs it is reachable from, for the commits of the index.

    One pass over the topological order (children before parents) pushing each ref's bit down
    to the parents, instead of one ``rev-list`` per ref. A ref whose tip is outside the index
    (``--range``, ``--since``) is asked of git once.
    """
    bits: dict[str, int] = {}
    names = [r.name for r in refs]
    for i, ref in enumerate(refs):
        if ref.commit in index.commits:
            bits[ref.commit] = bits.get(ref.commit, 0) | 1 << i
        else:
            known = git(repo, "rev-list", ref.commit, "--", check=False).decode().split()
            for sha in known:
                if sha in index.commits:
                    bits[sha] = bits.get(sha, 0) | 1 << i
    for commit in sorted(index.commits.values(), key=lambda c: c.order):
        mask = bits.get(commit.commit, 0)
        if mask:
            for parent in commit.parents:
                if parent in index.commits:
                    bits[parent] = bits.get(parent, 0) | mask
    return {sha: {n for i, n in enumerate(names) if mask >> i & 1} for sha, mask in bits.items()}


def resolve(repo: Path, rev: str) -> str:
    """The commit a revision names, or GitError with a one-line message."""
    sha = git(repo, "rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}", check=False)
    if not sha.strip():
        raise GitError(f"unknown revision: {rev}")
    return sha.decode().strip()


def unreachable_objects(repo: Path) -> tuple[list[str], list[str]]:
    """(commits, blobs) no ref reaches: amended or rebased-away commits, dropped stashes, and blobs
    that were staged and then discarded; reflogs do not count as reaching.

    ``--connectivity-only`` keeps fsck from hashing every blob; its exit status is ignored,
    since a damaged repository still lists what it can (the missing objects are reported by
    the blob reader).
    """
    out = git(repo, "fsck", "--unreachable", "--no-reflogs", "--connectivity-only", "--no-progress", check=False)
    found: dict[str, set[str]] = {"commit": set(), "blob": set()}
    for parts in (line.split() for line in out.decode("ascii", "replace").splitlines()):
        if len(parts) == 3 and parts[0] == "unreachable" and parts[1] in found:
            found[parts[1]].add(parts[2])
    return sorted(found["commit"]), sorted(found["blob"])


NO_LAZY_FETCH = {"GIT_NO_LAZY_FETCH": "1"}  # an audit never fetches from a promisor remote (git >= 2.44)


def absent_blobs(repo: Path, blobs: list[str]) -> set[str]:
    """The blobs a partial clone (``--filter=blob:none``) never fetched.

    Asking ``cat-file`` for one would fetch it from the promisor remote (a network call per blob)
    or, with fetching off, kill the batch process; so a partial clone's local objects are listed
    once (``--batch-all-objects`` never fetches) and the others are reported missing unread.
    """
    promisors = git(repo, "config", "--get-regexp", r"^(extensions\.partialclone|remote\..*\.promisor)$",
                    check=False).decode().split("\n")
    if not any(line.split(" ", 1)[-1].strip() not in ("", "false") for line in promisors if line):
        return set()
    present = set(git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)",
                      check=False).decode().split())
    return {b for b in blobs if b not in present}


class BlobReader:
    """Blob bytes by id through git's batch interface (``cat-file --batch``, started by gitpython).

    Requests are pipelined: a thread writes every id of a batch while the answers are read, so
    the audit never waits one round trip per blob (105 MB of blobs: 0.60 s, against 1.1 s asking
    header then data per blob). Every blob is read, whatever its content (``content.decode``:
    text, UTF-16/32 or binary bytes) or size: one over the size limit is an ``Oversize`` whose
    bytes are streamed from git's pipe in chunks (``stream``, the audit), or held in memory
    (the ``--staged`` index, whose blobs are read more than once). A blob git reports as missing,
    or one it dies on (a corrupt object), is a Skipped, and the rest is still read.
    ``reads`` counts full reads per blob id, so tests can prove each blob was read once.
    """

    def __init__(self, repo: Path, max_size: int, stream: bool = True):
        import git as gitpython  # imported here: only the audit needs gitpython

        self._repo = gitpython.Repo(repo)
        self.max_size = max_size
        self.stream = stream
        self.reads: dict[str, int] = {}

    def read_many(self, blobs: list[str], paths: dict[str, str]) -> Iterator[tuple[str, Decoded | Oversize | Skipped]]:
        """(blob, content or Skipped) for every blob, in order; ``paths`` names each for the Skipped.
        A streamed ``Oversize`` must be read (or dropped) before asking for the next blob."""
        todo = list(blobs)
        while todo:
            done = 0
            for blob, data in self._batch(todo, paths):
                done += 1
                yield blob, data
            todo = todo[done:]

    def _batch(self, blobs: list[str], paths: dict[str, str]) -> Iterator[tuple[str, Decoded | Oversize | Skipped]]:
        proc = self._repo.git.cat_file("--batch", as_process=True, istream=subprocess.PIPE, env=NO_LAZY_FETCH)
        writer = threading.Thread(target=_feed, args=(proc.proc.stdin, blobs), daemon=True)
        writer.start()
        out = proc.proc.stdout
        try:
            for blob in blobs:
                path = paths.get(blob, blob)
                header = out.readline().split()
                if len(header) == 2 and header[1] == b"missing":
                    yield blob, Skipped(path, "missing", f"blob {blob} is missing from the object database or corrupt")
                    continue
                if len(header) != 3:  # git died on this object: corrupt or unreadable
                    yield blob, Skipped(path, "unreadable", f"blob {blob}: git could not read the object")
                    return
                size = int(header[2])
                if size > self.max_size and self.stream:
                    left = [size]
                    yield blob, Oversize(path, size, lambda n, b=blob, left=left: _stream(out, b, left, n))
                    _discard(out, left[0])  # whatever the scan did not read
                    if out.read(1) != b"\n":
                        return  # git died mid-blob: the scan got ReadFailed; the next batch restarts git
                    self.reads[blob] = self.reads.get(blob, 0) + 1
                    continue
                data = out.read(size)
                out.read(1)
                if len(data) != size:
                    yield blob, Skipped(path, "unreadable", f"blob {blob}: git stopped while reading the object")
                    return
                self.reads[blob] = self.reads.get(blob, 0) + 1
                yield blob, _content(path, data, self.max_size)
        finally:
            writer.join(timeout=5)
            proc.proc.kill()
            proc.proc.wait()

    def close(self) -> None:
        self._repo.close()


def _stream(out, blob: str, left: list[int], size: int) -> Iterator[bytes]:
    """A blob's bytes from git's pipe in pieces of ``size``; ``left`` counts what is still unread."""
    while left[0] > 0:
        piece = out.read(min(size, left[0]))
        if not piece:
            raise ReadFailed(f"blob {blob}: git stopped while reading the object")
        left[0] -= len(piece)
        yield piece


def _content(path: str, data: bytes, max_size: int) -> Decoded | Oversize:
    """A blob read whole: decoded by content, or (over the limit, not streamed) scanned in chunks
    from memory. Git LFS pointers are scanned like any text: they are tiny and in git."""
    if len(data) > max_size:
        return Oversize(path, len(data), lambda n: (data[i:i + n] for i in range(0, len(data), n)))
    return decode(data)


def _feed(stdin, blobs: list[str]) -> None:
    try:
        for start in range(0, len(blobs), 512):
            stdin.write("".join(f"{b}\n" for b in blobs[start:start + 512]).encode())
        stdin.close()
    except (BrokenPipeError, OSError, ValueError):  # git died or was stopped: the reader reports it
        pass


def _discard(stream, size: int) -> None:
    """Reads past the unread rest of a streamed blob in 1 MiB pieces (never holding it whole)."""
    while size > 0:
        chunk = stream.read(min(size, 1 << 20))
        if not chunk:
            return
        size -= len(chunk)
