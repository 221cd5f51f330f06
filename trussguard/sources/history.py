"""Git plumbing for the history audit: refs, and one pass over the log that says where every blob lived.

Why this shape: a repository's history holds the same blob at many commits and paths, so the
audit reads each blob once, by object id, through git's persistent batch interface
(``history_reader``), and learns *where* each blob lived from a single ``git log --raw`` pass
(``build_index``). Nothing is ever checked out and ``git log -p`` is never run: diffs would
re-read every blob once per commit that touches it. Running git is ``history_git`` and reading
blobs is ``history_reader``: import their names from there. Where a leak still is (branch tips,
refs reaching it) is ``history_places``.
"""

from __future__ import annotations

import fnmatch
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from trussguard.sources.history_git import GitError, decode_path, git, summarise, _run


NULL_SHA = "0" * 40
DANGLING = "(unreachable blob)"  # the path of a blob that belongs to no commit at all
GITLINK = "160000"  # a submodule entry in a tree: a commit of another repository
_FIELDS = ("commit", "parents", "author_name", "author_email", "author_date", "committer_date", "subject", "tree")
_FORMAT = "%x01" + "%x00".join(("%H", "%P", "%an", "%ae", "%aI", "%cI", "%s", "%T"))


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
    tree: str = ""  # its root tree: branch tips sharing a tree are looked into once (``history_places``)

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
            index.commits[sha] = Commit(sha, parents, *head[2:7], order=len(index.commits), tree=head[7])
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


def replace_refs(repo: Path) -> bytes:
    """``<ref> <object>`` per replace ref: git reads ``<ref>``'s object wherever the id its name
    ends with is asked for (``git replace``), so they change what an id's content is."""
    base = os.environ.get("GIT_REPLACE_REF_BASE", "refs/replace/")
    return git(repo, "for-each-ref", "--format=%(refname) %(objectname)", base)


def replaced_ids(listing: bytes) -> frozenset[str]:
    """The object ids a ``replace_refs`` listing replaces (none under GIT_NO_REPLACE_OBJECTS)."""
    if os.environ.get("GIT_NO_REPLACE_OBJECTS"):
        return frozenset()
    return frozenset(line.split(b" ")[0].rsplit(b"/", 1)[-1].decode("ascii", "replace")
                     for line in listing.splitlines() if line)


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
