"""`trussguard audit`: the git-history audit on small repositories built by the tests.

Every repository has a fixed author and fixed dates, so introducing commits are exact; every
credential is generated at run time from a rule's token template (``fake_token``).
"""

from __future__ import annotations

import hashlib

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from trussguard.audit import AuditConfig, audit_history
from trussguard.cli import main
from trussguard.config import ScanConfig
from trussguard.report import json_report, text

HF = "huggingface.user-token"


class Repo:
    """A throwaway git repository with deterministic authors and dates."""

    def __init__(self, root: Path):
        self.root = root
        self.tick = 0
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        self.tick += 1
        date = f"2024-01-{1 + self.tick // 24:02d}T{self.tick % 24:02d}:00:00+00:00"
        env = dict(os.environ, GIT_AUTHOR_NAME="Ada Tester", GIT_AUTHOR_EMAIL="ada@example.invalid",
                   GIT_COMMITTER_NAME="Ada Tester", GIT_COMMITTER_EMAIL="ada@example.invalid",
                   GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date, GIT_CONFIG_NOSYSTEM="1",
                   HOME=str(self.root))
        return subprocess.run(["git", "-C", str(self.root), *args], env=env, check=True,
                              capture_output=True, text=True).stdout.strip()

    def write(self, rel: str, content: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, "utf-8")

    def commit(self, message: str, files: dict[str, str | None]) -> str:
        for rel, content in files.items():
            if content is None:
                self.git("rm", "-q", rel)
            else:
                self.write(rel, content)
                self.git("add", rel)
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("initial", {"README.md": "# demo\n"})
    return r


def audit(repo: Repo, **kw):
    return audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None), **kw))


def leak(token: str) -> str:
    return f'HF_TOKEN = "{token}"\n'


def only(result, path: str):
    found = [f for f in result.findings if f.path == path and f.rule_id == HF]
    assert len(found) == 1, [(f.path, f.rule_id) for f in result.findings]
    return found[0]


def test_added_then_removed(repo: Repo, fake_token):
    token = fake_token(HF)
    added = repo.commit("add the token", {"scripts/run.py": leak(token)})
    removed = repo.commit("remove the token", {"scripts/run.py": "import os\n"})
    f = only(audit(repo), "scripts/run.py")
    assert f.commit == added
    h = f.history
    assert h["introduced"]["commit"] == added
    assert h["introduced"]["author_name"] == "Ada Tester"
    assert h["introduced"]["author_email"] == "ada@example.invalid"
    assert h["introduced"]["subject"] == "add the token"
    assert h["at_head"] is False and h["still_present"] is False
    assert h["removed_in"] == removed
    assert h["branch_tips"] == {"main": False}
    assert h["refs"] == ["refs/heads/main"]


def test_side_branch_only(repo: Repo, fake_token):
    repo.git("checkout", "-q", "-b", "side")
    added = repo.commit("side work", {"app.py": leak(fake_token(HF))})
    repo.git("checkout", "-q", "main")
    repo.commit("main work", {"other.txt": "x\n"})
    f = only(audit(repo), "app.py")
    assert f.commit == added
    assert f.history["refs"] == ["refs/heads/side"]
    assert f.history["branch_tips"] == {"main": False, "side": True}
    assert f.history["at_head"] is False and f.history["still_present"] is True


def test_tag_only(repo: Repo, fake_token):
    repo.git("checkout", "-q", "-b", "tmp")
    added = repo.commit("release", {"app.py": leak(fake_token(HF))})
    repo.git("tag", "-a", "v1", "-m", "v1")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "tmp")
    f = only(audit(repo), "app.py")
    assert f.commit == added
    assert f.history["refs"] == ["refs/tags/v1"]
    assert audit(repo, ref_patterns=("refs/heads/*",)).findings == []


def test_merge(repo: Repo, fake_token):
    repo.git("checkout", "-q", "-b", "feature")
    added = repo.commit("feature with key", {"model/model.py": leak(fake_token(HF))})
    repo.git("checkout", "-q", "main")
    repo.commit("main work", {"other.txt": "x\n"})
    repo.git("merge", "-q", "--no-edit", "feature")
    f = only(audit(repo), "model/model.py")
    assert f.commit == added
    assert f.history["at_head"] is True
    assert sorted(f.history["refs"]) == ["refs/heads/feature", "refs/heads/main"]
    assert {o["commit"] for o in f.history["occurrences"]} >= {added}


def test_renamed_file_scanned_once(repo: Repo, fake_token):
    added = repo.commit("key", {"a.py": leak(fake_token(HF))})
    repo.git("mv", "a.py", "b.py")
    repo.git("commit", "-q", "-m", "rename")
    renamed = repo.git("rev-parse", "HEAD")
    readers = []
    result = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None)), reader_hook=readers.append)
    a, b = only(result, "a.py"), only(result, "b.py")
    assert a.commit == added and b.commit == renamed
    assert a.secret_sha256 == b.secret_sha256
    assert all(n == 1 for n in readers[0].reads.values())
    assert len(result.advisories) == 1 and result.advisories[0].urgency == "immediate"


def test_each_blob_read_once(repo: Repo, fake_token):
    token = fake_token(HF)
    for i in range(5):  # the same file content in many commits and paths
        repo.commit(f"c{i}", {f"dir{i}/app.py": leak(token), "log.txt": f"{i}\n"})
    repo.commit("revert log", {"log.txt": "0\n"})
    readers = []
    result = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None)), reader_hook=readers.append)
    reads = readers[0].reads
    assert reads and set(reads.values()) == {1}
    assert result.stats.files_scanned == len(reads) == result.stats.history["unique_blobs"]
    assert len(result.advisories) == 1
    report = text.render(result)
    items = report.split("What to do")[0]
    assert items.count("Hugging Face") == 1  # one secret, one item, many places
    assert "5 place(s)" in report


def test_stash(repo: Repo, fake_token):
    repo.write("README.md", "# demo\n" + leak(fake_token(HF)))
    repo.git("stash", "push", "-q")
    f = only(audit(repo), "README.md")
    assert "refs/stash" in f.history["refs"]
    assert f.history["at_head"] is False


def test_clean_repo_exits_0(repo: Repo):
    result = CliRunner().invoke(main_cli(), ["audit", str(repo.root)])
    assert result.exit_code == 0, result.output
    assert "No secrets found" in result.output


def test_leak_exits_1(repo: Repo, fake_token):
    repo.commit("key", {"app.py": leak(fake_token(HF))})
    assert main(["audit", str(repo.root), "--format", "json", "-o", str(repo.root / "r.json")]) == 1


def test_not_a_repo_exits_2(tmp_path: Path, capsys):
    assert main(["audit", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a git repository" in err


def test_json_contract(repo: Repo, fake_token):
    added = repo.commit("key", {"config.yaml": f"model_name: x\nsecrets:\n  hf_access_token: {fake_token(HF)}\n"})
    out = repo.root.parent / "report.json"
    assert main(["audit", str(repo.root), "--format", "json", "-o", str(out)]) == 1
    data = json.loads(out.read_text())
    assert data["mode"] == "history"
    assert data["stats"]["refs"] == 1 and data["stats"]["commits"] == 2 and data["stats"]["shallow"] is False
    (f,) = [f for f in data["findings"] if f["path"] == "config.yaml"]
    assert f["commit"] == added
    assert f["history"]["introduced"]["commit"] == added
    assert f["history"]["occurrences"] == [{"commit": added, "path": "config.yaml",
                                            "date": repo.git("show", "-s", "--format=%cI", added)}]
    assert f["check"] == "TG101"  # the config value check ran on the blob
    assert data["advisories"][0]["urgency"] == "immediate"
    assert json_report.to_dict(audit(repo))["findings"][0]["history"]["at_head"] is True


def main_cli():
    from trussguard.cli import cli

    return cli


# ----------------------------------------------------------------------------- what no ref reaches


def test_amended_away_commit_needs_include_unreachable(repo: Repo, fake_token):
    added = repo.commit("oops", {"app.py": leak(fake_token(HF))})
    repo.write("app.py", "import os\n")
    repo.git("add", "app.py")
    repo.git("commit", "-q", "--amend", "-m", "clean")
    assert [f for f in audit(repo).findings if f.path == "app.py"] == []
    result = audit(repo, include_unreachable=True)
    f = only(result, "app.py")
    assert f.commit == added and f.history["refs"] == []
    assert f.history["at_head"] is False and f.history["still_present"] is False
    assert result.stats.history["unreachable_commits"] >= 1


def test_dropped_stash_needs_include_unreachable(repo: Repo, fake_token):
    repo.write("README.md", "# demo\n" + leak(fake_token(HF)))
    repo.git("stash", "push", "-q")
    repo.git("stash", "drop", "-q")
    assert audit(repo).findings == []
    assert only(audit(repo, include_unreachable=True), "README.md").history["refs"] == []


def test_staged_then_discarded_blob_needs_include_unreachable(repo: Repo, fake_token):
    repo.write(".env", f"HF_TOKEN={fake_token(HF)}\n")
    repo.git("add", ".env")
    repo.git("reset", "-q", ".env")
    (repo.root / ".env").unlink()
    assert audit(repo).findings == []
    result = audit(repo, include_unreachable=True)
    (f,) = [f for f in result.findings if f.rule_id == HF]
    assert f.path.startswith("(unreachable blob)/") and f.commit is None
    assert f.history["introduced"] is None and f.history["unreachable_blob"] == f.path.split("/")[1]
    assert result.stats.history["unreachable_blobs"] == 1
    assert "in no commit (staged, then discarded)" in text.render(result)


# ----------------------------------------------------------------------------- ranges


def test_range_and_since_audit_only_new_commits(repo: Repo, fake_token):
    repo.commit("old key", {"old.py": leak(fake_token(HF))})
    base = repo.commit("remove old key", {"old.py": None})
    repo.git("checkout", "-q", "-b", "pr")
    added = repo.commit("pr key", {"new.py": leak(fake_token(HF))})
    for result in (audit(repo, range=f"{base}..pr"), audit(repo, since="main")):
        assert [f.path for f in result.findings if f.rule_id == HF] == ["new.py"]
        f = only(result, "new.py")
        assert f.commit == added and f.history["refs"] == ["refs/heads/pr"]
        assert result.stats.history["commits"] == 1
    assert {f.path for f in audit(repo).findings} == {"old.py", "new.py"}


@pytest.mark.parametrize("args", [["--range", "nope..HEAD"], ["--range", "HEAD"], ["--since", "no-such-rev"],
                                  ["--since", "HEAD", "--range", "HEAD..HEAD"]])
def test_bad_revisions_exit_2_with_one_line(repo: Repo, capsys, args):
    assert main(["audit", str(repo.root), *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("trussguard: error:")


# ----------------------------------------------------------------------------- damaged and partial repositories


def test_shallow_clone_with_allow_shallow_says_so(repo: Repo, fake_token, tmp_path: Path):
    repo.commit("key", {"app.py": leak(fake_token(HF))})
    repo.commit("clean", {"app.py": "import os\n"})
    clone = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone)], check=True)
    result = audit_history(AuditConfig(clone, ScanConfig(cache_dir=None), allow_shallow=True))
    assert result.stats.history["shallow"] is True
    assert any("shallow clone" in n for n in result.stats.notes)
    assert result.findings == [] and result.errors == []


def _object_file(repo: Repo, sha: str) -> Path:
    return repo.root / ".git" / "objects" / sha[:2] / sha[2:]


def test_deleted_object_is_reported_and_exits_2(repo: Repo, fake_token, capsys):
    repo.commit("two files", {"gone.py": "GONE = 1\n", "app.py": leak(fake_token(HF))})
    blob = repo.git("rev-parse", "HEAD:gone.py")
    _object_file(repo, blob).unlink()
    result = audit(repo)
    assert [(s.path, s.reason) for s in result.errors] == [("gone.py", "missing")]
    only(result, "app.py")  # the rest was still scanned
    assert main(["audit", str(repo.root), "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert "1 blob(s) missing or unreadable" in err and "--allow-missing" in err
    assert main(["audit", str(repo.root), "--no-cache", "--allow-missing"]) == 1


def test_corrupt_object_is_reported_and_the_rest_scanned(repo: Repo, fake_token):
    repo.commit("files", {"a_corrupt.py": "A = 1\n", "b_app.py": leak(fake_token(HF)), "c.txt": "c\n"})
    path = _object_file(repo, repo.git("rev-parse", "HEAD:a_corrupt.py"))
    path.chmod(0o644)
    path.write_bytes(b"\x78\x9c garbage, not zlib")
    result = audit(repo)
    assert [s.path for s in result.errors] == ["a_corrupt.py"]  # git calls a corrupt loose object missing
    only(result, "b_app.py")


def test_partial_clone_reports_unfetched_blobs_and_never_fetches(repo: Repo, fake_token, tmp_path: Path):
    repo.commit("key", {"app.py": leak(fake_token(HF))})
    repo.commit("clean", {"app.py": "import os\n"})
    repo.git("config", "uploadpack.allowFilter", "true")
    clone = tmp_path / "partial"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", "--no-checkout", f"file://{repo.root}", str(clone)],
                   check=True)

    def objects() -> str:
        return subprocess.run(["git", "-C", str(clone), "count-objects", "-v"], capture_output=True, text=True,
                              check=True).stdout

    before = objects()
    result = audit_history(AuditConfig(clone, ScanConfig(cache_dir=None)))
    assert objects() == before  # nothing was fetched from the promisor remote
    assert result.errors and {s.reason for s in result.errors} == {"missing"}
    assert all("partial clone" in s.detail for s in result.errors)
    assert main(["audit", str(clone), "--no-cache"]) == 2
    assert main(["audit", str(clone), "--no-cache", "--allow-missing"]) == 0


def test_oversize_and_binary_blobs_are_scanned_and_counted(repo: Repo, fake_token):
    in_big, in_binary = fake_token(HF), fake_token(HF)
    repo.commit("big", {"big.txt": "x" * 5000 + "\n" + leak(in_big), "app.py": leak(fake_token(HF))})
    (repo.root / "w.bin").write_bytes(b"\0\1\2" * 100 + leak(in_binary).encode())
    repo.git("add", "w.bin")
    repo.git("commit", "-q", "-m", "binary")
    result = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None, max_file_size=1000)))
    assert result.stats.skipped == []
    only(result, "app.py")
    assert only(result, "big.txt").line == 2
    assert only(result, "w.bin").secret_sha256 == hashlib.sha256(in_binary.encode()).hexdigest()


def test_lfs_pointer_is_scanned(repo: Repo, fake_token):
    """A pointer file is text in git: whatever is appended to it is committed, so it is scanned."""
    pointer = "version https://git-lfs.github.com/spec/v1\noid sha256:" + "ab" * 32 + "\nsize 123\n"
    repo.commit("weights", {"model/weights.bin": pointer + leak(fake_token(HF))})
    result = audit(repo)
    assert result.stats.skipped == []
    assert only(result, "model/weights.bin").line == 4


def test_submodule_reported_not_recursed(repo: Repo):
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{repo.git('rev-parse', 'HEAD')},vendor/lib")
    repo.git("commit", "-q", "-m", "add submodule")
    result = audit(repo)
    assert result.stats.history["submodules"] == ["vendor/lib"]
    assert any(n.startswith("submodule vendor/lib") and "--recurse-submodules" in n for n in result.stats.notes)
    recursed = audit(repo, recurse_submodules=True)
    assert any("not checked out" in n for n in recursed.stats.notes)


def test_recurse_submodules_audits_the_checked_out_submodule(repo: Repo, fake_token, tmp_path: Path):
    sub = Repo(tmp_path / "lib")
    added = sub.commit("lib key", {"app.py": leak(fake_token(HF))})
    sub.commit("lib clean", {"app.py": "import os\n"})
    repo.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub.root), "vendor/lib")
    repo.git("commit", "-q", "-m", "add lib")
    assert audit(repo).findings == []
    result = audit(repo, recurse_submodules=True)
    f = only(result, "vendor/lib/app.py")
    assert f.commit == added and f.history["submodule"] == "vendor/lib"
    assert [(o["commit"], o["path"]) for o in f.history["occurrences"]] == [(added, "vendor/lib/app.py")]
    assert result.stats.history["commits"] == 4  # the parent's two commits and the submodule's two


def test_non_utf8_path(repo: Repo, fake_token, tmp_path: Path):
    name = b"caf\xe9.py"
    (repo.root / os.fsdecode(name)).write_text(leak(fake_token(HF)), "utf-8")
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "latin-1 name")
    result = audit(repo)
    f = only(result, "caf\\xe9.py")
    assert f.history["at_head"] is True
    out = tmp_path / "r.json"
    assert main(["audit", str(repo.root), "--format", "json", "-o", str(out)]) == 1
    assert json.loads(out.read_text("utf-8"))["findings"][0]["path"] == "caf\\xe9.py"
    assert "caf\\xe9.py" in text.render(result)


# ----------------------------------------------------------------------------- incremental cache, progress


def test_warm_cache_reads_only_new_blobs(repo: Repo, fake_token, tmp_path: Path):
    repo.commit("key", {"app.py": leak(fake_token(HF)), "b.txt": "b\n"})
    config = AuditConfig(repo.root, ScanConfig(cache_dir=None), blob_cache=tmp_path / "c")
    first = audit_history(config)
    readers = []
    second = audit_history(config, reader_hook=readers.append)
    assert readers == []  # nothing to read: every blob came from the cache
    assert second.stats.history["cache_hits"] == second.stats.history["unique_blobs"]
    assert json_report.to_dict(first)["findings"] == json_report.to_dict(second)["findings"]
    repo.commit("more", {"c.txt": "c\n"})
    third = audit_history(config, reader_hook=readers.append)
    assert list(readers[0].reads) == [repo.git("rev-parse", "HEAD:c.txt")]
    assert [f.id for f in third.findings] == [f.id for f in first.findings]


def test_cache_never_holds_the_secret(repo: Repo, fake_token, tmp_path: Path):
    token = fake_token(HF)
    repo.commit("key", {"app.py": leak(token)})
    cache = tmp_path / "c"
    assert main(["audit", str(repo.root), "--cache", str(cache), "-o", str(tmp_path / "r.txt")]) == 1
    assert main(["audit", str(repo.root), "--cache", str(cache), "--show-secrets",
                 "-o", str(tmp_path / "s.txt")]) == 1
    assert token in (tmp_path / "s.txt").read_text()  # shown when asked, from a fresh scan
    stored = b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert stored and token.encode() not in stored and token[-12:].encode() not in stored


def test_broken_cache_never_fails_the_audit(repo: Repo, fake_token, tmp_path: Path):
    repo.commit("key", {"app.py": leak(fake_token(HF))})
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the cache folder should be")
    result = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None), blob_cache=blocked))
    only(result, "app.py")
    assert any("cache" in n for n in result.stats.notes)


def test_progress_bar_only_when_asked(repo: Repo, capsys):
    audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None), progress=True))
    assert "auditing" in capsys.readouterr().err
    assert main(["audit", str(repo.root), "--no-cache"]) == 0  # stderr is no TTY here: no bar
    assert "auditing" not in capsys.readouterr().err


def _slow_history(root: Path, versions: int = 250) -> None:
    """A repository whose audit takes seconds: many versions of a Truss model file, each with a
    fresh high-entropy literal, so every version is parsed and checked (fast-import writes it)."""
    import random

    subprocess.run(["git", "init", "-q", str(root)], check=True)
    rng = random.Random(3)
    body = "".join(f"value_{n} = compute({n}, scale={n % 7})\n" for n in range(1500)).encode()
    config = b"model_name: slow\nsecrets:\n  hf_access_token: null\n"
    stream = bytearray(b"commit refs/heads/main\ncommitter A <a@example.invalid> 1700000000 +0000\ndata 2\nc\n"
                       b"M 100644 inline config.yaml\ndata %d\n%s\n" % (len(config), config))
    for i in range(versions):
        label = "".join(rng.choice("abcdefghijkLMNOPQRS0123456789") for _ in range(24))
        data = body + f'label_{i} = "{label}"\n'.encode()
        stream += (f"commit refs/heads/main\ncommitter A <a@example.invalid> {1700000001 + i} +0000\ndata 2\nc\n"
                   f"M 100644 inline model/model.py\ndata {len(data)}\n").encode() + data + b"\n"
    subprocess.run(["git", "-C", str(root), "fast-import", "--quiet"], input=bytes(stream), check=True)


def _runs_git(pid: int) -> bool:
    """Whether a child of ``pid`` is git (Linux /proc; elsewhere, assume so and rely on the delay)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for entry in proc.iterdir():
        try:
            if entry.name.isdigit() and (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(pid) \
                    and (entry / "cmdline").read_bytes().split(b"\0")[0].endswith(b"git"):
                return True
        except (OSError, IndexError):
            continue
    return False


def test_sigint_during_an_audit_exits_130_without_a_report(tmp_path: Path):
    import signal
    import sys
    import time

    root = tmp_path / "slow"
    _slow_history(root)
    report = tmp_path / "report.json"
    proc = subprocess.Popen([sys.executable, "-m", "trussguard", "audit", str(root), "--no-cache", "-j", "2",
                             "--format", "json", "-o", str(report)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # Signal once the audit is under way (it has started git), not after a fixed delay: on a loaded
    # machine 1.0 s could still be inside Python's own start-up, before any handler exists.
    deadline = time.monotonic() + 60
    while proc.poll() is None and not _runs_git(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    if proc.poll() is not None:
        pytest.skip("the audit finished before the signal could be sent (a very fast machine)")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert err.decode().strip().splitlines() == ["trussguard: interrupted"]
    assert not report.exists() and not list(tmp_path.glob(".report.json.*"))
