"""No command and no output format ever re-emits a planted secret.

Fake credentials (generated from the rules' own ``tokens:`` templates, never literals) are planted in a
small Truss tree (``config.yaml`` secrets and environment variables, ``model/model.py``, a base64 copy in
a notebook, a ``.env``), in the git history (added then removed) and in the index (staged). Every
command and format then runs in a subprocess with ``HOME``, ``XDG_CACHE_HOME``, ``TMPDIR`` and
``TRUSSGUARD_CACHE_DIR`` inside ``tmp_path``, so every byte trussguard writes is either on its
stdout/stderr or in a file under ``tmp_path``. The tree is snapshotted before and after each command;
each file created or changed, and both streams, must hold no planted value nor any 12-character slice
of one. ``--show-secrets`` is the one exception: it prints the values, and still never caches them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import subprocess
import sys
from pathlib import Path

from conftest import acme_rule, random_password
from test_audit import Repo, leak

FORMATS = ("text", "json", "sarif", "github", "markdown")
SLICE = 12
PLANTED_RULES = {"huggingface.user-token", "openai.project-key", "baseten.api-key", "aws.access-key-id",
                 "aws.secret-access-key", "url-credentials.database", "generic.secret-assignment"}


# -- the planted fixture ---------------------------------------------------------------------------

def plant(root: Path, fake_token) -> tuple[Repo, dict[str, str]]:
    """A git repository holding a leaky Truss at HEAD, a removed key in history and a staged key.

    Returns the repository and {label: planted value}."""
    rng = random.Random(7)
    secrets = {
        "huggingface.user-token": fake_token("huggingface.user-token"),
        "openai.project-key": fake_token("openai.project-key"),
        "baseten.api-key": fake_token("baseten.api-key"),
        "aws.access-key-id": fake_token("aws.secret-access-key", "id"),
        "aws.secret-access-key": fake_token("aws.secret-access-key", "secret"),
        "url-credentials.database": fake_token("url-credentials.database", "password"),
        "DB_PASSWORD": random_password(rng),
        "history-only huggingface.user-token": fake_token("huggingface.user-token"),
        "history-only openai.project-key": fake_token("openai.project-key"),
        "staged baseten.api-key": fake_token("baseten.api-key"),
    }
    s = secrets
    notebook_line = f"AWS_SECRET_ACCESS_KEY={s['aws.secret-access-key']}\n"
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": 1, "source": [
        "import base64, os\n",
        f"os.environ.update(dict([base64.b64decode('{base64.b64encode(notebook_line.encode()).decode()}')"
        ".decode().strip().split('=', 1)]))\n"]}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    truss = {
        "config.yaml": (
            "model_name: tiny-llm\npython_version: py311\n"
            "secrets:\n"
            f"  hf_access_token: \"{s['huggingface.user-token']}\"\n"
            "environment_variables:\n"
            f"  OPENAI_API_KEY: \"{s['openai.project-key']}\"\n"
            f"  DATABASE_URL: postgresql://app:{s['url-credentials.database']}@db.acme.internal:5432/features\n"),
        "model/__init__.py": "",
        "model/model.py": (
            f'BASETEN_API_KEY = "{s["baseten.api-key"]}"\n'
            f'DB_PASSWORD = "{s["DB_PASSWORD"]}"\n\n\n'
            "class Model:\n"
            "    def __init__(self, **kwargs):\n"
            "        self._secrets = kwargs[\"secrets\"]\n\n"
            "    def predict(self, request):\n"
            "        return {\"ok\": True}\n"),
        "notebooks/explore.ipynb": json.dumps(notebook, indent=1) + "\n",
        ".env": (f"AWS_ACCESS_KEY_ID={s['aws.access-key-id']}\n"
                 f"AWS_SECRET_ACCESS_KEY={s['aws.secret-access-key']}\nAWS_REGION=us-east-1\n"),
    }
    repo = Repo(root)
    repo.commit("initial", {"README.md": "# tiny-llm\n"})
    repo.commit("add a training script", {"scripts/train.py": leak(s["history-only huggingface.user-token"])
                                          + f'OPENAI_API_KEY = "{s["history-only openai.project-key"]}"\n'})
    repo.commit("remove the keys again", {"scripts/train.py": None})
    repo.commit("the truss", truss)
    repo.write("scripts/deploy.py", f'BASETEN_API_KEY = "{s["staged baseten.api-key"]}"\n')
    repo.git("add", "scripts/deploy.py")
    return repo, secrets


# -- running and watching ----------------------------------------------------------------------------

def snapshot(root: Path, skip: Path) -> dict[Path, str]:
    """{file: sha256} of every file under root, except the fixture repository's object store."""
    seen = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip:
            dirnames.remove("objects")
        for name in filenames:
            path = Path(dirpath) / name
            if path.is_file() and not path.is_symlink():
                seen[path] = hashlib.sha256(path.read_bytes()).hexdigest()
    return seen


class Harness:
    """Runs trussguard in subprocesses and collects (where, bytes) for every stream and written file."""

    def __init__(self, tmp_path: Path, repo: Repo):
        self.tmp = tmp_path
        self.repo = repo
        self.out = tmp_path / "out"
        self.out.mkdir()
        home, tmpdir = tmp_path / "home", tmp_path / "tmp"
        home.mkdir()
        tmpdir.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_", "TG_", "TRUSSGUARD_"))}
        env.update(HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"), TMPDIR=str(tmpdir),
                   TRUSSGUARD_CACHE_DIR=str(tmp_path / "rule-cache"), GIT_CONFIG_NOSYSTEM="1", NO_COLOR="1")
        self.env = env
        self.blobs: list[tuple[str, bytes]] = []
        self.ran: list[str] = []
        self._state = snapshot(tmp_path, repo.root / ".git")

    def run(self, *args: str, codes=(0, 1), env: dict[str, str] | None = None, module: str = "trussguard.cli",
            label: str | None = None) -> subprocess.CompletedProcess:
        label = (label or "trussguard " + " ".join(args)).replace(f"{self.tmp}/", "")
        argv = [str(Path(sys.executable).parent / "trussguard"), *args] if module == "trussguard.cli" \
            else [sys.executable, "-m", module]
        proc = subprocess.run(argv, cwd=self.repo.root, env=env or self.env, capture_output=True,
                              stdin=subprocess.DEVNULL, timeout=120)
        assert proc.returncode in codes, f"{label}: exit {proc.returncode}\n{proc.stderr.decode(errors='replace')}"
        assert b"Traceback" not in proc.stderr, f"{label}:\n{proc.stderr.decode(errors='replace')}"
        self.ran.append(label)
        self.blobs += [(f"{label} [stdout]", proc.stdout), (f"{label} [stderr]", proc.stderr)]
        state = snapshot(self.tmp, self.repo.root / ".git")
        for path, digest in state.items():
            if self._state.get(path) != digest:
                self.blobs.append((f"{label} [wrote {path.relative_to(self.tmp)}]", path.read_bytes()))
        self._state = state
        return proc


def leaks(blobs: list[tuple[str, bytes]], secrets: dict[str, str]) -> list[str]:
    """Every (where, which secret) where a planted value or a 12-character slice of one appears."""
    slices: dict[bytes, str] = {}
    for label, value in secrets.items():
        raw = value.encode()
        for i in range(len(raw) - SLICE + 1):
            slices.setdefault(raw[i:i + SLICE], label)
    found = []
    for where, data in blobs:
        hits = {}
        for i in range(len(data) - SLICE + 1):
            label = slices.get(data[i:i + SLICE])
            if label is not None and label not in hits:
                hits[label] = i
        for label, i in hits.items():
            whole = secrets[label].encode() in data
            context = (data[max(0, i - 40):i] + b"<12 SECRET BYTES>" + data[i + SLICE:i + SLICE + 40]).decode(
                errors="replace")
            found.append(f"{where}: {'the full value' if whole else 'a 12-character slice'} of {label} "
                         f"at byte {i}: ...{context!r}...")
    return found


def advisory_ids(proc: subprocess.CompletedProcess) -> list[str]:
    report = json.loads(proc.stdout)
    ids = {f.get("advisory_id") for f in report["findings"]} | {a.get("id") for a in report.get("advisories", [])}
    return sorted(i for i in ids if i)


def run_gha(h: Harness, command: str, sarif: str) -> None:
    gh = h.tmp / f"gh-{command}"
    gh.mkdir()
    (gh / "event.json").write_text("{}")
    (gh / "output").touch()
    (gh / "summary").touch()
    env = dict(h.env, GITHUB_EVENT_NAME="schedule", GITHUB_EVENT_PATH=str(gh / "event.json"),
               GITHUB_OUTPUT=str(gh / "output"), GITHUB_STEP_SUMMARY=str(gh / "summary"),
               GITHUB_WORKSPACE=str(h.repo.root), RUNNER_TEMP=str(gh), TG_COMMAND=command, TG_PATH=".",
               TG_FAIL_ON="", TG_BASELINE="", TG_CONFIG="", TG_SARIF=sarif)
    h.run(env=env, module="trussguard.gha", label=f"python -m trussguard.gha (schedule, command={command}, "
                                                  f"upload-sarif={sarif})")


# -- the tests ---------------------------------------------------------------------------------------

def test_no_command_or_format_writes_a_planted_secret_anywhere(tmp_path: Path, fake_token):
    repo, secrets = plant(tmp_path / "repo", fake_token)
    h = Harness(tmp_path, repo)
    o = h.out

    # scan: every format to stdout and to a file, with advisories
    for fmt in FORMATS:
        h.run("scan", ".", "--format", fmt)
        h.run("scan", ".", "--format", fmt, "-o", str(o / f"scan.{fmt}"), "--advisories", str(o / f"scan-{fmt}.md"))
    json_scan = h.run("scan", ".", "--format", "json", "-j", "1")
    found_rules = {f["rule_id"] for f in json.loads(json_scan.stdout)["findings"]}
    assert PLANTED_RULES <= found_rules, f"planted but not found: {PLANTED_RULES - found_rules}"
    h.run("scan", ".", "--format", "json", "--no-decode", "--no-detect-secrets", "--no-cache")
    h.run("scan", "--staged")
    h.run("scan", "--staged", "--format", "json", "-o", str(o / "staged.json"), "--advisories", str(o / "staged.md"))
    h.run("scan", "model/model.py", "config.yaml", ".env", "--format", "sarif")

    # audit: every format to stdout and to a file with html, evidence and advisories; caches
    for fmt in FORMATS:
        h.run("audit", ".", "--format", fmt, "--no-cache")
        h.run("audit", ".", "--format", fmt, "--no-cache", "-o", str(o / f"audit.{fmt}"),
              "--advisories", str(o / f"audit-{fmt}.md"), "--html", str(o / f"audit-{fmt}.html"),
              "--evidence", str(o / f"evidence-{fmt}.json"))
    for run in ("cold", "warm"):
        h.run("audit", ".", "--cache", str(o / "blob-cache"), "--format", "json", "-o", str(o / f"cache-{run}.json"),
              "--html", str(o / f"cache-{run}.html"), label=f"trussguard audit --cache DIR ({run})")
    for run in ("cold", "warm"):  # the default per-blob cache, in the user cache folder (inside tmp_path)
        h.run("audit", ".", "--format", "sarif", label=f"trussguard audit, default cache ({run})")
    h.run("audit", ".", "--include-unreachable", "--no-cache", "--format", "markdown")
    h.run("audit", ".", "--range", "HEAD~2..HEAD", "--no-cache", "--format", "github")

    # baselines and rotation
    h.run("baseline", "create", ".", "--baseline", str(o / "baseline.json"), "--by", "tester")
    h.run("baseline", "create", ".", "--history", "--baseline", str(o / "baseline-history.json"), "--by", "tester")
    h.run("baseline", "update", ".", "--baseline", str(o / "baseline.json"), "--by", "tester")
    h.run("baseline", "update", ".", "--history", "--baseline", str(o / "baseline-history.json"), "--by", "tester")
    ids = advisory_ids(json_scan)
    assert ids, "the scan found no advisory to mark rotated"
    for advisory in ids:
        h.run("rotated", advisory, "--by", "tester", "--reference", "OPS-1", "--baseline", str(o / "baseline.json"))
    h.run("rotated", ids[0], "--by", "tester", label="trussguard rotated ADVISORY (default baseline file)")
    h.run("scan", ".", "--baseline", str(o / "baseline.json"), "--format", "json", "--advisories",
          str(o / "rotated.md"))
    h.run("audit", ".", "--baseline", str(o / "baseline-history.json"), "--no-cache", "--format", "markdown")

    # the other commands and the errors
    h.run("explain", "TG101", codes=(0,))
    h.run("explain", "huggingface.user-token", codes=(0,))
    pack = o / "acme.yaml"  # a one-rule pack: the built-in examples run once per suite, in test_rules.py
    pack.write_text(json.dumps({"schema_version": 1, "provider": "acme", "rules": [acme_rule()]}), "utf-8")
    h.run("rules", "check", str(pack), "--seed", "1", codes=(0,))
    h.run("rules", "list", "--format", "json", codes=(0,))
    h.run("audit", ".", "--range", "nope..HEAD", "--no-cache", codes=(2,))
    h.run("audit", ".", "--range", "not a range", "--no-cache", codes=(2,))
    h.run("scan", "does-not-exist", codes=(2,))
    h.run("rotated", "adv-0000", "--by", "tester", "--baseline", str(o / "baseline.json"), codes=(1, 2))

    # the GitHub Action, on a schedule (the whole history) and as a tree scan
    run_gha(h, "audit", "true")
    run_gha(h, "scan", "true")

    fixture = [(str(p), p.read_bytes()) for p in (repo.root / "config.yaml", repo.root / ".env")]
    assert len(leaks(fixture, secrets)) == 5  # the detector itself sees planted values
    found = leaks(h.blobs, secrets)
    assert not found, f"{len(found)} leak(s) over {len(h.ran)} commands:\n" + "\n".join(found)
    written = " ".join(where for where, _ in h.blobs)
    for expected in ("out/blob-cache/", "rule-cache/audit/", "out/audit-json.html", "out/evidence-text.json",
                     "out/scan-sarif.md", "out/baseline.json", "repo/.trussguard-baseline.json", "gh-scan/trussguard-"):
        assert f"[wrote {expected}" in written, f"nothing written to {expected}: the test lost track of a file"


def test_show_secrets_is_the_only_exception(tmp_path: Path, fake_token):
    repo, secrets = plant(tmp_path / "repo", fake_token)
    h = Harness(tmp_path, repo)
    cache = h.out / "blob-cache"
    shown = h.run("scan", ".", "--show-secrets", "--format", "json").stdout
    at_head = [label for label in secrets if not label.startswith(("history-only", "staged"))]
    missing = [label for label in at_head if secrets[label].encode() not in shown]
    assert not missing, f"scan --show-secrets --format json did not print {missing}"
    assert leaks([("scan --show-secrets", shown)], secrets)  # the checker the other test relies on sees them
    h.run("audit", ".", "--cache", str(cache), "-o", str(h.out / "cold.txt"))  # fills the cache
    for run in ("warm", "again"):  # shown from a fresh read of the blobs, never from (or into) the cache
        proc = h.run("audit", ".", "--show-secrets", "--cache", str(cache), "--format", "json",
                     label=f"trussguard audit --show-secrets --cache DIR ({run})")
        assert secrets["history-only huggingface.user-token"].encode() in proc.stdout, run
    stored = [(f"blob cache file {p.relative_to(tmp_path)}", p.read_bytes()) for p in cache.rglob("*") if p.is_file()]
    assert stored, "audit --cache wrote no cache file"
    found = leaks(stored, secrets)
    assert not found, "\n".join(found)
