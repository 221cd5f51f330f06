"""Every Truss policy check: a bad and a good fixture Truss, exact codes and lines, and its docs.

Fixtures live in tests/fixtures/policy/<CODE>/{bad,good}/; a ``.tmpl`` suffix is dropped when a
fixture is materialised (``config.yaml.tmpl`` -> ``config.yaml``), so this repository holds no
recognisable Truss and scanning it stays clean. Fake credentials are written as
``{{fake:<rule-id>}}`` (a fresh token of that rule's shape) or ``{{random:N}}`` (N random
alphanumerics) and expanded at test time, so no realistic key is committed. A line that must
be reported carries a comment ``expect: <CODE>`` (several codes: ``expect: TG101, TG207``);
the bad variant must yield exactly those lines for its code, the good variant none.
"""

from __future__ import annotations

import random
import re
import shutil
from pathlib import Path

import pytest

from trussguard.config import ScanConfig
from trussguard.engine import tokens
from trussguard.engine.loader import load_rules
from trussguard.pipeline import scan_tree
from trussguard.policy.registry import SECTIONS, explanation_sections, iter_checks

FIXTURES = Path(__file__).parent / "fixtures" / "policy"
_FAKE = re.compile(r"\{\{(fake|random):([^}]+)\}\}")
_EXPECT = re.compile(r"expect:\s*(TG\d{3}(?:\s*,\s*TG\d{3})*)")


def materialise(src: Path, dst: Path, rng: random.Random) -> dict[tuple[str, int], set[str]]:
    """Copies a fixture tree, expanding fake values; returns {(path, line): expected codes}."""
    rules = load_rules(cache_dir=None).by_id()
    expected: dict[tuple[str, int], set[str]] = {}
    for path in sorted(src.rglob("*")):
        if path.is_dir():
            continue
        rel = path.relative_to(src).as_posix().removesuffix(".tmpl")
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text("utf-8")

        def fake(m: re.Match) -> str:
            if m.group(1) == "random":
                return tokens.expand_template(f"{{{int(m.group(2))}:A-Za-z0-9}}", rng)
            return tokens.expand_template(rules[m.group(2)].tokens["token"], rng)

        text = _FAKE.sub(fake, text)
        target.write_text(text, "utf-8")
        for n, line in enumerate(text.splitlines(), start=1):
            m = _EXPECT.search(line)
            if m:
                expected[(rel, n)] = {c.strip() for c in m.group(1).split(",")}
    return expected


def reported(root: Path) -> dict[tuple[str, int], set[str]]:
    result = scan_tree(ScanConfig(paths=(root,), cache_dir=None))
    out: dict[tuple[str, int], set[str]] = {}
    for f in result.findings:
        for code in {f.rule_id, f.check} - {None}:
            if code.startswith("TG"):
                out.setdefault((f.path, f.line), set()).add(code)
    return out


CHECKS = iter_checks()


@pytest.mark.parametrize("code", [c.code for c in CHECKS])
def test_bad_fixture_reports_exactly_the_marked_lines(code, tmp_path):
    bad = FIXTURES / code / "bad"
    expected = materialise(bad, tmp_path, random.Random(code))
    want = {place for place, codes in expected.items() if code in codes}
    assert want, f"{bad} marks no line with `expect: {code}`"
    got = {place for place, codes in reported(tmp_path).items() if code in codes}
    assert got == want


@pytest.mark.parametrize("code", [c.code for c in CHECKS])
def test_good_fixture_reports_nothing_for_the_check(code, tmp_path):
    materialise(FIXTURES / code / "good", tmp_path, random.Random(code))
    got = {place for place, codes in reported(tmp_path).items() if code in codes}
    assert got == set()


@pytest.mark.parametrize("check", CHECKS, ids=[c.code for c in CHECKS])
def test_every_check_is_documented_and_has_fixtures(check):
    sections = explanation_sections(check)
    assert all(sections.get(s) for s in SECTIONS), check.code
    assert (FIXTURES / check.code / "bad").is_dir() and (FIXTURES / check.code / "good").is_dir()
    assert re.match(r"^[a-z]+(-[a-z]+)+$", check.name)


def test_check_codes_are_unique_and_stable():
    codes = [c.code for c in CHECKS]
    assert len(codes) == len(set(codes))
    assert all(re.match(r"^TG[12]\d\d$", c) for c in codes)


def test_fixture_dirs_belong_to_registered_checks():
    registered = {c.code for c in CHECKS}
    assert {p.name for p in FIXTURES.iterdir() if p.is_dir()} <= registered


def copy_fixture(code: str, variant: str, dst: Path) -> None:
    shutil.copytree(FIXTURES / code / variant, dst)


@pytest.mark.parametrize("check", CHECKS, ids=[c.code for c in CHECKS])
def test_explain_prints_the_sections(check):
    from click.testing import CliRunner

    from trussguard.cli import cli

    result = CliRunner().invoke(cli, ["explain", check.code.lower()])
    assert result.exit_code == 0
    assert check.name in result.output and all(f"## {s}" in result.output for s in SECTIONS)


def test_explain_unknown_code_is_a_usage_error():
    from trussguard.cli import main

    assert main(["explain", "TG999"]) == 2


def test_value_checks_run_on_bytes_alone():
    """The history audit and the staged scan hand blobs to the checks: no file on disk is needed."""
    from trussguard.engine.detector import Detector
    from trussguard.policy.runner import check_config

    ruleset = load_rules(cache_dir=None)
    hf = tokens.expand_template(ruleset.by_id()["huggingface.user-token"].tokens["token"], random.Random(3))
    data = f"model_name: x\nresources: {{cpu: '1'}}\nsecrets:\n  hf_access_token: {hf}\n".encode()
    detector = Detector(ruleset, cache_dir=None)
    hits, notes, truss = check_config("some/old/config.yaml", data, detector.detect("config.yaml", data), detector)
    assert [(h.code, h.line, h.secret, str(h.severity)) for h in hits] == [("TG101", 4, hf, "critical")]
    assert notes == [] and truss.root == "some/old"
    hits, notes, _ = check_config("config.yaml", b"model_name: [unclosed\n", [], detector)
    assert hits == [] and "not valid YAML" in notes[0]
