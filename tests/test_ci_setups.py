"""The copy-paste setups of docs/CI.md, each run as its platform would run it.

Every snippet is read from docs/CI.md (the fenced block after its ``<!-- ci-setup: NAME -->``
marker), so the page cannot drift from what is tested:

- pre-commit: the real ``pre-commit`` (``try-repo`` on this checkout, and the documented
  ``.pre-commit-config.yaml`` installed as a git hook) on a temporary repository where a staged
  fake key blocks the commit;
- GitHub Actions: the workflow validated against GitHub's schema, its inputs checked against
  action.yml, the fork guard evaluated for a push, a pull request and a fork's pull request, and its
  ``with:`` inputs run through ``python -m trussguard.gha`` (as tests/test_action.py runs the action);
- GitLab CI: the job's ``script:`` lines run by bash as GitLab's runner runs them (``set -eo
  pipefail``, one shell) in a clone with the ``CI_*`` variables of a merge-request pipeline;
- the one-off audit: the documented ``pip install`` (pointed at this checkout) into a fresh virtual
  environment, then the documented command.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from test_action import (ACTION, PRINTS_AN_UNDECLARED_SECRET, TRUSS_CONFIG, TRUSS_MODEL, check_jsonschema,
                         default_inputs, pull_request, rule_ids, run_action)
from test_audit import Repo, leak

HF = "huggingface.user-token"
PROJECT = Path(__file__).resolve().parents[1]
CI_MD = PROJECT / "docs" / "CI.md"
SHA_PLACEHOLDER = "<full-commit-sha>"
FAKE_PIN = "0123456789abcdef0123456789abcdef01234567"  # stands for the commit a reader pins
INSTALL_URL = f"git+https://github.com/OWNER/trussguard@{SHA_PLACEHOLDER}"


def snippet(name: str) -> str:
    """The fenced block that follows ``<!-- ci-setup: NAME -->`` in docs/CI.md."""
    found = re.findall(rf"<!-- ci-setup: {re.escape(name)} -->\n```\w+\n(.*?)\n```\n", CI_MD.read_text("utf-8"),
                       re.DOTALL)
    assert len(found) == 1, f"docs/CI.md must hold exactly one {name} setup"
    return found[0] + "\n"


def git_env(home: Path) -> dict[str, str]:
    return dict(os.environ, HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_AUTHOR_NAME="Ada Tester",
                GIT_AUTHOR_EMAIL="ada@example.invalid", GIT_COMMITTER_NAME="Ada Tester",
                GIT_COMMITTER_EMAIL="ada@example.invalid", XDG_CACHE_HOME=str(home / "cache"))


def on_path(env: dict[str, str], folder: Path) -> dict[str, str]:
    return dict(env, PATH=f"{folder}{os.pathsep}{env.get('PATH', '')}")


# -- pre-commit ------------------------------------------------------------------------------------

def test_precommit_snippet_names_this_repositorys_hooks_pinned():
    config = yaml.safe_load(snippet("pre-commit"))
    (repo,) = config["repos"]
    assert repo["repo"] == "https://github.com/OWNER/trussguard" and repo["rev"] == SHA_PLACEHOLDER
    hooks = {hook["id"] for hook in yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())}
    assert {hook["id"] for hook in repo["hooks"]} <= hooks and repo["hooks"]
    assert "pin a commit" in snippet("pre-commit")


@pytest.fixture
def staged_repo(tmp_path: Path) -> tuple[Repo, dict[str, str]]:
    repo = Repo(tmp_path / "work")
    repo.commit("initial", {"README.md": "# demo\n"})
    env = on_path(dict(git_env(tmp_path), PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home")),
                  Path(sys.executable).parent)
    return repo, env


def precommit(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)
    unreachable = ("No matching distribution found", "Failed to establish a new connection",
                   "Temporary failure in name")
    if proc.returncode == 3 and any(text in proc.stdout + proc.stderr for text in unreachable):
        pytest.skip("pre-commit cannot build the hook's environment here: the package index is unreachable")
    return proc


def test_precommit_try_repo_blocks_a_staged_key(staged_repo, fake_token):
    repo, env = staged_repo
    (hook,) = yaml.safe_load(snippet("pre-commit"))["repos"][0]["hooks"]
    repo.write("app.py", "x = 1\n")
    repo.git("add", "app.py")
    clean = precommit(["try-repo", str(PROJECT), hook["id"]], repo.root, env)
    assert clean.returncode == 0 and "Passed" in clean.stdout, clean.stdout + clean.stderr
    token = fake_token(HF)
    repo.write("model/model.py", leak(token))
    repo.git("add", "model/model.py")
    blocked = precommit(["try-repo", str(PROJECT), hook["id"]], repo.root, env)
    assert blocked.returncode == 1 and "Failed" in blocked.stdout, blocked.stdout + blocked.stderr
    assert HF in blocked.stdout and token not in blocked.stdout + blocked.stderr


def test_the_documented_precommit_config_blocks_the_commit(staged_repo, fake_token):
    """The snippet itself, installed as the git hook, with the repository pointed at this checkout's commit."""
    repo, env = staged_repo
    head = subprocess.run(["git", "-C", str(PROJECT), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    config = snippet("pre-commit").replace("https://github.com/OWNER/trussguard", str(PROJECT))
    repo.write(".pre-commit-config.yaml", config.replace(SHA_PLACEHOLDER, head))
    repo.git("add", ".pre-commit-config.yaml")
    installed = precommit(["install"], repo.root, env)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    repo.write("model/model.py", leak(fake_token(HF)))
    repo.git("add", "model/model.py")
    commit = subprocess.run(["git", "commit", "-m", "add the model"], cwd=repo.root, env=env, capture_output=True,
                            text=True, timeout=600)
    assert commit.returncode != 0 and HF in commit.stdout + commit.stderr, commit.stdout + commit.stderr
    assert "model/model.py" in subprocess.run(["git", "diff", "--cached", "--name-only"], cwd=repo.root,
                                              capture_output=True, text=True).stdout  # still staged, not committed


# -- GitHub Actions --------------------------------------------------------------------------------

GUARD = ("${{ github.event_name == 'push' || "
         "github.event.pull_request.head.repo.full_name == github.repository }}")


def workflow() -> dict:
    return yaml.safe_load(snippet("github-actions"))


def trussguard_steps(document: dict) -> dict[str, dict]:
    return {name: step for name, job in document["jobs"].items() for step in job["steps"]
            if step["uses"].startswith("OWNER/trussguard@")}


def evaluate(expression: str, context: dict) -> bool:
    """The guard's expression language, as far as it goes: ``a == b`` terms joined by ``||``, where a term
    side is a quoted string or a dotted context path (a missing key is null, as in GitHub's)."""
    body = re.fullmatch(r"\$\{\{ (.*) \}\}", expression).group(1)

    def value(text: str):
        if text.startswith("'"):
            return text.strip("'")
        node = context
        for key in text.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        return node

    return any(value(left) == value(right) for left, right in
               (term.split(" == ") for term in body.split(" || ")))


def test_github_workflow_is_valid_pinned_and_uses_real_inputs(tmp_path: Path):
    text = snippet("github-actions")
    pinned = tmp_path / "trussguard.yml"
    pinned.write_text(text.replace(SHA_PLACEHOLDER, FAKE_PIN))
    proc = check_jsonschema("vendor.github-workflows", pinned)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    document = workflow()
    steps = trussguard_steps(document)
    assert set(steps) == {"gate", "history"}
    lines = text.splitlines()
    for number, line in enumerate(lines):
        if "uses: OWNER/trussguard@" in line:
            assert line.strip() == f"- uses: OWNER/trussguard@{SHA_PLACEHOLDER}"
            assert "Pin the action to a full commit SHA" in lines[number - 1]
    inputs = yaml.safe_load(ACTION.read_text())["inputs"]
    for step in steps.values():
        assert set(step.get("with", {})) <= set(inputs)
    assert "command" not in steps["gate"].get("with", {})  # the gate is the default
    assert steps["gate"]["with"]["upload-sarif"] == GUARD
    assert steps["history"]["with"]["command"] == "audit"
    assert document["permissions"] == {}
    for job in document["jobs"].values():
        assert job["permissions"] == {"contents": "read", "security-events": "write"}
        checkout = job["steps"][0]
        assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}


@pytest.mark.parametrize("event, context, uploads", [
    ("push", {}, True),
    ("pull_request", {"pull_request": {"head": {"repo": {"full_name": "acme/models"}}}}, True),
    ("pull_request", {"pull_request": {"head": {"repo": {"full_name": "someone/models-fork"}}}}, False),
])
def test_github_workflow_guards_the_sarif_upload_for_forks(event: str, context: dict, uploads: bool):
    guard = trussguard_steps(workflow())["gate"]["with"]["upload-sarif"]
    github = {"event_name": event, "repository": "acme/models", "event": context}
    assert evaluate(guard, {"github": github}) is uploads


def test_github_workflow_gate_fails_a_pull_request_that_prints_an_undeclared_secret(tmp_path: Path):
    repo = Repo(tmp_path / "truss")
    base = repo.commit("a Truss", {"config.yaml": TRUSS_CONFIG, "model/model.py": TRUSS_MODEL})
    repo.git("checkout", "-q", "-b", "feature")
    head = repo.commit("print it", {"model/model.py": PRINTS_AN_UNDECLARED_SECRET})
    given = {k.replace("-", "_"): v for k, v in trussguard_steps(workflow())["gate"]["with"].items()}
    given["sarif"] = "true" if evaluate(given.pop("upload_sarif"), {"github": {"event_name": "push"}}) else "false"
    run = run_action(tmp_path, repo.root, "pull_request", pull_request(base, head), **dict(default_inputs(), **given))
    assert run.code == 1 and {"TG206", "TG207"} <= rule_ids(run), run.stdout
    assert "sarif" in run.outputs


# -- GitLab CI -------------------------------------------------------------------------------------

def gitlab_job() -> dict:
    (job,) = yaml.safe_load(snippet("gitlab-ci")).values()
    return job


def test_gitlab_job_is_a_full_clone_merge_request_job():
    job = gitlab_job()
    assert re.fullmatch(r"python:3\.\d+", job["image"])  # not -slim: it has git
    assert job["variables"]["GIT_DEPTH"] == "0"
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert job["before_script"] == [f'pip install --quiet "trussguard @ {INSTALL_URL}"']
    script = "\n".join(job["script"])
    assert '--range "$CI_MERGE_REQUEST_DIFF_BASE_SHA..$CI_COMMIT_SHA"' in script
    assert 'scan . --trusted-rev "$CI_MERGE_REQUEST_DIFF_BASE_SHA"' in script


def run_gitlab_job(tmp_path: Path, origin: Repo, base: str, head: str) -> subprocess.CompletedProcess:
    """The job's script in a clone of the merge request's head, as GitLab's runner runs it (bash, one
    shell, ``set -eo pipefail``), with the variables of a merge-request pipeline; trussguard comes from
    this interpreter's environment (the ``before_script`` install is tested with the one-off audit)."""
    clone = tmp_path / f"clone-{head[:8]}"
    env = git_env(tmp_path)
    subprocess.run(["git", "clone", "-q", f"file://{origin.root}", str(clone)], env=env, check=True)
    subprocess.run(["git", "-C", str(clone), "checkout", "-q", "--detach", head], env=env, check=True)
    env = on_path(dict(env, CI="true", GITLAB_CI="true", CI_PIPELINE_SOURCE="merge_request_event",
                       CI_MERGE_REQUEST_DIFF_BASE_SHA=base, CI_COMMIT_SHA=head, CI_PROJECT_DIR=str(clone)),
                  Path(sys.executable).parent)
    script = "set -eo pipefail\n" + "\n".join(gitlab_job()["script"]) + "\n"
    return subprocess.run(["bash", "--noprofile", "--norc", "-c", script], cwd=clone, env=env, capture_output=True,
                          text=True, timeout=600)


def test_gitlab_job_passes_a_clean_merge_request_and_fails_a_leaking_one(tmp_path: Path, fake_token):
    origin = Repo(tmp_path / "origin")
    base = origin.commit("a Truss", {"config.yaml": TRUSS_CONFIG, "model/model.py": TRUSS_MODEL})
    origin.git("checkout", "-q", "-b", "clean")
    clean = origin.commit("clean work", {"model/model.py": TRUSS_MODEL + "        self.ready = True\n"})
    proc = run_gitlab_job(tmp_path, origin, base, clean)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    origin.git("checkout", "-q", "-b", "leaky", base)
    token = fake_token(HF)
    origin.commit("add a key", {"scripts/run.py": leak(token)})
    leaky = origin.commit("remove it again", {"scripts/run.py": "import os\n"})  # the audit part still sees it
    proc = run_gitlab_job(tmp_path, origin, base, leaky)
    assert proc.returncode == 1 and HF in proc.stdout, proc.stdout + proc.stderr
    assert token not in proc.stdout + proc.stderr
    origin.git("checkout", "-q", "-b", "printing", base)
    printing = origin.commit("print a secret", {"model/model.py": PRINTS_AN_UNDECLARED_SECRET})
    proc = run_gitlab_job(tmp_path, origin, base, printing)  # the scan part fails it, after the audit passed
    assert proc.returncode == 1 and "TG206" in proc.stdout and "TG207" in proc.stdout, proc.stdout + proc.stderr


# -- the one-off audit -----------------------------------------------------------------------------

def test_one_off_audit_installs_and_writes_the_html_report(tmp_path: Path, fake_token):
    install, command = snippet("one-off").strip().split(" && ")
    assert install == f'pip install "trussguard @ {INSTALL_URL}"'
    head = subprocess.run(["git", "-C", str(PROJECT), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = on_path(git_env(tmp_path), venv / "bin")
    local = install.replace(INSTALL_URL, f"git+file://localhost{PROJECT}@{head}")  # PEP 508 wants a host
    repo = Repo(tmp_path / "repo")
    repo.commit("initial", {"README.md": "# demo\n"})
    token = fake_token(HF)
    repo.commit("a key", {"app.py": leak(token)})
    repo.commit("removed", {"app.py": "import os\n"})
    proc = subprocess.run(["bash", "-c", f"{local} && {command}"], cwd=repo.root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 1 and HF in proc.stdout, proc.stdout + proc.stderr
    page = (repo.root / "report.html").read_text("utf-8")
    assert page.lower().startswith("<!doctype html>") and HF in page and token not in page + proc.stdout
    clean = Repo(tmp_path / "clean")
    clean.commit("initial", {"README.md": "# demo\n"})
    proc = subprocess.run(["bash", "-c", command], cwd=clean.root, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0 and (clean.root / "report.html").is_file(), proc.stdout + proc.stderr
