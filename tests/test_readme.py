"""README.md for a newcomer (issue 15): the two commands first, copy-paste setups that are the tested
ones (docs/CI.md, run by tests/test_ci_setups.py), and links that lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text("utf-8")
CI = (ROOT / "docs" / "CI.md").read_text("utf-8")


def _block(text: str, marker: str) -> str:
    m = re.search(r"<!-- " + re.escape(marker) + r" -->\n```\w*\n(.*?)\n```", text, re.S)
    assert m, marker
    return m.group(1)


def test_the_readme_opens_with_the_two_commands():
    blocks = re.findall(r"```bash\n(.*?)\n```", README, re.S)
    assert "trussguard demo" in blocks[0] and "pytest" in blocks[1]
    assert README.index(blocks[1]) < README.index("## What it does")


@pytest.mark.parametrize("name", ["pre-commit", "gitlab-ci", "one-off"])
def test_readme_setups_are_the_tested_ones(name):
    assert _block(README, f"readme-setup: {name}") == _block(CI, f"ci-setup: {name}")


def test_readme_workflow_is_the_tested_gate_job():
    readme = yaml.safe_load(_block(README, "readme-setup: github-actions"))
    tested = yaml.safe_load(_block(CI, "ci-setup: github-actions"))
    assert readme["jobs"] == {"gate": tested["jobs"]["gate"]}
    triggers = readme[True]  # YAML 1.1 reads the key `on` as True
    assert "pull_request" in triggers and "push" in triggers and readme["permissions"] == {}


def test_setups_are_within_the_first_two_screens():
    lines = README.splitlines()
    last = max(i for i, line in enumerate(lines) if "readme-setup: github-actions" in line)
    assert last < 100, last  # pre-commit and the pull-request gate, copied from the first two screens


def test_relative_links_lead_to_files_that_exist():
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = re.sub(r"```.*?```|``.*?``|`[^`\n]*`", "", doc.read_text("utf-8"), flags=re.S)  # code is not links
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            assert (doc.parent / target).exists(), f"{doc.relative_to(ROOT)} links to missing {target}"
