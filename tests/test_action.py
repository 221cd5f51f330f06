"""The GitHub Action (``action.yml``, ``trussguard/gha.py``) and the self-test workflow.

- ``action.yml`` and ``.github/workflows/*.yml`` are validated against GitHub's schemas as vendored
  in check-jsonschema (``--builtin-schema``), with every proxy pointed at a closed port: offline.
- A static check: no ``run:`` script interpolates an expression, every ``uses:`` is pinned to a
  commit, every input reaches the scripts through ``env:``.
- ``python -m trussguard.gha`` runs as the action runs it, in a subprocess with a simulated GitHub
  environment (event payload file, ``GITHUB_OUTPUT``, ``GITHUB_STEP_SUMMARY``, ``RUNNER_TEMP``) on
  temporary repositories whose credentials come from ``fake_token``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from test_audit import Repo, leak

from trussguard.cli import main as cli_main

HF = "huggingface.user-token"
PROJECT = Path(__file__).resolve().parents[1]
ACTION = PROJECT / "action.yml"
WORKFLOWS = sorted((PROJECT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}")
ZEROS = "0" * 40
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "ALL_PROXY": "http://127.0.0.1:9",
           "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "NO_PROXY": "", "no_proxy": ""}


# -- schemas and static safety ---------------------------------------------------------------------

def check_jsonschema(schema: str, *files: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
                          env=dict(os.environ, **OFFLINE), capture_output=True, text=True, timeout=120)


def test_action_and_workflows_match_githubs_schemas(tmp_path: Path):
    assert WORKFLOWS, "the self-test workflow is missing"
    for schema, files in (("vendor.github-actions", [ACTION]), ("vendor.github-workflows", WORKFLOWS)):
        proc = check_jsonschema(schema, *files)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    broken = tmp_path / "action.yml"  # the validator really validates: a wrong key is an error
    broken.write_text(ACTION.read_text().replace("using: composite", "using: compsite"))
    proc = check_jsonschema("vendor.github-actions", broken)
    assert proc.returncode == 1 and "compsite" in proc.stdout + proc.stderr


def steps_of(document: dict) -> list[dict]:
    if "runs" in document:
        return document["runs"]["steps"]
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_no_template_injection_and_pinned_uses(path: Path):
    document = yaml.safe_load(path.read_text())
    for step in steps_of(document):
        assert "${{" not in step.get("run", ""), f"{path.name}: an expression inside run: {step.get('name')}"
        uses = step.get("uses")
        if uses and not uses.startswith("./"):
            assert PINNED.fullmatch(uses), f"{path.name}: {uses} is not pinned to a full commit SHA"
    for line in path.read_text().splitlines():  # the version each pin stands for, as a trailing comment
        if re.search(r"uses: [^.]\S*@[0-9a-f]{40}", line):
            assert re.search(r"@[0-9a-f]{40} # v\d+(\.\d+)*$", line), line


def test_every_input_reaches_the_scripts_through_env():
    action = yaml.safe_load(ACTION.read_text())
    assert action["runs"]["using"] == "composite"
    env_values = [str(v) for step in action["runs"]["steps"] for v in (step.get("env") or {}).values()]
    for name in action["inputs"]:
        assert f"${{{{ inputs.{name} }}}}" in env_values, f"input {name} is not passed via env:"
    run = next(step for step in action["runs"]["steps"] if step.get("id") == "run")
    assert "continue-on-error" not in run and "trussguard.gha" in run["run"]
    workflow = yaml.safe_load((PROJECT / ".github/workflows/trussguard.yml").read_text())
    assert workflow["permissions"] == {}
    for job in workflow["jobs"].values():
        assert job["permissions"]["contents"] == "read"
        assert set(job["permissions"]) <= {"contents", "security-events"}


# -- the action's script in a simulated GitHub environment ----------------------------------------

@dataclass
class Run:
    code: int
    stdout: str
    outputs: dict[str, str]
    summary: str

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith("::error")]


def action_step(step_id: str) -> dict:
    return next(step for step in yaml.safe_load(ACTION.read_text())["runs"]["steps"] if step.get("id") == step_id)


def bash(script: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    """A ``shell: bash`` step, run the way GitHub runs it."""
    return subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def run_action(tmp_path: Path, workspace: Path, event: str, payload: dict | None = None,
               github_env: dict[str, str] | None = None, **inputs: str) -> Run:
    """action.yml's ``run`` step (``python -m trussguard.gha``) with this interpreter standing in for the
    action's virtual environment; ``inputs`` are TG_* names without the prefix."""
    gh = tmp_path / f"gh-{len(list(tmp_path.glob('gh-*')))}"
    gh.mkdir()
    (gh / "event.json").write_text(json.dumps(payload or {}))
    (gh / "output").touch()
    (gh / "summary").touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "TG_"))}
    env.update(GITHUB_EVENT_NAME=event, GITHUB_EVENT_PATH=str(gh / "event.json"), GITHUB_OUTPUT=str(gh / "output"),
               GITHUB_STEP_SUMMARY=str(gh / "summary"), GITHUB_WORKSPACE=str(workspace), RUNNER_TEMP=str(gh),
               TG_COMMAND="audit", TG_PATH=".", TG_FAIL_ON="", TG_BASELINE="", TG_CONFIG="", TG_SARIF="false")
    env.update({f"TG_{k.upper()}": v for k, v in inputs.items()}, TG_PYTHON=sys.executable, TG_PYTHON_LIB="")
    env.update(github_env or {})
    proc = bash(action_step("run")["run"], env, workspace)
    assert "Traceback" not in proc.stderr, proc.stderr
    outputs = dict(line.split("=", 1) for line in (gh / "output").read_text().splitlines())
    return Run(proc.returncode, proc.stdout, outputs, (gh / "summary").read_text())


def pull_request(base: str, head: str) -> dict:
    return {"pull_request": {"base": {"sha": base}, "head": {"sha": head}}}


def no_secret_anywhere(run: Run, token: str) -> None:
    texts = [run.stdout, run.summary, *run.outputs.values()]
    texts += [Path(run.outputs[k]).read_text() for k in ("report", "sarif") if k in run.outputs]
    assert all(token not in text for text in texts)


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("initial", {"README.md": "# demo\n"})
    return r


def test_pull_request_that_adds_and_removes_a_key_fails(repo: Repo, tmp_path: Path, fake_token):
    token = fake_token(HF)
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("add a key", {"scripts/run.py": leak(token)})
    head = repo.commit("remove it again", {"scripts/run.py": "import os\n"})
    run = run_action(tmp_path, repo.root, "pull_request", pull_request(base, head), sarif="true")
    assert run.code == 1, run.stdout
    assert len(run.errors) == 1 and run.errors[0].startswith("::error file=scripts/run.py,line=1,")
    assert f"[{HF}]" in run.errors[0]
    assert f"`{HF}`" in run.summary and f"`{base[:12]}..{head[:12]}`" in run.summary and "What to do" in run.summary
    assert run.outputs["findings"] == "1" and run.outputs["exit-code"] == "1"
    report = json.loads(Path(run.outputs["report"]).read_text())
    assert report["mode"] == "history" and report["stats"]["range"] == f"{base}..{head}"
    sarif = json.loads(Path(run.outputs["sarif"]).read_text())
    location = sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert sarif["version"] == "2.1.0" and location["artifactLocation"]["uri"] == "scripts/run.py"
    no_secret_anywhere(run, token)


def test_a_key_on_the_base_branch_is_not_the_pull_requests_but_the_schedule_finds_it(repo: Repo, tmp_path: Path,
                                                                                     fake_token):
    base = repo.commit("an old key on main", {"app.py": leak(fake_token(HF))})
    repo.git("checkout", "-q", "-b", "feature")
    head = repo.commit("clean work", {"docs/notes.md": "nothing to see\n"})
    run = run_action(tmp_path, repo.root, "pull_request", pull_request(base, head))
    assert run.code == 0 and run.errors == [], run.stdout
    assert run.outputs["findings"] == "0" and run.outputs["exit-code"] == "0" and "sarif" not in run.outputs
    assert "no secrets found" in run.summary
    run = run_action(tmp_path, repo.root, "schedule")
    assert run.code == 1 and run.errors[0].startswith("::error file=app.py,line=1,")
    assert "every commit of every ref" in run.summary


def test_merge_group_audits_base_to_head(repo: Repo, tmp_path: Path, fake_token):
    base = repo.git("rev-parse", "HEAD")
    head = repo.commit("queued change with a key", {"app.py": leak(fake_token(HF))})
    run = run_action(tmp_path, repo.root, "merge_group", {"merge_group": {"base_sha": base, "head_sha": head}})
    assert run.code == 1 and run.errors[0].startswith("::error file=app.py,line=1,")
    assert f"merge_group: the commits of `{base[:12]}..{head[:12]}`" in run.summary


def test_push_audits_before_to_after(repo: Repo, tmp_path: Path, fake_token):
    before = repo.git("rev-parse", "HEAD")
    repo.commit("add a key", {"model/model.py": leak(fake_token(HF))})
    removed = repo.commit("remove it", {"model/model.py": "x = 1\n"})
    after = repo.commit("more", {"docs/a.md": "a\n"})
    run = run_action(tmp_path, repo.root, "push", {"before": before, "after": removed, "ref": "refs/heads/main"})
    assert run.code == 1 and run.errors[0].startswith("::error file=model/model.py,line=1,")
    run = run_action(tmp_path, repo.root, "push", {"before": removed, "after": after, "ref": "refs/heads/main"})
    assert run.code == 0 and run.outputs["findings"] == "0", run.stdout


def test_push_of_a_new_branch_audits_what_the_default_branch_lacks(repo: Repo, tmp_path: Path, fake_token):
    repo.commit("a key on main", {"app.py": leak(fake_token(HF))})
    repo.git("update-ref", "refs/remotes/origin/main", "main")  # as actions/checkout leaves it
    repo.git("checkout", "-q", "-b", "feature")
    head = repo.commit("clean work", {"docs/a.md": "a\n"})
    payload = {"before": ZEROS, "after": head, "ref": "refs/heads/feature", "repository": {"default_branch": "main"}}
    run = run_action(tmp_path, repo.root, "push", payload)
    assert run.code == 0 and "not on `main`" in run.summary, run.stdout
    payload["repository"]["default_branch"] = "trunk"  # cannot be resolved: everything
    run = run_action(tmp_path, repo.root, "push", payload)
    assert run.code == 1 and "every commit" in run.summary
    deleted = run_action(tmp_path, repo.root, "push", {"before": head, "after": ZEROS, "ref": "refs/heads/feature"})
    assert deleted.code == 0 and deleted.outputs == {"findings": "0", "exit-code": "0"}


def test_scan_of_a_subfolder_annotates_repository_paths(repo: Repo, tmp_path: Path, fake_token):
    repo.write("models/llm/app.py", leak(fake_token(HF)))
    run = run_action(tmp_path, repo.root, "workflow_dispatch", command="scan", path="models", fail_on="critical")
    assert run.code == 0 and run.outputs["findings"] == "1"  # high, below critical
    assert run.errors[0].startswith("::error file=models/llm/app.py,line=1,")
    assert "Scope: the working tree" in run.summary


def test_config_input_and_cli_option_use_that_file(repo: Repo, tmp_path: Path, fake_token):
    repo.commit("a key", {"app.py": leak(fake_token(HF))})
    repo.write("ci/trussguard.toml", 'disable = ["huggingface.*"]\n')
    run = run_action(tmp_path, repo.root, "schedule", config="ci/trussguard.toml")
    assert run.code == 0 and run.outputs["findings"] == "0", run.stdout
    no_cache = ["--no-cache", "-q"]
    assert cli_main(["audit", str(repo.root), "--config", str(repo.root / "ci/trussguard.toml"), *no_cache]) == 0
    assert cli_main(["audit", str(repo.root), *no_cache]) == 1
    (repo.root / "bad.toml").write_text('exlude = ["x"]\n')
    assert cli_main(["scan", str(repo.root), "--config", str(repo.root / "bad.toml")]) == 2
    run = run_action(tmp_path, repo.root, "schedule", config="bad.toml")
    assert run.code == 2 and len(run.errors) == 1 and "did you mean 'exclude'" in run.errors[0]


@pytest.mark.parametrize("inputs, says", [
    ({"command": "rm -rf"}, "command must be gate, audit or scan"),
    ({"command": "scan%0A::warning::owned"}, "command must be gate, audit or scan"),
    ({"fail_on": "severe"}, "fail-on must be one of"),
    ({"sarif": "yes"}, "upload-sarif must be true or false"),
    ({"path": "no/such/dir"}, "does not exist"),
    ({"fail_on": "high\n::add-mask::x"}, "control character"),
])
def test_a_bad_input_fails_closed_with_one_error_line(repo: Repo, tmp_path: Path, inputs: dict, says: str):
    run = run_action(tmp_path, repo.root, "schedule", **inputs)
    assert run.code == 2 and run.stdout.count("\n") == 1 and run.errors == run.stdout.splitlines()
    assert run.errors[0].startswith("::error::trussguard: ") and says in run.errors[0]
    as_github_reads_it = run.errors[0].replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
    assert "\n" not in as_github_reads_it and "\r" not in as_github_reads_it  # no second workflow command
    assert run.outputs == {"exit-code": "2"}


@pytest.mark.parametrize("version", ["0.1.0; rm -rf /", "$(id)", "1.0 --index-url=https://example.invalid"])
def test_the_install_step_refuses_a_bad_version_before_installing(tmp_path: Path, version: str):
    env = dict(os.environ, TG_PYTHON=sys.executable, TG_VERSION=version, RUNNER_TEMP=str(tmp_path),
               GITHUB_OUTPUT=str(tmp_path / "output"), GITHUB_ACTION_PATH=str(PROJECT))
    proc = bash(action_step("install")["run"], env, tmp_path)
    assert proc.returncode == 2 and proc.stdout.startswith("::error::trussguard: input version")
    assert list(tmp_path.iterdir()) == []  # no virtual environment, no output


def test_a_bad_payload_sha_fails_closed(repo: Repo, tmp_path: Path):
    run = run_action(tmp_path, repo.root, "pull_request", pull_request("main", "--output=/tmp/x"))
    assert run.code == 2 and len(run.errors) == 1 and "not a commit id" in run.errors[0]


def test_a_shallow_checkout_is_unshallowed_before_the_audit(repo: Repo, fake_token, tmp_path: Path):
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("key", {"a.txt": f"HF_TOKEN={fake_token(HF)}\n"})
    head = repo.commit("work", {"a.txt": "a\n"})
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{repo.root}", str(shallow)],
                   check=True, capture_output=True)
    run = run_action(tmp_path, shallow, "pull_request", pull_request(base, head))
    assert run.code == 1 and "fetched the whole history" in run.stdout, run.stdout
    assert subprocess.run(["git", "-C", str(shallow), "rev-parse", "--is-shallow-repository"], capture_output=True,
                          text=True).stdout.strip() == "false"
    shutil.rmtree(shallow)


def test_a_shallow_checkout_that_cannot_be_unshallowed_fails_with_one_line(repo: Repo, tmp_path: Path):
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    head = repo.commit("work", {"a.txt": "a\n"})
    origin = tmp_path / "origin"
    shutil.copytree(repo.root, origin)
    shallow = tmp_path / "shallow"
    subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", "feature", f"file://{origin}", str(shallow)],
                   check=True, capture_output=True)
    shutil.rmtree(origin)  # no network, no credentials: the fetch fails
    run = run_action(tmp_path, shallow, "pull_request", pull_request(base, head))
    assert run.code == 2 and len(run.errors) == 1, run.stdout
    assert "shallow" in run.errors[0] and "fetch-depth: 0" in run.errors[0]
    shutil.rmtree(shallow)


# -- the default: the pull-request gate runs the history audit and the tree scan in one step --------

TRUSS_CONFIG = "model_name: demo\nresources:\n  cpu: \"1\"\nsecrets:\n  hf_access_token: null\n"
TRUSS_MODEL = '''class Model:
    def __init__(self, **kwargs):
        self._secrets = kwargs["secrets"]

    def load(self):
        self.hf = self._secrets["hf_access_token"]
'''
PRINTS_AN_UNDECLARED_SECRET = TRUSS_MODEL + '''        print(self._secrets["openai_api_key"])
        self.wandb = self._secrets["wandb_api_key"]
'''


def default_inputs() -> dict[str, str]:
    """action.yml's defaults, as GitHub substitutes them for inputs a workflow does not set."""
    names = {"command": "command", "path": "path", "fail-on": "fail_on", "baseline": "baseline",
             "config": "config", "upload-sarif": "sarif"}
    declared = yaml.safe_load(ACTION.read_text())["inputs"]
    return {key: str(declared[name]["default"]) for name, key in names.items()}


@pytest.fixture
def truss(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "truss")
    r.commit("a Truss", {"config.yaml": TRUSS_CONFIG, "model/model.py": TRUSS_MODEL})
    return r


def pr_of(repo: Repo, files: dict[str, str | None]) -> tuple[str, str]:
    base = repo.git("rev-parse", "HEAD")
    repo.git("checkout", "-q", "-b", "feature")
    return base, repo.commit("the pull request", files)


def rule_ids(run: Run) -> set[str]:
    return {m.group(1) for line in run.errors for m in [re.search(r"\[([^\]]+)\]", line)] if m}


def test_the_default_command_is_the_gate():
    assert default_inputs()["command"] == "gate"


def test_default_gate_fails_a_pull_request_that_prints_and_reads_an_undeclared_secret(truss: Repo, tmp_path: Path):
    base, head = pr_of(truss, {"model/model.py": PRINTS_AN_UNDECLARED_SECRET})
    event = pull_request(base, head)
    audit_only = run_action(tmp_path, truss.root, "pull_request", event, **dict(default_inputs(), command="audit"))
    assert audit_only.code == 0, audit_only.stdout  # what the old default let through
    run = run_action(tmp_path, truss.root, "pull_request", event, **dict(default_inputs(), sarif="true"))
    assert run.code == 1 and run.outputs["exit-code"] == "1", run.stdout
    assert {"TG206", "TG207"} <= rule_ids(run)
    assert any(line.startswith("::error file=model/model.py,line=7,") for line in run.errors)
    assert run.summary.count("\n## ") + run.summary.startswith("## ") == 1  # one summary, one verdict
    assert run.summary.startswith("## trussguard gate: fails")
    assert f"| history audit | pull_request: the commits of `{base[:12]}..{head[:12]}` | 0 | passes |" in run.summary
    assert "| Truss policy scan of the tree | the working tree |" in run.summary and "`TG206`" in run.summary
    assert json.loads(Path(run.outputs["report"]).read_text())["mode"] == "history"
    assert json.loads(Path(run.outputs["scan-report"]).read_text())["mode"] == "tree"
    sarif = json.loads(Path(run.outputs["sarif"]).read_text())
    assert [r["automationDetails"]["id"] for r in sarif["runs"]] == ["trussguard/history/", "trussguard/tree/"]
    assert {"TG206", "TG207"} <= {r["ruleId"] for r in sarif["runs"][1]["results"]}


def test_default_gate_passes_a_clean_pull_request(truss: Repo, tmp_path: Path):
    base, head = pr_of(truss, {"model/model.py": TRUSS_MODEL + "        self.ready = True\n"})
    run = run_action(tmp_path, truss.root, "pull_request", pull_request(base, head), **default_inputs())
    assert run.code == 0 and run.errors == [] and run.outputs["findings"] == "0", run.stdout
    assert run.summary.startswith("## trussguard gate: passes\n")
    assert run.summary.count("| passes |") == 2 and "### trussguard history audit: no secrets found" in run.summary


def test_default_gate_fails_a_leaked_key_with_the_audit_part_annotated_once(truss: Repo, tmp_path: Path, fake_token):
    token = fake_token(HF)
    base, head = pr_of(truss, {"scripts/run.py": leak(token)})
    run = run_action(tmp_path, truss.root, "pull_request", pull_request(base, head), **default_inputs())
    assert run.code == 1, run.stdout
    assert f"| history audit | pull_request: the commits of `{base[:12]}..{head[:12]}` | 1 | fails |" in run.summary
    assert [e for e in run.errors if f"[{HF}]" in e] == [e for e in run.errors if e.startswith("::error file=scripts")]
    assert len([e for e in run.errors if f"[{HF}]" in e]) == 1  # both parts find it: annotated once
    assert "same as the history audit's above: not repeated" in run.summary
    assert run.outputs["findings"] == "2"  # the reports keep each part whole
    no_secret_anywhere(run, token)
    truss.commit("remove it again", {"scripts/run.py": "import os\n"})  # gone from the tree: the audit still fails it
    head = truss.git("rev-parse", "HEAD")
    run = run_action(tmp_path, truss.root, "pull_request", pull_request(base, head), **default_inputs())
    assert run.code == 1 and "| 1 | fails |" in run.summary and "| 0 | passes |" in run.summary, run.summary


def test_default_gate_on_push_audits_the_pushed_range_and_scans_the_tree(truss: Repo, tmp_path: Path):
    before = truss.git("rev-parse", "HEAD")
    after = truss.commit("print a secret", {"model/model.py": PRINTS_AN_UNDECLARED_SECRET})
    run = run_action(tmp_path, truss.root, "push", {"before": before, "after": after, "ref": "refs/heads/main"},
                     **default_inputs())
    assert run.code == 1 and {"TG206", "TG207"} <= rule_ids(run), run.stdout
    assert f"push: the commits of `{before[:12]}..{after[:12]}`" in run.summary


def test_the_worst_part_decides_and_an_error_wins():
    from trussguard.gha import worst

    assert [worst(c) for c in ([0, 0], [0, 1], [1, 0], [1, 2], [2, 0], [])] == [0, 1, 1, 2, 2, 0]


def test_default_gate_exits_2_when_a_part_could_not_read_everything(truss: Repo, tmp_path: Path, fake_token):
    """A partial clone whose origin is gone: the audit cannot read a blob of the range (2), the scan finds
    a key in the tree (1): the gate exits 2 with one error line, and the summary shows both parts."""
    base = truss.git("rev-parse", "HEAD")
    truss.git("checkout", "-q", "-b", "feature")
    truss.commit("notes", {"notes.txt": "draft\n"})
    head = truss.commit("a key", {"notes.txt": None, "scripts/run.py": leak(fake_token(HF))})
    truss.git("config", "uploadpack.allowFilter", "true")
    origin = tmp_path / "origin"
    shutil.copytree(truss.root, origin)
    partial = tmp_path / "partial"
    subprocess.run(["git", "clone", "-q", "--filter=blob:none", "--branch", "feature", f"file://{origin}",
                    str(partial)], check=True, capture_output=True)
    shutil.rmtree(origin)
    run = run_action(tmp_path, partial, "pull_request", pull_request(base, head), **default_inputs())
    assert run.code == 2 and run.outputs["exit-code"] == "2", run.stdout
    assert run.errors[-1].startswith("::error::trussguard: 1 file(s) or blob(s) could not be read (first: notes.txt")
    assert "| 1 | error |" in run.summary and "| 1 | fails |" in run.summary
    assert "**Not everything was read**: 1 file(s) or blob(s) (first: `notes.txt`" in run.summary
    assert run.summary.startswith("## trussguard gate: fails (2 finding(s); an error)\n")


def test_default_gate_reports_a_widened_gate_once(truss: Repo, tmp_path: Path, fake_token):
    base, head = pr_of(truss, {".trussguard.toml": 'disable = ["huggingface.*"]\n',
                               "scripts/run.py": leak(fake_token(HF))})
    run = run_action(tmp_path, truss.root, "pull_request", pull_request(base, head), **default_inputs())
    assert run.code == 1, run.stdout
    widening = [e for e in run.errors if "allow-config-changes: true" in e]
    assert len(widening) == 1, run.stdout  # both parts measure the change; it is published once
    assert run.summary.count("### Changes to the gate") == 1
    assert len([e for e in run.errors if f"[{HF}]" in e]) == 1  # the base's configuration applied


def test_the_summary_links_commits_on_the_host_the_run_is_on(truss: Repo, tmp_path: Path, fake_token):
    """The Action fills in --commit-url from the run's context, and findings come in triage order."""
    base, head = pr_of(truss, {"scripts/run.py": leak(fake_token(HF))})
    host = {"GITHUB_SERVER_URL": "https://github.example", "GITHUB_REPOSITORY": "acme/models"}
    run = run_action(tmp_path, truss.root, "pull_request", pull_request(base, head), github_env=host,
                     **default_inputs())
    assert run.code == 1
    assert f"https://github.example/acme/models/commit/{head}" in run.summary, run.summary
    plain = run_action(tmp_path, truss.root, "pull_request", pull_request(base, head), **default_inputs())
    assert "/commit/" not in plain.summary  # no host known: no link rather than a wrong one

