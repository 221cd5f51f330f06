"""The command line, through click's CliRunner and through a real ``python -m trussguard``."""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import pty
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import trussguard
from trussguard.cli import cli
from trussguard.engine import tokens
from trussguard.engine.loader import load_rules

from conftest import acme_rule
from trussguard.policy.registry import iter_checks

HF = "huggingface.user-token"
OPENAI = "openai.project-key"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
# click's usage boilerplate printed around a usage error; everything else must be the message
_BOILERPLATE = re.compile(r"^(Usage: |Try '.*--help' for help\.?$)")


def run(args: list[str], cwd: Path | None = None, env: dict | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess:
    """``python -m trussguard ARGS`` in a real subprocess (inherits the isolated cache dir)."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "trussguard", *args], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def invoke(args: list[str], **kw):
    return CliRunner().invoke(cli, args, catch_exceptions=False, **kw)


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip() and not _BOILERPLATE.match(line)]


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = error_lines(proc.stderr)
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    assert proc.stdout == ""
    return lines[0]


@pytest.fixture
def leaky_tree(truss_tree, fake_token):
    """A Truss with one planted HF token (high) in config.yaml; returns (root, token)."""
    hf = fake_token(HF)
    root = truss_tree({"config.yaml": f'model_name: x\nsecrets:\n  hf_access_token: "{hf}"\n'})
    return root, hf


# --------------------------------------------------------------------------- exit codes


class TestExitCodes:
    def test_clean_tree_exits_0(self, truss_tree):
        root = truss_tree()
        result = invoke(["scan", str(root)])
        assert result.exit_code == 0, result.output
        assert "No secrets found" in result.stdout
        proc = run(["scan", str(root)])
        assert proc.returncode == 0, proc.stderr
        assert "No secrets found" in proc.stdout

    def test_planted_high_key_exits_1(self, leaky_tree):
        root, hf = leaky_tree
        result = invoke(["scan", str(root)])
        assert result.exit_code == 1
        assert HF in result.stdout and "config.yaml" in result.stdout
        assert hf not in result.output
        proc = run(["scan", str(root)])
        assert proc.returncode == 1
        assert HF in proc.stdout and hf not in proc.stdout + proc.stderr

    def test_fail_on_critical_ignores_high(self, truss_tree, fake_token):
        # a client script outside the Truss's shipped code: the rule's own severity (high) applies
        root = truss_tree({"scripts/download.py": f'HF_TOKEN = "{fake_token(HF)}"\n'})
        assert invoke(["scan", str(root), "--fail-on", "critical"]).exit_code == 0
        assert invoke(["scan", str(root), "--fail-on", "high"]).exit_code == 1
        assert invoke(["scan", str(root), "--fail-on", "low"]).exit_code == 1
        assert run(["scan", str(root), "--fail-on", "critical"]).returncode == 0

    def test_fail_on_medium_finding(self, truss_tree):
        # a detect-secrets-only (medium) finding: a high-entropy hex string under no secret-looking name
        # (a password literal bound to `db_pass` is now also TG201, high)
        value = tokens.expand_template("{40:0-9a-f}", random.Random(21))
        root = truss_tree({"model/helpers.py": f'label = "{value}"\n'})
        data = json.loads(invoke(["scan", str(root), "--format", "json"]).stdout)
        assert {f["severity"] for f in data["findings"]} == {"medium"}
        assert invoke(["scan", str(root)]).exit_code == 0
        assert invoke(["scan", str(root), "--fail-on", "medium"]).exit_code == 1
        assert invoke(["scan", str(root), "--no-detect-secrets", "--fail-on", "low"]).exit_code == 0

    def test_version(self):
        proc = run(["--version"])
        assert proc.returncode == 0 and trussguard.__version__ in proc.stdout


class TestErrors:
    def test_nonexistent_path(self, tmp_path):
        missing = tmp_path / "does-not-exist"
        assert_one_line_error(run(["scan", str(missing)]), str(missing))

    @pytest.mark.parametrize("size", ["10XB", "lots", "-5", ""])
    def test_bad_max_file_size(self, truss_tree, size):
        root = truss_tree()
        assert_one_line_error(run(["scan", str(root), "--max-file-size", size]), "size")

    def test_unwritable_output(self, truss_tree, tmp_path):
        root = truss_tree()
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder", "utf-8")
        target = blocker / "report.json"
        assert_one_line_error(run(["scan", str(root), "--format", "json", "--output", str(target)]),
                              "Not a directory")
        assert not target.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["a-file", root.name])

    def test_unwritable_output_message_names_the_output(self, truss_tree, tmp_path):
        root = truss_tree()
        blocker = tmp_path / "a-file"
        blocker.write_text("not a folder", "utf-8")
        target = blocker / "report.json"
        line = assert_one_line_error(run(["scan", str(root), "--output", str(target)]), str(target))
        assert "cannot write report to" in line and ".tmp" not in line

    def test_output_into_missing_folder(self, truss_tree, tmp_path):
        root = truss_tree()
        target = tmp_path / "no" / "such" / "dir" / "report.txt"
        assert_one_line_error(run(["scan", str(root), "--output", str(target)]), "cannot write")

    def test_broken_yaml_rules_file(self, truss_tree, tmp_path):
        root = truss_tree()
        bad = tmp_path / "broken.yaml"
        bad.write_text("schema_version: 1\nrules: [unclosed\n  - {id: x\n", "utf-8")
        line = assert_one_line_error(run(["scan", str(root), "--rules", str(bad)]), "broken.yaml")
        assert "YAML" in line

    def test_invalid_rule_in_rules_file(self, truss_tree, tmp_path):
        root = truss_tree()
        bad = tmp_path / "acme.yaml"
        bad.write_text(yaml.safe_dump({"schema_version": 1, "provider": "acme", "rules": [acme_rule(
            references=["http://acme.invalid/docs"])]}), "utf-8")
        assert_one_line_error(run(["scan", str(root), "--rules", str(bad)]), "acme.yaml", "https")

    def test_missing_rules_path(self, truss_tree, tmp_path):
        root = truss_tree()
        proc = run(["scan", str(root), "--rules", str(tmp_path / "nope.yaml")])
        assert_one_line_error(proc, "nope.yaml")

    def test_cli_runner_sees_usage_error_exit_2(self, tmp_path):
        result = CliRunner().invoke(cli, ["scan", str(tmp_path / "missing")])
        assert result.exit_code == 2
        assert "no such file or directory" in result.output


class TestUnreadable:
    def test_permission_denied_file(self, leaky_tree):
        root, _ = leaky_tree
        secret_file = root / "scripts" / "locked.py"
        secret_file.parent.mkdir()
        secret_file.write_text("x = 1\n", "utf-8")
        secret_file.chmod(0)
        try:
            try:
                secret_file.open("rb").close()
                readable = True
            except PermissionError:
                readable = False
            if readable:
                assert os.geteuid() == 0
                pytest.skip("running as root: chmod 000 does not deny reading, so no permission error "
                            "can be produced (test_simulated_unreadable_file covers the logic)")
            proc = run(["scan", str(root)])
            assert proc.returncode == 2
            assert "Traceback" not in proc.stderr
            assert "scripts/locked.py" in proc.stderr and "--allow-unreadable" in proc.stderr
            assert HF in proc.stdout  # the report is still printed
            assert run(["scan", str(root), "--allow-unreadable"]).returncode == 1
            assert run(["scan", str(root), "--allow-unreadable", "--fail-on", "critical"]).returncode == 0
        finally:
            secret_file.chmod(0o644)

    def test_simulated_unreadable_file(self, truss_tree, monkeypatch):
        """Works as root too: the scanner's own ``open`` raises EACCES for one file."""
        import trussguard.sources.tree as tree_module

        root = truss_tree({"scripts/locked.py": "x = 1\n"})
        locked = str(root / "scripts" / "locked.py")

        def fake_open(path, *args, **kwargs):
            if os.fspath(path) == locked:
                raise PermissionError(13, "Permission denied", locked)
            return builtins.open(path, *args, **kwargs)

        monkeypatch.setattr(tree_module, "open", fake_open, raising=False)
        result = invoke(["scan", str(root), "--jobs", "1"])
        assert result.exit_code == 2
        assert "scripts/locked.py" in result.stderr and "Permission denied" in result.stderr
        assert "could not read scripts/locked.py" in result.stdout
        result = invoke(["scan", str(root), "--jobs", "1", "--allow-unreadable", "--format", "json"])
        assert result.exit_code == 0
        data = json.loads(result.stdout)
        assert data["stats"]["skipped"] == {"unreadable": 1}
        assert data["stats"]["skipped_files"] == [
            {"path": "scripts/locked.py", "reason": "unreadable", "detail": "Permission denied"}]


# --------------------------------------------------------------------------- what is scanned


class TestSkipped:
    def test_binary_and_oversize_files_scanned_and_counted(self, truss_tree, fake_token):
        """Neither a NUL byte nor a size makes a file unscanned (issue 11): a binary's bytes and an
        oversize file's chunks go through the rules, and both count as scanned."""
        in_binary, in_large, in_text = fake_token(HF), fake_token(HF), fake_token(HF)
        root = truss_tree({
            "weights/model.bin": b"\x00\x01GGUF" + f'token="{in_binary}"'.encode() + b"\x00" * 64,
            "data/big.txt": f'token = "{in_large}"\n' + "filler line\n" * 400,
            "scripts/ok.py": f'TOKEN = "{in_text}"\n',
        })
        result = invoke(["scan", str(root), "--format", "json", "--max-file-size", "2KB"])
        assert result.exit_code == 1
        data = json.loads(result.stdout)
        assert data["stats"]["skipped"] == {}
        found = {(f["path"], f["secret_sha256"]) for f in data["findings"]}
        assert found == {(path, hashlib.sha256(token.encode()).hexdigest()) for path, token in
                         (("weights/model.bin", in_binary), ("data/big.txt", in_large), ("scripts/ok.py", in_text))}
        assert data["stats"]["files_scanned"] == 7  # config, model/__init__, model/model, README, and the three
        assert any(n.startswith("data/big.txt: over --max-file-size") for n in data["stats"]["notes"])

    def test_large_file_scanned_under_default_limit(self, truss_tree, fake_token):
        hf = fake_token(HF)
        root = truss_tree({"data/big.txt": f'token = "{hf}"\n' + "filler line\n" * 400})
        data = json.loads(invoke(["scan", str(root), "--format", "json"]).stdout)
        assert data["stats"]["skipped"] == {}
        assert [f["path"] for f in data["findings"]] == ["data/big.txt"]

    def test_utf16_file_is_scanned_not_binary(self, truss_tree, fake_token):
        hf = fake_token(HF)
        root = truss_tree({"notes/win.txt": ("# notes\r\nHF_TOKEN = '" + hf + "'\r\n").encode("utf-16")})
        data = json.loads(invoke(["scan", str(root), "--format", "json"]).stdout)
        assert [(f["path"], f["secret_sha256"]) for f in data["findings"]] == [
            ("notes/win.txt", hashlib.sha256(hf.encode()).hexdigest())]

    def test_symlink_outside_root_not_followed(self, tmp_path, truss_tree, fake_token):
        outside = tmp_path / "outside"
        outside.mkdir()
        hf = fake_token(HF)
        (outside / "creds.env").write_text(f"HF_TOKEN={hf}\n", "utf-8")
        root = truss_tree()
        (root / "linked.env").symlink_to(outside / "creds.env")
        (root / "linked_dir").symlink_to(outside, target_is_directory=True)
        result = invoke(["scan", str(root), "--format", "json"])
        data = json.loads(result.stdout)
        assert result.exit_code == 0, data["findings"]
        assert data["findings"] == []
        reasons = {s["path"]: s["reason"] for s in data["stats"]["skipped_files"]}
        assert reasons == {"linked.env": "symlink", "linked_dir": "symlink"}
        # control: the same file is reported when scanned where it lives
        assert invoke(["scan", str(outside)]).exit_code == 1


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", "-c", "init.defaultBranch=main",
                    *args], cwd=cwd, check=True, capture_output=True)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
class TestGit:
    def test_only_tracked_and_untracked_not_ignored_files(self, truss_tree, fake_token):
        tracked, untracked, ignored, ignored_dir = (fake_token(HF) for _ in range(4))
        root = truss_tree({
            ".gitignore": "secrets.env\nbuild/\n",
            "scripts/tracked.py": f'T = "{tracked}"\n',
            "secrets.env": f"HF_TOKEN={ignored}\n",
            "build/out.py": f'T = "{ignored_dir}"\n',
        })
        _git(root, "init", "-q")
        _git(root, "add", ".gitignore", "config.yaml", "model", "README.md", "scripts/tracked.py")
        _git(root, "commit", "-q", "-m", "initial")
        (root / "scripts" / "new.py").write_text(f'U = "{untracked}"\n', "utf-8")
        result = invoke(["scan", str(root), "--format", "json"])
        assert result.exit_code == 1
        data = json.loads(result.stdout)
        found = {f["secret_sha256"]: f["path"] for f in data["findings"]}
        digest = lambda s: hashlib.sha256(s.encode()).hexdigest()  # noqa: E731
        assert found == {digest(tracked): "scripts/tracked.py", digest(untracked): "scripts/new.py"}
        assert ".git/config" not in json.dumps(data)
        # control: the ignored files are reported once the tree is not a git repository
        shutil.rmtree(root / ".git")
        data = json.loads(invoke(["scan", str(root), "--format", "json"]).stdout)
        assert {f["path"] for f in data["findings"]} >= {"secrets.env", "build/out.py"}

    def test_subprocess_scan_in_git_repo_cwd(self, truss_tree, fake_token):
        hf = fake_token(HF)
        root = truss_tree({".gitignore": "local.env\n", "local.env": f"HF_TOKEN={hf}\n"})
        _git(root, "init", "-q")
        proc = run(["scan"], cwd=root)
        assert proc.returncode == 0, proc.stdout
        (root / "other.env").write_text(f"HF_TOKEN={hf}\n", "utf-8")
        proc = run(["scan", "--format", "json"], cwd=root)
        assert proc.returncode == 1
        assert [f["path"] for f in json.loads(proc.stdout)["findings"]] == ["other.env"]


# --------------------------------------------------------------------------- JSON contract


class TestJsonContract:
    def test_fields(self, truss_tree, fake_token):
        hf, oa = fake_token(HF), fake_token(OPENAI)
        root = truss_tree({
            "config.yaml": f'model_name: x\nsecrets:\n  hf_access_token: "{hf}"\n',
            "model/sub/helpers.py": f'\n\nclient = OpenAI(api_key="{oa}")\n',
            "scripts/copy.py": f'TOKEN = "{hf}"\n',
        })
        result = invoke(["scan", str(root), "--format", "json"])
        assert result.exit_code == 1
        data = json.loads(result.stdout)
        assert data["schema_version"] == 1
        assert data["tool"] == {"name": "trussguard", "version": trussguard.__version__}
        assert data["mode"] == "tree"
        assert data["target"] == str(root.resolve())
        stats = data["stats"]
        assert {"files_scanned", "bytes_scanned", "skipped", "skipped_files", "suppressed", "rules",
                "duration_seconds"} <= set(stats)
        assert stats["files_scanned"] == 6 and stats["suppressed"] == 0
        assert stats["rules"] == len(load_rules(cache_dir=None).rules)
        assert stats["checks"] == len(iter_checks()) and stats["trusses"] == 1
        assert stats["bytes_scanned"] == sum(p.stat().st_size for p in root.rglob("*") if p.is_file())

        findings = data["findings"]
        assert len(findings) == 3
        required = {"id", "rule_id", "kind", "severity", "title", "message", "path", "line", "column", "commit",
                    "secret_sha256", "redacted", "advisory_id"}
        for f in findings:
            assert required <= set(f)
            assert f["kind"] == "leak" and f["commit"] is None
            assert re.fullmatch(r"tg-[0-9a-f]{20}", f["id"])
            assert isinstance(f["line"], int) and isinstance(f["column"], int)
            assert "\\" not in f["path"] and not f["path"].startswith("/")
            assert "secret" not in f
        by_path = {f["path"]: f for f in findings}
        assert set(by_path) == {"config.yaml", "model/sub/helpers.py", "scripts/copy.py"}
        cfg = by_path["config.yaml"]
        # a known credential under `secrets:` of a Truss is uploaded with the model: critical, with the fix
        assert (cfg["rule_id"], cfg["severity"], cfg["line"], cfg["column"]) == (HF, "critical", 3, 21)
        assert cfg["check"] == "TG101" and "hf_access_token: null" in cfg["fix"]
        assert cfg["secret_sha256"] == hashlib.sha256(hf.encode()).hexdigest()
        assert cfg["title"] and cfg["message"] and hf not in cfg["message"]
        assert cfg["redacted"].startswith(hf[:4]) and hf not in cfg["redacted"]
        helper = by_path["model/sub/helpers.py"]
        assert (helper["rule_id"], helper["line"], helper["column"]) == (OPENAI, 3, 26)
        assert helper["secret_sha256"] == hashlib.sha256(oa.encode()).hexdigest()

        advisories = data["advisories"]
        assert len(advisories) == 2
        for a in advisories:
            assert {"id", "finding_ids", "secret_sha256", "rule_id", "revoke_url", "steps"} <= set(a)
            assert all(f["advisory_id"] == a["id"] for f in findings if f["id"] in a["finding_ids"])
        hf_adv = next(a for a in advisories if a["secret_sha256"] == cfg["secret_sha256"])
        assert sorted(hf_adv["finding_ids"]) == sorted([cfg["id"], by_path["scripts/copy.py"]["id"]])
        assert {fid for a in advisories for fid in a["finding_ids"]} == {f["id"] for f in findings}

        assert hf not in result.stdout and oa not in result.stdout

    def test_output_file_matches_stdout_report(self, leaky_tree, tmp_path):
        root, hf = leaky_tree
        out = tmp_path / "report.json"
        result = invoke(["scan", str(root), "--format", "json", "--output", str(out)])
        assert result.exit_code == 1
        assert result.stdout == ""
        data = json.loads(out.read_text("utf-8"))
        assert [f["rule_id"] for f in data["findings"]] == [HF]
        assert hf not in out.read_text("utf-8")
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []

    def test_show_secrets_includes_value(self, leaky_tree):
        root, hf = leaky_tree
        data = json.loads(invoke(["scan", str(root), "--format", "json", "--show-secrets"]).stdout)
        assert [f["secret"] for f in data["findings"]] == [hf]
        assert hf in invoke(["scan", str(root), "--show-secrets"]).stdout


# --------------------------------------------------------------------------- colour


class TestColour:
    def test_non_tty_has_no_ansi(self, leaky_tree):
        root, _ = leaky_tree
        for env in ({}, {"NO_COLOR": "1"}):
            proc = run(["scan", str(root)], env=env)
            assert proc.returncode == 1
            assert HF in proc.stdout
            assert not ANSI.search(proc.stdout) and not ANSI.search(proc.stderr)
        assert not ANSI.search(invoke(["scan", str(root)]).stdout)

    @staticmethod
    def _run_in_pty(args: list[str], env: dict) -> tuple[int, str]:
        master, slave = pty.openpty()
        full_env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        full_env.update(env)
        proc = subprocess.Popen([sys.executable, "-m", "trussguard", *args], stdout=slave,
                                stderr=subprocess.PIPE, env=full_env)
        os.close(slave)
        chunks = []
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO once the child has exited
                break
            if not chunk:
                break
            chunks.append(chunk)
        os.close(master)
        code = proc.wait(timeout=120)
        proc.stderr.close()
        return code, b"".join(chunks).decode("utf-8", "replace")

    def test_tty_colour_and_no_color(self, leaky_tree):
        root, _ = leaky_tree
        code, out = self._run_in_pty(["scan", str(root)], {"TERM": "xterm"})
        assert code == 1 and HF in out
        assert ANSI.search(out), "a terminal gets colour (control for the NO_COLOR check)"
        code, out = self._run_in_pty(["scan", str(root)], {"TERM": "xterm", "NO_COLOR": "1"})
        assert code == 1 and HF in out
        assert not ANSI.search(out)


# --------------------------------------------------------------------------- demo and rules


class TestDemoAndRules:
    def test_demo(self):
        result = invoke(["demo"])
        assert result.exit_code == 0, result.output
        assert "planted fake leaks" in result.stdout
        for rule_id in (HF, OPENAI, "generic.secret-assignment"):
            assert rule_id in result.stdout
        assert "exit code 1" in result.stdout
        demo_root = re.search(r"a throwaway Truss at (\S+) with", result.stdout).group(1)
        assert not Path(demo_root).exists()  # removed afterwards without --keep

    def test_demo_subprocess(self):
        proc = run(["demo"])
        assert proc.returncode == 0, proc.stderr
        assert HF in proc.stdout and "Traceback" not in proc.stderr

    def test_rules_list_text(self, ruleset):
        result = invoke(["rules", "list"])
        assert result.exit_code == 0
        lines = result.stdout.splitlines()
        body = [line.split()[0] for line in lines[:-1] if line and not line.endswith(":")]
        checks = [c.code for c in iter_checks()]
        assert sorted(body) == sorted(checks + [r.id for r in ruleset.rules])
        assert lines[-1] == f"{len(checks)} checks, {len(ruleset.rules)} rules"

    def test_rules_list_json(self, ruleset, tmp_path):
        proc = run(["rules", "list", "--format", "json"])
        assert proc.returncode == 0
        data = json.loads(proc.stdout)
        assert sorted(r["id"] for r in data if r["type"] == "rule") == sorted(r.id for r in ruleset.rules)
        assert sorted(r["id"] for r in data if r["type"] == "check") == [c.code for c in iter_checks()]
        hf = next(r for r in data if r["id"] == HF)
        assert hf["severity"] == "high" and "hf_" in hf["keywords"] and hf["truss_secret_name"]
        extra = tmp_path / "acme.yaml"
        extra.write_text(yaml.safe_dump({"schema_version": 1, "provider": "acme", "rules": [acme_rule()]}),
                         "utf-8")
        data = json.loads(invoke(["rules", "list", "--format", "json", "--rules", str(extra)]).stdout)
        assert "acme.api-key" in {r["id"] for r in data}

    def test_rules_check_builtin(self, monkeypatch):
        """Without a path, `rules check` checks the built-in rules. Their examples run once per suite, in
        test_rules.py; here the example runner is replaced, so only the wiring is tested."""
        import trussguard.engine.selfcheck as selfcheck

        checked = []
        monkeypatch.setattr(selfcheck, "check_rules", lambda ruleset, seed=None: checked.append(ruleset) or [])
        result = invoke(["rules", "check", "--seed", "7"])
        assert result.exit_code == 0, result.output
        assert "all examples behave" in result.stdout
        assert [len(r.rules) for r in checked] == [len(load_rules(cache_dir=None).rules)]

    def test_rules_check_good_tmp_file(self, tmp_path):
        good = tmp_path / "acme.yaml"
        good.write_text(yaml.safe_dump({"schema_version": 1, "provider": "acme", "rules": [acme_rule()]}), "utf-8")
        result = invoke(["rules", "check", str(good), "--seed", "1"])
        assert result.exit_code == 0, result.output
        assert "1 file(s), 1 rule(s)" in result.stdout

    def test_rules_check_broken_schema(self, tmp_path):
        bad = tmp_path / "acme.yaml"
        rule = acme_rule(negative_examples=[{"text": "ACME_KEY=acme_xxx"}])
        bad.write_text(yaml.safe_dump({"schema_version": 1, "provider": "acme", "rules": [rule]}), "utf-8")
        proc = run(["rules", "check", str(bad)])
        assert proc.returncode == 1
        assert "acme.yaml:acme.api-key" in proc.stderr and "needs a `why`" in proc.stderr
        assert "Traceback" not in proc.stderr
        assert "1 problem(s)" in proc.stdout

    def test_rules_check_example_that_does_not_match(self, tmp_path):
        bad = tmp_path / "acme.yaml"
        rule = acme_rule(examples=['ACME_KEY="{{short}}"'],
                           tokens={"token": "acme_{32:A-Za-z0-9}", "short": "acme_{20:A-Za-z0-9}"})
        bad.write_text(yaml.safe_dump({"schema_version": 1, "provider": "acme", "rules": [rule]}), "utf-8")
        result = invoke(["rules", "check", str(bad), "--seed", "3"])
        assert result.exit_code == 1
        assert "did not yield its secret" in result.stderr


