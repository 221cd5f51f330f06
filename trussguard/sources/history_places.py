"""Where a leaked blob still is: which branch tips (and HEAD) hold it at a path, and which refs
reach the commits that introduced it."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from trussguard.sources.history import HistoryIndex, Ref
from trussguard.sources.history_git import decode_path, git


def tip_trees(repo: Path, commits: list[str], index: HistoryIndex) -> dict[str, str]:
    """commit -> its root tree: from the index when the log walked the commit (``%T``, no git at
    all), else one ``cat-file --batch-check`` for the rest (``--range``/``--since`` leave branch
    tips outside the walk). A commit whose tree git cannot find is left out: nothing is at it."""
    trees = {c: index.commits[c].tree for c in commits if c in index.commits and index.commits[c].tree}
    rest = sorted(set(commits) - set(trees))
    if rest:
        out = git(repo, "cat-file", "--batch-check=%(objectname) %(objecttype)",
                  input="".join(f"{c}^{{tree}}\n" for c in rest).encode())
        for commit, line in zip(rest, out.decode("utf-8", "replace").split("\n")):
            parts = line.split(" ")
            if len(parts) == 2 and parts[1] == "tree":
                trees[commit] = parts[0]
    return trees


class TreePaths(Protocol):
    """A store of answers to "which blob is at this path of this tree" ("" for none): a tree id
    names its content, so an answer never goes stale (``audit_index_cache`` keeps them on disk)."""

    def get(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]: ...

    def put(self, answers: dict[tuple[str, str], str]) -> None: ...


def blobs_at(repo: Path, trees: dict[str, str], paths: list[str],
             known: TreePaths | None = None) -> dict[tuple[str, str], str]:
    """(commit, path) -> blob id, for every commit of ``trees`` (commit -> root tree) and every
    path that is a file there.

    Branch tips share trees (a branch just created, a merge back, 40 tips at one commit), so each
    distinct tree is asked once: one ``cat-file --batch-check`` answers ``tree:path`` for all
    pairs (10,000 branch tips and a few leaked paths: one process, not one ``ls-tree -r`` per
    tip). A path that cannot be named that way (a line break, a byte that is not UTF-8) is looked
    up with one ``ls-tree -r`` per distinct tree instead. Answers ``known`` already are not asked.
    """
    distinct = sorted(set(trees.values()))
    plain = [p for p in dict.fromkeys(paths) if "\n" not in p and "\\" not in p]
    odd = [p for p in dict.fromkeys(paths) if p not in plain]
    pairs = [(t, p) for t in distinct for p in [*plain, *odd]]
    answers = known.get(pairs) if known is not None and pairs else {}
    fresh: dict[tuple[str, str], str] = {}
    ask = [(t, p) for t, p in pairs if p in plain and (t, p) not in answers]
    if ask:
        out = git(repo, "cat-file", "--batch-check=%(objectname) %(objecttype)",
                  input="".join(f"{t}:{p}\n" for t, p in ask).encode("utf-8", "surrogateescape"))
        for pair, line in zip(ask, out.decode("utf-8", "replace").split("\n")):
            parts = line.split(" ")
            fresh[pair] = parts[0] if len(parts) == 2 and parts[1] == "blob" else ""
    for tree in sorted({t for t, p in pairs if p in odd and (t, p) not in answers}):
        files = tree_blobs(repo, tree)
        fresh.update({(tree, p): files.get(p, "") for p in odd})
    if known is not None and fresh:
        known.put(fresh)
    answers = {**answers, **fresh}
    return {(c, p): answers[(t, p)] for c, t in trees.items() for p in [*plain, *odd] if answers.get((t, p))}


def tree_blobs(repo: Path, tree: str) -> dict[str, str]:
    """path -> blob id of every file in a tree (or a commit's)."""
    out = git(repo, "ls-tree", "-r", "-z", "--full-tree", tree)
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
