"""``--format sarif``: the structure code scanning relies on, and Microsoft's SARIF Multitool verdict.

The Multitool (npm ``@microsoft/sarif-multitool``) is installed once per machine into the user
cache; where node/npm are missing or the install fails, only that test is skipped, saying why.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_audit import Repo, leak

from trussguard.cli import main

HF, OPENAI = "huggingface.user-token", "openai.project-key"
MULTITOOL = "@microsoft/sarif-multitool@5.7.0"


@pytest.fixture
def tree_sarif(truss_tree, fake_token, tmp_path: Path):
    key = fake_token(OPENAI)
    root = truss_tree({"model/model.py": f'OPENAI_API_KEY = "{key}"\n', "scripts/my db.py": f'DB = "{key}"\n',
                       "config.yaml": f"model_name: x\nsecrets:\n  hf_access_token: {fake_token(HF)}\n"})
    out = tmp_path / "tree.sarif"
    assert main(["scan", str(root), "--format", "sarif", "-o", str(out)]) == 1
    return out, key


@pytest.fixture
def history_sarif(tmp_path: Path, fake_token):
    repo = Repo(tmp_path / "repo")
    token = fake_token(HF)
    added = repo.commit("key", {"app.py": leak(token)})
    repo.commit("clean", {"app.py": "import os\n"})
    out = tmp_path / "history.sarif"
    assert main(["audit", str(repo.root), "--no-cache", "--format", "sarif", "-o", str(out)]) == 1
    return out, token, added


def test_tree_sarif_structure(tree_sarif):
    path, key = tree_sarif
    raw = path.read_text("utf-8")
    assert key not in raw
    doc = json.loads(raw)
    assert doc["version"] == "2.1.0" and len(doc["runs"]) == 1
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({r["ruleId"] for r in run["results"]})
    for result in run["results"]:
        rule = rules[result["ruleIndex"]]
        assert rule["id"] == result["ruleId"]
        assert rule["help"]["text"] and rule["fullDescription"]["text"].endswith(".")
        assert float(result["properties"]["security-severity"]) > 0
        assert result["partialFingerprints"]["trussguardFindingId/v1"].startswith("tg-")
        assert result["message"]["text"].endswith(".")
        location = result["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith(("/", "file:"))
        assert location["region"]["startLine"] >= 1
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert "scripts/my%20db.py" in uris and "model/model.py" in uris


def test_history_sarif_carries_the_commit(history_sarif):
    path, token, added = history_sarif
    raw = path.read_text("utf-8")
    assert token not in raw
    (result,) = [r for r in json.loads(raw)["runs"][0]["results"] if r["ruleId"] == HF]
    assert result["properties"]["commit"] == added


def _multitool() -> Path | None:
    """The Multitool binary, installed once into the user cache; None (with the reason printed) if not possible."""
    if not shutil.which("npm"):
        return None
    home = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "trussguard-tests" / "sarif-multitool"
    found = sorted(home.glob("node_modules/@microsoft/sarif-multitool-*/Sarif.Multitool"))
    if not found:
        home.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(home), MULTITOOL],
                              capture_output=True, text=True, timeout=600)
        found = sorted(home.glob("node_modules/@microsoft/sarif-multitool-*/Sarif.Multitool"))
        if proc.returncode != 0 or not found:
            return None
    found[0].chmod(0o755)  # its postinstall (chmod) may not have been allowed to run
    return found[0]


def test_sarif_passes_the_multitool(tree_sarif, history_sarif, tmp_path: Path):
    tool = _multitool()
    if tool is None:
        pytest.skip("SARIF Multitool unavailable (needs node/npm and the npm registry)")
    for sarif in (tree_sarif[0], history_sarif[0]):
        out = tmp_path / f"{sarif.stem}.validation.sarif"
        proc = subprocess.run([str(tool), "validate", str(sarif), "--output", str(out), "--level", "Error;Warning",
                               "--rule-kind", "Gh;Sarif"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        problems = json.loads(out.read_text("utf-8"))["runs"][0].get("results", [])
        assert problems == [], [(p["ruleId"], p["message"]) for p in problems]


def test_multitool_catches_a_broken_file(tree_sarif, tmp_path: Path):
    """The validation above can fail: a rule without help is a GitHub ingestion error."""
    tool = _multitool()
    if tool is None:
        pytest.skip("SARIF Multitool unavailable (needs node/npm and the npm registry)")
    doc = json.loads(tree_sarif[0].read_text("utf-8"))
    del doc["runs"][0]["tool"]["driver"]["rules"][0]["help"]
    broken, out = tmp_path / "broken.sarif", tmp_path / "broken.validation.sarif"
    broken.write_text(json.dumps(doc), "utf-8")
    subprocess.run([str(tool), "validate", str(broken), "--output", str(out), "--level", "Error;Warning",
                    "--rule-kind", "Gh;Sarif"], capture_output=True, text=True, timeout=300)
    assert "GH2012" in {p["ruleId"] for p in json.loads(out.read_text("utf-8"))["runs"][0]["results"]}
