"""Every report format against a golden file in tests/golden/, from one small deterministic fixture.

The fixture is a git repository holding a Truss with a few fake leaks. Its values are drawn from the
rules' own token templates by a seeded RNG at test time, so the redacted forms and hashes are stable
while no value is ever written into this file or a golden one (a test below checks that no golden
file holds a planted value, or even 12 characters of one). Volatile parts are normalised before the
comparison: the temporary root, the tool version, durations, the wall-clock time of the HTML page
and of the evidence document (and the evidence's own checksum, which covers them), and the rule-set
digest and the rule and check counts (adding a rule is not a report change).

Regenerate after an intended report change, then review the diff:

    TRUSSGUARD_UPDATE_GOLDEN=1 python -m pytest -q tests/test_golden_reports.py
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from pathlib import Path

import pytest
from test_audit import Repo

from trussguard import __version__
from trussguard.cli import main
from trussguard.engine import tokens

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("TRUSSGUARD_UPDATE_GOLDEN") == "1"
SEED = 20261206
HF, OPENAI, GITHUB = "huggingface.user-token", "openai.project-key", "github.pat"

CONFIG = """\
model_name: golden-llm
python_version: py311
resources:
  accelerator: A10G
secrets:
  hf_access_token: {hf}
"""

MODEL = '''\
OPENAI_API_KEY = "{openai}"


class Model:
    def __init__(self, **kwargs):
        self._secrets = kwargs["secrets"]

    def load(self):
        self.wandb = self._secrets["wandb_api_key"]

    def predict(self, request):
        return {{"ok": True}}
'''

# (name of the golden file, trussguard arguments after the repository path, the file the report goes to)
RUNS = [
    ("scan.txt", ["scan", "{root}", "--format", "text", "-o", "{out}"]),
    ("scan.json", ["scan", "{root}", "--format", "json", "-o", "{out}"]),
    ("scan.sarif", ["scan", "{root}", "--format", "sarif", "-o", "{out}"]),
    ("scan.github.txt", ["scan", "{root}", "--format", "github", "-o", "{out}"]),
    ("scan.md", ["scan", "{root}", "--format", "markdown", "-o", "{out}"]),
    ("scan-advisories.md", ["scan", "{root}", "-o", "{tmp}/ignored.txt", "--advisories", "{out}"]),
    ("audit.txt", ["audit", "{root}", "--format", "text", "-o", "{out}"]),
    ("audit.json", ["audit", "{root}", "--format", "json", "-o", "{out}"]),
    ("audit.html", ["audit", "{root}", "-o", "{tmp}/ignored.txt", "--html", "{out}"]),
    ("audit-evidence.json", ["audit", "{root}", "-o", "{tmp}/ignored.txt", "--evidence", "{out}"]),
]


def planted_values(ruleset) -> dict[str, str]:
    rng = random.Random(SEED)
    by_id = ruleset.by_id()
    return {rid: tokens.expand_template(by_id[rid].tokens["token"], rng) for rid in (HF, OPENAI, GITHUB)}


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory, ruleset) -> tuple[Path, dict[str, str]]:
    """A repository whose history and tree are the same on every run: fixed authors and dates."""
    values = planted_values(ruleset)
    repo = Repo(tmp_path_factory.mktemp("golden") / "repo")
    repo.commit("initial", {"README.md": "# golden\n"})
    repo.commit("debug script", {"scripts/debug.sh": f"export GITHUB_TOKEN={values[GITHUB]}\n"})
    repo.commit("remove debug script", {"scripts/debug.sh": None})
    repo.commit("add the model", {"config.yaml": CONFIG.format(hf=values[HF]), "model/__init__.py": "",
                                  "model/model.py": MODEL.format(openai=values[OPENAI])})
    return repo.root, values


def normalise(name: str, text: str, root: Path, values: dict[str, str]) -> str:
    """The report with what changes from run to run or release to release replaced by placeholders.

    A planted value's full SHA-256 becomes ``<sha256 of the RULE value>``: it is exact (the text must
    hold that very hash) and keeps the golden files clean under trussguard's own scan, whose generic
    rule reads a 64-hex string under a key named ``secret_sha256`` as a secret."""
    text = text.replace(str(root), "<ROOT>").replace(root.as_uri(), "file://<ROOT>")
    for rid, value in values.items():
        text = text.replace(hashlib.sha256(value.encode("utf-8")).hexdigest(), f"<sha256 of the {rid} value>")
    if name.endswith(".json") or name.endswith(".sarif"):
        doc = json.loads(text)
        _normalise_json(doc)
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    text = text.replace(f"trussguard {__version__}", "trussguard <VERSION>")
    text = re.sub(r"\bin \d+\.\d+ ?s\b", "in <DURATION>", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", "<NOW> UTC", text)
    return text


_VOLATILE = {"duration_seconds": "<DURATION>", "started_at": "<NOW>", "rules_digest": "<DIGEST>",
             "rules": "<RULES>", "checks": "<CHECKS>", "version": "<VERSION>", "semanticVersion": "<VERSION>"}

_RUN_CONTEXT = {"by": "<WHO>", "ci_run_url": "<CI RUN>", "command": "<COMMAND>"}  # vary by machine and run


def _normalise_json(node) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _VOLATILE and isinstance(value, (int, float, str)) and not isinstance(value, bool) \
                    and not (key == "version" and value == "2.1.0"):  # SARIF's own version stays
                node[key] = _VOLATILE[key]
            elif key in _RUN_CONTEXT and "started_at" in node:  # who ran the evidence's audit, where, how
                node[key] = _RUN_CONTEXT[key]
            elif key == "sha256" and isinstance(value, str) and "leaks" in node:  # the evidence checksum
                node[key] = "<SHA256>"
            else:
                _normalise_json(value)
    elif isinstance(node, list):
        for item in node:
            _normalise_json(item)


@pytest.fixture(scope="module")
def reports(fixture_repo, tmp_path_factory) -> dict[str, str]:
    root, values = fixture_repo
    tmp = tmp_path_factory.mktemp("golden-out")
    out: dict[str, str] = {}
    for name, args in RUNS:
        target = tmp / name
        argv = [a.format(root=root, out=target, tmp=tmp) for a in args] + ["--no-cache", "-j", "1"]
        if args[0] == "audit":
            argv.append("-q")
        assert main(argv) == 1, name  # the fixture leaks: every run fails the gate
        out[name] = normalise(name, target.read_text("utf-8"), root, values)
    return out


@pytest.mark.parametrize("name", [name for name, _ in RUNS])
def test_report_matches_golden(reports, name):
    golden = GOLDEN / name
    if UPDATE:
        golden.parent.mkdir(exist_ok=True)
        golden.write_text(reports[name], "utf-8")
    assert golden.is_file(), f"{golden} missing: run TRUSSGUARD_UPDATE_GOLDEN=1 python -m pytest -q {__file__}"
    expected = golden.read_text("utf-8")
    assert reports[name] == expected, (
        f"{name} differs from tests/golden/{name}; if the change is intended, regenerate with "
        "TRUSSGUARD_UPDATE_GOLDEN=1 python -m pytest -q tests/test_golden_reports.py and review the diff")


def test_golden_files_hold_no_planted_value(fixture_repo):
    _, values = fixture_repo
    files = sorted(GOLDEN.glob("*"))
    assert {p.name for p in files} == {name for name, _ in RUNS}, "stale or missing golden files"
    for path in files:
        text = path.read_text("utf-8")
        for rid, value in values.items():
            slices = {value[i:i + 12] for i in range(len(value) - 11)}
            assert not any(s in text for s in slices), f"{path.name} holds part of the planted {rid} value"
