"""The baseline file's finding entries: create, update, apply, and the detect-secrets import.

Findings come from real scans of small Truss trees (and one git history); every secret is
generated at run time. The detect-secrets baseline is written by detect-secrets itself.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import CLEAN_MODEL, random_password
from trussguard import baseline as bl
from trussguard.audit import AuditConfig, audit_history
from trussguard.config import ScanConfig
from trussguard.cli import main
from trussguard.pipeline import scan_tree

HF = "huggingface.user-token"
OPENAI = "openai.project-key"


def scan(root: Path, cache_dir: Path):
    return scan_tree(ScanConfig(paths=(root,), cache_dir=cache_dir, jobs=1))


def leaky_tree(truss_tree, fake_token) -> tuple[Path, str, str]:
    hf, key = fake_token(HF), fake_token(OPENAI)
    root = truss_tree({"scripts/load.py": f'def load():\n    token = "{hf}"\n',
                       "scripts/client.py": f'KEY = "{key}"\n'})
    return root, hf, key


def saved(baseline: bl.Baseline) -> bl.Baseline:
    """Through the file and back: what the next run will see."""
    bl.save(baseline)
    return bl.load(baseline.path)


def ids(findings) -> set[str]:
    return {f.id for f in findings}


def keyword_tree(truss_tree, seed: int) -> tuple[Path, str]:
    value = random_password(random.Random(seed), 18)
    return truss_tree({"model/model.py": f'password = "{value}"\n\n\nclass Model:\n    pass\n'}), value


def detect_secrets_baseline(root: Path, out: Path) -> dict:
    """Runs the real detect-secrets in ``root`` (file names relative to it) into ``out``."""
    done = subprocess.run([sys.executable, "-m", "detect_secrets", "scan", "--all-files", "."], cwd=root,
                          capture_output=True, text=True, check=True, env=dict(os.environ, PYTHONUTF8="1"))
    out.write_text(done.stdout, "utf-8")
    return json.loads(done.stdout)


# ----------------------------------------------------------------------------- create / apply


def test_create_then_apply_hides_everything(truss_tree, fake_token, cache_dir, tmp_path: Path):
    root, _, _ = leaky_tree(truss_tree, fake_token)
    result = scan(root, cache_dir)
    assert {f.rule_id for f in result.findings} >= {HF, OPENAI}
    made = saved(bl.create(result, "known test fixtures", "alice", tmp_path / bl.DEFAULT_NAME))
    assert sorted(e["fingerprint"] for e in made.entries) == sorted(ids(result.findings))
    assert [(e["path"], e["rule_id"]) for e in made.entries] == sorted((e["path"], e["rule_id"]) for e in made.entries)
    assert {e["added_by"] for e in made.entries} == {"alice"}
    assert {e["reason"] for e in made.entries} == {"known test fixtures"}
    assert bl.apply(made, result) == ([], [])


def test_one_entry_per_fingerprint_and_policy_findings_have_no_hash(truss_tree, fake_token, cache_dir,
                                                                     tmp_path: Path):
    hf = fake_token(HF)
    model = textwrap.dedent(CLEAN_MODEL).replace('self._secrets["hf_access_token"]', 'self._secrets["undeclared"]')
    root = truss_tree({"model/model.py": model, "scripts/twice.py": f'A = "{hf}"\n\nB = "{hf}"\n'})
    result = scan(root, cache_dir)
    twice = [f for f in result.findings if f.path == "scripts/twice.py"]
    assert len(twice) == 2 and len(ids(twice)) == 1  # same rule, path and secret: one fingerprint
    policy = [f for f in result.findings if f.kind == "policy"]
    assert policy
    made = bl.create(result, "r", "alice", tmp_path / "b.json")
    assert len(made.entries) == len(ids(result.findings))
    by_fp = {e["fingerprint"]: e for e in made.entries}
    assert all(by_fp[f.id]["secret_sha256"] is None and "advisory_id" not in by_fp[f.id] for f in policy)
    assert by_fp[twice[0].id]["advisory_id"] == twice[0].advisory_id
    assert bl.apply(saved(made), result) == ([], [])


def test_lines_inserted_above_a_baselined_secret_keep_it_hidden(truss_tree, fake_token, cache_dir, tmp_path: Path):
    root, _, _ = leaky_tree(truss_tree, fake_token)
    before = scan(root, cache_dir)
    made = saved(bl.create(before, "fixture", "alice", tmp_path / "b.json"))
    path = root / "scripts/load.py"
    path.write_text("import os\nimport sys\n\n# moved down by four lines\n" + path.read_text("utf-8"), "utf-8")
    after = scan(root, cache_dir)
    moved = [f for f in after.findings if f.path == "scripts/load.py"]
    assert moved and all(f.line > 4 for f in moved)
    assert ids(after.findings) == ids(before.findings)
    assert bl.apply(made, after) == ([], [])


def test_a_new_secret_is_reported(truss_tree, fake_token, cache_dir, tmp_path: Path):
    root, _, _ = leaky_tree(truss_tree, fake_token)
    made = saved(bl.create(scan(root, cache_dir), "fixture", "alice", tmp_path / "b.json"))
    (root / "scripts/other.py").write_text(f'TOKEN = "{fake_token(HF)}"\n', "utf-8")
    new, stale = bl.apply(made, scan(root, cache_dir))
    assert [(f.rule_id, f.path) for f in new] == [(HF, "scripts/other.py")] and stale == []


def test_same_secret_in_another_file_is_new(truss_tree, fake_token, cache_dir, tmp_path: Path):
    root, hf, _ = leaky_tree(truss_tree, fake_token)
    made = saved(bl.create(scan(root, cache_dir), "fixture", "alice", tmp_path / "b.json"))
    (root / "scripts/copy.py").write_text(f'TOKEN = "{hf}"\n', "utf-8")
    new, _ = bl.apply(made, scan(root, cache_dir))
    assert [(f.rule_id, f.path) for f in new] == [(HF, "scripts/copy.py")]


def test_a_removed_secret_makes_its_entry_stale(truss_tree, fake_token, cache_dir, tmp_path: Path):
    root, _, _ = leaky_tree(truss_tree, fake_token)
    before = scan(root, cache_dir)
    made = saved(bl.create(before, "fixture", "alice", tmp_path / "b.json"))
    (root / "scripts/client.py").write_text("import os\nKEY = os.environ['OPENAI_API_KEY']\n", "utf-8")
    new, stale = bl.apply(made, scan(root, cache_dir))
    gone = [f for f in before.findings if f.path == "scripts/client.py"]
    assert new == [] and gone
    assert [(e["fingerprint"], e["path"]) for e in stale] == [(f.id, f.path) for f in gone]


def test_a_baseline_from_a_tree_scan_applies_to_the_history_audit(truss_tree, fake_token, cache_dir,
                                                                  tmp_path: Path):
    root, _, _ = leaky_tree(truss_tree, fake_token)
    made = saved(bl.create(scan(root, cache_dir), "fixture", "alice", tmp_path / "b.json"))
    env = dict(os.environ, GIT_AUTHOR_NAME="Ada", GIT_AUTHOR_EMAIL="ada@example.invalid", GIT_COMMITTER_NAME="Ada",
               GIT_COMMITTER_EMAIL="ada@example.invalid", GIT_CONFIG_NOSYSTEM="1", HOME=str(tmp_path))
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["-c", "commit.gpgsign=false", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(root), *args], env=env, check=True, capture_output=True)
    result = audit_history(AuditConfig(root, ScanConfig(cache_dir=None)))
    assert {f.rule_id for f in result.findings} >= {HF, OPENAI}
    assert bl.apply(made, result) == ([], [])


# ----------------------------------------------------------------------------- update and rotation entries


def test_update_adds_new_drops_stale_and_keeps_rotations(truss_tree, fake_token, cache_dir, tmp_path: Path):
    root, _, _ = leaky_tree(truss_tree, fake_token)
    before = scan(root, cache_dir)
    made = bl.create(before, "first triage", "alice", tmp_path / "b.json")
    made = saved(bl.record_rotation(made, "ab" * 32, "carol", "SEC-9", "2026-01-02"))
    (root / "scripts/client.py").unlink()
    (root / "scripts/other.py").write_text(f'TOKEN = "{fake_token(HF)}"\n', "utf-8")
    after = scan(root, cache_dir)
    updated, dropped = bl.update(made, after, "second triage", "bob")
    gone = {f.id for f in before.findings if f.path == "scripts/client.py"}
    assert {e["fingerprint"] for e in dropped} == gone
    updated = saved(updated)
    finding_entries = {e["fingerprint"]: e for e in updated.entries if "fingerprint" in e}
    assert set(finding_entries) == ids(after.findings)
    added = [e for e in finding_entries.values() if e["path"] == "scripts/other.py"]
    assert [(e["reason"], e["added_by"]) for e in added] == [("second triage", "bob")]
    kept = [e for e in finding_entries.values() if e["path"] == "scripts/load.py"]
    assert kept and all((e["reason"], e["added_by"]) == ("first triage", "alice") for e in kept)
    assert updated.rotations() == {"adv-" + "ab" * 8: {"rotated_at": "2026-01-02", "rotated_by": "carol",
                                                      "reference": "SEC-9"}}
    assert bl.apply(updated, after) == ([], [])
    assert bl.update(updated, after, "again", "bob") == (updated, [])


def test_rotation_entries_never_hide_and_never_go_stale(truss_tree, fake_token, cache_dir, tmp_path: Path):
    root, _, _ = leaky_tree(truss_tree, fake_token)
    result = scan(root, cache_dir)
    hf = next(f for f in result.findings if f.rule_id == HF)
    rotated = bl.record_rotation(bl.Baseline(tmp_path / "b.json"), hf.secret_sha256, "alice", None, "2026-01-01")
    rotated = bl.record_rotation(rotated, "cd" * 32, "alice", None, "2026-01-01")  # a secret not in this tree
    new, stale = bl.apply(saved(rotated), result)
    assert ids(new) == ids(result.findings) and stale == []


def test_rotation_fields_on_finding_entries_are_honoured(truss_tree, fake_token, cache_dir, tmp_path: Path):
    root, _, _ = leaky_tree(truss_tree, fake_token)
    result = scan(root, cache_dir)
    made = bl.create(result, "rotated, purge pending", "alice", tmp_path / "b.json")
    hf = next(f for f in result.findings if f.rule_id == HF)
    for entry in made.entries:
        if entry["fingerprint"] == hf.id:
            entry.update(rotated_at="2026-03-04", rotated_by="alice", reference="SEC-7")
    made = saved(made)
    assert made.rotations() == {hf.advisory_id: {"rotated_at": "2026-03-04", "rotated_by": "alice",
                                                 "reference": "SEC-7"}}
    later = saved(bl.record_rotation(made, hf.advisory_id, "bob", None, "2026-03-05"))
    assert len([e for e in later.entries if "fingerprint" in e]) == len(made.entries)  # finding entries stay
    assert later.rotations()[hf.advisory_id]["rotated_by"] == "bob"  # the latest record wins
    assert bl.apply(later, result) == ([], [])


# ----------------------------------------------------------------------------- what the file holds


def test_the_file_never_holds_secret_values_line_numbers_or_sha1(truss_tree, fake_token, cache_dir, tmp_path: Path):
    root, hf, key = leaky_tree(truss_tree, fake_token)
    keyword_root, value = keyword_tree(truss_tree, 41)
    findings = scan(root, cache_dir).findings + scan(keyword_root, cache_dir).findings
    result = dataclasses.replace(scan(root, cache_dir), findings=findings)
    path = tmp_path / "b.json"
    bl.save(bl.create(result, "fixture", "alice", path))
    text = path.read_text("utf-8")
    for secret in (hf, key, value):
        assert secret not in text
    leaks = [f for f in findings if f.kind == "leak"]
    assert len(leaks) >= 3
    for f in leaks:
        assert f.secret_sha1 and f.secret_sha1 not in text
    data = json.loads(text)
    assert data["schema_version"] == 1
    allowed = {"fingerprint", "rule_id", "path", "secret_sha256", "advisory_id", "reason", "added_by", "added_at"}
    assert all(set(e) <= allowed for e in data["entries"])
    assert '"line' not in text and '"column' not in text


# ----------------------------------------------------------------------------- detect-secrets import


def test_importing_a_real_detect_secrets_baseline_hides_its_secret(truss_tree, cache_dir, tmp_path: Path):
    root, value = keyword_tree(truss_tree, 42)
    ds = detect_secrets_baseline(root, tmp_path / ".secrets.baseline")
    assert list(ds["results"]) == ["model/model.py"]
    result = scan(root, cache_dir)
    leak = [f for f in result.findings if f.path == "model/model.py" and f.kind == "leak"]
    assert len(leak) == 1  # a generic or detect-secrets rule: the same value, so the same SHA-1
    imported, count = bl.import_detect_secrets(bl.Baseline(tmp_path / "b.json"), tmp_path / ".secrets.baseline",
                                               "alice")
    assert count == 1
    imported = saved(imported)
    (entry,) = imported.entries
    place = entry["detect_secrets"].pop("place")  # which results share a spot: a hash, not a line number
    assert len(place) == 16
    assert entry["detect_secrets"] == {"hashed_secret": leak[0].secret_sha1, "filename": "model/model.py",
                                       "type": "Secret Keyword"}
    assert (entry["reason"], entry["added_by"]) == (bl.IMPORT_REASON, "alice")
    assert value not in imported.path.read_text("utf-8") and "line_number" not in imported.path.read_text("utf-8")
    new, stale = bl.apply(imported, result)
    assert ids(new) == ids(result.findings) - ids(leak) and stale == []
    again, count = bl.import_detect_secrets(imported, tmp_path / ".secrets.baseline", "bob")
    assert count == 0 and again.entries == imported.entries


def test_audited_false_positives_are_imported_too_and_go_stale(truss_tree, cache_dir, tmp_path: Path):
    root, _ = keyword_tree(truss_tree, 43)
    ds_path = tmp_path / ".secrets.baseline"
    ds = detect_secrets_baseline(root, ds_path)
    for secrets in ds["results"].values():
        for secret in secrets:
            secret["is_secret"] = False  # what `detect-secrets audit` records for a false positive
    ds_path.write_text(json.dumps(ds), "utf-8")
    made, count = bl.import_detect_secrets(bl.Baseline(tmp_path / "b.json"), ds_path, "alice")
    assert count == 1 and made.entries[0]["reason"].startswith(bl.IMPORT_REASON)
    made = saved(made)
    result = scan(root, cache_dir)
    assert [f for f in bl.apply(made, result)[0] if f.kind == "leak"] == []
    (root / "model/model.py").write_text("import os\npassword = os.environ['DB_PASSWORD']\n", "utf-8")
    after = scan(root, cache_dir)
    new, stale = bl.apply(made, after)
    assert stale == made.entries and ids(new) == ids(after.findings)
    updated, dropped = bl.update(made, after, "r", "bob")
    assert dropped == made.entries and all("detect_secrets" not in e for e in updated.entries)


def test_imported_entries_only_match_their_file(truss_tree, cache_dir, tmp_path: Path):
    root, _ = keyword_tree(truss_tree, 44)
    detect_secrets_baseline(root, tmp_path / ".secrets.baseline")
    made, _ = bl.import_detect_secrets(bl.Baseline(tmp_path / "b.json"), tmp_path / ".secrets.baseline", "alice")
    (root / "model/model.py").rename(root / "model/other.py")
    (root / "model/model.py").write_text("class Model:\n    pass\n", "utf-8")
    result = scan(root, cache_dir)
    new, stale = bl.apply(made, result)
    assert [f.path for f in new if f.kind == "leak"] == ["model/other.py"] and stale == made.entries


def test_no_stale_entry_right_after_an_import(truss_tree, fake_token, tmp_path: Path, capsys):
    """detect-secrets flags the hashes of trussguard's own baseline file as high-entropy strings;
    trussguard never reports them, so an imported entry for that file could never match: it is not
    imported, and the next scan lists no stale entry."""
    root, _, _ = leaky_tree(truss_tree, fake_token)
    assert main(["baseline", "create", str(root), "--baseline", str(root / bl.DEFAULT_NAME), "--by", "alice"]) == 0
    ds = detect_secrets_baseline(root, root / ".secrets.baseline")
    assert bl.DEFAULT_NAME in ds["results"]  # the hashes detect-secrets sees in trussguard's baseline
    assert main(["baseline", "import-detect-secrets", str(root / ".secrets.baseline"),
                 "--baseline", str(root / bl.DEFAULT_NAME), "--by", "alice"]) == 0
    imported = [e["detect_secrets"]["filename"] for e in bl.load(root / bl.DEFAULT_NAME).entries
                if "detect_secrets" in e]
    assert imported and bl.DEFAULT_NAME not in imported
    out = tmp_path / "scan.json"
    main(["scan", str(root), "--baseline", str(root / bl.DEFAULT_NAME), "--format", "json", "-o", str(out),
          "--no-cache"])
    report = json.loads(out.read_text("utf-8"))
    assert not [n for n in report["stats"]["notes"] if "stale" in n], report["stats"]["notes"]
    assert report["findings"] == []


def test_entries_for_a_baseline_file_imported_earlier_are_never_stale(tmp_path: Path):
    entry = dict(IMPORTED, detect_secrets=dict(IMPORTED["detect_secrets"], filename=bl.DEFAULT_NAME))
    other = dict(IMPORTED)
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"schema_version": 1, "entries": [entry, other]}), "utf-8")
    empty = dataclasses.replace(scan_result_stub(), findings=[])
    assert bl.apply(bl.load(path), empty) == ([], [other])


def scan_result_stub():
    from trussguard.results import ScanResult, ScanStats

    return ScanResult("tree", ".", [], [], ScanStats())


@pytest.mark.parametrize("content, message", [
    ("not json", "cannot read detect-secrets baseline"),
    ('{"schema_version": 1, "entries": []}', "is not a detect-secrets baseline"),
    ("[1, 2]", "is not a detect-secrets baseline"),
    ('{"version": "1.5.0", "results": {"a.py": [{"type": "Secret Keyword", "hashed_secret": "xyz"}]}}',
     "results['a.py'] secret 1"),
    ('{"version": "1.5.0", "results": {"a.py": {"hashed_secret": "x"}}}', "is not a list"),
])
def test_import_rejects_what_is_not_a_detect_secrets_baseline(tmp_path: Path, content, message):
    path = tmp_path / ".secrets.baseline"
    path.write_text(content, "utf-8")
    with pytest.raises(bl.BaselineError, match=message.replace("[", r"\[").replace("]", r"\]")):
        bl.import_detect_secrets(bl.Baseline(tmp_path / "b.json"), path, "alice")


# ----------------------------------------------------------------------------- validation


GOOD_ROTATION = {"advisory_id": "adv-0123456789abcdef", "rotated_at": "2026-01-01"}
FINGERPRINT = {"fingerprint": "tg-" + "0a" * 10, "rule_id": HF, "path": "model/model.py",
               "secret_sha256": "0" * 64, "reason": "r", "added_by": "a",
               "added_at": "2026-01-01T00:00:00+00:00"}
IMPORTED = {"detect_secrets": {"hashed_secret": "ab" * 20, "filename": "a.py", "type": "Secret Keyword"},
            "reason": bl.IMPORT_REASON, "added_at": "2026-01-01T00:00:00+00:00"}


def test_valid_entries_of_every_kind_load(tmp_path: Path):
    path = tmp_path / "b.json"
    entries = [GOOD_ROTATION, FINGERPRINT, dict(FINGERPRINT, secret_sha256=None, rule_id="TG207"), IMPORTED,
               dict(FINGERPRINT, advisory_id="adv-" + "0" * 16, rotated_at="2026-02-02", rotated_by="b")]
    path.write_text(json.dumps({"schema_version": 1, "entries": entries}), "utf-8")
    assert bl.load(path).entries == entries


@pytest.mark.parametrize("bad, message", [
    ({"fingerprint": "tg-123", "rule_id": HF, "path": "a.py"}, "fingerprint must look like"),
    ({"fingerprint": "tg-" + "A" * 20, "rule_id": HF, "path": "a.py"}, "fingerprint must look like"),
    (dict(FINGERPRINT, rule_id=None), "rule_id must be text"),
    ({k: v for k, v in FINGERPRINT.items() if k != "path"}, "path must be text"),
    (dict(FINGERPRINT, secret_sha256="abc"), "secret_sha256 must be 64"),
    (dict(FINGERPRINT, line=3), "'line' is not allowed"),
    (dict(FINGERPRINT, secret="x"), "'secret' is not allowed"),
    (dict(FINGERPRINT, secret_sha1="ab" * 20), "'secret_sha1' is not allowed"),
    (dict(FINGERPRINT, advisory_id="adv-ffffffffffffffff"), "does not belong to secret_sha256"),
    (dict(FINGERPRINT, rotated_at="soon"), "rotated_at must be a date"),
    (dict(FINGERPRINT, secret_sha256=None, rotated_at="2026-01-01"), "rotation fields need"),
    (dict(FINGERPRINT, added_by=7), "added_by must be text"),
    ({"detect_secrets": {"hashed_secret": "ab" * 19, "filename": "a.py"}}, "hashed_secret must be 40"),
    ({"detect_secrets": {"hashed_secret": "ab" * 20}}, "filename must be text"),
    ({"detect_secrets": {"hashed_secret": "ab" * 20, "filename": "a.py", "line_number": 4}},
     "'line_number' is not allowed"),
    ({"detect_secrets": "ab" * 20}, "detect_secrets must be an object"),
    (dict(IMPORTED, fingerprint=FINGERPRINT["fingerprint"]), "not both"),
    ({"reason": "nothing else"}, "needs a fingerprint"),
    ("text", "not an object"),
])
def test_malformed_entries_name_the_entry(tmp_path: Path, bad, message):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"schema_version": 1, "entries": [GOOD_ROTATION, bad]}), "utf-8")
    with pytest.raises(bl.BaselineError, match=f"entry 2: .*{message}"):
        bl.load(path)


# ----------------------------------------------------------------------------- the baseline found by default


def git_repo(root: Path, tmp_path: Path):
    env = dict(os.environ, GIT_AUTHOR_NAME="Ada", GIT_AUTHOR_EMAIL="ada@example.invalid", GIT_COMMITTER_NAME="Ada",
               GIT_COMMITTER_EMAIL="ada@example.invalid", GIT_CONFIG_NOSYSTEM="1", HOME=str(tmp_path))

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), "-c", "commit.gpgsign=false", *args], env=env, check=True,
                              capture_output=True, text=True).stdout

    git("init", "-q", "-b", "main")
    return git


def scan_json(args: list[str], tmp_path: Path) -> tuple[int, dict]:
    out = tmp_path / "scan.json"
    code = main(["scan", *args, "--format", "json", "-o", str(out), "--no-cache"])
    return code, json.loads(out.read_text("utf-8"))


def rotate_all(report: dict, path: Path) -> None:
    for a in report["advisories"]:
        assert main(["rotated", a["id"], "--by", "alice", "--baseline", str(path)]) == 0


def test_the_repository_roots_baseline_is_used_without_the_flag(truss_tree, fake_token, tmp_path: Path):
    root, _, _ = leaky_tree(truss_tree, fake_token)
    git_repo(root, tmp_path)
    code, report = scan_json([str(root / "scripts")], tmp_path)  # a subfolder: the file sits at the git top level
    assert code == 1 and not [n for n in report["stats"]["notes"] if n.startswith("baseline:")]
    rotate_all(report, root / bl.DEFAULT_NAME)
    code, report = scan_json([str(root / "scripts")], tmp_path)
    assert code == 0 and {a["state"] for a in report["advisories"]} == {"rotated"}
    assert f"baseline: {bl.DEFAULT_NAME} (2 entries)" in report["stats"]["notes"]


def test_the_configuration_moves_or_disables_the_baseline(truss_tree, fake_token, tmp_path: Path):
    root, _, _ = leaky_tree(truss_tree, fake_token)
    code, report = scan_json([str(root)], tmp_path)
    (root / "ci").mkdir()
    rotate_all(report, root / "ci" / "baseline.json")
    assert scan_json([str(root)], tmp_path)[0] == 1  # not at the default place
    (root / ".trussguard.toml").write_text('baseline = "ci/baseline.json"\n', "utf-8")
    code, report = scan_json([str(root)], tmp_path)
    assert code == 0 and "baseline: ci/baseline.json (2 entries)" in report["stats"]["notes"]
    (root / "ci" / "baseline.json").rename(root / bl.DEFAULT_NAME)
    (root / ".trussguard.toml").write_text("baseline = false\n", "utf-8")
    assert scan_json([str(root)], tmp_path)[0] == 1
    assert scan_json([str(root), "--baseline", str(root / bl.DEFAULT_NAME)], tmp_path)[0] == 0  # the flag wins
    (root / ".trussguard.toml").write_text("baseline = 3\n", "utf-8")
    assert main(["scan", str(root), "--no-cache"]) == 2


def test_baseline_commands_write_where_scans_look(truss_tree, fake_token, tmp_path: Path, monkeypatch):
    root, _, _ = leaky_tree(truss_tree, fake_token)
    git_repo(root, tmp_path)
    monkeypatch.chdir(root / "scripts")
    assert main(["baseline", "create", str(root), "--by", "alice"]) == 0
    assert (root / bl.DEFAULT_NAME).is_file() and not (root / "scripts" / bl.DEFAULT_NAME).exists()
    code, report = scan_json([str(root)], tmp_path)
    assert code == 0 and report["findings"] == []


def test_a_pull_request_cannot_acknowledge_its_own_leak_with_the_default_baseline(truss_tree, fake_token,
                                                                                 tmp_path: Path):
    root = truss_tree()
    git = git_repo(root, tmp_path)
    git("add", "-A")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "feature")
    (root / "scripts").mkdir()
    (root / "scripts" / "load.py").write_text(f'TOKEN = "{fake_token(HF)}"\n', "utf-8")
    assert main(["baseline", "create", str(root), "--baseline", str(root / bl.DEFAULT_NAME), "--by", "mallory"]) == 0
    git("add", "-A")
    git("commit", "-qm", "feature")
    assert scan_json([str(root)], tmp_path)[0] == 0  # outside a gate the branch's own baseline applies
    code, report = scan_json([str(root), "--trusted-rev", "main"], tmp_path)
    assert code == 1 and [f["path"] for f in report["findings"] if f["rule_id"] == HF] == ["scripts/load.py"]
    assert [c["kind"] for c in report["gate_changes"] if c["blocks"]] == ["baseline"]


def test_an_audit_lists_as_stale_only_what_it_could_have_found(truss_tree, fake_token, cache_dir, tmp_path: Path):
    hf = fake_token(HF)
    model = textwrap.dedent(CLEAN_MODEL).replace('self._secrets["hf_access_token"]', 'self._secrets["undeclared"]')
    root = truss_tree({"model/model.py": model, "scripts/load.py": f'TOKEN = "{hf}"\n'})
    git = git_repo(root, tmp_path)
    git("add", "-A")
    git("commit", "-qm", "base")
    tree = scan(root, cache_dir)
    assert {f.kind for f in tree.findings} == {"leak", "policy"}
    made = saved(bl.create(tree, "fixture", "alice", tmp_path / "b.json"))
    full = audit_history(AuditConfig(root, ScanConfig(cache_dir=None)))
    assert bl.apply(made, full) == ([], [])  # the policy entries: an audit reports leaks only
    (root / "scripts" / "load.py").write_text("import os\n", "utf-8")
    git("commit", "-qam", "drop the key")
    git("commit", "-q", "--allow-empty", "-m", "later")
    partial = audit_history(AuditConfig(root, ScanConfig(cache_dir=None), range="HEAD~1..HEAD"))
    assert bl.apply(made, partial) == ([], [])  # a pull request's commits: nothing can be judged stale
    new, stale = bl.apply(made, scan(root, cache_dir))
    assert new == [] and [e["path"] for e in stale] == ["scripts/load.py"]  # the tree scan can judge it
