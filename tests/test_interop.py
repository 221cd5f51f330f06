"""Interoperability (issue 15, point 6): gitleaks' suppressions, ``--exit-zero``, JUnit XML, GitLab's
secret-detection report, and who ran an audit in which CI run.

Tokens come from ``fake_token`` (made at test time); no report may hold one.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import jsonschema
import pytest
import xmlschema
from test_audit import Repo, leak

from trussguard.cli import main
from trussguard.report.evidence import command_line, run_context
from trussguard.suppress.gitleaks import GitleaksError, parse_ignore, parse_toml, rule_matches

HF = "huggingface.user-token"
OPENAI = "openai.project-key"
FIXTURES = Path(__file__).parent / "fixtures"


def scan(root: Path, tmp_path: Path, capsys, *args: str, fmt: str = "json") -> tuple[int, str, str]:
    out = tmp_path / f"report.{fmt}"
    out.unlink(missing_ok=True)
    capsys.readouterr()
    code = main(["scan", str(root), "--format", fmt, "-o", str(out), "--no-cache", *args])
    err = capsys.readouterr().err
    return code, out.read_text("utf-8") if out.exists() else "", err


def scan_json(root: Path, tmp_path: Path, capsys, *args: str) -> tuple[int, dict, str]:
    code, text, err = scan(root, tmp_path, capsys, *args)
    return code, json.loads(text) if text else {}, err


# ----------------------------------------------------------------------------- .gitleaksignore


def test_gitleaksignore_tree_fingerprint_suppresses_and_is_reported(truss_tree, fake_token, tmp_path, capsys):
    hf, oa = fake_token(HF), fake_token(OPENAI)
    root = truss_tree({"scripts/a.py": leak(hf), "scripts/b.py": f'OPENAI_API_KEY = "{oa}"\n'})
    code, report, _ = scan_json(root, tmp_path, capsys)
    assert code == 1 and {f["path"] for f in report["findings"]} >= {"scripts/a.py", "scripts/b.py"}
    # gitleaks' own rule id (mapped to the huggingface provider), and an id trussguard does not know
    (root / ".gitleaksignore").write_text("# triaged in gitleaks\n"
                                          "scripts/a.py:huggingface-access-token:1\n"
                                          "./scripts/b.py:some-custom-rule:1\n")
    code, report, _ = scan_json(root, tmp_path, capsys)
    assert code == 0, report["findings"]
    hidden = {(x["path"], x["kind"], x["by"]) for x in report["suppressed"]}
    assert ("scripts/a.py", "gitleaksignore", ".gitleaksignore:2: scripts/a.py:huggingface-access-token:1") in hidden
    assert ("scripts/b.py", "gitleaksignore", ".gitleaksignore:3: ./scripts/b.py:some-custom-rule:1") in hidden
    assert report["stats"]["suppressed_by_kind"]["gitleaksignore"] == 2


def test_gitleaksignore_needs_the_right_line_and_provider(truss_tree, fake_token, tmp_path, capsys):
    root = truss_tree({"scripts/a.py": "import os\n" + leak(fake_token(HF))})
    for entry in ("scripts/a.py:huggingface-access-token:1",  # wrong line
                  "scripts/a.py:github-pat:2",  # a known gitleaks rule of another provider
                  "other.py:huggingface-access-token:2"):  # wrong file
        (root / ".gitleaksignore").write_text(entry + "\n")
        code, report, _ = scan_json(root, tmp_path, capsys)
        assert code == 1 and not report["suppressed"], entry


def test_gitleaksignore_commit_fingerprint_in_a_history_audit(tmp_path, fake_token, capsys):
    repo = Repo(tmp_path / "repo")
    first = repo.commit("leak", {"app.py": leak(fake_token(HF))})
    other = repo.commit("unrelated", {"README.md": "# x\n"})
    out = tmp_path / "audit.json"

    def audit() -> tuple[int, dict]:
        code = main(["audit", str(repo.root), "--format", "json", "-o", str(out), "--no-cache", "-q"])
        return code, json.loads(out.read_text())

    (repo.root / ".gitleaksignore").write_text(f"{other}:app.py:huggingface-access-token:1\n")
    assert audit()[0] == 1  # another commit's fingerprint does not apply
    (repo.root / ".gitleaksignore").write_text(f"{first}:app.py:huggingface-access-token:1\n")
    code, report = audit()
    assert code == 0 and [x["kind"] for x in report["suppressed"]] == ["gitleaksignore"]


def test_fingerprint_parsing():
    fps = parse_ignore("# c\n\nabc1234def5678abc1234def5678abc1234def56:dir/a:b.py:generic-api-key:12\n"
                       "C:/w/x.py:jwt:3\n")
    assert [(f.commit, f.path, f.rule, f.line) for f in fps] == [
        ("abc1234def5678abc1234def5678abc1234def56", "dir/a:b.py", "generic-api-key", 12),
        (None, "C:/w/x.py", "jwt", 3)]
    with pytest.raises(GitleaksError, match=r"\.gitleaksignore:1"):
        parse_ignore("just-a-path.py\n")


def test_rule_mapping():
    assert rule_matches("github-pat", "github.fine-grained-pat")
    assert rule_matches("gcp-api-key", "google.api-key") and rule_matches("new-relic-insert-key", "newrelic.insert-key")
    assert not rule_matches("github-pat", HF)
    assert rule_matches("my-own-rule", HF)  # unknown: the fingerprint's place decides
    assert rule_matches(HF, HF)


# ----------------------------------------------------------------------------- .gitleaks.toml


@pytest.mark.parametrize("toml, suppressed", [
    ('[allowlist]\npaths = [\'\'\'^scripts/\'\'\']\n', True),
    ('[allowlist]\npaths = [\'\'\'^vendor/\'\'\']\n', False),
    ('[allowlist]\nregexes = [\'\'\'HF_TOKEN = \'\'\']\nregexTarget = "line"\n', True),
    ('[allowlist]\nregexes = [\'\'\'HF_TOKEN = \'\'\']\n', False),  # target secret: the value has no "HF_TOKEN"
    ('[allowlist]\nregexes = [\'\'\'^hf_\'\'\']\n', True),
    ('[allowlist]\nstopwords = ["SECRETPART"]\n', True),  # the stopword is a piece of the token (see below)
    ('[allowlist]\nstopwords = ["nowhere-in-it"]\n', False),
    ('[[allowlists]]\ncondition = "AND"\npaths = [\'\'\'^scripts/\'\'\']\nregexes = [\'\'\'^nope\'\'\']\n', False),
    ('[[allowlists]]\ncondition = "AND"\npaths = [\'\'\'^scripts/\'\'\']\nregexes = [\'\'\'^hf_\'\'\']\n', True),
    ('[[allowlists]]\ntargetRules = ["github-pat"]\npaths = [\'\'\'^scripts/\'\'\']\n', False),
    ('[[allowlists]]\ntargetRules = ["huggingface-access-token"]\npaths = [\'\'\'^scripts/\'\'\']\n', True),
])
def test_gitleaks_toml_allowlist(truss_tree, fake_token, tmp_path, capsys, toml, suppressed):
    token = fake_token(HF)
    root = truss_tree({"scripts/a.py": leak(token)})
    (root / ".gitleaks.toml").write_text(toml.replace("SECRETPART", token[5:13]))
    code, report, _ = scan_json(root, tmp_path, capsys)
    assert code == (0 if suppressed else 1), report["findings"]
    kinds = [x["kind"] for x in report["suppressed"]]
    assert kinds == (["gitleaks-allowlist"] if suppressed else [])
    assert token not in json.dumps(report)


def test_gitleaks_toml_errors_are_exit_2(truss_tree, tmp_path, capsys):
    root = truss_tree()
    (root / ".gitleaks.toml").write_text("[allowlist\n")
    assert scan(root, tmp_path, capsys)[0] == 2
    (root / ".gitleaks.toml").write_text("[allowlist]\nregexes = ['''(unclosed''']\n")
    code, _, err = scan(root, tmp_path, capsys)
    assert code == 2 and "does not compile" in err and "Traceback" not in err
    with pytest.raises(GitleaksError):
        parse_toml(b'[allowlist]\nregexTarget = "everything"\n')


def test_gitleaks_files_come_from_the_trusted_revision(tmp_path, fake_token, capsys):
    repo = Repo(tmp_path / "repo")
    repo.commit("initial", {"README.md": "# x\n"})
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    head = repo.commit("the pull request", {
        "app.py": leak(fake_token(HF)), ".gitleaksignore": "app.py:huggingface-access-token:1\n",
        ".gitleaks.toml": "[allowlist]\npaths = ['''^app\\.py$''']\n"})
    out = tmp_path / "pr.json"

    def audit(*extra: str) -> tuple[int, dict, str]:
        capsys.readouterr()
        code = main(["audit", str(repo.root), "--range", f"{base}..{head}", "--format", "json", "-o", str(out),
                     "--no-cache", "-q", *extra])
        return code, json.loads(out.read_text()), capsys.readouterr().err

    code, report, err = audit()
    assert code == 1 and [f["path"] for f in report["findings"]] == ["app.py"]  # not silenced by itself
    change = next(c for c in report["gate_changes"] if c["kind"] == "gitleaks")
    assert change["widens"] and change["blocks"] and "adds 3 gitleaks suppression(s)" in change["message"]
    assert "widens its own gate" in err
    code, report, _ = audit("--allow-config-changes")  # reviewed: the head's files apply, still listed
    assert code == 0 and report["suppressed"] and report["gate_changes"][0]["kind"] == "gitleaks"
    # the trusted revision's own entries apply: merge the change, then a new leak on another line
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--ff-only", "feature")
    scan_out = tmp_path / "scan.json"
    assert main(["scan", str(repo.root), "--trusted-rev", "HEAD", "--format", "json", "-o", str(scan_out),
                 "--no-cache"]) == 0
    assert json.loads(scan_out.read_text())["gate_changes"] == []


# ----------------------------------------------------------------------------- --exit-zero


def test_exit_zero_reports_but_passes_and_still_fails_closed(truss_tree, fake_token, tmp_path, capsys):
    from trussguard.commands import exit_code
    from trussguard.config import ScanConfig
    from trussguard.results import ScanResult, ScanStats
    from trussguard.types import Skipped

    root = truss_tree({"scripts/a.py": leak(fake_token(HF))})
    code, report, err = scan_json(root, tmp_path, capsys, "--exit-zero")
    assert code == 0 and report["findings"] and "--exit-zero" in err
    assert scan_json(root, tmp_path, capsys)[0] == 1
    # what could not be scanned is exit 2 whatever --exit-zero says (a file root cannot fail to read here)
    unread = ScanResult("tree", str(root), [], [], ScanStats(skipped=[Skipped("x.py", "unreadable", "denied")]))
    assert exit_code(unread, ScanConfig(), "file(s) could not be read", "--allow-unreadable", exit_zero=True) == 2


def test_exit_zero_on_audit(tmp_path, fake_token, capsys):
    repo = Repo(tmp_path / "repo")
    repo.commit("leak", {"app.py": leak(fake_token(HF))})
    out = tmp_path / "a.json"
    assert main(["audit", str(repo.root), "--no-cache", "-q", "-o", str(out)]) == 1
    assert main(["audit", str(repo.root), "--no-cache", "-q", "-o", str(out), "--exit-zero"]) == 0
    assert main(["audit", str(tmp_path / "nothing-here"), "--no-cache", "-q", "--exit-zero"]) == 2


# ----------------------------------------------------------------------------- JUnit XML


@pytest.fixture(scope="module")
def junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(FIXTURES / "jenkins-junit.xsd")


def test_junit_report_is_valid_and_holds_no_secret(truss_tree, fake_token, tmp_path, capsys, junit_schema):
    token = fake_token(HF)
    root = truss_tree({"scripts/a.py": leak(token), "scripts/b.py": "x = 1  # \x01 odd\n" + leak(fake_token(HF)),
                       "bad\x01name.py": leak(fake_token(HF))})
    (root / ".gitleaksignore").write_text("scripts/b.py:huggingface-access-token:2\n")
    code, xml, _ = scan(root, tmp_path, capsys, fmt="junit")
    assert code == 1 and token not in xml
    junit_schema.validate(xml)
    doc = junit_schema.to_dict(xml)
    suite = doc["testsuite"][0]
    cases = suite["testcase"]
    failed = [c for c in cases if c.get("failure")]
    assert len(failed) == 2 and suite["@failures"] == "2" and suite["@tests"] == str(len(cases))
    first = next(c for c in failed if "scripts/a.py" in c["@name"])
    text = first["failure"][0]["$"]
    assert f"rule: {HF}" in text and "severity: " in text and "location: scripts/a.py:1" in text and "value: " in text
    assert any(c.get("skipped") and "gitleaksignore" in c["skipped"] for c in cases)
    assert any("bad\\x01name.py" in c["@name"] for c in cases)


def test_junit_clean_run_has_one_passing_test(truss_tree, tmp_path, capsys, junit_schema):
    code, xml, _ = scan(truss_tree(), tmp_path, capsys, fmt="junit")
    assert code == 0
    junit_schema.validate(xml)
    suite = junit_schema.to_dict(xml)["testsuite"][0]
    assert suite["@tests"] == "1" and suite["@failures"] == "0" and "failure" not in suite["testcase"][0]


# ----------------------------------------------------------------------------- GitLab secret detection


@pytest.fixture(scope="module")
def gitlab_schema() -> dict:
    return json.loads((FIXTURES / "gitlab-secret-detection-required.json").read_text())


def test_gitlab_report_matches_the_documented_fields(truss_tree, fake_token, tmp_path, capsys, gitlab_schema,
                                                     monkeypatch):
    monkeypatch.setenv("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567")
    token = fake_token(HF)
    root = truss_tree({"scripts/a.py": leak(token)})
    code, text, _ = scan(root, tmp_path, capsys, fmt="gitlab")
    assert code == 1 and token not in text
    doc = json.loads(text)
    jsonschema.validate(doc, gitlab_schema)
    hf = [v for v in doc["vulnerabilities"] if v["identifiers"][0]["value"] == HF]
    assert len(hf) == 1
    v = hf[0]
    assert v["category"] == "secret_detection" and v["severity"] in ("Critical", "High")
    assert v["location"] == {"file": "scripts/a.py", "start_line": 1,
                             "commit": {"sha": "0123456789abcdef0123456789abcdef01234567"}}
    assert doc["scan"]["type"] == "secret_detection" and doc["scan"]["status"] == "success"
    again = json.loads(scan(root, tmp_path, capsys, fmt="gitlab")[1])
    assert [x["id"] for x in again["vulnerabilities"]] == [x["id"] for x in doc["vulnerabilities"]]  # stable ids


def test_gitlab_report_of_a_history_audit_names_each_commit(tmp_path, fake_token, capsys, gitlab_schema,
                                                            monkeypatch):
    monkeypatch.delenv("CI_COMMIT_SHA", raising=False)
    repo = Repo(tmp_path / "repo")
    first = repo.commit("leak", {"app.py": leak(fake_token(HF))})
    repo.commit("remove", {"app.py": "import os\n"})
    out = tmp_path / "gl.json"
    assert main(["audit", str(repo.root), "--format", "gitlab", "-o", str(out), "--no-cache", "-q"]) == 1
    doc = json.loads(out.read_text())
    jsonschema.validate(doc, gitlab_schema)
    assert [v["location"]["commit"]["sha"] for v in doc["vulnerabilities"]] == [first]


def test_gitlab_report_clean_and_times(truss_tree, gitlab_schema):
    from trussguard.report.gitlab import to_dict
    from trussguard.results import ScanResult, ScanStats

    result = ScanResult("tree", str(truss_tree()), [], [], ScanStats(duration_seconds=90))
    doc = to_dict(result, datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc))
    jsonschema.validate(doc, gitlab_schema)
    assert doc["vulnerabilities"] == []
    assert (doc["scan"]["start_time"], doc["scan"]["end_time"]) == ("2026-01-02T03:02:35", "2026-01-02T03:04:05")


# ----------------------------------------------------------------------------- evidence


def test_evidence_says_who_ran_it_where_and_how(tmp_path, fake_token):
    repo = Repo(tmp_path / "repo")
    repo.commit("leak", {"app.py": leak(fake_token(HF))})
    evidence = tmp_path / "evidence.json"
    assert main(["audit", str(repo.root), "--no-cache", "-q", "-o", str(tmp_path / "r.txt"),
                 "--evidence", str(evidence)]) == 1
    run = json.loads(evidence.read_text())["run"]
    assert set(run) >= {"by", "ci_run_url", "command"} and run["by"]["name"]
    command = run["command"]  # as given to main (options in the command's own order), not pytest's argv
    assert command[:3] == ["trussguard", "audit", str(repo.root)]
    assert sorted(command[3:]) == sorted(["--no-cache", "--quiet", "--output", str(tmp_path / "r.txt"),
                                          "--evidence", str(evidence)])

    github = {"GITHUB_ACTOR": "octo", "GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "o/r",
              "GITHUB_RUN_ID": "42"}
    ctx = run_context(repo.root, github, ["/usr/bin/trussguard", "audit", "."])
    assert ctx == {"by": {"name": "octo", "source": "$GITHUB_ACTOR"},
                   "ci_run_url": "https://github.example/o/r/actions/runs/42", "command": ["trussguard", "audit", "."]}
    assert run_context(repo.root, {"CI_JOB_URL": "https://gitlab.example/g/p/-/jobs/7"}, ["t"])["ci_run_url"] \
        == "https://gitlab.example/g/p/-/jobs/7"
    repo.git("config", "user.email", "ada@example.invalid")
    assert run_context(repo.root, {}, ["t"])["by"] == {"name": "ada@example.invalid", "source": "git config user.email"}


def test_evidence_command_line_drops_token_and_key_values(fake_token):
    token = fake_token(HF)
    argv = ["x", "audit", "--api-token", token, f"--signing-key={token}", "--since", "v1", token]
    assert command_line(argv) == ["trussguard", "audit", "--api-token", "***", "--signing-key=***", "--since", "v1",
                                  command_line(["x", token])[1]]
    assert token not in json.dumps(command_line(argv))


def test_a_pull_request_breaking_or_trimming_the_gitleaks_files(tmp_path, fake_token, capsys):
    repo = Repo(tmp_path / "repo")
    repo.commit("initial", {"app.py": leak(fake_token(HF)), ".gitleaksignore": "app.py:huggingface-access-token:1\n"})
    base = repo.git("rev-parse", "HEAD")
    out = tmp_path / "s.json"

    def gate() -> tuple[int, dict]:
        capsys.readouterr()
        code = main(["scan", str(repo.root), "--trusted-rev", base, "--format", "json", "-o", str(out), "--no-cache"])
        return code, json.loads(out.read_text())

    (repo.root / ".gitleaks.toml").write_text("[allowlist\n")  # broken in the working tree: the base's apply
    code, report = gate()
    assert code == 1 and report["suppressed"] and "do not load" in report["gate_changes"][0]["message"]
    (repo.root / ".gitleaks.toml").unlink()
    (repo.root / ".gitleaksignore").write_text("# nothing ignored any more\n")  # narrowing: listed, not blocking
    code, report = gate()
    assert code == 0 and [(c["widens"], c["blocks"]) for c in report["gate_changes"]] == [(False, False)]
    assert "removes 1 gitleaks suppression(s)" in report["gate_changes"][0]["message"]
