"""``scan --staged`` and the pre-commit hook, through the real pre-commit (``pre-commit try-repo``).

pre-commit builds the hook's environment from this repository once (into the user cache, so later
runs reuse it): the first run takes a while and needs PyPI. ``scan --staged`` itself is also
tested directly, without pre-commit, on partially staged files and renames.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_audit import Repo, leak

from trussguard.cli import main

HF = "huggingface.user-token"
PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("initial", {"README.md": "# demo\n", "app.py": "import os\n"})
    return r


def staged(repo: Repo, tmp_path: Path) -> tuple[int, dict]:
    out = tmp_path / "staged.json"
    code = main(["scan", "--staged", str(repo.root), "--format", "json", "-o", str(out), "--no-cache"])
    return code, json.loads(out.read_text())


def test_staged_reads_the_index_not_the_working_tree(repo: Repo, fake_token, tmp_path: Path):
    token = fake_token(HF)
    repo.write("app.py", leak(token))
    repo.git("add", "app.py")
    repo.write("app.py", "import os  # fixed in the working tree, not staged\n")
    code, report = staged(repo, tmp_path)
    assert code == 1 and report["mode"] == "staged"
    assert [(f["path"], f["rule_id"]) for f in report["findings"]] == [("app.py", HF)]
    repo.git("add", "app.py")
    repo.write("app.py", leak(token))  # now only in the unstaged part
    code, report = staged(repo, tmp_path)
    assert code == 0 and report["findings"] == []


def test_staged_rename_and_deletion(repo: Repo, fake_token, tmp_path: Path):
    repo.commit("key", {"old.py": leak(fake_token(HF))})
    repo.git("mv", "old.py", "new.py")
    code, report = staged(repo, tmp_path)
    assert code == 1 and [f["path"] for f in report["findings"]] == ["new.py"]
    repo.git("rm", "-q", "--cached", "new.py")
    code, report = staged(repo, tmp_path)
    assert code == 0 and report["stats"]["files_scanned"] == 0  # a deletion is not a finding


def test_staged_outside_a_repository_exits_2(tmp_path: Path, capsys):
    assert main(["scan", "--staged", str(tmp_path)]) == 2
    assert "not a git repository" in capsys.readouterr().err


def _try_repo(repo: Repo) -> subprocess.CompletedProcess:
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "trussguard-tests" / "pre-commit"
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PRE_COMMIT_COLOR="never")
    return subprocess.run([shutil.which("pre-commit"), "try-repo", str(PROJECT), "trussguard"], cwd=repo.root,
                          env=env, capture_output=True, text=True, timeout=900)


@pytest.mark.skipif(shutil.which("pre-commit") is None, reason="pre-commit is not installed (pip install '.[test]')")
def test_pre_commit_hook(repo: Repo, fake_token):
    token = fake_token(HF)
    repo.write("model.py", leak(token))
    repo.git("add", "model.py")
    blocked = _try_repo(repo)
    assert blocked.returncode == 1, blocked.stdout + blocked.stderr
    assert HF in blocked.stdout and token not in blocked.stdout + blocked.stderr
    assert "remove it before committing" in blocked.stdout  # a key no commit holds: no history purge
    assert "filter-repo" not in blocked.stdout and "force" not in blocked.stdout

    repo.write("model.py", "import os\n")  # the key only in the staged part: still blocked
    assert _try_repo(repo).returncode == 1

    repo.git("add", "model.py")
    repo.write("model.py", leak(token))  # the key only in the unstaged part: the commit is clean
    clean = _try_repo(repo)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert (repo.root / "model.py").read_text() == leak(token)  # pre-commit put the unstaged change back
