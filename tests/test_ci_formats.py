"""``--format github`` (workflow-command annotations) and ``--format markdown`` (the job summary)."""

from __future__ import annotations

import re
from pathlib import Path

from trussguard.cli import main
from trussguard.report.github import escape_data, escape_property

OPENAI = "openai.project-key"
COMMAND = re.compile(r"^::(error|warning|notice) file=[^,:]+,line=\d+(,col=\d+)?,title=[^:]+::.+$")


def test_github_annotations(truss_tree, fake_token, tmp_path: Path):
    key = fake_token(OPENAI)
    root = truss_tree({"scripts/app.py": f'OPENAI_API_KEY = "{key}"\n', "odd, name: here.py": f'K = "{key}"\n',
                       "evil\n::error::pwned.py": f'K = "{key}"\n'})
    out = tmp_path / "annotations.txt"
    assert main(["scan", str(root), "--format", "github", "-o", str(out)]) == 1
    lines = out.read_text("utf-8").splitlines()
    assert key not in out.read_text("utf-8")
    assert len(lines) == 3 and all(COMMAND.match(line) for line in lines), lines
    assert any(line.startswith("::error file=scripts/app.py,line=1,col=") for line in lines)
    assert any("file=odd%2C name%3A here.py," in line for line in lines)
    assert any("file=evil%0A%3A%3Aerror%3A%3Apwned.py," in line for line in lines)  # no second command


def test_workflow_command_escaping():
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c") == "a%3Ab%2Cc"


def test_markdown_job_summary(truss_tree, fake_token, tmp_path: Path):
    key = fake_token(OPENAI)
    root = truss_tree({"scripts/app.py": f'OPENAI_API_KEY = "{key}"\n', "a|b.py": f'K = "{key}"\n'})
    out = tmp_path / "summary.md"
    assert main(["scan", str(root), "--format", "markdown", "-o", str(out)]) == 1
    text = out.read_text("utf-8")
    assert key not in text
    assert text.startswith("## trussguard scan: 2 finding(s)")
    assert "| severity | rule | where | value | fix |" in text and "`a\\|b.py:1`" in text
    assert "### What to do" in text and "1. Revoke or rotate it at the provider" in text
    clean = tmp_path / "clean.md"
    assert main(["scan", str(truss_tree()), "--format", "markdown", "-o", str(clean)]) == 0
    assert clean.read_text("utf-8").startswith("## trussguard scan: no secrets found")
