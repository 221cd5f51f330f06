"""The stored commit index and tree lookups (``audit_index_cache``), the per-tree branch-tip
lookup (``history_places``) and the audit's worker state (``audit_scan``).

What must hold: a re-audit where nothing changed walks no history and asks git nothing about
trees it asked before, with the same findings; any change to refs or to the object store walks
again (and so fails again where it failed); a damaged store is ignored, never believed.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_audit import HF, Repo, leak, only

from trussguard import audit_index_cache, audit_scan, workers
from trussguard.audit import AuditConfig, audit_history
from trussguard.config import ScanConfig
from trussguard.report import json_report
from trussguard.sources import history, history_git, history_places


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("initial", {"README.md": "# demo\n"})
    return r


def _config(repo: Repo, cache: Path, **kw) -> AuditConfig:
    return AuditConfig(repo.root, ScanConfig(cache_dir=None), blob_cache=cache, **kw)


def _no_walk(monkeypatch) -> None:
    def refuse(*args, **kw):
        raise AssertionError("the history was walked again")
    monkeypatch.setattr(history, "build_index", refuse)


def test_warm_audit_walks_no_history_and_finds_the_same(repo: Repo, fake_token, tmp_path: Path, monkeypatch):
    repo.commit("key", {"app.py": leak(fake_token(HF))})
    repo.git("branch", "side")
    repo.git("branch", "other")  # three tips, one commit, one tree
    config = _config(repo, tmp_path / "c")
    first = audit_history(config)
    assert first.stats.history["index_cached"] is False
    _no_walk(monkeypatch)
    monkeypatch.setattr(history_places, "git", lambda *a, **k: pytest.fail(f"asked git {a[1:3]}"))
    second = audit_history(config)
    assert second.stats.history["index_cached"] is True
    assert json_report.to_dict(first)["findings"] == json_report.to_dict(second)["findings"]
    assert only(second, "app.py").history["branch_tips_holding"] == 3


def test_new_commit_walks_again(repo: Repo, fake_token, tmp_path: Path):
    config = _config(repo, tmp_path / "c")
    assert audit_history(config).findings == []
    repo.commit("key", {"app.py": leak(fake_token(HF))})
    again = audit_history(config)
    assert again.stats.history["index_cached"] is False
    only(again, "app.py")


def test_object_store_change_walks_again(repo: Repo, tmp_path: Path):
    config = _config(repo, tmp_path / "c")
    audit_history(config)
    (repo.root / "loose.txt").write_text("not committed\n")
    repo.git("hash-object", "-w", "loose.txt")  # a new loose object, refs unchanged
    assert audit_history(config).stats.history["index_cached"] is False
    assert audit_history(config).stats.history["index_cached"] is True
    repo.git("gc", "-q")  # repacked: another object store
    assert audit_history(config).stats.history["index_cached"] is False


def test_deleted_tree_fails_again_after_a_warm_run(repo: Repo, tmp_path: Path):
    """A stored index must not hide damage done since: the object store is part of the key."""
    repo.commit("more", {"pkg/a.py": "A = 1\n"})
    config = _config(repo, tmp_path / "c")
    audit_history(config)
    tree = repo.git("rev-parse", "HEAD:pkg")
    (repo.root / ".git" / "objects" / tree[:2] / tree[2:]).unlink()
    with pytest.raises(history_git.GitError):
        audit_history(config)


def test_replace_refs_are_part_of_the_key(repo: Repo, fake_token, tmp_path: Path):
    first = repo.commit("key", {"app.py": leak(fake_token(HF))})
    clean = repo.commit("clean", {"app.py": "X = 1\n"})
    repo.git("reset", "-q", "--hard", first)  # `clean` stays in the store, unreachable
    config = _config(repo, tmp_path / "c")
    only(audit_history(config), "app.py")
    repo.git("replace", first, clean)  # a ref, no new object: git now reads `clean` wherever `first` is named
    again = audit_history(config)
    assert again.stats.history["index_cached"] is False


def test_replaced_blob_is_not_rejected_by_the_blob_cache(repo: Repo, tmp_path: Path):
    """A blob a replace ref swaps for the empty blob (what a corpus does for blobs it could not
    fetch) reads as 0 bytes; the cache must accept that on a re-audit, not rescan it every time."""
    repo.commit("data", {"data.bin": "x" * 100})
    blob = repo.git("rev-parse", "HEAD:data.bin")
    empty = repo.git("hash-object", "-w", "--stdin")  # no input: the empty blob
    repo.git("replace", blob, empty)
    config = _config(repo, tmp_path / "c")
    audit_history(config)
    again = audit_history(config)
    assert again.stats.history["cache_misses"] == 0
    assert not any("failed the checksum" in n for n in again.stats.notes)


def test_corrupt_stored_index_is_ignored(repo: Repo, fake_token, tmp_path: Path):
    repo.commit("key", {"app.py": leak(fake_token(HF))})
    config = _config(repo, tmp_path / "c")
    audit_history(config)
    with sqlite3.connect(tmp_path / "c" / audit_index_cache.FILENAME) as conn:
        conn.execute("UPDATE indexes SET payload = ?", (b"x\x9cnot an index",))
    again = audit_history(config)
    assert again.stats.history["index_cached"] is False
    only(again, "app.py")


def test_stored_tree_answer_with_a_bad_blob_id_is_not_believed(repo: Repo, tmp_path: Path):
    cache = audit_index_cache.IndexCache.open(tmp_path / "c")
    cache.put({("a" * 40, "x.py"): "not a blob id", ("a" * 40, "y.py"): "b" * 40})
    assert cache.get([("a" * 40, "x.py"), ("a" * 40, "y.py")]) == {("a" * 40, "y.py"): "b" * 40}
    cache.close()


def test_only_the_last_indexes_are_kept(repo: Repo, tmp_path: Path):
    cache = audit_index_cache.IndexCache.open(tmp_path / "c")
    for n in range(audit_index_cache.KEEP + 3):
        cache.store(f"k{n}", history.HistoryIndex(), {})
    assert cache.load("k0") is None and cache.load(f"k{audit_index_cache.KEEP + 2}") is not None
    cache.close()


def test_each_distinct_tree_looked_into_once(repo: Repo, fake_token, tmp_path: Path):
    token = fake_token(HF)
    repo.commit("key", {"app.py": leak(token)})
    for name in ("b1", "b2", "b3"):
        repo.git("branch", name)  # same commit
    repo.git("checkout", "-q", "-b", "b4")
    repo.git("commit", "-q", "--allow-empty", "-m", "same tree, another commit")
    repo.git("checkout", "-q", "main")
    tips = [repo.git("rev-parse", b) for b in ("main", "b1", "b2", "b3", "b4")]
    index = history.build_index(repo.root, tips)
    trees = history_places.tip_trees(repo.root, tips, index)
    assert len(set(trees.values())) == 1 and len(set(trees)) == 2

    class Known:
        def __init__(self):
            self.store: dict = {}

        def get(self, pairs):
            return {p: self.store[p] for p in pairs if p in self.store}

        def put(self, answers):
            self.store.update(answers)

    known = Known()
    at = history_places.blobs_at(repo.root, trees, ["app.py", "gone.py"], known)
    blob = repo.git("rev-parse", "HEAD:app.py")
    assert at == {(c, "app.py"): blob for c in trees}
    assert sorted(known.store.values()) == ["", blob]  # one tree x two paths, a miss kept as ""


def test_tip_outside_the_walk_gets_its_tree_from_git(repo: Repo, tmp_path: Path):
    head = repo.git("rev-parse", "HEAD")
    trees = history_places.tip_trees(repo.root, [head], history.HistoryIndex())
    assert trees == {head: repo.git("rev-parse", "HEAD^{tree}")}


def test_workers_get_their_state_from_the_initializer(repo: Repo, fake_token, monkeypatch):
    """No module-level state set by the parent: the pool's initializer receives it."""
    monkeypatch.setattr(audit_scan, "PARALLEL_MIN_BLOBS", 2)  # forks workers for these few blobs
    repo.commit("files", {f"f{i}.py": f"X = {i}\n" for i in range(4)} | {"app.py": leak(fake_token(HF))})
    result = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None, jobs=2)))
    only(result, "app.py")
    # the shared pool (``workers.iter_in_workers``) hands the state over; the audit keeps none of its own
    assert not any(hasattr(audit_scan, name) for name in ("_worker", "_STATE", "_READER"))
    assert workers._ThisWorker.state is None  # set only inside a worker process, never in the parent


def test_a_replaced_blob_is_said_and_can_be_audited_as_committed(repo: Repo, fake_token, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch):
    """`git replace` makes git read another object wherever a blob is named: the audit reads what git
    reads, and says so in a note, with the way to audit the objects as committed."""
    repo.commit("key", {"app.py": leak(fake_token(HF))})
    blob = repo.git("rev-parse", "HEAD:app.py")
    clean = repo.git("hash-object", "-w", "--stdin")  # the empty blob
    repo.git("replace", blob, clean)
    config = _config(repo, tmp_path / "c")
    hidden = audit_history(config)
    assert not hidden.findings
    assert any("1 object(s) have a replacement" in n and "GIT_NO_REPLACE_OBJECTS=1" in n for n in hidden.stats.notes)
    monkeypatch.setenv("GIT_NO_REPLACE_OBJECTS", "1")
    seen = audit_history(_config(repo, tmp_path / "other"))
    only(seen, "app.py")
    assert not any("replacement" in n for n in seen.stats.notes)
