"""The configuration file and the baseline through the command line (flags over the file)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from conftest import random_password
from trussguard.cli import main

HF = "huggingface.user-token"
GENERIC = "generic.secret-assignment"


def findings(root: Path, tmp_path: Path, *args: str) -> tuple[int, list[tuple[str, str]]]:
    out = tmp_path / "r.json"
    code = main(["scan", str(root), "--format", "json", "-o", str(out), "--no-cache", *args])
    return code, sorted((f["path"], f["rule_id"]) for f in json.loads(out.read_text())["findings"])


def test_config_file_excludes_disables_allows_and_sets_fail_on(truss_tree, fake_token, tmp_path: Path):
    password = random_password(random.Random(11), 20)
    root = truss_tree({"scripts/a.py": f'HF_TOKEN = "{fake_token(HF)}"\n', "tools/b.py": f'HF_TOKEN = "{fake_token(HF)}"\n',
                       "tools/c.py": f'DB_PASSWORD = "{password}"\n', "tools/d.py": f'API_TOKEN = "{password}x9"\n'})
    assert findings(root, tmp_path)[1] == [("scripts/a.py", HF), ("tools/b.py", HF), ("tools/c.py", GENERIC),
                                           ("tools/d.py", GENERIC)]
    (root / ".trussguard.toml").write_text(
        f'exclude = ["scripts/"]\nallow-values = ["{password}"]\nfail-on = "critical"\n')
    code, found = findings(root, tmp_path)
    assert found == [("tools/b.py", HF), ("tools/d.py", GENERIC)] and code == 0  # high < critical
    assert findings(root, tmp_path, "--fail-on", "high")[0] == 1  # the flag wins over the file
    (root / ".trussguard.toml").write_text('disable = ["generic.*"]\n')
    assert findings(root, tmp_path)[1] == [("scripts/a.py", HF), ("tools/b.py", HF)]


def test_config_errors_exit_2_with_a_suggestion(truss_tree, capsys):
    root = truss_tree()
    (root / ".trussguard.toml").write_text('exlude = ["x"]\n')
    assert main(["scan", str(root)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did you mean 'exclude'?" in err


def test_baseline_create_apply_update(truss_tree, fake_token, tmp_path: Path, monkeypatch):
    root = truss_tree({"scripts/a.py": f'HF_TOKEN = "{fake_token(HF)}"\n'})
    monkeypatch.chdir(root)
    assert main(["baseline", "create", ".", "--by", "alice"]) == 0
    baseline = root / ".trussguard-baseline.json"
    assert json.loads(baseline.read_text())["entries"][0]["added_by"] == "alice"
    assert findings(root, tmp_path, "--baseline", str(baseline)) == (0, [])  # the baseline file is no finding
    (root / "scripts/a.py").write_text("\n\n# moved down\n" + (root / "scripts/a.py").read_text())
    assert findings(root, tmp_path, "--baseline", str(baseline)) == (0, [])  # same fingerprint
    (root / "scripts/new.py").write_text(f'HF_TOKEN = "{fake_token(HF)}"\n')
    assert findings(root, tmp_path, "--baseline", str(baseline)) == (1, [("scripts/new.py", HF)])
    (root / "scripts/a.py").unlink()
    out = tmp_path / "r.json"
    main(["scan", ".", "--format", "json", "-o", str(out), "--baseline", str(baseline), "--no-cache"])
    assert any("1 stale entry" in n for n in json.loads(out.read_text())["stats"]["notes"])
    assert main(["baseline", "update", ".", "--by", "bob"]) == 0
    entries = json.loads(baseline.read_text())["entries"]
    assert [(e["path"], e["added_by"]) for e in entries] == [("scripts/new.py", "bob")]


def test_import_a_real_detect_secrets_baseline(truss_tree, tmp_path: Path, monkeypatch):
    password = random_password(random.Random(5), 22)
    root = truss_tree({"scripts/db.py": f'password = "{password}"\n'})
    monkeypatch.chdir(root)
    assert findings(root, tmp_path)[1] == [("scripts/db.py", GENERIC)]
    scanned = subprocess.run([sys.executable, "-m", "detect_secrets", "scan", "scripts/db.py"], capture_output=True,
                             text=True, check=True).stdout
    (root / ".secrets.baseline").write_text(scanned)
    assert main(["baseline", "import-detect-secrets", ".secrets.baseline", "--by", "carol"]) == 0
    assert findings(root, tmp_path, "--baseline", ".trussguard-baseline.json")[1] == []
