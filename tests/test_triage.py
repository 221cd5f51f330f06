"""Triage that scales: ``--min-severity``, ``--rule``/``--check``, the central order, ref-list summaries,
``--commit-url`` and the job summary's links (``trussguard.triage``, report/markdown.py, report/github.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from test_audit import Repo, leak

from trussguard import triage
from trussguard.ref_names import ref_summary
from trussguard.cli import main
from trussguard.results import ScanResult, ScanStats
from trussguard.types import Advisory, Finding, Severity

HF, OPENAI = "huggingface.user-token", "openai.project-key"

# A Truss whose model reads a secret it never declares (TG207, high) and declares one it never reads
# (TG208, low), plus an OpenAI key in a script (high) and a Hugging Face token in a notebook helper.
UNDECLARED_READ = '''\
class Model:
    def __init__(self, **kwargs):
        self._secrets = kwargs["secrets"]

    def load(self):
        self.wandb = self._secrets["wandb_api_key"]
'''


@pytest.fixture
def tree(truss_tree, fake_token):
    return truss_tree({"model/model.py": UNDECLARED_READ,
                       "scripts/b.py": f'OPENAI_API_KEY = "{fake_token(OPENAI)}"\n',
                       "scripts/a.py": f'HF_TOKEN = "{fake_token(HF)}"\n'})


def _json(args: list[str], tmp_path: Path) -> tuple[int, dict]:
    out = tmp_path / "report.json"
    code = main([*args, "--format", "json", "-o", str(out)])
    return code, json.loads(out.read_text("utf-8")) if out.exists() else {}


def _finding(rule_id: str, severity: Severity, path: str, line: int = 1, advisory: str | None = None) -> Finding:
    return Finding(id=f"tg-{rule_id}-{path}-{line}", rule_id=rule_id, kind="leak", severity=severity, title=rule_id,
                   message="m", path=path, line=line, column=1, commit=None, secret_sha256=None, redacted=None,
                   advisory_id=advisory)


def _advisory(adv_id: str, urgency: str, finding_ids: tuple[str, ...]) -> Advisory:
    return Advisory(id=adv_id, secret_sha256=adv_id, rule_id="r", title=adv_id, urgency=urgency, revoke_url=None,
                    steps=(), truss_secret_name=None, references=(), finding_ids=finding_ids)


def test_order_is_severity_then_specific_before_review_then_path_and_line():
    findings = [
        _finding("generic.secret-assignment", Severity.HIGH, "a.py", 1, "adv-review"),
        _finding("TG208", Severity.LOW, "a.py", 2),
        _finding(OPENAI, Severity.HIGH, "z.py", 9, "adv-openai"),
        _finding(HF, Severity.CRITICAL, "m.py", 5, "adv-hf"),
        _finding(OPENAI, Severity.HIGH, "b.py", 3, "adv-openai"),
        _finding(OPENAI, Severity.HIGH, "b.py", 1, "adv-openai"),
    ]
    advisories = [_advisory("adv-review", "review", (findings[0].id,)),
                  _advisory("adv-openai", "immediate", tuple(f.id for f in findings[2:6] if f.rule_id == OPENAI)),
                  _advisory("adv-hf", "immediate", (findings[3].id,))]
    result = ScanResult("tree", ".", findings, advisories, ScanStats())
    shown = triage.present(result, triage.Filters(), Severity.HIGH)
    assert [(f.rule_id, f.path, f.line) for f in shown.findings] == [
        (HF, "m.py", 5), (OPENAI, "b.py", 1), (OPENAI, "b.py", 3), (OPENAI, "z.py", 9),
        ("generic.secret-assignment", "a.py", 1), ("TG208", "a.py", 2)]
    assert [a.id for a in shown.advisories] == ["adv-hf", "adv-openai", "adv-review"]
    assert triage.hidden_parts(shown) == []


def test_min_severity_hides_counts_and_still_fails(tree, tmp_path: Path, capsys):
    code, full = _json(["scan", str(tree)], tmp_path)
    assert code == 1 and {f["severity"] for f in full["findings"]} >= {"low", "high"}
    code, report = _json(["scan", str(tree), "--min-severity", "critical"], tmp_path)
    err = capsys.readouterr().err
    shown = {f["severity"] for f in report["findings"]}
    assert shown <= {"critical"} and len(report["findings"]) < len(full["findings"])
    # display only: the high findings (at --fail-on high) are hidden yet still fail the run, and stderr says so
    assert code == 1 and "hidden by --min-severity critical and still fail the run" in err
    hidden = report["stats"]["hidden"]
    assert hidden["below_min_severity"] == len(full["findings"]) - len(report["findings"])
    assert hidden["min_severity"] == "critical" and hidden["failing_hidden"] >= 1
    assert "hidden" not in full["stats"]  # nothing hidden, no key: the contract only grows when used
    # below --fail-on: hidden and not failing
    code, report = _json(["scan", str(tree), "--min-severity", "medium", "--fail-on", "critical"], tmp_path)
    assert "low" not in {f["severity"] for f in report["findings"]}
    assert code == 1 if any(f["severity"] == "critical" for f in report["findings"]) else code == 0


def test_min_severity_is_counted_in_the_summaries(tree, tmp_path: Path):
    out = tmp_path / "summary.md"
    main(["scan", str(tree), "--min-severity", "high", "--format", "markdown", "-o", str(out)])
    text = out.read_text("utf-8")
    assert re.search(r"; 1 below --min-severity high\.", text), text  # TG208 (low)
    assert "TG208" not in text


def test_rule_and_check_filters_narrow_what_is_shown_and_counted(tree, tmp_path: Path, capsys):
    code, report = _json(["scan", str(tree), "--rule", "openai.*"], tmp_path)
    assert code == 1 and {f["rule_id"] for f in report["findings"]} == {OPENAI}
    summary = tmp_path / "summary.md"
    main(["scan", str(tree), "--rule", "openai.*", "--format", "markdown", "-o", str(summary)])
    assert "; 3 not matching --rule/--check." in summary.read_text("utf-8")  # HF, TG207, TG208
    assert [a["rule_id"] for a in report["advisories"]] == [OPENAI]
    code, report = _json(["scan", str(tree), "--check", "tg208"], tmp_path)  # low only: does not fail
    assert code == 0 and {f["rule_id"] for f in report["findings"]} == {"TG208"} and report["advisories"] == []
    code, report = _json(["scan", str(tree), "--check", "TG207", "--rule", HF], tmp_path)  # either matches
    assert code == 1 and {f["rule_id"] for f in report["findings"]} == {"TG207", HF}
    capsys.readouterr()


@pytest.mark.parametrize("args, says", [
    (["--rule", "openai.typo*"], "--rule 'openai.typo*' matches no rule"),
    (["--rule", "TG207"], "a Truss check: use --check"),
    (["--check", HF], "a credential rule: use --rule"),
    (["--min-severity", "severe"], "--min-severity"),
])
def test_a_filter_that_names_nothing_is_a_usage_error(tree, tmp_path: Path, capsys, args, says):
    assert main(["scan", str(tree), *args, "-o", str(tmp_path / "r.txt")]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_text_report_follows_the_central_order(truss_tree, fake_token, tmp_path: Path):
    """report/text.py does not sort: it shows files in the order of their worst finding."""
    root = truss_tree({"a/low.py": f'K = "{fake_token(HF)}"\n', "model/model.py": UNDECLARED_READ,
                       "z/config.yaml": f"model_name: x\nsecrets:\n  openai_api_key: \"{fake_token(OPENAI)}\"\n"})
    out = tmp_path / "report.txt"
    main(["scan", str(root), "-o", str(out)])
    files = [line for line in out.read_text("utf-8").splitlines() if line and not line.startswith((" ", "trussguard"))]
    severities = {"critical": 4, "high": 3, "medium": 2, "low": 1}
    code, report = _json(["scan", str(root)], tmp_path)
    worst = {}
    for f in report["findings"]:
        worst[f["path"]] = max(worst.get(f["path"], 0), severities[f["severity"]])
    listed = [p for p in files if p in worst]
    assert listed == sorted(worst, key=lambda p: (-worst[p], p)) and {"a/low.py", "model/model.py"} < set(listed)
    assert listed[0] == "z/config.yaml"  # the critical secret in a config.yaml, ahead of paths sorting first


def test_ref_summary_names_three_and_counts():
    branches = ["refs/heads/feature/x", "refs/heads/dev", "refs/heads/release/1.2", "refs/heads/main"] + \
        [f"refs/heads/topic-{i}" for i in range(8)]
    assert ref_summary(branches) == "12 branches, e.g. main, release/1.2, dev"
    assert ref_summary(["refs/heads/main"]) == "1 branch: main"
    assert ref_summary(["refs/tags/v1", "refs/heads/main"]) == "2 refs (1 branch, 1 tag): main, v1"
    assert ref_summary(["refs/heads/main", "refs/heads/dev"], total=63) == "63 refs, e.g. main, dev"
    many = ref_summary([f"refs/heads/b{i:03d}" for i in range(500)])
    assert many == "500 branches, e.g. b000, b001, b002" and len(many) < 60


@pytest.fixture
def audited(tmp_path: Path, fake_token):
    repo = Repo(tmp_path / "repo")
    repo.commit("odd name", {"a`b|c.py": leak(fake_token(HF))})
    repo.commit("openai", {"model/model.py": f'KEY = "{fake_token(OPENAI)}"\n'})
    return repo


def test_job_summary_renders_with_revoke_and_commit_links(audited, tmp_path: Path):
    out = tmp_path / "summary.md"
    template = "https://github.com/o/r/commit/{commit}"
    assert main(["audit", str(audited.root), "--no-cache", "--format", "markdown", "-o", str(out),
                 "--commit-url", template]) == 1
    html = MarkdownIt("commonmark").enable("table").render(out.read_text("utf-8"))
    # the findings table: one row per finding, each with its path as one code element and its commit linked
    rows = re.findall(r"<tr>\s*<td>(.*?)</tr>", html, re.DOTALL)
    assert len(rows) == 2
    assert "<code>a`b|c.py:1</code>" in html  # a backtick and a pipe in a path stay inside one code span
    for sha in (audited.git("rev-parse", "HEAD"), audited.git("rev-parse", "HEAD~1")):
        assert f'<a href="https://github.com/o/r/commit/{sha}"><code>{sha[:12]}</code></a>' in html
    # What to do: each advisory links to its revoke page
    assert '<a href="https://huggingface.co/settings/tokens">Revoke it</a>' in html
    assert '<a href="https://platform.openai.com/api-keys">Revoke it</a>' in html
    text_nodes = re.sub(r"<code>.*?</code>|<[^>]+>", "", html, flags=re.DOTALL)
    assert "`" not in text_nodes  # no raw backticks outside code
    plain = tmp_path / "plain.md"
    main(["audit", str(audited.root), "--no-cache", "--format", "markdown", "-o", str(plain)])
    assert "/commit/" not in plain.read_text("utf-8")  # no --commit-url, no commit links


def test_annotations_follow_the_order_and_say_where_to_revoke(tree, tmp_path: Path):
    out = tmp_path / "annotations.txt"
    main(["scan", str(tree), "--format", "github", "-o", str(out)])
    lines = out.read_text("utf-8").splitlines()
    levels = [line.split(" ", 1)[0] for line in lines]
    order = {"::error": 0, "::warning": 1, "::notice": 2}
    assert levels == sorted(levels, key=order.__getitem__)
    assert any("file=scripts/b.py" in line and line.endswith("Revoke it at https://platform.openai.com/api-keys")
               for line in lines)


def test_commit_link_fills_the_template():
    result = triage.present(ScanResult("history", ".", [], [], ScanStats()),
                            triage.Filters.of(commit_url="https://h.invalid/{commit}/{path}#L{line}"), Severity.HIGH)
    assert triage.commit_link(result, "abc123", "dir/a b#.py", 7) == "https://h.invalid/abc123/dir/a%20b%23.py#L7"
    assert triage.commit_link(result, None) is None
    assert triage.commit_link(ScanResult("tree", ".", [], [], ScanStats()), "abc") is None


def test_commit_url_from_ci():
    github = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r"}
    assert triage.commit_url_from_ci(github) == "https://github.com/o/r/commit/{commit}"
    assert triage.commit_url_from_ci({"CI_PROJECT_URL": "https://gitlab.com/g/p/"}) == \
        "https://gitlab.com/g/p/-/commit/{commit}"
    assert triage.commit_url_from_ci({}) is None
    triage.check_commit_url(triage.commit_url_from_ci(github))  # a valid template
