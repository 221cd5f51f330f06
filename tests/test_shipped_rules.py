"""The built-in rules' shipped parse (``rules/parsed-rules.json``): used only when it is the parse of the
rule files beside it, so a cold start skips parsing, and never changes a result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trussguard.engine import loader


def _copy_rules(tmp_path: Path, monkeypatch) -> Path:
    here = tmp_path / "rules"
    shutil.copytree(loader.builtin_rules_dir(), here)
    monkeypatch.setattr(loader, "builtin_rules_dir", lambda: here)
    return here


def _no_parsing(monkeypatch):
    def refuse(files):
        raise AssertionError("the rule files were parsed")
    monkeypatch.setattr(loader, "parse_files", refuse)


def test_a_cold_start_reads_the_shipped_parse_and_gets_the_parsed_rules(monkeypatch):
    parsed, problems = loader.parse_files(loader.rule_files([loader.builtin_rules_dir()]))
    assert problems == []
    _no_parsing(monkeypatch)
    shipped = loader.load_rules(cache_dir=None)
    assert [r.to_dict() for r in shipped.rules] == [r.to_dict() for r in parsed]


@pytest.mark.parametrize("damage", ["edit a rule file", "edit the parse", "truncate the parse", "drop a rule"])
def test_a_stale_or_damaged_shipped_parse_is_not_used(tmp_path, monkeypatch, damage):
    here = _copy_rules(tmp_path, monkeypatch)
    shipped = here / loader.SHIPPED
    if damage == "edit a rule file":
        path = here / "openai.yaml"
        path.write_text(path.read_text("utf-8").replace("severity: high", "severity: critical", 1), "utf-8")
    elif damage == "edit the parse":
        shipped.write_text(shipped.read_text("utf-8").replace('"severity":"high"', '"severity":"low"', 1), "utf-8")
    elif damage == "truncate the parse":
        shipped.write_bytes(shipped.read_bytes()[:1000])
    else:
        doc = json.loads(shipped.read_text("utf-8"))
        doc["rules"] = doc["rules"][1:]
        doc["count"] -= 1
        doc["sha256"] = loader._rules_sha256(doc["rules"])
        shipped.write_text(json.dumps(doc), "utf-8")
    expected, problems = loader.parse_files(loader.rule_files([here]))
    assert problems == []
    got = loader.load_rules(cache_dir=None)
    assert [r.to_dict() for r in got.rules] == [r.to_dict() for r in expected]
    assert got.notes == ()  # not the user's cache: nothing to report, the files were simply parsed


def test_custom_rule_folders_are_parsed_with_the_builtin_ones(tmp_path):
    custom = tmp_path / "custom"
    custom.mkdir()
    from conftest import acme_rule
    import yaml
    (custom / "acme.yaml").write_text(yaml.safe_dump({"schema_version": 1, "provider": "acme",
                                                      "rules": [acme_rule()]}), "utf-8")
    got = loader.load_rules([custom], cache_dir=None)
    assert "acme.api-key" in got.by_id() and "openai.project-key" in got.by_id()
