"""Advisories: five numbered steps per leaked secret, filled in for the place it was found.

Every credential is generated at run time (``fake_token``, ``random_password``); each test also
checks that no rendering of the advisories (JSON, text, Markdown) carries the secret.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from test_audit import Repo, leak

from conftest import random_password
from trussguard.audit import AuditConfig, audit_history
from trussguard.cli import main
from trussguard.config import ScanConfig
from trussguard.pipeline import scan_tree
from trussguard.report import json_report, text
from trussguard.report.markdown import render_advisories

HF = "huggingface.user-token"
OPENAI = "openai.project-key"
TITLES = ["Revoke or rotate", "Store the replacement", "Change this repository", "Purge it from the git history",
          "Verify"]


def scan(root: Path, cache_dir: Path):
    return scan_tree(ScanConfig(paths=(root,), cache_dir=cache_dir, jobs=1))


def everywhere(result) -> str:
    """Every rendering a user or a CI log could see."""
    return json_report.render(result) + text.render(result) + render_advisories(result)


def advisory_for(result, rule_id: str):
    (adv,) = [a for a in result.advisories if a.rule_id == rule_id]
    return adv


def test_provider_key_in_model_code_gets_five_tailored_steps(truss_tree, fake_token, rules_by_id, cache_dir):
    key = fake_token(OPENAI)
    root = truss_tree({"model/model.py": f'OPENAI_API_KEY = "{key}"\n\nclass Model:\n    pass\n'})
    result = scan(root, cache_dir)
    adv = advisory_for(result, OPENAI)
    rotation = rules_by_id[OPENAI].rotation
    assert adv.urgency == "immediate" and adv.truss_secret_name == "openai_api_key"
    assert [a.step for a in adv.actions] == [1, 2, 3, 4, 5]
    assert [a.title.startswith(t) for a, t in zip(adv.actions, TITLES)] == [True] * 5
    revoke, store, change, purge, verify = adv.actions
    assert f"Revoke it at {rotation.revoke_url}." in revoke.details and rotation.steps[0] in revoke.details
    assert "`openai_api_key`" in store.title
    assert change.details[0].startswith("model/model.py:1: ") and "self._secrets[\"openai_api_key\"]" in change.details[0]
    assert any("git filter-repo --replace-text" in d for d in purge.details)
    assert any("`trussguard audit` lists every commit" in d for d in purge.details)  # a tree scan knows no commits
    assert adv.id in verify.details[0] and rotation.revoke_url in verify.details[1]
    assert key not in everywhere(result)


def test_generic_secret_outside_a_truss_is_a_review_with_no_provider(truss_tree, cache_dir):
    password = random_password(random.Random(7), 24)
    root = truss_tree({"scripts/seed.py": f'DB_PASSWORD = "{password}"\n'})
    adv = advisory_for(scan(root, cache_dir), "generic.secret-assignment")
    assert adv.urgency == "review"
    revoke, _, change, _, _ = adv.actions
    assert revoke.title == "Revoke or rotate it where it was issued"
    assert any("# trussguard: allow" in d for d in revoke.details)
    assert change.details[0].startswith("scripts/seed.py:1: delete the value and read it at run time from the "
                                        "environment")


def test_config_value_change_comes_from_the_policy_check(truss_tree, fake_token, cache_dir):
    root = truss_tree({"config.yaml": f"model_name: x\nsecrets:\n  hf_access_token: {fake_token(HF)}\n"})
    adv = advisory_for(scan(root, cache_dir), HF)
    change = adv.actions[2]
    assert change.details[0].startswith("config.yaml:3: ") and "`hf_access_token: null`" in change.details[0]


def test_history_advisory_lists_commits_and_refs(tmp_path: Path, fake_token):
    repo = Repo(tmp_path / "repo")
    token = fake_token(HF)
    added = repo.commit("add", {"scripts/run.py": leak(token)})
    repo.commit("remove", {"scripts/run.py": "import os\n"})
    result = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None)))
    adv = advisory_for(result, HF)
    change, purge = adv.actions[2], adv.actions[3]
    assert change.details[0] == "scripts/run.py: no longer in any branch tip; nothing to change in the files (see step 4)"
    assert f"Commits that hold it: {added[:12]}; refs that reach them: 1 branch: main." in purge.details
    document = render_advisories(result)
    assert f"(introduced in `{added[:12]}`)" in document and "### Step 4. Purge it from the git history" in document
    assert token not in everywhere(result)


def test_json_and_markdown_through_the_cli(truss_tree, fake_token, tmp_path: Path):
    key = fake_token(OPENAI)
    root = truss_tree({"model/model.py": f'client = OpenAI(api_key="{key}")\n'})
    report, advisories = tmp_path / "r.json", tmp_path / "adv.md"
    assert main(["scan", str(root), "--format", "json", "-o", str(report), "--advisories", str(advisories)]) == 1
    (adv,) = [a for a in json.loads(report.read_text())["advisories"] if a["rule_id"] == OPENAI]
    assert [a["step"] for a in adv["actions"]] == [1, 2, 3, 4, 5]
    assert all(isinstance(d, str) for a in adv["actions"] for d in a["details"])
    document = advisories.read_text()
    assert document.startswith("# What to do about the leaked secrets in ")
    assert "## 1. OpenAI project API key (immediate)" in document and key not in document


def test_clean_tree_writes_an_advisory_document_saying_so(truss_tree, tmp_path: Path):
    advisories = tmp_path / "adv.md"
    assert main(["scan", str(truss_tree()), "-o", str(tmp_path / "r.txt"), "--advisories", str(advisories)]) == 0
    assert "No leaked secret was found" in advisories.read_text()


def test_unwritable_advisories_path_exits_2(truss_tree, tmp_path: Path, capsys):
    target = tmp_path / "no-such-dir" / "adv.md"
    assert main(["scan", str(truss_tree()), "--advisories", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write advisories" in err


# ----------------------------------------------------------------------------- rotation state (baseline)


def test_rotated_secret_is_reported_but_no_longer_fails(truss_tree, fake_token, tmp_path: Path, capsys):
    hf, key = fake_token(HF), fake_token(OPENAI)
    root = truss_tree({"scripts/a.py": f'HF_TOKEN = "{hf}"\n', "scripts/b.py": f'KEY = "{key}"\n'})
    report, baseline = tmp_path / "r.json", tmp_path / "baseline.json"
    assert main(["scan", str(root), "--format", "json", "-o", str(report)]) == 1
    ids = {a["rule_id"]: a["id"] for a in json.loads(report.read_text())["advisories"]}
    assert main(["rotated", ids[HF], "--by", "alice", "--reference", "SEC-1", "--at", "2026-11-20",
                 "--baseline", str(baseline)]) == 0
    assert "no longer fails the build" in capsys.readouterr().out
    assert main(["scan", str(root), "--format", "json", "-o", str(report), "--baseline", str(baseline)]) == 1
    advisories = {a["rule_id"]: a for a in json.loads(report.read_text())["advisories"]}
    assert advisories[HF]["state"] == "rotated" and advisories[OPENAI]["state"] == "open"
    assert advisories[HF]["rotation"] == {"rotated_at": "2026-11-20", "rotated_by": "alice", "reference": "SEC-1"}
    assert advisories[HF]["actions"][0]["title"] == "Done: rotated on 2026-11-20 by alice (SEC-1)"
    assert main(["rotated", ids[OPENAI], "--by", "bob", "--baseline", str(baseline)]) == 0
    out = tmp_path / "r.txt"
    assert main(["scan", str(root), "-o", str(out), "--baseline", str(baseline)]) == 0  # both rotated: passes
    rendered = out.read_text()
    assert "What to do (0 secret(s) to rotate, 2 rotated)" in rendered
    assert "rotated on 2026-11-20, history purge pending" in rendered and "2 finding(s)" in rendered
    stored = baseline.read_text()
    assert hf not in stored and key not in stored


def test_recording_a_rotation_again_replaces_the_entry(tmp_path: Path):
    from trussguard import baseline as bl

    path = tmp_path / "b.json"
    digest = "ab" * 32
    assert main(["rotated", digest, "--by", "alice", "--at", "2026-01-01", "--baseline", str(path)]) == 0
    assert main(["rotated", f"adv-{digest[:16]}", "--by", "bob", "--at", "2026-02-01", "--baseline", str(path)]) == 0
    assert bl.load(path).rotations() == {f"adv-{digest[:16]}": {"rotated_at": "2026-02-01", "rotated_by": "bob",
                                                                "reference": None}}


@pytest.mark.parametrize("content, message", [
    ("not json", "cannot read baseline"),
    ('{"entries": []}', "is not a trussguard baseline"),
    ('{"schema_version": 1, "entries": [{"advisory_id": "adv-1", "rotated_at": "2026-01-01"}]}', "entry 1"),
    ('{"schema_version": 1, "entries": [{"advisory_id": "adv-0123456789abcdef", "rotated_at": "soon"}]}',
     "rotated_at must be a date"),
])
def test_broken_baseline_exits_2_with_one_line(truss_tree, tmp_path: Path, capsys, content, message):
    path = tmp_path / "b.json"
    path.write_text(content)
    assert main(["scan", str(truss_tree()), "--baseline", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


@pytest.mark.parametrize("args", [["nope"], ["adv-0123456789abcdef", "--at", "yesterday"]])
def test_rotated_rejects_bad_input(tmp_path: Path, capsys, args):
    assert main(["rotated", *args, "--by", "alice", "--baseline", str(tmp_path / "b.json")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# ----------------------------------------------------------------------------- evidence for auditors


def test_evidence_document(tmp_path: Path, fake_token):
    from trussguard.report.evidence import digest

    repo = Repo(tmp_path / "repo")
    old, live = fake_token(HF), fake_token(OPENAI)
    first = repo.commit("old key", {"scripts/run.py": leak(old)})
    repo.commit("remove", {"scripts/run.py": "import os\n"})
    repo.commit("live key", {"model/model.py": f'KEY = "{live}"\n'})
    password = random_password(random.Random(3), 16)  # built here: a literal would trip every scanner
    repo.git("remote", "add", "origin", f"https://someone:{password}@git.example.invalid/acme/models.git")
    report, baseline, evidence = tmp_path / "r.json", tmp_path / "b.json", tmp_path / "evidence.json"
    assert main(["audit", str(repo.root), "--format", "json", "-o", str(report), "--no-cache"]) == 1
    ids = {a["rule_id"]: a["id"] for a in json.loads(report.read_text())["advisories"]}
    assert main(["rotated", ids[HF], "--by", "alice", "--at", "2024-02-01", "--baseline", str(baseline)]) == 0
    assert main(["audit", str(repo.root), "--no-cache", "-o", str(tmp_path / "r.txt"), "--baseline", str(baseline),
                 "--evidence", str(evidence)]) == 1
    raw = evidence.read_text()
    doc = json.loads(raw)
    assert old not in raw and live not in raw and password not in raw
    assert doc["sha256"] == digest(doc)
    assert digest(dict(doc, leaks={"open": [], "rotated": []})) != doc["sha256"]  # any edit shows
    scope = doc["scope"]
    assert scope["remote"] == "https://git.example.invalid/acme/models.git"
    assert scope["refs"] == {"refs/heads/main": repo.git("rev-parse", "HEAD")}
    assert scope["commits"] == 3 and scope["date_range"]["first"].startswith("2024-01-01")
    (rotated,) = doc["leaks"]["rotated"]
    assert rotated["advisory_id"] == ids[HF] and rotated["rotation"]["rotated_by"] == "alice"
    assert rotated["still_present"] is False and rotated["paths"] == ["scripts/run.py"]
    assert rotated["first_seen"] == repo.git("show", "-s", "--format=%cI", first)
    (open_leak,) = doc["leaks"]["open"]
    assert open_leak["rule_id"] == OPENAI and open_leak["still_present"] is True and open_leak["last_seen"] is None
    assert doc["tool"]["rules_digest"] and doc["run"]["started_at"]


def test_generic_literal_names_the_workspace_secret_after_its_key(truss_tree, cache_dir):
    rng = random.Random(11)
    root = truss_tree({"scripts/seed.py": f'DB_PASSWORD = "{random_password(rng, 24)}"\n'
                                          f'STRIPE_WEBHOOK_SECRET = "{random_password(rng, 26)}"\n'})
    names = sorted(a.truss_secret_name for a in scan(root, cache_dir).advisories)
    assert names == ["db_password", "stripe_webhook_secret"]


def test_step_2_says_how_the_truss_declares_and_reads_it(truss_tree, fake_token, cache_dir):
    root = truss_tree({"model/model.py": f'client = OpenAI(api_key="{fake_token(OPENAI)}")\n'})
    store = advisory_for(scan(root, cache_dir), OPENAI).actions[1]
    assert "`openai_api_key: null` under `secrets:` in config.yaml" in store.details[-1]
    assert 'self._secrets["openai_api_key"]' in store.details[-1]


def test_history_advisory_step_2_says_how_the_truss_reads_it(tmp_path: Path, fake_token):
    repo = Repo(tmp_path / "repo")
    repo.commit("add", {"scripts/run.py": leak(fake_token(HF))})
    repo.commit("remove", {"scripts/run.py": "import os\n"})
    store = advisory_for(audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None))), HF).actions[1]
    assert "`hf_access_token: null` under `secrets:`" in store.details[-1]
    assert 'self._secrets["hf_access_token"]' in store.details[-1] and "$(cat /secrets/hf_access_token)" in store.details[-1]


@pytest.mark.parametrize("value", ['"foo"', "BASETEN_API_KEY", '"YOUR_TOKEN"', "baseten_api_key"])
def test_non_credential_under_secrets_has_no_advisory(truss_tree, cache_dir, value):
    root = truss_tree({"config.yaml": f"model_name: x\nresources:\n  cpu: '1'\nsecrets:\n  baseten_api_key: {value}\n"})
    result = scan(root, cache_dir)
    assert result.advisories == [] and all(f.secret_sha256 is None for f in result.findings)
    codes = [f.rule_id for f in result.findings if f.path == "config.yaml"]
    assert "TG102" in codes and "TG101" not in codes
