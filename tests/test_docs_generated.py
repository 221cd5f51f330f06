"""docs/rules.md and docs/checks.md are generated from the rule files and the check registry and must
be committed up to date; they never show a rule's examples (templates that become fake keys)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trussguard import docs_gen
from trussguard.policy.registry import iter_checks

ROOT = Path(__file__).resolve().parent.parent


def test_generated_docs_are_current():
    pages = docs_gen.generate()
    stale = [rel for rel, text in pages.items()
             if not (ROOT / rel).is_file() or (ROOT / rel).read_text("utf-8") != text]
    assert not stale, f"{', '.join(stale)} out of date: run `{docs_gen.REGENERATE}` and commit the result"


def test_every_rule_and_check_is_documented(ruleset):
    pages = docs_gen.generate()
    for rule in ruleset.rules:
        assert f"\n### {rule.id}\n" in pages["docs/rules.md"], rule.id
        assert rule.rotation.revoke_url in pages["docs/rules.md"], rule.id
    for check in iter_checks():
        assert f"\n## {check.code} {check.name}\n" in pages["docs/checks.md"], check.code
        assert check.summary.splitlines()[0] in pages["docs/checks.md"], check.code


def test_docs_hold_no_example_and_no_template_reference(ruleset):
    text = docs_gen.generate()["docs/rules.md"]
    assert "{{" not in text  # an example's {{token}} reference would mean examples leaked in
    for rule in ruleset.rules:
        for example in rule.examples:
            if len(example.text) > 20:
                assert example.text not in text, rule.id


def test_describe_template():
    assert docs_gen.describe_template("hf_{34:A-Za-z}") == "`hf_` then 34 of `A-Za-z`"
    assert docs_gen.describe_template("{8-12:0-9a-f}.x") == "8 to 12 of `0-9a-f` then `.x`"


def test_check_mode_reports_stale_page(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "trussguard.docs_gen", "--check", "--root", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and docs_gen.REGENERATE in proc.stderr
    assert docs_gen.main(["--write", "--root", str(tmp_path)]) == 0
    assert docs_gen.main(["--check", "--root", str(tmp_path)]) == 0


def test_readme_lists_every_provider(ruleset):
    readme = (ROOT / "README.md").read_text("utf-8")
    block = readme[readme.index(docs_gen.PROVIDERS_START):readme.index(docs_gen.PROVIDERS_END)]
    providers = {r.provider for r in ruleset.rules}
    assert f"**Every provider ({len(providers)}):**" in block
    for provider in providers:
        assert f"[{provider}](docs/rules.md#" in block, provider


def test_the_provider_list_needs_its_markers(ruleset):
    with pytest.raises(ValueError, match="markers"):
        docs_gen.with_provider_list("# A README without the markers\n", list(ruleset.rules))
