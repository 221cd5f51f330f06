"""What a commit would record: the index versions of the staged files (``scan --staged``).

A pre-commit hook must judge exactly what is about to be committed: the staged content of each
file (a partially staged file is read from the index, not the working tree), new paths of renames
included, deletions never. Everything is read from git's object database by blob id, through
the same batch reader as the history audit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trussguard.sources.content import Decoded
from trussguard.sources.history_git import GitError, decode_path, git, repository_root
from trussguard.sources.history_reader import BlobReader


@dataclass(frozen=True)
class IndexListing:
    root: Path
    staged: dict[str, str]  # path -> blob id of each added, copied, modified or renamed-to file
    index: dict[str, str]  # path -> blob id of every file in the index (the whole next commit)


def list_staged(start: Path) -> IndexListing:
    root = repository_root(start)
    out = git(root, "diff", "--cached", "--raw", "-z", "--no-abbrev", "--find-renames", "--diff-filter=ACMR",
              "--no-ext-diff", "--no-textconv", "--ignore-submodules=all")
    staged: dict[str, str] = {}
    tokens = out.split(b"\0")
    i = 0
    while i < len(tokens) - 1:
        meta = tokens[i].lstrip(b":").split()
        if len(meta) < 5:
            i += 1
            continue
        renamed = meta[4][:1] in (b"R", b"C")
        path = tokens[i + 2] if renamed else tokens[i + 1]  # renames and copies list the old path first
        if meta[1].startswith(b"100"):  # a regular file (not a submodule or a symlink)
            staged[decode_path(path)] = meta[3].decode()
        i += 3 if renamed else 2
    index: dict[str, str] = {}
    for entry in git(root, "ls-files", "-s", "-z").split(b"\0"):
        head, _, path = entry.partition(b"\t")
        parts = head.split()
        if len(parts) == 3 and parts[0].startswith(b"100") and parts[2] == b"0":
            index[decode_path(path)] = parts[1].decode()
    return IndexListing(root, staged, index)


class IndexReader:
    """Index versions by path, read once each through one batch ``cat-file`` process."""

    def __init__(self, listing: IndexListing, max_size: int):
        self._listing = listing
        self._reader = BlobReader(listing.root, max_size, stream=False)  # read more than once: in memory
        self._cache: dict[str, object] = {}

    def read_many(self, paths: list[str]) -> dict[str, object]:
        """path -> Decoded, Oversize or Skipped, for paths that are in the index."""
        todo = [p for p in paths if p not in self._cache and p in self._listing.index]
        blobs = [self._listing.index[p] for p in todo]
        by_blob = dict(self._reader.read_many(blobs, {self._listing.index[p]: p for p in todo}))
        for p in todo:
            self._cache[p] = by_blob[self._listing.index[p]]
        return {p: self._cache[p] for p in paths if p in self._cache}

    def read(self, path: str) -> bytes | None:
        """The text the policy parses: None for a binary or an oversize file (rules only)."""
        data = self.read_many([path]).get(path)
        return data.text if isinstance(data, Decoded) and not data.binary else None


def committed_values(root: Path, needles: dict[str, set[bytes]]) -> set[str]:
    """Which of the staged secrets (SHA-256 -> the text each is written as) a commit already holds.

    Why: a key blocked before it was ever committed needs removing and, if it was shared elsewhere,
    rotating; a history purge is advice for a key that is already in a commit. The check is HEAD's
    whole tree (any file: a key moved or copied from a committed file counts), with one ``git grep
    --fixed-strings`` whose patterns come on standard input (never on a command line others can read).
    Only findings pay for it, and a commit that blocks is rare. It does not walk older commits (a key
    committed, deleted, then staged again reads as never committed: ``trussguard audit`` finds those).
    When git cannot answer (no HEAD yet: nothing is committed; an error: every value counts as
    committed, so the advice is the full one)."""
    patterns = {p for values in needles.values() for p in values if len(p) >= 4 and b"\n" not in p}
    if not patterns:
        return set()
    if not git(root, "rev-parse", "-q", "--verify", "HEAD^{commit}", check=False).strip():
        return set()  # an unborn branch: nothing was ever committed here
    try:
        out = git(root, "-c", "grep.fallbackToNoIndex=false", "grep", "--fixed-strings", "--text", "--only-matching",
                  "-h", "--no-color", "-f", "-", "HEAD", "--",
                  input=b"\n".join(sorted(patterns)) + b"\n", ok=(0, 1))
    except GitError:
        return set(needles)
    seen = set(out.splitlines())
    return {digest for digest, values in needles.items() if any(v in s for s in seen for v in values)}


def needle(value: str) -> bytes:
    """The text a secret is searched for: its longest line (a PEM key's body line; a fixed-string
    pattern is one line)."""
    return max(value.encode("utf-8").splitlines() or [b""], key=len).strip()
