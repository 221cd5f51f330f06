"""benchmarks/compare_findings.py: the same findings before and after, on a fixture repository.

The fixture's fake credentials are built from the rules' token templates at test time. The script
runs trussguard twice on it (same command as before and after: no difference); the diff function is
then given a deliberately changed set of findings and must report each change, never a value.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_audit import Repo, leak

ROOT = Path(__file__).resolve().parent.parent
HF, OPENAI = "huggingface.user-token", "openai.project-key"


def _load():
    spec = importlib.util.spec_from_file_location("compare_findings", ROOT / "benchmarks" / "compare_findings.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look the module up while the class is built
    spec.loader.exec_module(module)
    return module


cf = _load()


def _exe() -> str:
    found = shutil.which("trussguard")
    return found if found else f"{sys.executable} -m trussguard"


@pytest.fixture(scope="module")
def fixture(tmp_path_factory, fake_token):
    """A repository with a removed key in its history and a live one in its tree; and both keys."""
    repo = Repo(tmp_path_factory.mktemp("compare") / "repo")
    old, live = fake_token(HF), fake_token(OPENAI)
    repo.commit("initial", {"README.md": "# demo\n"})
    repo.commit("old key", {"scripts/run.py": leak(old)})
    repo.commit("remove", {"scripts/run.py": "import os\n"})
    repo.commit("live key", {"model/model.py": f'OPENAI_API_KEY = "{live}"\n'})
    return repo.root, (old, live)


@pytest.fixture(scope="module")
def reports(fixture, tmp_path_factory) -> dict[str, dict]:
    root, _ = fixture
    work = tmp_path_factory.mktemp("compare-reports")
    exe = _exe().split()
    return {mode: cf.run_report(exe, mode, root, work / f"{mode}.json", 1, cf.DEFAULT_AUDIT_ARGS.split())
            for mode in cf.MODES}


def test_same_exe_twice_gives_no_difference(fixture, tmp_path, capsys):
    root, secrets = fixture
    out = tmp_path / "diff.json"
    code = cf.main([str(root), "--before-exe", _exe(), "--after-exe", _exe(), "-j", "1", "--json", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "tree (1 -> 1 findings): same findings" in printed
    assert "history (2 -> 2 findings): same findings" in printed
    assert json.loads(out.read_text("utf-8"))["same"] is True
    assert all(s not in printed for s in secrets)


def test_changed_findings_are_reported(reports, fixture):
    _, secrets = fixture
    before = cf.findings_of(reports["tree"]) + cf.findings_of(reports["history"])
    after = copy.deepcopy(before)
    history = [f for f in after if f["mode"] == "history"]
    gone = next(f for f in history if f["rule_id"] == HF)
    after.remove(gone)  # a finding the new build loses
    moved = next(f for f in after if f["mode"] == "tree")
    moved["line"] += 1  # a finding that moved: one lost, one new
    reworded = next(f for f in after if f["mode"] == "history" and f["rule_id"] == OPENAI)
    reworded["message"] = "reworded message"
    diff = cf.diff_findings(before, after)
    assert not diff.same
    assert [f["rule_id"] for f in diff.only_before] == [HF, OPENAI]  # the lost one, the moved one's old place
    assert [(f["mode"], f["line"]) for f in diff.only_after] == [("tree", moved["line"])]
    assert [(o["message"] != n["message"], n["message"]) for o, n in diff.message_changes] == \
        [(True, "reworded message")]
    text = cf.render(diff, "fixture")
    assert "2 only before, 1 only after, 1 message change(s)" in text
    assert f"- [history] high {HF} scripts/run.py:1 @" in text
    assert all(s not in text for s in secrets)
    assert all(s not in json.dumps(cf.diff_as_json(diff)) for s in secrets)


def test_key_and_order(reports):
    findings = cf.findings_of(reports["history"])
    assert cf.diff_findings(findings, list(reversed(findings))).same  # order is no difference
    f = findings[0]
    assert cf.finding_key("history", f) == ("history", f["rule_id"], f["path"], f["line"], f["commit"],
                                            f["severity"], f["secret_sha256"])
    assert f["commit"] and len(f["secret_sha256"]) == 64
    doubled = cf.diff_findings(findings, findings + findings[:1])  # a duplicate is a difference
    assert len(doubled.only_after) == 1 and not doubled.only_before


def test_a_value_in_a_report_is_never_kept(reports, fixture):
    _, secrets = fixture
    report = copy.deepcopy(reports["tree"])
    report["findings"][0]["secret"] = secrets[1]  # as under --show-secrets
    kept = cf.findings_of(report)
    assert "secret" not in kept[0] and secrets[1] not in json.dumps(kept)


@pytest.mark.skipif(not (ROOT / ".git").exists(), reason="needs this project's git repository")
def test_revisions_build_from_git_archive(fixture, capsys):
    """``--before REV --after REV``: two exports of the same commit give the same findings (run with this
    Python, --no-venv, to keep the suite fast; the venv path is the same code plus pip install)."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode:
        pytest.skip("not a git checkout")
    root, _ = fixture
    code = cf.main([str(root), "--before", "HEAD", "--after", "HEAD", "--no-venv", "--modes", "tree", "-j", "1"])
    assert code == 0, capsys.readouterr()


def test_usage_errors(fixture):
    root, _ = fixture
    with pytest.raises(SystemExit):
        cf.main([str(root), "--before", "HEAD"])
    with pytest.raises(SystemExit):
        cf.main([str(root), "--before", "HEAD", "--after", "HEAD", "--before-exe", "x", "--after-exe", "y"])
    assert cf.main([str(root), "--before-exe", "false", "--after-exe", "false", "--modes", "tree"]) == 2
