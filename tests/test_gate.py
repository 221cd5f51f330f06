"""The change being gated cannot configure its own gate (issue 11, bypass 4).

In pull-request mode (``audit --range BASE..HEAD``, ``--trusted-rev REV``, the Action on pull
requests) the configuration and the baseline come from the base, read through git; what the pull
request changes in them is listed, and a widening fails the gate unless ``--allow-config-changes``.
Baseline files are exempt from scanning only where they are the configured baseline, only while
they parse, and only for the hashes they hold. Tokens come from ``fake_token`` (made at test time).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import acme_rule
from test_action import pull_request, run_action
from test_audit import Repo, leak

from trussguard.cli import main

HF = "huggingface.user-token"
NO_CACHE = ["--no-cache", "-q"]


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("initial", {"README.md": "# demo\n", "app.py": "import os\n"})
    return r


def audit(repo: Repo, tmp_path: Path, capsys, *args: str) -> tuple[int, dict, str]:
    out = tmp_path / "report.json"
    capsys.readouterr()
    code = main(["audit", str(repo.root), "--format", "json", "-o", str(out), *NO_CACHE, *args])
    err = capsys.readouterr().err
    return code, json.loads(out.read_text()) if out.exists() and code != 2 else {}, err


def scan(root: Path, tmp_path: Path, capsys, *args: str) -> tuple[int, dict, str]:
    out = tmp_path / "scan.json"
    capsys.readouterr()
    code = main(["scan", str(root), "--format", "json", "-o", str(out), "--no-cache", *args])
    err = capsys.readouterr().err
    return code, json.loads(out.read_text()) if code != 2 else {}, err


def pr(repo: Repo, files: dict[str, str]) -> tuple[str, str]:
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    return base, repo.commit("the pull request", files)


def messages(report: dict) -> list[str]:
    return [c["message"] for c in report["gate_changes"]]


def test_a_pull_request_adding_exclude_star_is_still_audited_and_fails(repo: Repo, tmp_path: Path, capsys,
                                                                      fake_token):
    token = fake_token(HF)
    base, head = pr(repo, {".trussguard.toml": 'exclude = ["*"]\n', "app.py": leak(token)})
    code, report, err = audit(repo, tmp_path, capsys, "--range", f"{base}..{head}")
    assert code == 1
    assert [(f["path"], f["rule_id"]) for f in report["findings"]] == [("app.py", HF)]
    assert "widens `exclude` by `*`" in messages(report)
    assert any(c["blocks"] and c["widens"] for c in report["gate_changes"])
    assert err.count("\n") == 1 and "widens its own gate: widens `exclude` by `*`" in err
    assert "--allow-config-changes" in err and token not in err + json.dumps(report)


def test_an_enable_list_leaving_the_credential_rules_out_is_ignored_and_fails(repo: Repo, tmp_path: Path, capsys,
                                                                             fake_token):
    base, head = pr(repo, {"pyproject.toml": '[tool.trussguard]\nenable = ["TG1*"]\n', "app.py": leak(fake_token(HF))})
    code, report, err = audit(repo, tmp_path, capsys, "--range", f"{base}..{head}")
    assert code == 1 and [f["rule_id"] for f in report["findings"]] == [HF]
    assert any(m.startswith("restricts `enable` to `TG1*`") for m in messages(report))
    assert "restricts `enable`" in err


def test_allow_config_changes_applies_the_heads_configuration(repo: Repo, tmp_path: Path, capsys, fake_token):
    base, head = pr(repo, {".trussguard.toml": 'exclude = ["*"]\n', "app.py": leak(fake_token(HF))})
    code, report, err = audit(repo, tmp_path, capsys, "--range", f"{base}..{head}", "--allow-config-changes")
    assert code == 0 and report["findings"] == [] and err == ""
    assert report["gate_changes"][-1] == {"kind": "config", "message": "widens `exclude` by `*`", "widens": True,
                                          "blocks": False, "places": []}


def test_a_custom_rule_that_would_downgrade_a_built_in_finding_fails_the_gate(repo: Repo, tmp_path: Path, capsys,
                                                                                fake_token):
    rule = acme_rule(id="aaa.placeholder", severity="low", keywords=["hf_"],  # the built-in pattern, low, first
                     pattern=r"(?:^|[^A-Za-z0-9_])(?P<secret>hf_[A-Za-z0-9]{34})(?:[^A-Za-z0-9_]|$)",
                     tokens={"token": "hf_{34:A-Za-z}"}, examples=["X={{token}}"],
                     negative_examples=[{"text": "X=1", "why": "no token"}])
    rules = yaml.safe_dump({"schema_version": 1, "provider": "acme", "rules": [rule]})
    base, head = pr(repo, {".trussguard.toml": 'rules = ["ci/rules.yaml"]\n', "ci/rules.yaml": rules,
                           "app.py": leak(fake_token(HF))})
    assert scan(repo.root, tmp_path, capsys)[0] == 0  # the working tree's own rules: one low finding, exit 0
    code, report, err = audit(repo, tmp_path, capsys, "--range", f"{base}..{head}")
    assert code == 1 and [f["rule_id"] for f in report["findings"]] == [HF]
    assert any(m.startswith("adds custom rules `ci/rules.yaml`") for m in messages(report))
    assert "changes 1 custom rule file(s): `ci/rules.yaml`" in messages(report)


def test_the_base_configuration_applies_and_narrowing_passes(repo: Repo, tmp_path: Path, capsys, fake_token):
    repo.commit("main excludes vendor/", {".trussguard.toml": 'exclude = ["vendor/", "docs/"]\nfail-on = "critical"\n'})
    base, head = pr(repo, {".trussguard.toml": 'exclude = ["vendor/"]\n', "vendor/lib.py": leak(fake_token(HF))})
    code, report, err = audit(repo, tmp_path, capsys, "--range", f"{base}..{head}")
    assert code == 0 and report["findings"] == [] and err == ""  # vendor/ stays excluded, as on the base
    assert messages(report) == ["narrows `exclude` (removes `docs/`)", "lowers `fail-on` from critical to high"]
    assert not any(c["widens"] for c in report["gate_changes"])


def test_baseline_entries_added_by_the_pull_request_do_not_hide_its_key(repo: Repo, tmp_path: Path, capsys,
                                                                       fake_token, monkeypatch):
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("a key", {"app.py": leak(fake_token(HF))})
    monkeypatch.chdir(repo.root)
    assert main(["baseline", "create", ".", "--by", "mallory"]) == 0
    head = repo.commit("acknowledge it", {".trussguard-baseline.json": (repo.root / ".trussguard-baseline.json")
                                          .read_text()})
    baseline = ["--baseline", str(repo.root / ".trussguard-baseline.json")]
    code, report, err = audit(repo, tmp_path, capsys, "--range", f"{base}..{head}", *baseline)
    assert code == 1 and [f["path"] for f in report["findings"]] == ["app.py"]
    assert "adds 1 baseline entry (`app.py`)" in messages(report) and "adds 1 baseline entry" in err
    code, report, _ = audit(repo, tmp_path, capsys, "--range", f"{base}..{head}", *baseline, "--allow-config-changes")
    assert code == 0 and report["findings"] == []  # the baseline file itself is no finding either


def test_added_markers_are_listed_but_do_not_fail(repo: Repo, tmp_path: Path, capsys):
    base, head = pr(repo, {"a.py": "x = 1\ny = 2  # trussguard: allow\n", "b.yaml": "k: v  # gitleaks:allow\n"})
    code, report, _ = audit(repo, tmp_path, capsys, "--range", f"{base}..{head}")
    assert code == 0
    assert report["gate_changes"] == [{"kind": "markers", "message": "this change adds 2 suppression markers "
                                       "(a.py:2, b.yaml:1)", "widens": False, "blocks": False,
                                       "places": ["a.py:2", "b.yaml:1"]}]


def test_scan_with_a_trusted_revision_reads_its_config_through_git(repo: Repo, tmp_path: Path, capsys, fake_token):
    base = repo.git("rev-parse", "HEAD")
    repo.write(".trussguard.toml", 'disable = ["huggingface.*"]\n')  # uncommitted, like a pull request's checkout
    repo.write("app.py", leak(fake_token(HF)))
    assert scan(repo.root, tmp_path, capsys)[0] == 0  # the working tree's configuration hides it
    code, report, err = scan(repo.root, tmp_path, capsys, "--trusted-rev", base)
    assert code == 1 and [f["rule_id"] for f in report["findings"]] == [HF]
    assert "disables rules `huggingface.*`" in messages(report) and "disables rules" in err
    (repo.root / "new.py").write_text("z = 3  # pragma: allowlist secret\n")  # untracked files count too
    assert "this change adds 1 suppression marker (new.py:1)" in messages(scan(repo.root, tmp_path, capsys,
                                                                                "--trusted-rev", base)[1])


def test_a_secrets_baseline_in_a_subfolder_is_scanned(truss_tree, tmp_path: Path, capsys, fake_token):
    root = truss_tree({"sub/.secrets.baseline": json.dumps({"note": leak(fake_token(HF))})})
    code, report, _ = scan(root, tmp_path, capsys)
    assert code == 1 and [(f["path"], f["rule_id"]) for f in report["findings"]] == [("sub/.secrets.baseline", HF)]


def test_a_baseline_file_that_does_not_parse_is_scanned(truss_tree, tmp_path: Path, capsys, fake_token):
    root = truss_tree({".trussguard-baseline.json": "{ not json\n" + leak(fake_token(HF))})
    code, report, _ = scan(root, tmp_path, capsys)
    assert code == 1 and [f["path"] for f in report["findings"]] == [".trussguard-baseline.json"]


def test_a_valid_baseline_hides_only_its_hashes(truss_tree, tmp_path: Path, capsys, fake_token):
    token = fake_token(HF)
    digest = hashlib.sha256(b"x").hexdigest()
    entry = {"fingerprint": "tg-" + digest[:20], "rule_id": HF, "path": "a.py", "secret_sha256": digest,
             "advisory_id": f"adv-{digest[:16]}", "reason": "ok"}
    clean = {"schema_version": 1, "entries": [entry]}
    root = truss_tree({".trussguard-baseline.json": json.dumps(clean, indent=2)})
    assert scan(root, tmp_path, capsys)[0] == 0
    entry["reason"] = f"HF_TOKEN={token}"  # still a valid baseline, but reason is not a hash
    (root / ".trussguard-baseline.json").write_text(json.dumps(clean, indent=2))
    code, report, _ = scan(root, tmp_path, capsys)
    assert code == 1 and [f["rule_id"] for f in report["findings"]] == [HF]


def test_the_action_gates_a_pull_request_on_its_base_configuration(repo: Repo, tmp_path: Path, fake_token):
    token = fake_token(HF)
    base, head = pr(repo, {".trussguard.toml": 'exclude = ["*"]\n', "app.py": leak(token),
                           "b.py": "# trussguard: allow\n"})
    for command in ("audit", "scan"):
        run = run_action(tmp_path, repo.root, "pull_request", pull_request(base, head), command=command)
        assert run.code == 1, run.stdout
        assert run.outputs["findings"] == "1" and run.outputs["exit-code"] == "1"
        assert "::error::trussguard: this change widens `exclude` by `*`" in run.stdout
        assert "::warning file=b.py,line=1::trussguard: this change adds a suppression marker here" in run.stdout
        assert "### Changes to the gate" in run.summary and "widens `exclude` by `*` (fails the gate" in run.summary
        assert "this change adds 1 suppression marker (b.py:1)" in run.summary
        assert token not in run.stdout + run.summary
    run = run_action(tmp_path, repo.root, "pull_request", pull_request(base, head), allow_config_changes="true")
    assert run.code == 0 and run.outputs["findings"] == "0", run.stdout
    assert "::warning::trussguard: this change widens `exclude` by `*`" in run.stdout
    bad = run_action(tmp_path, repo.root, "pull_request", pull_request(base, head), allow_config_changes="yes")
    assert bad.code == 2 and "allow-config-changes must be true or false" in bad.errors[0]


def test_history_audit_reads_the_baseline_blob_it_reports(repo: Repo, tmp_path: Path, capsys, fake_token):
    repo.commit("not a baseline", {".trussguard-baseline.json": "[]\n" + leak(fake_token(HF))})
    repo.commit("now a valid one", {".trussguard-baseline.json": '{"schema_version": 1, "entries": []}\n'})
    code, report, _ = audit(repo, tmp_path, capsys)
    assert code == 1 and [f["path"] for f in report["findings"]] == [".trussguard-baseline.json"]
    assert report["findings"][0]["history"]["still_present"] is False


def test_configuration_at_a_revision_ignores_the_working_tree(repo: Repo, tmp_path: Path):
    from trussguard.project_config import ProjectConfig, load_at_revision

    first = repo.commit("config", {"pyproject.toml": "[project]\nname = 'x'\n",
                                   "models/pyproject.toml": '[tool.trussguard]\nexclude = ["data/"]\n'})
    repo.write(".trussguard.toml", 'exclude = ["*"]\n')
    repo.write("models/pyproject.toml", '[tool.trussguard]\nexclude = ["*"]\n')
    at = load_at_revision(repo.root, first, repo.root / "models" / "llm")
    assert at.exclude == ("data/",) and at.path == (repo.root / "models" / "pyproject.toml").resolve()
    assert load_at_revision(repo.root, first, repo.root) == ProjectConfig()  # a pyproject without the table
    assert load_at_revision(repo.root, first, repo.root, explicit=repo.root / ".trussguard.toml") == ProjectConfig()


@pytest.mark.parametrize("text, detect_secrets, expected", [
    ('{"schema_version": 1, "entries": []}', False, frozenset()),
    ('{"schema_version": 2, "entries": []}', False, None),
    ('{"schema_version": 1, "entries": [{"fingerprint": "tg-XYZ", "rule_id": "r", "path": "p"}]}', False, None),
    ('{"version": "1.5.0", "results": {"a.py": [{"type": "Secret Keyword", "hashed_secret": "' + "ab" * 20 + '"}]}}',
     True, frozenset({"ab" * 20})),
    ('{"version": "1.5.0", "results": {"a.py": [{"type": "Secret Keyword", "hashed_secret": "' + "AB" * 20 + '"}]}}',
     True, None),
    ('{"results": {}}', True, None),
    ("not json", True, None),
])
def test_only_a_well_formed_baseline_has_hashes(text: str, detect_secrets: bool, expected):
    from trussguard.baseline import hash_values

    assert hash_values(text.encode(), detect_secrets=detect_secrets) == expected


def test_a_staged_baseline_named_file_that_does_not_parse_is_found(repo: Repo, tmp_path: Path, capsys, fake_token):
    repo.write(".trussguard-baseline.json", "[]\n" + leak(fake_token(HF)))
    repo.git("add", ".trussguard-baseline.json")
    repo.write(".trussguard-baseline.json", '{"schema_version": 1, "entries": []}\n')  # valid, not staged
    out = tmp_path / "staged.json"
    assert main(["scan", "--staged", str(repo.root), "--format", "json", "-o", str(out), "--no-cache"]) == 1
    assert [f["path"] for f in json.loads(out.read_text())["findings"]] == [".trussguard-baseline.json"]


def test_the_action_scan_fetches_the_base_of_a_shallow_checkout(repo: Repo, tmp_path: Path, fake_token):
    base, head = pr(repo, {".trussguard.toml": 'exclude = ["*"]\n', "app.py": leak(fake_token(HF))})
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{repo.root}", str(shallow)],
                   check=True, capture_output=True)
    run = run_action(tmp_path, shallow, "pull_request", pull_request(base, head), command="scan")
    assert run.code == 1 and f"fetched the pull request's base commit {base[:12]}" in run.stdout, run.stdout
    assert "::error::trussguard: this change widens `exclude` by `*`" in run.stdout


def test_a_symlinked_configuration_at_the_base_is_followed(repo: Repo, tmp_path: Path, capsys, fake_token):
    repo.commit("config", {"ci/trussguard.toml": 'fail-on = "critical"\n'})
    (repo.root / ".trussguard.toml").symlink_to("ci/trussguard.toml")
    repo.git("add", ".trussguard.toml")
    repo.git("commit", "-q", "-m", "link it")
    base, head = pr(repo, {"vendor/lib.py": leak(fake_token(HF))})
    code, report, err = audit(repo, tmp_path, capsys, "--range", f"{base}..{head}")
    assert (code, [f["severity"] for f in report["findings"]], report["gate_changes"], err) == (0, ["high"], [], "")


def test_moving_the_baseline_in_the_configuration_is_a_listed_widening(repo: Repo, tmp_path: Path, capsys):
    base, head = pr(repo, {".trussguard.toml": 'baseline = "ci/acknowledged.json"\n', "app.py": "import os\n"})
    code, report, err = audit(repo, tmp_path, capsys, "--range", f"{base}..{head}")
    change = [c for c in report["gate_changes"] if "`baseline`" in c["message"]]
    assert [c["message"] for c in change] == [
        "changes `baseline` from the default (`.trussguard-baseline.json` at the repository root) to "
        "`ci/acknowledged.json`"]
    assert change[0]["widens"] and change[0]["blocks"] and code == 1


def test_turning_the_baseline_off_is_listed_but_does_not_block(repo: Repo, tmp_path: Path, capsys):
    base, head = pr(repo, {".trussguard.toml": "baseline = false\n", "app.py": "import os\n"})
    code, report, err = audit(repo, tmp_path, capsys, "--range", f"{base}..{head}")
    change = [c for c in report["gate_changes"] if "`baseline`" in c["message"]]
    assert len(change) == 1 and not change[0]["widens"] and code == 0
