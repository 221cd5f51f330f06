"""Content decides, not names or first bytes (issue 11, bypasses 1, 2, 3 and 6's unreadable directory).

Each case is a file an attacker shapes so that a real-shaped token passed ``scan``, ``scan --staged``
and ``audit`` with exit 0: a misleading BOM, UTF-32, BOM-less UTF-16, a planted NUL, a binary
wrapper, a size over ``--max-file-size``, and a directory that cannot be listed. Each must now
give exit 1 with the finding at the right path and line, or exit 2 when it cannot be scanned.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_audit import Repo

from trussguard.audit import AuditConfig, audit_history
from trussguard.cli import cli, main
from trussguard.config import ScanConfig
from trussguard.engine.chunked import MIN_CHUNK
from trussguard.sources.content import decode, sniff

HF = "huggingface.user-token"
SMALL = "64KiB"  # --max-file-size in these tests: chunking is exercised without 10 MiB files
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4


def line_of(token: str) -> str:
    return f'HF_TOKEN = "{token}"\n'


def scan(root: Path, *args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["scan", str(root), "--format", "json", "--jobs", "1", *args],
                                catch_exceptions=False)
    return result.exit_code, json.loads(result.stdout)


def found(report: dict) -> set[tuple[str, int, str]]:
    return {(f["path"], f["line"], f["secret_sha256"]) for f in report["findings"] if f["rule_id"] == HF}


def sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# Each shape: (file bytes for a token, line of the token). Old code skipped or mis-decoded all of them.
SHAPES = {
    # FF FE then plain ASCII: decodes as UTF-16 to valid but meaningless CJK
    "ff-fe-then-ascii": lambda t: (b"\xff\xfe# notes\n" + line_of(t).encode(), 2),
    "utf-32-le-bom": lambda t: (("# notes\n" + line_of(t)).encode("utf-32"), 2),  # FF FE 00 00 first
    "utf-32-be-bom": lambda t: (b"\x00\x00\xfe\xff" + ("# notes\n" + line_of(t)).encode("utf-32-be"), 2),
    "utf-16-le-no-bom": lambda t: (("# notes\n" * 3 + line_of(t)).encode("utf-16-le"), 4),
    "utf-16-be-no-bom": lambda t: (("# notes\n" + line_of(t)).encode("utf-16-be"), 2),
    "one-nul-then-token": lambda t: (b"# \x00 planted\n" + line_of(t).encode(), 2),
    "png-wrapper": lambda t: (PNG + b"\n" + line_of(t).encode() + bytes(range(256)), 8),
    "utf-16-inside-a-binary": lambda t: (PNG + b"\n" + line_of(t).encode("utf-16-le") + PNG, 8),
    "utf-16-after-8KiB-of-ascii": lambda t: (b"# pad\n" * 1500 + line_of(t).encode("utf-16-le"), 1501),
}


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_tree_scan_finds_the_token_whatever_the_encoding(truss_tree, fake_token, shape):
    token = fake_token(HF)
    data, line = SHAPES[shape](token)
    root = truss_tree({"assets/file.dat": data})
    code, report = scan(root)
    assert code == 1
    assert found(report) == {("assets/file.dat", line, sha(token))}
    assert report["stats"]["skipped"] == {}


def test_utf32_bom_is_checked_before_utf16():
    assert sniff("x".encode("utf-32")) == "utf-32-le" and sniff("x".encode("utf-16")) == "utf-16-le"
    assert sniff(b"\x89PNG\r\n\x1a\n\x00\x00\x00\r") == "binary"
    assert decode("# é\n".encode("utf-16")).text == "# é\n".encode()  # transcoded, BOM dropped


def test_suppressed_in_text_but_not_through_another_reading(truss_tree, fake_token):
    """An allow marker is honoured where the file decodes as what it says; a match found only in
    another reading (the raw bytes behind a UTF-16 BOM) cannot be suppressed."""
    allowed = line_of(fake_token(HF)).rstrip("\n") + "  # trussguard: allow\n"
    hidden = fake_token(HF)
    marked = line_of(hidden).rstrip("\n") + "  # trussguard: allow\n"
    root = truss_tree({"notes/ok.txt": allowed.encode("utf-16"), "notes/bom.txt": b"\xff\xfe" + marked.encode()})
    code, report = scan(root)
    assert code == 1 and found(report) == {("notes/bom.txt", 1, sha(hidden))}
    assert report["stats"]["suppressed"] == 1


def test_token_after_the_size_limit(truss_tree, fake_token):
    token = fake_token(HF)
    root = truss_tree({"dist/app.min.js": b"var a=1;" * 20000 + b"\n" + line_of(token).encode() + b"x" * 1000})
    code, report = scan(root, "--max-file-size", SMALL)
    assert code == 1
    assert found(report) == {("dist/app.min.js", 2, sha(token))}
    assert report["stats"]["skipped"] == {} and report["stats"]["files_scanned"] >= 1
    assert any(n.startswith("dist/app.min.js: over --max-file-size") for n in report["stats"]["notes"])


@pytest.mark.parametrize("offset", [MIN_CHUNK - 20, 2 * MIN_CHUNK - 5, MIN_CHUNK + 3])
def test_token_straddling_a_chunk_boundary(truss_tree, fake_token, offset):
    """On one long line across chunks: found once, with the file's own line and column."""
    token, other = fake_token(HF), fake_token(HF)
    head = b"# generated\n" + b"z" * (offset - 12 - len('HF_TOKEN = "'))
    data = head + line_of(token).encode() + b"y" * (3 * MIN_CHUNK) + b"\n" + line_of(other).encode()
    root = truss_tree({"data/blob.txt": data})
    code, report = scan(root, "--max-file-size", SMALL)
    assert code == 1
    assert found(report) == {("data/blob.txt", 2, sha(token)), ("data/blob.txt", 4, sha(other))}
    first = next(f for f in report["findings"] if f["secret_sha256"] == sha(token))
    assert first["column"] == offset - 12 + 1


def test_oversize_utf16_file_is_chunked_and_transcoded(truss_tree, fake_token):
    token = fake_token(HF)
    root = truss_tree({"notes/log.txt": ("# line\n" * 30000 + line_of(token)).encode("utf-16")})
    code, report = scan(root, "--max-file-size", SMALL)
    assert code == 1 and found(report) == {("notes/log.txt", 30001, sha(token))}


def test_token_after_ten_mebibytes_under_the_default_limit(truss_tree, fake_token):
    """The one real-size case: 10 MiB of padding (one minified line), then a token."""
    token = fake_token(HF)
    root = truss_tree({"dist/bundle.js": b"a" * (10 * 1024 * 1024 + 7) + b"\n" + line_of(token).encode()})
    code, report = scan(root)
    assert code == 1 and found(report) == {("dist/bundle.js", 2, sha(token))}


# --------------------------------------------------------------------------- history and index


def commit_bytes(repo: Repo, files: dict[str, bytes], message: str = "add") -> None:
    for rel, data in files.items():
        path = repo.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        repo.git("add", rel)
    repo.git("commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("initial", {"README.md": "# demo\n"})
    return r


def test_audit_finds_tokens_in_every_shape_of_blob(repo: Repo, fake_token):
    tokens = {shape: fake_token(HF) for shape in SHAPES}
    files = {f"{shape}.dat": SHAPES[shape](t)[0] for shape, t in tokens.items()}
    big = fake_token(HF)
    files["big.js"] = b"z" * (MIN_CHUNK - 30) + line_of(big).encode() + b"y" * (2 * MIN_CHUNK)
    commit_bytes(repo, files)
    for rel in files:  # deleted since: only the history holds them
        repo.git("rm", "-q", rel)
    repo.git("commit", "-q", "-m", "remove")
    result = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None, max_file_size=64 * 1024)))
    got = {(f.path, f.line, f.secret_sha256) for f in result.findings if f.rule_id == HF}
    want = {(f"{shape}.dat", SHAPES[shape](t)[1], sha(t)) for shape, t in tokens.items()}
    assert got == want | {("big.js", 1, sha(big))}
    assert result.stats.skipped == []
    assert main(["audit", str(repo.root), "--no-cache", "--max-file-size", SMALL]) == 1


def test_staged_finds_tokens_in_binary_misencoded_and_oversize_files(repo: Repo, fake_token, tmp_path: Path):
    tokens = [fake_token(HF) for _ in range(3)]
    files = {"assets/logo.png": SHAPES["png-wrapper"](tokens[0])[0],
             "notes/bom.txt": SHAPES["ff-fe-then-ascii"](tokens[1])[0],
             "dist/app.js": b"v" * (3 * MIN_CHUNK) + b"\n" + line_of(tokens[2]).encode()}
    for rel, data in files.items():
        (repo.root / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo.root / rel).write_bytes(data)
        repo.git("add", rel)
    out = tmp_path / "staged.json"
    code = main(["scan", "--staged", str(repo.root), "--format", "json", "-o", str(out), "--no-cache",
                 "--max-file-size", SMALL])
    assert code == 1
    assert found(json.loads(out.read_text())) == {("assets/logo.png", 8, sha(tokens[0])),
                                                  ("notes/bom.txt", 2, sha(tokens[1])),
                                                  ("dist/app.js", 2, sha(tokens[2]))}


# --------------------------------------------------------------------------- directories


def deny(locked: str, real):
    """``real`` (os.scandir or os.listdir), raising EACCES for the one folder ``locked``."""
    def fake(path="."):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", locked)
        return real(path)
    return fake


def test_unlistable_directory_is_unreadable_not_a_submodule(truss_tree, fake_token, monkeypatch):
    """Works as root: the tree walker's ``os.scandir`` (and ``listdir``) raise EACCES for one folder."""
    import trussguard.sources.tree as tree_module

    root = truss_tree({"private/creds.env": f"HF_TOKEN={fake_token(HF)}\n"})
    locked = str(root / "private")
    monkeypatch.setattr(tree_module.os, "scandir", deny(locked, os.scandir))
    monkeypatch.setattr(tree_module.os, "listdir", deny(locked, os.listdir))
    result = CliRunner().invoke(cli, ["scan", str(root), "--jobs", "1"], catch_exceptions=False)
    assert result.exit_code == 2
    assert "private" in result.stderr and "--allow-unreadable" in result.stderr
    code, report = scan(root, "--allow-unreadable")
    assert code == 0
    assert report["stats"]["skipped_files"] == [
        {"path": "private", "reason": "unreadable", "detail": "directory: Permission denied"}]


def test_directory_git_could_not_open_is_unreadable(repo: Repo, fake_token, monkeypatch):
    """git only warns about a directory it cannot open (and leaves it out); the warning is read.
    As root git can open everything, so its warning is added to a real ``ls-files`` run."""
    import trussguard.sources.tree as tree_module

    (repo.root / "private").mkdir()
    (repo.root / "private" / "creds.env").write_text("x = 1\n")
    real_run = subprocess.run

    def run(args, **kwargs):
        proc = real_run(args, **kwargs)
        if "--others" in args:
            listed = [p for p in proc.stdout.split(b"\0") if p and not p.startswith(b"private/")]
            warning = b"warning: could not open directory 'private/': Permission denied\n"
            proc = subprocess.CompletedProcess(args, 0, b"\0".join(listed) + b"\0", proc.stderr + warning)
        return proc

    monkeypatch.setattr(tree_module.subprocess, "run", run)
    monkeypatch.setattr(tree_module.os, "listdir", deny(str(repo.root / "private"), os.listdir))
    code, report = scan(repo.root, "--allow-unreadable")
    assert code == 0
    assert report["stats"]["skipped_files"] == [
        {"path": "private", "reason": "unreadable", "detail": "directory: Permission denied"}]
    assert CliRunner().invoke(cli, ["scan", str(repo.root)], catch_exceptions=False).exit_code == 2


def test_uninitialised_submodule_is_still_a_submodule(repo: Repo):
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{repo.git('rev-parse', 'HEAD')},vendor/lib")
    (repo.root / "vendor" / "lib").mkdir(parents=True)
    code, report = scan(repo.root)
    assert code == 0
    assert [(s["path"], s["reason"]) for s in report["stats"]["skipped_files"]] == [("vendor/lib", "submodule")]
