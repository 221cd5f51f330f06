"""An incomplete history is an error (issue 11): every way the audit could see less than the whole
history without saying so ends in exit 2 and one line on stderr, unless the user opts in.

Shallow clones, a failing ``git fsck``, a git too old or one that rejects an option, a partial
clone whose trees were never fetched (and which must never be fetched), a corrupt object, and
ten thousand branches (per-ref work linear, lists per finding bounded). Fake git executables are
small shell scripts put first on PATH that hand everything else to the real git.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from trussguard.audit import AuditConfig, audit_history
from trussguard.audit_provenance import MAX_REFS
from trussguard.cli import main
from trussguard.config import ScanConfig
from trussguard.report import json_report

from test_audit import HF, Repo, leak

REAL_GIT = shutil.which("git")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("initial", {"README.md": "# demo\n"})
    return r


def run(capsys, *args: str) -> tuple[int, list[str]]:
    """``trussguard audit ...`` in process: (exit code, stderr lines)."""
    code = main(["audit", *args, "--no-cache", "--quiet"])
    return code, capsys.readouterr().err.splitlines()


def fake_git(tmp_path: Path, monkeypatch, script: str) -> None:
    """A ``git`` first on PATH: ``script`` (sh) runs first; then the real git runs."""
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    wrapper = folder / "git"
    wrapper.write_text(f"#!/bin/sh\n{script}\nexec {REAL_GIT} \"$@\"\n")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")


def rejecting(option: str) -> str:
    return (f'for a in "$@"; do if [ "$a" = "{option}" ]; then '
            f'echo "error: unknown option \\`{option.lstrip("-")}\'" >&2; echo "usage: git ..." >&2; '
            'exit 129; fi; done')


# ----------------------------------------------------------------------------- shallow clones


def test_shallow_clone_exits_2_unless_allow_shallow(repo: Repo, fake_token, tmp_path: Path, capsys):
    repo.commit("older work", {"a.txt": "a\n"})
    base = repo.commit("base", {"b.txt": "b\n"})
    repo.commit("key", {"app.py": leak(fake_token(HF))})
    repo.commit("clean", {"app.py": "import os\n"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "3", f"file://{repo.root}", str(clone)], check=True)
    code, err = run(capsys, str(clone))
    assert code == 2 and len(err) == 1, err
    assert "shallow clone: 1 commits' history is missing" in err[0]
    assert "git fetch --unshallow" in err[0] and "--allow-shallow" in err[0]
    code, err = run(capsys, str(clone), "--allow-shallow")
    assert code == 1 and err == []
    # a range whose commits were all fetched (a pull request's) is complete: no error
    code, err = run(capsys, str(clone), "--range", f"{base}..HEAD")
    assert code == 1 and err == []


def test_baseline_of_a_shallow_history_exits_2_unless_allow_shallow(repo: Repo, tmp_path: Path, capsys):
    repo.commit("more", {"a.txt": "a\n"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone)], check=True)
    out = tmp_path / "baseline.json"
    assert main(["baseline", "create", str(clone), "--history", "--baseline", str(out)]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1 and not out.exists()
    assert main(["baseline", "create", str(clone), "--history", "--allow-shallow", "--baseline", str(out)]) == 0


# ----------------------------------------------------------------------------- git itself


def test_fsck_failing_under_include_unreachable_exits_2(repo: Repo, fake_token, tmp_path: Path, monkeypatch,
                                                         capsys):
    repo.commit("oops", {"app.py": leak(fake_token(HF))})
    repo.write("app.py", "import os\n")
    repo.git("add", "app.py")
    repo.git("commit", "-q", "--amend", "-m", "clean")  # the key is now in an unreachable commit only
    fake_git(tmp_path, monkeypatch, 'if [ "$3" = fsck ]; then echo "error: object directory is corrupt" >&2; '
                                    'echo "fatal: fsck gave up" >&2; exit 128; fi')
    code, err = run(capsys, str(repo.root), "--include-unreachable")
    assert code == 2 and len(err) == 1, err
    assert "git fsck: fatal: fsck gave up" in err[0]


def test_a_git_older_than_the_minimum_exits_2(repo: Repo, tmp_path: Path, monkeypatch, capsys):
    fake_git(tmp_path, monkeypatch, 'if [ "$1" = version ] || [ "$1" = --version ]; then '
                                    'echo "git version 2.17.1"; exit 0; fi')
    code, err = run(capsys, str(repo.root))
    assert code == 2 and len(err) == 1, err
    assert "git 2.17.1 is too old" in err[0] and ">= 2.31" in err[0]


@pytest.mark.parametrize("option, flags", [("--is-shallow-repository", ()),
                                           ("--connectivity-only", ("--include-unreachable",))])
def test_a_git_rejecting_an_option_exits_2(repo: Repo, fake_token, tmp_path: Path, monkeypatch, capsys,
                                           option: str, flags: tuple[str, ...]):
    """Before, such a git gave a narrower audit (not known to be shallow; no unreachable commits), exit 0."""
    repo.commit("clean", {"a.txt": "a\n"})
    fake_git(tmp_path, monkeypatch, rejecting(option))
    code, err = run(capsys, str(repo.root), *flags)
    assert code == 2 and len(err) == 1, err
    assert f"unknown option `{option.lstrip('-')}'" in err[0]


def test_a_corrupt_object_is_one_line_on_stderr(repo: Repo, fake_token, capsys):
    repo.commit("files", {"a.py": "A = 1\n", "b.py": leak(fake_token(HF))})
    tree = repo.git("rev-parse", "HEAD^{tree}")
    path = repo.root / ".git" / "objects" / tree[:2] / tree[2:]
    path.chmod(0o644)
    path.write_bytes(b"\x78\x9c garbage, not zlib")  # git log then writes several error lines
    code, err = run(capsys, str(repo.root))
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("trussguard: error: git log: fatal:") and len(err[0]) < 300


# ----------------------------------------------------------------------------- partial clones


def test_tree0_partial_clone_never_fetches_and_reports_missing_trees(repo: Repo, fake_token, tmp_path: Path,
                                                                      monkeypatch, capsys):
    for n in range(4):
        repo.commit(f"work {n}", {f"d{n}/f.txt": f"{n}\n"})
    repo.commit("key", {"app.py": leak(fake_token(HF))})
    repo.git("config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "partial"
    subprocess.run(["git", "clone", "-q", "--filter=tree:0", "--no-local", f"file://{repo.root}", str(clone)],
                   check=True, capture_output=True)
    subprocess.run(["git", "-C", str(clone), "branch", "old", "HEAD~3"], check=True)  # a tip without its tree
    trace = tmp_path / "git-trace.log"
    monkeypatch.setenv("GIT_TRACE", str(trace))
    code, err = run(capsys, str(clone), "--format", "json", "--output", str(tmp_path / "report.json"))
    assert code == 2 and len(err) == 1, err
    assert "missing" in err[0] and "partial clone" in err[0] and "--allow-missing" in err[0]
    code, err = run(capsys, str(clone), "--allow-missing", "--format", "json", "--output", str(tmp_path / "r.json"))
    assert code == 1  # HEAD's tree was fetched by the checkout: its key is found
    traced = trace.read_text().splitlines()
    assert any("built-in: git log" in line for line in traced)  # the trace saw the audit's gits
    assert [line for line in traced if " fetch " in line] == []  # no git ever asked the promisor remote for anything
    report = (tmp_path / "r.json").read_text()
    assert report.count("its tree") == 5  # the five older commits, reported one by one


# ----------------------------------------------------------------------------- many branches


def test_thousands_of_branches_keep_findings_right_and_small(repo: Repo, fake_token):
    shas = [repo.commit(f"c{n}", {"a.txt": f"{n}\n"}) for n in range(2)]
    shas.append(repo.commit("key", {"model/model.py": leak(fake_token(HF))}))
    shas.append(repo.commit("more", {"a.txt": "more\n"}))
    shas.append(repo.commit("removed", {"model/model.py": "import os\n"}))
    branches = {f"refs/heads/b{i:04d}": shas[i % len(shas)] for i in range(2000)}
    subprocess.run(["git", "-C", str(repo.root), "update-ref", "--stdin"], check=True,
        input="".join(f"create {name} {sha}\n" for name, sha in branches.items()).encode())
    result = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None)))
    (f,) = [f for f in result.findings if f.rule_id == HF]
    h = json_report.to_dict(result)["findings"][[x.rule_id for x in result.findings].index(HF)]["history"]
    reaching = sorted(n for n, sha in branches.items() if shas.index(sha) >= 2) + ["refs/heads/main"]
    holding = sorted(n[len("refs/heads/"):] for n, sha in branches.items() if shas.index(sha) in (2, 3))
    assert f.commit == shas[2]
    assert h["refs_count"] == len(reaching) and h["refs_truncated"] is True
    assert h["refs"] == sorted(reaching)[:MAX_REFS]
    assert h["branch_tips_holding"] == len(holding) and h["branch_tips_truncated"] is True
    assert len(h["branch_tips"]) == MAX_REFS and all(h["branch_tips"][n] for n in holding[:MAX_REFS])
    assert h["still_present"] is True and h["at_head"] is False
