"""Git plumbing for the history audit: refs, one pass over the log, and blob bytes by id.

Why this shape: a repository's history holds the same blob at many commits and paths, so the
audit reads each blob once, by object id, through git's persistent batch interface (gitpython's
``cat-file --batch`` process), and learns *where* each blob lived from a single
``git log --raw`` pass. Nothing is ever checked out and ``git log -p`` is never run: diffs would
re-read every blob once per commit that touches it.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import tempfile
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
# The oldest git whose every option trussguard passes is known: `ls-files --deduplicate` (the tree
# scan) arrived in 2.31; `rev-parse --end-of-options` (2.24), `rev-list --missing=print` and
# `rev-parse --is-shallow-repository` (2.15) are older. A git that lacks one would not fail
# loudly everywhere; it could answer a narrower question, so older gits are refused up front.
MIN_GIT = (2, 31)
# Every git an audit starts must never fetch: not lazily from a promisor remote (a partial clone
# asks the network for each missing object, and a tree:0 clone for each commit's trees), not at
# all. GIT_NO_LAZY_FETCH is how git >= 2.45 says it; GIT_ALLOW_PROTOCOL with no real protocol
# makes every transport refuse on older gits (the fetch git would start fails before it connects).
NO_FETCH = {"GIT_NO_LAZY_FETCH": "1", "GIT_ALLOW_PROTOCOL": "trussguard-no-fetch", "GIT_TERMINAL_PROMPT": "0"}
NO_LAZY_FETCH = NO_FETCH  # the name gitpython's cat-file has used


def git_env() -> dict[str, str]:
    """The environment of every git an audit or a staged scan starts (see ``NO_FETCH``)."""
    return dict(os.environ, **NO_FETCH)


def summarise(stderr: bytes | str, limit: int = 200) -> str:
    """git's stderr as one line: the first ``fatal:`` line (git's own summary), else the first
    ``error:`` line, else the first non-blank one, trimmed; never several lines of raw git output
    in an error or a note."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    chosen = next((line for prefix in ("fatal:", "error:") for line in lines if line.startswith(prefix)),
                  lines[0] if lines else "failed")
    return chosen if len(chosen) <= limit else chosen[:limit - 3] + "..."


def _run(repo: Path, args: tuple[str, ...], input: bytes | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=3600,
                              env=dict(git_env(), **(env or {})), input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError(GIT_MISSING) from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]}: did not finish within an hour") from None


def git(repo: Path, *args: str, check: bool = True, ok: tuple[int, ...] = (0,), input: bytes | None = None,
        env: dict[str, str] | None = None) -> bytes:
    """git's stdout. With ``check`` (the default), an exit status outside ``ok`` is a GitError:
    a git command that fails makes the audit incomplete, so it is never silently ignored. Use
    ``ok=(0, 1)`` where 1 is a legitimate answer (``rev-parse -q --verify``: no such object).
    ``check=False`` is for questions whose failure changes nothing that is scanned."""
    proc = _run(repo, args, input, env)
    if check and proc.returncode not in ok:
        raise GitError(f"git {args[0]}: {summarise(proc.stderr)}")
    return proc.stdout


_checked_gits: dict[str, tuple[int, ...]] = {}


def require_git_version() -> tuple[int, ...]:
    """The git on PATH's version, or GitError (one line) if it is older than ``MIN_GIT``; asked once
    per git executable."""
    where = shutil.which("git")
    if where is None:
        raise GitError(GIT_MISSING)
    if where not in _checked_gits:
        try:
            proc = subprocess.run([where, "version"], capture_output=True, timeout=60, env=git_env())
        except OSError as exc:
            raise GitError(f"git version: {exc.strerror or exc}") from None
        found = re.search(rb"git version (\d+)\.(\d+)(?:\.(\d+))?", proc.stdout)
        if proc.returncode != 0 or not found:
            raise GitError(f"git version: cannot tell which git this is ({summarise(proc.stderr or proc.stdout)})")
        _checked_gits[where] = tuple(int(n or 0) for n in found.groups())
    version = _checked_gits[where]
    if version[:2] < MIN_GIT:
        raise GitError(f"git {'.'.join(map(str, version))} is too old: trussguard needs git >= "
                       f"{'.'.join(map(str, MIN_GIT))} ({where})")
    return version


def repository_root(path: Path) -> Path:
    """The work-tree root (or the git dir of a bare repository) containing ``path``."""
    if not path.exists():
        raise NotARepository(f"no such directory: {path}")
    try:
        proc = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel", "--absolute-git-dir"],
                              capture_output=True, timeout=60, env=git_env(), stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError(GIT_MISSING) from None
    if proc.returncode != 0:
        raise NotARepository(f"not a git repository: {path}")
    lines = [ln for ln in proc.stdout.decode("utf-8", "replace").splitlines() if ln]
    return Path(lines[0]) if len(lines) == 2 else Path(lines[-1])


def is_shallow(repo: Path) -> bool:
    return git(repo, "rev-parse", "--is-shallow-repository").strip() == b"true"


def shallow_boundary(repo: Path) -> set[str]:
    """The commits a shallow clone holds without their parents (``.git/shallow``): history stops there."""
    if not is_shallow(repo):
        return set()
    path = Path(git(repo, "rev-parse", "--git-path", "shallow").decode().strip())
    path = path if path.is_absolute() else repo / path
    try:
        return set(path.read_text("ascii").split())
    except OSError as exc:
        raise GitError(f"cannot read the shallow file {path}: {exc.strerror or exc}") from None


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
        head = git(repo, "symbolic-ref", "-q", "HEAD", ok=(0, 1)).strip()
        if not head:  # detached HEAD: its commits may be on no branch
            sha = git(repo, "rev-parse", "-q", "--verify", "HEAD^{commit}", ok=(0, 1)).decode().strip()
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


def build_index(repo: Path, tips: list[str], excludes: list[str] = (), cut: set[str] = frozenset()) -> HistoryIndex:
    """One ``git log --raw -m --root`` from ``tips``, minus what ``excludes`` reach (``--range``,
    ``--since``); merges are diffed against every parent, so a blob that first appears in a merge
    (an evil merge, a conflict resolution) is seen. Revisions go on stdin (10,000 refs overflow
    no command line). ``cut``: commits whose parents are treated as absent (a partial clone's
    commits whose parents' trees were never fetched): each is diffed as a root commit, through a
    private shallow file, so git never has to fetch the parents' trees."""
    index = HistoryIndex()
    tips = sorted(set(tips))
    if not tips:
        return index
    revisions = "".join(f"{r}\n" for r in [*tips, *(f"^{e}" for e in excludes)]).encode()
    args = ("log", "--raw", "--no-abbrev", "--no-renames", "-m", "--root", "-z", "--topo-order",
            "--no-color", "--no-ext-diff", f"--format={_FORMAT}", "--stdin", "--")
    if cut:
        with tempfile.TemporaryDirectory(prefix="trussguard-") as folder:
            shallow = Path(folder) / "shallow"
            shallow.write_text("".join(f"{c}\n" for c in sorted(cut | shallow_boundary(repo))), "ascii")
            out = git(repo, *args, input=revisions, env={"GIT_SHALLOW_FILE": str(shallow)})
    else:
        out = git(repo, *args, input=revisions)
    seen: set[tuple[str, str, str]] = set()
    removed: set[tuple[str, str, str]] = set()
    for chunk in out.split(b"\x01")[1:]:
        tokens = chunk.split(b"\0")
        head = [t.decode("utf-8", "replace") for t in tokens[:len(_FIELDS)]]
        sha = head[0]
        if sha not in index.commits:
            parents = () if sha in cut else tuple(head[1].split())
            index.commits[sha] = Commit(sha, parents, *head[2:], order=len(index.commits))
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


def is_partial_clone(repo: Path) -> bool:
    """A clone made with ``--filter`` (its promisor remote holds the objects it left out)."""
    promisors = git(repo, "config", "--get-regexp", r"^(extensions\.partialclone|remote\..*\.promisor)$",
                    ok=(0, 1)).decode().split("\n")
    return any(line.split(" ", 1)[-1].strip() not in ("", "false") for line in promisors if line)


@dataclass(frozen=True)
class Unfetched:
    """What a partial clone left out of the commits to audit (``--filter=tree:0`` leaves out trees)."""

    commits: dict[str, str]  # commit -> its root tree, for commits whose tree is not here
    cut: set[str]  # commits here whose parents' trees are not: diffed as roots
    present: list[str]  # the commits whose trees are here: the walk's tips


def unfetched_trees(repo: Path, tips: list[str], excludes: list[str] = ()) -> Unfetched:
    """Commits of a partial clone whose trees were never fetched, found without fetching:
    ``rev-list --missing=print`` lists missing objects instead of asking the promisor remote,
    and the commit graph (``%T``) needs no tree. Asking ``git log --raw`` instead would fetch
    each missing tree (one network round trip per commit: 30 fetches for 30 commits)."""
    none = Unfetched({}, set(), [])
    if not tips or not is_partial_clone(repo):
        return none
    revisions = "".join(f"{r}\n" for r in [*sorted(set(tips)), *(f"^{e}" for e in excludes)]).encode()
    listed = git(repo, "rev-list", "--objects", "--missing=print", "--filter=blob:none", "--stdin", input=revisions)
    missing = {line[1:].decode() for line in listed.splitlines() if line.startswith(b"?")}
    if not missing:
        return none
    graph = git(repo, "log", "--format=%H %T %P", "--stdin", input=revisions).decode().splitlines()
    trees = {parts[0]: (parts[1], parts[2:]) for parts in (line.split() for line in graph) if len(parts) >= 2}
    absent = {c: tree for c, (tree, _) in trees.items() if tree in missing}
    cut = {c for c, (_, parents) in trees.items() if c not in absent and any(p in absent for p in parents)}
    return Unfetched(absent, cut, sorted(c for c in trees if c not in absent))


def blobs_at(repo: Path, commits: list[str], paths: list[str]) -> dict[tuple[str, str], str]:
    """(commit, path) -> blob id, for every given commit and path that is a file there.

    One ``cat-file --batch-check`` answers ``commit:path`` for all pairs (10,000 branch tips and a
    few leaked paths: one process, not one ``ls-tree -r`` per tip holding every path of every
    tip). A path that cannot be named that way (a line break, a byte that is not UTF-8) is looked
    up with ``ls-tree`` per commit instead.
    """
    commits = sorted(set(commits))
    plain = [p for p in dict.fromkeys(paths) if "\n" not in p and "\\" not in p]
    odd = [p for p in dict.fromkeys(paths) if p not in plain]
    found: dict[tuple[str, str], str] = {}
    if plain and commits:
        pairs = [(c, p) for c in commits for p in plain]
        out = git(repo, "cat-file", "--batch-check=%(objectname) %(objecttype)",
                  input="".join(f"{c}:{p}\n" for c, p in pairs).encode("utf-8", "surrogateescape"))
        for pair, line in zip(pairs, out.decode("utf-8", "replace").split("\n")):
            parts = line.split(" ")
            if len(parts) == 2 and parts[1] == "blob":
                found[pair] = parts[0]
    for commit in commits if odd else ():
        tree = tree_blobs(repo, commit)
        found.update({(commit, p): tree[p] for p in odd if p in tree})
    return found


def tree_blobs(repo: Path, commit: str) -> dict[str, str]:
    """path -> blob id of every file in a commit's tree."""
    out = git(repo, "ls-tree", "-r", "-z", "--full-tree", commit)
    files = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        parts = meta.split()
        if len(parts) == 3 and parts[1] == b"blob":
            files[decode_path(path)] = parts[2].decode()
    return files


class Reach:
    """Which refs reach which commits, for the commits that matter (where leaks were introduced).

    Each ref is one bit (refs sorted by name, so the lowest bits are the first names); one pass
    over the commit graph, children before parents, ORs a commit's bits into its parents'. A
    commit's bits are dropped once it is passed (its children came before it) unless it is
    wanted, so memory is (commits on the walk's frontier + wanted commits) x refs / 8 bytes, and
    time commits x refs / 64 word operations: 10,000 refs over 200 commits is 250 KB and
    milliseconds, where a set of ref names per commit cost 32 s.
    """

    def __init__(self, names: list[str], masks: dict[str, int]):
        self.names = names
        self.masks = masks

    def refs(self, commits, limit: int) -> tuple[list[str], int]:
        """(the first ``limit`` names, by name, of the refs reaching any of ``commits``; how many in all)."""
        mask = 0
        for commit in commits:
            mask |= self.masks.get(commit, 0)
        total = bin(mask).count("1")
        first = []
        while mask and len(first) < limit:
            low = mask & -mask
            first.append(self.names[low.bit_length() - 1])
            mask ^= low
        return first, total


def refs_reaching(repo: Path, index: HistoryIndex, refs: list[Ref], wanted: set[str]) -> Reach:
    """The refs reaching each ``wanted`` commit. The graph is the index's when every ref tip is in
    it; otherwise (``--range``, ``--since``: tips outside the audited commits) one
    ``rev-list --parents`` over all the refs gives it, still one git process however many refs."""
    refs = sorted(refs, key=lambda r: r.name)
    names = [r.name for r in refs]
    at: dict[str, bytearray] = {}  # tip -> its refs' bits, built as bytes (no big-int OR per ref)
    for i, ref in enumerate(refs):
        at.setdefault(ref.commit, bytearray((len(refs) + 7) // 8))[i >> 3] |= 1 << (i & 7)
    bits = {commit: int.from_bytes(raw, "little") for commit, raw in at.items()}
    if all(r.commit in index.commits for r in refs):
        order = [(c.commit, c.parents) for c in sorted(index.commits.values(), key=lambda c: c.order)]
    else:
        revisions = "".join(f"{c}\n" for c in sorted(set(bits))).encode()
        out = git(repo, "rev-list", "--parents", "--topo-order", "--stdin", input=revisions).decode()
        order = [(parts[0], tuple(parts[1:])) for parts in (line.split() for line in out.splitlines()) if parts]
    masks: dict[str, int] = {}
    for commit, parents in order:
        mask = bits.pop(commit, 0)
        if commit in wanted and mask:
            masks[commit] = mask
        for parent in parents:
            if mask:
                bits[parent] = bits.get(parent, 0) | mask
    return Reach(names, masks)


def resolve(repo: Path, rev: str) -> str:
    """The commit a revision names, or GitError with a one-line message."""
    sha = git(repo, "rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}", ok=(0, 1))
    if not sha.strip():
        raise GitError(f"unknown revision: {rev}")
    return sha.decode().strip()


def unreachable_objects(repo: Path) -> tuple[list[str], list[str], list[str]]:
    """(commits, blobs, missing) no ref reaches: amended or rebased-away commits, dropped stashes,
    and blobs that were staged and then discarded; reflogs do not count as reaching.

    ``--connectivity-only`` keeps fsck from hashing every blob. fsck failing is not ignored: a
    listing it could not finish may leave out the one unreachable commit that holds a secret.
    Objects it names as missing are returned (the audit reports them, exit 2 unless
    --allow-missing); any other failure is a GitError.
    """
    proc = _run(repo, ("fsck", "--unreachable", "--no-reflogs", "--connectivity-only", "--no-progress"))
    found: dict[str, set[str]] = {"commit": set(), "blob": set()}
    missing: set[str] = set()
    for parts in (line.split() for line in proc.stdout.decode("ascii", "replace").splitlines()):
        if len(parts) == 3 and parts[0] == "unreachable" and parts[1] in found:
            found[parts[1]].add(parts[2])
        elif len(parts) == 3 and parts[0] == "missing":
            missing.add(f"{parts[1]} {parts[2]}")
    if proc.returncode != 0 and not missing:
        raise GitError(f"git fsck: {summarise(proc.stderr or proc.stdout)} (the unreachable objects cannot be listed)")
    return sorted(found["commit"]), sorted(found["blob"]), sorted(missing)


def absent_blobs(repo: Path, blobs: list[str]) -> set[str]:
    """The blobs a partial clone (``--filter=blob:none``) never fetched.

    Asking ``cat-file`` for one would fetch it from the promisor remote (a network call per blob)
    or, with fetching off, kill the batch process; so a partial clone's local objects are listed
    once (``--batch-all-objects`` never fetches) and the others are reported missing unread.
    """
    if not is_partial_clone(repo):
        return set()
    present = set(git(repo, "cat-file", "--batch-all-objects", "--batch-check=%(objectname)").decode().split())
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
