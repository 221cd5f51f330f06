"""Faults: each gives a clear one-line message and the right exit code, and loses nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_audit import Repo, leak

from trussguard import audit_cache
from trussguard.sources.tree import list_tree, read_fragment
from trussguard.types import Skipped

HF = "huggingface.user-token"


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trussguard", *args], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, **env), timeout=120)


@pytest.fixture
def repo(tmp_path: Path, fake_token) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("key", {"app.py": leak(fake_token(HF))})
    return r


@pytest.mark.parametrize("args", [["audit", "."], ["scan", "--staged", "."]])
def test_git_not_on_path(repo: Repo, tmp_path: Path, args):
    empty = tmp_path / "no-git-here"
    empty.mkdir()
    proc = run(args, repo.root, PATH=str(empty))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == ["trussguard: error: git is not installed or not on PATH "
                                        "(the history audit and --staged need it)"]


def test_symlink_loop_is_skipped_not_followed(tmp_path: Path, truss_tree):
    root = truss_tree()
    os.symlink(root / "b", root / "a")
    os.symlink(root / "a", root / "b")
    os.symlink(root, root / "model" / "up")  # a loop through a folder
    proc = run(["scan", str(root), "--format", "json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    skipped = {s["path"]: s["reason"] for s in json.loads(proc.stdout)["stats"]["skipped_files"]}
    assert skipped.get("a") == skipped.get("b") == skipped.get("model/up") == "symlink"


def test_file_deleted_during_the_scan(truss_tree):
    root = truss_tree({"gone.py": "x = 1\n"})
    listing = list_tree([root])
    (root / "gone.py").unlink()
    (candidate,) = [c for c in listing.candidates if c.path == "gone.py"]
    assert read_fragment(candidate, 10 << 20) == Skipped("gone.py", "vanished", "deleted during the scan")


def test_unusable_cache_folder_still_gives_a_correct_scan(repo: Repo, tmp_path: Path):
    blocked = tmp_path / "cache-is-a-file"
    blocked.write_text("not a folder")
    jammed = tmp_path / "jammed"  # the cache database's name is taken by a folder: sqlite cannot open it
    (jammed / audit_cache.FILENAME).mkdir(parents=True)
    expected = run(["audit", ".", "--format", "json", "--no-cache"], repo.root)
    for args, env in ((["audit", ".", "--format", "json"], {"TRUSSGUARD_CACHE_DIR": str(blocked)}),
                      (["audit", ".", "--format", "json", "--cache", str(jammed)], {})):
        proc = run(args, repo.root, **env)
        assert proc.returncode == expected.returncode == 1, proc.stderr
        got, want = json.loads(proc.stdout), json.loads(expected.stdout)
        assert [f["id"] for f in got["findings"]] == [f["id"] for f in want["findings"]]
        if "--cache" in args:
            assert any("cache" in n for n in got["stats"]["notes"])  # said, not silently ignored
    scan = run(["scan", ".", "--format", "json"], repo.root, TRUSSGUARD_CACHE_DIR=str(blocked))
    assert scan.returncode == 1 and [f["rule_id"] for f in json.loads(scan.stdout)["findings"]] == [HF]


def test_full_disk_for_the_cache_keeps_the_audit_correct(repo: Repo, tmp_path: Path, monkeypatch):
    """SQLite's max_page_count makes the cache's first large write fail exactly as a full disk does."""
    import sqlite3

    from trussguard.audit import AuditConfig, audit_history
    from trussguard.config import ScanConfig

    repo.commit("many", {f"notes/n{i}.txt": f"note {i}\n" * 50 for i in range(60)})
    want = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None)))
    real = sqlite3.connect

    def full(*args, **kwargs):
        conn = real(*args, **kwargs)
        conn.execute("PRAGMA max_page_count = 3")
        return conn

    monkeypatch.setattr(sqlite3, "connect", full)
    got = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None), blob_cache=tmp_path / "cache"))
    assert [f.id for f in got.findings] == [f.id for f in want.findings] and got.findings
    assert got.stats.files_scanned == want.stats.files_scanned
    assert any("cache disabled" in n and "full" in n for n in got.stats.notes), got.stats.notes
