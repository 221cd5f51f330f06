"""The commit index and tree lookups of past audits, kept beside the blob cache.

Why: re-auditing a repository where nothing changed spent most of its time asking git what it
had already answered: one ``git log --raw`` over the whole history (0.4 s for truss-examples'
1,375 commits, more than 1 s for truss) and parsing it, then where each leaked path is in every
branch tip. The log's answer depends only on what it was asked (tips, excludes, commits cut)
and on the repository state that can change what those ids mean: replace refs, grafts, the
shallow file, the git version, this module's parser and the object store itself (a lost or
rewritten object must make the walk run, and fail, again). All of that goes into the key, so
any change to refs or objects is a new key and a fresh walk; nothing is ever updated in place.
A tree's content never changes, so "blob at this path of this tree" answers are kept as they are.

Like the blob cache this is a convenience, never a dependency: any I/O or sqlite problem makes
it an empty no-op (``problem`` says why), and a stored index whose checksum fails is ignored
and rebuilt (``rejected``). The index holds what the repository's own history holds (paths,
commit ids, authors, subjects), never file contents.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import zlib
from pathlib import Path

from trussguard.sources import history, history_git

FILENAME = "audit-index-v1.sqlite3"
KEEP = 4  # indexes kept (most recently used): a few repositories or --refs selections per cache folder
_CHUNK = 400  # (tree, path) pairs per SELECT
_LOCK_TIMEOUT = 2.0
_SCHEMA = ("CREATE TABLE IF NOT EXISTS indexes (key TEXT PRIMARY KEY, payload BLOB NOT NULL, "
           "sha256 BLOB NOT NULL, used INTEGER NOT NULL) WITHOUT ROWID",
           "CREATE TABLE IF NOT EXISTS tree_paths (tree TEXT NOT NULL, path TEXT NOT NULL, blob TEXT NOT NULL, "
           "PRIMARY KEY (tree, path)) WITHOUT ROWID")
_ENV = ("GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_GRAFT_FILE", "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_SHALLOW_FILE")


class IndexCache:
    """Stored commit indexes by key, and (tree, path) answers; ``open`` never raises."""

    def __init__(self, directory: Path | None):
        self.directory = directory
        self.problem: str | None = None
        self.rejected = 0
        self.hit = False
        self._conn: sqlite3.Connection | None = None

    @property
    def enabled(self) -> bool:
        return self._conn is not None

    @classmethod
    def open(cls, directory: Path | None) -> IndexCache:
        cache = cls(directory)
        if directory is None:
            return cache
        try:
            Path(directory).mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(Path(directory) / FILENAME, timeout=_LOCK_TIMEOUT, isolation_level=None)
            try:
                for statement in _SCHEMA:
                    conn.execute(statement)
            except BaseException:
                conn.close()
                raise
            cache._conn = conn
        except (OSError, sqlite3.Error) as exc:
            cache._disable(exc)
        return cache

    def __enter__(self) -> IndexCache:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def load(self, key: str) -> tuple[history.HistoryIndex, dict[str, float]] | None:
        """(index, first_seen) stored under ``key``, or None (absent, corrupt, or the cache is off)."""
        if self._conn is None:
            return None
        try:
            row = self._conn.execute("SELECT payload, sha256 FROM indexes WHERE key = ?", (key,)).fetchone()
            if row is None:
                return None
            if hashlib.sha256(key.encode() + b"\0" + row[0]).digest() != row[1]:
                self.rejected += 1
                return None
            loaded = _decode(row[0])
            if loaded is None:
                self.rejected += 1
                return None
            self._conn.execute("UPDATE indexes SET used = (SELECT COALESCE(MAX(used), 0) + 1 FROM indexes) "
                               "WHERE key = ?", (key,))
        except sqlite3.Error as exc:
            self._disable(exc)
            return None
        self.hit = True
        return loaded

    def store(self, key: str, index: history.HistoryIndex, first_seen: dict[str, float]) -> None:
        """Keeps the index under ``key``, and only the ``KEEP`` most recently used ones."""
        if self._conn is None:
            return
        payload = _encode(index, first_seen)
        try:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.execute("INSERT OR REPLACE INTO indexes (key, payload, sha256, used) VALUES "
                                   "(?, ?, ?, (SELECT COALESCE(MAX(used), 0) + 1 FROM indexes))",
                                   (key, payload, hashlib.sha256(key.encode() + b"\0" + payload).digest()))
                self._conn.execute("DELETE FROM indexes WHERE key NOT IN "
                                   "(SELECT key FROM indexes ORDER BY used DESC LIMIT ?)", (KEEP,))
        except sqlite3.Error as exc:
            self._disable(exc)

    def get(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Known answers among (tree, path) ``pairs``: blob id, or "" for no file there."""
        found: dict[tuple[str, str], str] = {}
        if self._conn is None:
            return found
        try:
            for tree in sorted({t for t, _ in pairs}):
                rows = self._conn.execute("SELECT path, blob FROM tree_paths WHERE tree = ?", (tree,)).fetchall()
                found.update({(tree, path): blob for path, blob in rows})
        except sqlite3.Error as exc:
            self._disable(exc)
            return {}
        wanted = set(pairs)
        return {pair: blob for pair, blob in found.items() if pair in wanted and _sane_blob(blob)}

    def put(self, answers: dict[tuple[str, str], str]) -> None:
        if self._conn is None or not answers:
            return
        try:
            with self._conn:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany("INSERT OR REPLACE INTO tree_paths (tree, path, blob) VALUES (?, ?, ?)",
                                       [(t, p, b) for (t, p), b in answers.items()])
        except sqlite3.Error as exc:
            self._disable(exc)

    def close(self) -> None:
        conn, self._conn = self._conn, None
        try:
            if conn is not None:
                conn.close()
        except sqlite3.Error:
            pass

    def _disable(self, exc: Exception) -> None:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        self.problem = f"index cache disabled: {self.directory}: {detail}"
        self.close()


def _sane_blob(blob: str) -> bool:
    return blob == "" or (len(blob) in (40, 64) and all(c in "0123456789abcdef" for c in blob))


def index_key(root: Path, tips: list[str], excludes: list[str], cut: set[str], replaced: bytes) -> str:
    """What the log walk's answer depends on, hashed; see the module docstring. Costs two quick
    git process and a stat of every pack and loose object, no history walk. ``replaced``:
    ``history.replace_refs``."""
    where = history_git.git(root, "rev-parse", "--git-path", "objects", "--git-path", "shallow",
                        "--git-path", "info/grafts").decode("utf-8", "surrogateescape").splitlines()
    objects, shallow, grafts = (Path(p) if Path(p).is_absolute() else root / p for p in where)
    digest = hashlib.sha256()
    for part in (__name__, _source_digest(), repr(history_git.require_git_version()), json.dumps(sorted(set(tips))),
                 json.dumps(list(excludes)), json.dumps(sorted(cut)), json.dumps([os.environ.get(n) for n in _ENV])):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    digest.update(replaced + b"\0" + _read(shallow) + b"\0" + _read(grafts) + b"\0")
    _store_state(objects, digest, set())
    return digest.hexdigest()


def _source_digest() -> str:
    """The parser's own code: an edited ``history.py`` never reads an index the old one built."""
    return hashlib.sha256(Path(history.__file__).read_bytes() + Path(__file__).read_bytes()).hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b"-"


def _store_state(objects: Path, digest, seen: set[str]) -> None:
    """Name, size and mtime of every pack file and loose object (and of the alternates' stores):
    an object added, lost, repacked or rewritten is a new key."""
    if str(objects) in seen or len(seen) > 16:
        return
    seen.add(str(objects))
    digest.update(str(objects).encode("utf-8", "surrogateescape") + b"\0")
    try:
        folders = sorted(os.scandir(objects), key=lambda e: e.name)
    except OSError:
        digest.update(b"unreadable\0")
        return
    for folder in folders:
        if not (folder.name == "pack" or (len(folder.name) == 2 and folder.is_dir())):
            continue
        try:
            for entry in sorted(os.scandir(folder.path), key=lambda e: e.name):
                stat = entry.stat(follow_symlinks=False)
                digest.update(f"{folder.name}/{entry.name}:{stat.st_size}:{stat.st_mtime_ns};".encode(
                    "utf-8", "surrogateescape"))
        except OSError:
            digest.update(f"{folder.name}:unreadable;".encode())
    alternates = _read(objects / "info" / "alternates")
    digest.update(alternates + b"\0")
    for line in alternates.decode("utf-8", "surrogateescape").splitlines() if alternates != b"-" else ():
        line = line.strip()
        if line and not line.startswith("#"):
            other = Path(line) if Path(line).is_absolute() else objects / line
            _store_state(other, digest, seen)


def _encode(index: history.HistoryIndex, first_seen: dict[str, float]) -> bytes:
    """Compact JSON (commits and paths numbered once), zlib-compressed."""
    commits = list(index.commits.values())  # in log order: order is the position
    number = {c.commit: i for i, c in enumerate(commits)}
    paths: dict[str, int] = {}
    for pairs in index.blobs.values():
        for path, _ in pairs:
            paths.setdefault(path, len(paths))
    for path, _ in index.removals:
        paths.setdefault(path, len(paths))
    data = {
        "commits": [[c.commit, list(c.parents), c.author_name, c.author_email, c.author_date, c.committer_date,
                     c.subject, c.tree, c.order] for c in commits],
        "paths": list(paths),
        "blobs": {b: [x for p, c in pairs for x in (paths[p], number[c])] for b, pairs in index.blobs.items()},
        "removals": [[paths[p], b, [x for c, new in gone for x in (number[c], new)]]
                     for (p, b), gone in index.removals.items()],
        "submodules": {p: sorted(pins) for p, pins in index.submodules.items()},
        "first_seen": first_seen,
    }
    return zlib.compress(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _decode(payload: bytes) -> tuple[history.HistoryIndex, dict[str, float]] | None:
    """The stored index, or None for anything ``_encode`` did not write."""
    try:
        data = json.loads(zlib.decompress(payload).decode("utf-8", "surrogatepass"))
        index = history.HistoryIndex()
        shas = []
        for sha, parents, *meta, tree, order in data["commits"]:
            index.commits[sha] = history.Commit(sha, tuple(parents), *meta, order=order, tree=tree)
            shas.append(sha)
        paths = data["paths"]
        index.blobs = {b: [(paths[flat[i]], shas[flat[i + 1]]) for i in range(0, len(flat), 2)]
                       for b, flat in data["blobs"].items()}
        index.removals = {(paths[p], b): [(shas[flat[i]], flat[i + 1]) for i in range(0, len(flat), 2)]
                          for p, b, flat in data["removals"]}
        index.submodules = {p: set(pins) for p, pins in data["submodules"].items()}
        first_seen = {b: float(t) for b, t in data["first_seen"].items()}
        return index, first_seen
    except (ValueError, TypeError, KeyError, IndexError, zlib.error, RecursionError):
        return None
