"""``--validate`` from the scan to every report, ``rotated --verify`` and the evidence file (issue 16).

The first half drives the integration with a fake validation engine passed in (``validate``,
``Candidate``): it answers from a table and records what it was asked, so these tests pin down
what is asked (one candidate per distinct secret with a validator, with companions) and where the
answers go. The end-to-end half runs the real engine (``trussguard.validate``) through the CLI
against the fake HTTPS providers (``tests/fake_providers.py``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import os
import subprocess
from pathlib import Path

import pytest

from trussguard import baseline as bl
from trussguard.cli import main
from trussguard.config import ScanConfig
from trussguard.pipeline import scan_tree
from trussguard.report import evidence as ev
from trussguard.report import github, html, json_report, markdown, sarif, text
from trussguard.types import secret_sha256
from trussguard.validation_step import candidates, validate_result

from tests.conftest import write_truss
from tests.fake_providers import fake_providers  # noqa: F401  (the fixture: fake HTTPS providers on 127.0.0.1)

OPENAI = "openai.project-key"
NO_VALIDATOR = "age.secret-key"  # a file-encryption key: no provider to ask


@dataclasses.dataclass(frozen=True)
class FakeCandidate:
    rule: object
    secret: str
    companions: dict = dataclasses.field(default_factory=dict)


class FakeEngine:
    """``validate(candidates, settings)``: answers ``outcome`` for every candidate, records the calls."""

    def __init__(self, outcome: str = "live", status: int | None = 200):
        self.outcome, self.status, self.asked = outcome, status, []

    def __call__(self, found, settings):
        self.asked.append(list(found))
        detail = f"HTTP {self.status}" if self.status else "timed out after 5 s"
        return {secret_sha256(c.secret): {"outcome": self.outcome, "status": self.status, "host": "api.openai.com",
                                          "checked_at": "2026-12-07T01:45:00Z", "detail": detail, "cached": False}
                for c in found}


def git(root: Path, *args: str) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="Ada", GIT_AUTHOR_EMAIL="ada@example.invalid", GIT_COMMITTER_NAME="Ada",
               GIT_COMMITTER_EMAIL="ada@example.invalid", GIT_CONFIG_NOSYSTEM="1", HOME=str(root))
    return subprocess.run(["git", "-C", str(root), *args], env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def committed_repo(root: Path, files: dict[str, str]) -> Path:
    write_truss(root, files)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "commit.gpgsign", "false")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "add model")
    return root


@pytest.fixture
def leaky(truss_tree, fake_token):
    """A Truss with one OpenAI key written twice and one key without a validator."""
    key, age = fake_token(OPENAI), fake_token(NO_VALIDATOR)
    root = truss_tree({"model/keys.py": f'OPENAI_API_KEY = "{key}"\nAGAIN = "{key}"\n',
                       "keys.txt": f"{age}\n"})
    return root, key, age


def validated(root: Path, rules_by_id, engine: FakeEngine, keep: bool = False):
    result = scan_tree(ScanConfig(paths=(root,), show_secrets=True, cache_dir=None))
    return validate_result(result, rules_by_id, settings=None, keep_secrets=keep, validate=engine, make=FakeCandidate)


# ----------------------------------------------------------------------------- the step


def test_one_candidate_per_distinct_secret_with_a_validator(leaky, rules_by_id):
    root, key, _ = leaky
    engine = FakeEngine()
    result = validated(root, rules_by_id, engine)
    assert len(engine.asked) == 1
    assert [(c.rule.id, c.secret) for c in engine.asked[0]] == [(OPENAI, key)]  # twice in the file, asked once
    openai = [f for f in result.findings if f.rule_id == OPENAI]
    assert len(openai) == 2 and all(f.validation["outcome"] == "live" for f in openai)
    assert all(f.validation is None for f in result.findings if f.rule_id != OPENAI)
    advisory = next(a for a in result.advisories if a.rule_id == OPENAI)
    assert advisory.validation["status"] == 200
    assert advisory.urgency == "immediate"  # the JSON field stays the rule's


def test_secrets_dropped_before_reporting_unless_show_secrets(leaky, rules_by_id):
    root, key, _ = leaky
    assert all(f.secret is None for f in validated(root, rules_by_id, FakeEngine()).findings)
    kept = validated(root, rules_by_id, FakeEngine(), keep=True)
    assert key in {f.secret for f in kept.findings}


def test_companions_are_the_other_secrets_of_the_same_file(fake_token, rules_by_id):
    from trussguard.types import Finding, Severity

    def finding(rule_id: str, secret: str, path: str) -> Finding:
        return Finding(f"tg-{rule_id}-{path}", rule_id, "leak", Severity.HIGH, "t", "m", path, 1, 1, None,
                       secret_sha256(secret), None, None, secret=secret)

    key, other = fake_token(OPENAI), fake_token("github.fine-grained-pat")
    found = candidates([finding(OPENAI, key, "a.py"), finding("github.fine-grained-pat", other, "a.py"),
                        finding(NO_VALIDATOR, "x", "b.py")], rules_by_id, FakeCandidate)
    mine = next(c for c in found if c.secret == key)
    assert mine.companions == {"github.fine-grained-pat": other}
    assert NO_VALIDATOR not in {c.rule.id for c in found}


# ----------------------------------------------------------------------------- every report


@pytest.fixture
def live_result(leaky, rules_by_id):
    root, key, _ = leaky
    return validated(root, rules_by_id, FakeEngine("live", 200)), key


def test_json_report_has_validation_objects(live_result):
    result, key = live_result
    doc = json.loads(json_report.render(result))
    f = next(f for f in doc["findings"] if f["rule_id"] == OPENAI)
    assert f["validation"] == {"outcome": "live", "status": 200, "host": "api.openai.com",
                               "checked_at": "2026-12-07T01:45:00Z", "detail": "HTTP 200", "cached": False}
    a = next(a for a in doc["advisories"] if a["rule_id"] == OPENAI)
    assert a["validation"]["outcome"] == "live" and a["urgency"] == "immediate"
    assert all("validation" not in f for f in doc["findings"] if f["rule_id"] != OPENAI)
    assert key not in json_report.render(result)


def test_text_report_line_and_live_urgency(live_result):
    result, key = live_result
    out = text.render(result)
    assert "live: HTTP 200 from api.openai.com at 2026-12-07T01:45:00Z" in out
    assert "[immediate, confirmed live]" in out
    assert key not in out


def test_sarif_property(live_result):
    result, _ = live_result
    doc = json.loads(sarif.render(result))
    props = [r["properties"] for r in doc["runs"][0]["results"] if r["ruleId"] == OPENAI]
    assert props and all(p["validation"]["outcome"] == "live" for p in props)


def test_html_and_job_summary_and_annotations(live_result):
    result, key = live_result
    page = html.render_html(result)
    assert "<button type=\"button\">validation</button>" in page and 'class="validation live"' in page
    assert "immediate, confirmed live" in page
    summary = markdown.render_summary(result)
    assert "| validation |" in summary and "live: HTTP 200 from api.openai.com" in summary
    assert "immediate, confirmed live" in summary
    assert "Validation: live: HTTP 200" in markdown.render_advisories(result)
    assert "Validated live: HTTP 200 from api.openai.com" in github.render(result)
    assert not any(key in out for out in (page, summary, github.render(result)))


def test_reports_unchanged_without_validation(leaky):
    root, _, _ = leaky
    result = scan_tree(ScanConfig(paths=(root,), cache_dir=None))
    assert "validation" not in json_report.render(result)
    assert "<button type=\"button\">validation" not in html.render_html(result)
    assert "confirmed live" not in text.render(result)


# ----------------------------------------------------------------------------- rotated --verify


@pytest.fixture
def rotated_repo(tmp_path, fake_token):
    key, age = fake_token(OPENAI), fake_token(NO_VALIDATOR)
    root = committed_repo(tmp_path / "repo", {"model/keys.py": f'OPENAI_API_KEY = "{key}"\n', "keys.txt": f"{age}\n"})
    return root, key, age


def verify(root: Path, secret: str, engine, capsys, by: str | None = "alice"):
    from trussguard.commands_baseline import run_rotated

    path = root / bl.DEFAULT_NAME
    advisory = f"adv-{secret_sha256(secret)[:16]}"
    code = run_rotated(advisory, by, None, None, path, verify=True, repo=root, engine=(engine, FakeCandidate))
    out = capsys.readouterr()
    return code, out.out + out.err, bl.load(path), advisory


def test_rotated_verify_revoked_records_the_proof(rotated_repo, capsys):
    root, key, _ = rotated_repo
    code, out, known, advisory = verify(root, key, FakeEngine("revoked", 401), capsys)
    assert code == 0
    assert f"{advisory}: verified revoked at 2026-12-07T01:45:00Z (HTTP 401 from api.openai.com)" in out
    record = known.rotations()[advisory]
    assert record["rotated_by"] == "alice"
    assert record["verification"] == {"outcome": "revoked", "status": 401, "host": "api.openai.com",
                                      "checked_at": "2026-12-07T01:45:00Z", "detail": "HTTP 401"}
    assert key not in (root / bl.DEFAULT_NAME).read_text() and key not in out


def test_rotated_verify_live_exits_1_and_records_nothing(rotated_repo, capsys):
    root, key, _ = rotated_repo
    code, out, known, advisory = verify(root, key, FakeEngine("live", 200), capsys)
    assert code == 1 and "still live: rotate it first" in out
    assert advisory not in known.rotations() and not (root / bl.DEFAULT_NAME).exists()


def test_rotated_verify_unknown_is_recorded_as_claimed(rotated_repo, capsys):
    root, key, _ = rotated_repo
    code, out, known, advisory = verify(root, key, FakeEngine("unknown", None), capsys)
    assert code == 0 and "recorded as claimed, not verified" in out and "timed out" in out
    assert "verification" not in known.rotations()[advisory]


def test_rotated_verify_without_a_validator(rotated_repo, capsys):
    root, _, age = rotated_repo
    engine = FakeEngine("revoked", 401)
    code, out, known, advisory = verify(root, age, engine, capsys)
    assert code == 0 and f"claimed, not verified (no validator for {NO_VALIDATOR})" in out
    assert engine.asked == [] and "verification" not in known.rotations()[advisory]


def test_rotated_needs_by_without_verify(tmp_path):
    assert main(["rotated", "adv-0123456789abcdef", "--baseline", str(tmp_path / "b.json")]) == 2


def test_baseline_rejects_a_verification_that_is_not_revoked(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"schema_version": 1, "entries": [
        {"advisory_id": "adv-0123456789abcdef", "rotated_at": "2026-11-20",
         "verification": {"outcome": "live", "status": 200, "host": "h", "checked_at": "t", "detail": "d"}}]}))
    with pytest.raises(bl.BaselineError, match="verification.outcome must be revoked"):
        bl.load(path)


# ----------------------------------------------------------------------------- the evidence file


def test_evidence_lists_verified_and_claimed_rotations(rotated_repo, capsys, rules_by_id):
    root, key, age = rotated_repo
    assert verify(root, key, FakeEngine("revoked", 401), capsys)[0] == 0  # verified in the baseline
    assert main(["rotated", f"adv-{secret_sha256(age)[:16]}", "--by", "bob", "--baseline",
                 str(root / bl.DEFAULT_NAME)]) == 0  # claimed only
    from trussguard.commands import audit_result

    result, _ = audit_result(root, baseline=root / bl.DEFAULT_NAME, no_cache=True)
    doc = ev.evidence(result, "2026-12-07T02:00:00Z", None, env={}, argv=["trussguard"])
    rows = {row["rule_id"]: row for row in doc["verification"]}
    assert rows[OPENAI]["status"] == "verified revoked" and rows[OPENAI]["source"] == "baseline"
    assert rows[OPENAI]["statement"] == "verified revoked at 2026-12-07T01:45:00Z (HTTP 401 from api.openai.com)"
    assert rows[NO_VALIDATOR]["status"] == "claimed, not verified" and rows[NO_VALIDATOR]["verification"] is None
    assert rows[NO_VALIDATOR]["rotated_by"] == "bob"
    assert doc["sha256"] == ev.digest(doc)


# ----------------------------------------------------------------------------- gha


def test_action_input_validate_defaults_to_false(tmp_path):
    from trussguard.gha import ActionError, read_inputs

    env = {"GITHUB_WORKSPACE": str(tmp_path)}
    assert read_inputs(env).validate is False
    assert read_inputs({**env, "TG_VALIDATE": "true"}).validate is True
    with pytest.raises(ActionError, match="input validate must be true or false"):
        read_inputs({**env, "TG_VALIDATE": "yes"})
    action = (Path(__file__).parents[1] / "action.yml").read_text()
    assert "TG_VALIDATE: ${{ inputs.validate }}" in action
    import yaml

    assert yaml.safe_load(action)["inputs"]["validate"]["default"] == "false"


# ----------------------------------------------------------------------------- end to end: the real engine


@pytest.fixture
def endpoints(fake_providers, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TRUSSGUARD_VALIDATION_ENDPOINTS", str(fake_providers.write_endpoints(tmp_path / "ep.toml")))
    return fake_providers


def run_cli(args: list[str], capfd) -> tuple[int, str, str]:
    code = main(args)
    out = capfd.readouterr()
    return code, out.out, out.err


def test_validate_off_sends_nothing(endpoints, leaky, capfd):
    root, key, _ = leaky
    endpoints.set_mode(key, "live")
    code, out, _ = run_cli(["scan", str(root), "--format", "json"], capfd)
    assert code == 1 and "validation" not in out
    code, out, _ = run_cli(["audit", str(committed_repo(root, {})), "--format", "json", "--no-cache"], capfd)
    assert code == 1 and "validation" not in out
    assert endpoints.requests == []


def test_scan_validate_live_and_revoked_end_to_end(endpoints, truss_tree, fake_token, capfd):
    live, dead = fake_token(OPENAI), fake_token(OPENAI)
    endpoints.set_mode(live, "live")
    endpoints.set_mode(dead, "revoked")
    root = truss_tree({"model/keys.py": f'A = "{live}"\nB = "{dead}"\nC = "{live}"\n'})
    code, out, err = run_cli(["scan", str(root), "--format", "json", "--validate"], capfd)
    assert code == 1, err
    doc = json.loads(out)
    by_secret = {f["secret_sha256"]: f["validation"] for f in doc["findings"] if f["rule_id"] == OPENAI}
    assert by_secret[secret_sha256(live)]["outcome"] == "live"
    assert by_secret[secret_sha256(dead)]["outcome"] == "revoked" and by_secret[secret_sha256(dead)]["status"] == 401
    assert len(endpoints.requests_for("openai")) == 2  # the live key is written twice, asked once
    assert live not in out and dead not in out and "secret" not in doc["findings"][0]
    code, out, _ = run_cli(["scan", str(root), "--validate", "--no-cache"], capfd)
    flat = " ".join(out.split())  # the line wraps at 100 columns
    assert "[immediate, confirmed live]" in out and re.search(r"revoked: HTTP 401 \(error\.code=invalid_api_key\) from 127\.0\.0\.1:", flat)


def test_staged_refuses_validate(endpoints, tmp_path, capfd):
    code, out, err = run_cli(["scan", "--staged", "--validate", str(tmp_path)], capfd)
    assert code == 2 and "--validate cannot be used with --staged" in err and len(err.strip().splitlines()) == 1
    assert endpoints.requests == []


def test_bad_endpoints_file_is_exit_2_one_line(leaky, tmp_path, monkeypatch, capfd):
    root, key, _ = leaky
    bad = tmp_path / "bad.toml"
    bad.write_text('openai = "http://127.0.0.1:1"\n')  # https only
    monkeypatch.setenv("TRUSSGUARD_VALIDATION_ENDPOINTS", str(bad))
    code, out, err = run_cli(["scan", str(root), "--validate"], capfd)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and err.startswith("trussguard: error:")
    assert key not in err


def test_rotated_verify_end_to_end(endpoints, tmp_path, fake_token, capfd):
    key = fake_token(OPENAI)
    root = committed_repo(tmp_path / "repo", {"model/keys.py": f'KEY = "{key}"\n'})
    advisory = f"adv-{secret_sha256(key)[:16]}"
    verify_args = ["rotated", advisory, "--verify", "--path", str(root), "--by", "alice"]
    endpoints.set_mode(key, "live")
    code, _, err = run_cli(verify_args, capfd)
    assert code == 1 and "still live: rotate it first" in err and not (root / bl.DEFAULT_NAME).exists()
    endpoints.set_mode(key, "rate-limited")
    code, out, _ = run_cli(verify_args, capfd)
    assert code == 0 and "recorded as claimed, not verified (unknown: rate limited" in out
    assert "verification" not in bl.load(root / bl.DEFAULT_NAME).rotations()[advisory]
    endpoints.set_mode(key, "revoked")
    code, out, _ = run_cli(verify_args + ["--at", "2026-12-01"], capfd)
    assert code == 0 and f"{advisory}: verified revoked at " in out and "(HTTP 401 (error.code=invalid_api_key) from 127.0.0.1:" in out
    record = bl.load(root / bl.DEFAULT_NAME).rotations()[advisory]
    assert record["verification"]["outcome"] == "revoked" and record["rotated_at"] == "2026-12-01"


def test_audit_validate_evidence_verified_this_run_and_claimed(endpoints, rotated_repo, capfd, tmp_path):
    root, key, age = rotated_repo
    endpoints.set_mode(key, "revoked")
    base = str(root / bl.DEFAULT_NAME)
    for secret in (key, age):  # both claimed with the plain command
        assert main(["rotated", f"adv-{secret_sha256(secret)[:16]}", "--by", "bob", "--baseline", base]) == 0
    evidence = tmp_path / "evidence.json"
    code, out, err = run_cli(["audit", str(root), "--validate", "--evidence", str(evidence), "--no-cache"], capfd)
    assert code == 0, err
    assert "revoked: HTTP 401 (error.code=invalid_api_key) from 127.0.0.1:" in " ".join(out.split())  # under the secret
    rows = {row["rule_id"]: row for row in json.loads(evidence.read_text())["verification"]}
    assert rows[OPENAI]["status"] == "verified revoked" and rows[OPENAI]["source"] == "this run"
    assert rows[OPENAI]["statement"].startswith("verified revoked at ") and "(HTTP 401 (error.code=invalid_api_key) from 127.0.0.1:" in \
        rows[OPENAI]["statement"]
    assert rows[NO_VALIDATOR]["status"] == "claimed, not verified"
    # and the baseline entry now carries the proof, as `rotated --verify` records it; the claim-only one does not
    entries = {e["advisory_id"]: e for e in json.loads((root / bl.DEFAULT_NAME).read_text())["entries"]}
    proof = entries[f"adv-{secret_sha256(key)[:16]}"]["verification"]
    assert proof["outcome"] == "revoked" and proof["status"] == 401 and proof["host"].startswith("127.0.0.1:")
    assert "verification" not in entries[f"adv-{secret_sha256(age)[:16]}"]
    assert f"adv-{secret_sha256(key)[:16]}: verified revoked at " in err and "recorded in .trussguard-baseline.json" in err


def all_bytes(*roots: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for root in roots for p in ([root] if root.is_file() else root.rglob("*"))
            if p.is_file()]


def test_no_byte_written_during_validation_holds_a_planted_secret(endpoints, tmp_path, fake_token, capfd,
                                                                     monkeypatch):
    """Every output of scan/audit --validate (every format and file), rotated --verify, the caches and the
    baseline, with live, revoked and rate-limited answers: none holds a planted value."""
    cache, out_dir = tmp_path / "cache", tmp_path / "out"
    out_dir.mkdir()
    monkeypatch.setenv("TRUSSGUARD_CACHE_DIR", str(cache))
    planted = [fake_token(OPENAI) for _ in range(3)] + [fake_token("github.fine-grained-pat")]
    for secret, mode in zip(planted, ("live", "revoked", "rate-limited", "live")):
        endpoints.set_mode(secret, mode)
    root = committed_repo(tmp_path / "repo", {f"model/k{i}.py": f'KEY = "{s}"\n' for i, s in enumerate(planted)})
    captured = []
    for fmt in ("text", "json", "sarif", "github", "markdown", "junit", "gitlab"):
        for command in (["scan", str(root)], ["audit", str(root)]):
            args = command + ["--validate", "--format", fmt, "--advisories", str(out_dir / f"{command[0]}-{fmt}.md"),
                              "-o", str(out_dir / f"{command[0]}.{fmt}")]
            if command[0] == "audit":
                args += ["--html", str(out_dir / f"{fmt}.html"), "--evidence", str(out_dir / f"{fmt}.json")]
            captured.append(run_cli(args, capfd))
    captured.append(run_cli(["scan", str(root), "--validate", "--verbose"], capfd))
    captured.append(run_cli(["rotated", f"adv-{secret_sha256(planted[1])[:16]}", "--verify", "--path", str(root),
                             "--by", "alice"], capfd))
    captured.append(run_cli(["audit", str(root), "--validate", "--evidence", str(out_dir / "last.json")], capfd))
    assert all(code in (0, 1) for code, _, _ in captured), captured
    assert any("confirmed live" in out for _, out, _ in captured)
    assert len(endpoints.requests) >= len(planted)
    written = all_bytes(out_dir, cache, root / bl.DEFAULT_NAME)
    assert (root / bl.DEFAULT_NAME).exists() and any(p.is_relative_to(cache / "validation") for p, _ in written)
    leaks = [(str(p), s[:8]) for p, data in written for s in planted if s.encode() in data]
    leaks += [("stdout/stderr", s[:8]) for _, out, err in captured for s in planted if s in out or s in err]
    assert leaks == []


def test_audit_validate_records_nothing_for_a_rotated_secret_that_still_works(endpoints, rotated_repo, capfd):
    root, key, age = rotated_repo
    endpoints.set_mode(key, "live")
    base = root / bl.DEFAULT_NAME
    for secret in (key, age):
        assert main(["rotated", f"adv-{secret_sha256(secret)[:16]}", "--by", "bob", "--baseline", str(base)]) == 0
    before = base.read_bytes()
    code, out, err = run_cli(["audit", str(root), "--validate", "--no-cache"], capfd)
    assert base.read_bytes() == before and "recorded in" not in err
    assert "live: HTTP 200" in out  # reported as still working, for a secret the baseline says was rotated
    assert code == 1 and "the baseline says it was rotated, but the provider still accepts it" in " ".join(out.split())
    code, out, err = run_cli(["audit", str(root), "--no-cache"], capfd)
    assert code == 0  # without --validate the claim stands, as before
