"""The Go-subset evaluator behind benchmarks/gitleaks_cases.py, on synthetic snippets.

None of the Go here is gitleaks' own: the rule functions, the stand-in
``utils`` package and every value are made up (``acme_`` filler), so nothing
credential-shaped is written anywhere.  The one test that reads a gitleaks
snapshot is skipped when there is none.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import gitleaks_cases as gc  # noqa: E402

# secrets.NewSecret draws with rstr, a benchmark-only dependency (the `bench` extra)
needs_rstr = pytest.mark.skipif(not gc.importlib.util.find_spec("rstr"), reason="rstr not installed (.[bench])")

HEADER = """package rules

import (
	"fmt"
	"strings"

	"example.com/acme/cmd/generate/config/utils"
	"example.com/acme/cmd/generate/secrets"
	"example.com/acme/config"
)
"""

# A stand-in for gitleaks' utils package: the same shapes (a map of syntaxes,
# a NewReplacer, a range loop, Sprintf-built patterns), other content.
UTILS = """package utils

import (
	"fmt"
	"strings"
)

const prefix = `(?i)`

func Lower(size string) string {
	return fmt.Sprintf(`[a-z]{%s}`, size)
}

func GenerateSampleSecret(identifier string, secret string) string {
	return fmt.Sprintf("%s_thing = \\"%s\\"", identifier, secret)
}

func GenerateSampleSecrets(identifier string, secret string) []string {
	samples := map[string]string{
		"ini":    "{i}Thing={s}",
		"yaml":   "{i}_thing: '{s}'",
		"env":    "{I}_THING={s}",
		"go raw": "{i}Thing := `{s}`",
	}
	replacer := strings.NewReplacer(
		"{i}", identifier,
		"{I}", strings.ToUpper(identifier),
		"{s}", secret,
	)
	cases := make([]string, 0, len(samples))
	for _, v := range samples {
		cases = append(cases, replacer.Replace(v))
	}
	return cases
}

func Validate(r config.Rule, tps []string, fps []string) *config.Rule {
	panic("replaced by the evaluator")
}
"""


def run(body: str, funcs: list[str], seed: int = 1) -> gc.Extraction:
    return gc.evaluate_rules({"rules/x.go": HEADER + body}, {"utils/u.go": UTILS}, funcs, seed)


def cases_of(ext: gc.Extraction, kind: str) -> list[str]:
    return [c.text for c in ext.cases if c.kind == kind]


def test_literal_slices_escapes_and_concatenation():
    ext = run(
        """
func Literals() *config.Rule {
	r := config.Rule{
		RuleID:   "acme-literals",
		Keywords: []string{"acme"},
	}
	tps := []string{
		"acme_" + "xxxx" + `_yyyy`, // concatenation
		"tab\\there\\n\\x41\\u00e9", // interpreted escapes
		`raw\\n stays`,
		`multi
line`,
	}
	fps := []string{"acme_", strings.Repeat("x", 5)}
	return utils.Validate(r, tps, fps)
}
""",
        ["Literals"],
    )
    assert not ext.not_extracted
    assert cases_of(ext, "tp") == ["acme_xxxx_yyyy", "tab\there\nA\u00e9", "raw\\n stays", "multi\nline"]
    assert cases_of(ext, "fp") == ["acme_", "xxxxx"]
    assert {c.rule for c in ext.cases} == {"acme-literals"}
    assert [c.folder for c in ext.cases][:2] == ["acme-literals/tp-1", "acme-literals/tp-2"]


@needs_rstr
def test_sample_secrets_every_syntax_same_secret_and_append_ellipsis():
    ext = run(
        """
func Samples() *config.Rule {
	r := config.Rule{RuleID: "acme-samples"}
	tps := utils.GenerateSampleSecrets("acme", "acme_xxxxxxxx")
	tps = append(tps, utils.GenerateSampleSecrets("acme", secrets.NewSecret(`acme_[a-z]{8}`))...)
	tps = append(tps, "one", "two")
	return utils.Validate(r, tps, nil)
}
""",
        ["Samples"],
    )
    assert not ext.not_extracted
    tps = cases_of(ext, "tp")
    assert len(tps) == 4 + 4 + 2
    assert tps[:4] == ["acmeThing=acme_xxxxxxxx", "acme_thing: 'acme_xxxxxxxx'", "ACME_THING=acme_xxxxxxxx",
                       "acmeThing := `acme_xxxxxxxx`"]
    drawn = {re.search(r"acme_[a-z]{8}", t).group(0) for t in tps[4:8]}
    assert len(drawn) == 1  # one secret, every syntax
    assert drawn != {"acme_xxxxxxxx"}
    assert tps[8:] == ["one", "two"]


def test_range_loop_sprintf_and_package_vars():
    ext = run(
        """
var names = []string{"alpha", "beta"}

func Loop() *config.Rule {
	r := config.Rule{RuleID: "acme-loop"}
	var tps []string
	for i, n := range names {
		tps = append(tps, fmt.Sprintf("%s=%d %q", n, i, "q\\"x"))
	}
	headers := map[string][]string{"h": {"1", "2"}}
	for k, vs := range headers {
		for _, v := range vs {
			if v == "2" {
				continue
			}
			tps = append(tps, k+v, strings.ToUpper(k))
		}
	}
	fps := append(names, "gamma")
	return utils.Validate(r, tps, fps)
}
""",
        ["Loop"],
    )
    assert not ext.not_extracted
    assert cases_of(ext, "tp") == ['alpha=0 "q\\"x"', 'beta=1 "q\\"x"', "h1", "H"]
    assert cases_of(ext, "fp") == ["alpha", "beta", "gamma"]


@needs_rstr
def test_new_secret_matches_its_regex_and_is_seeded():
    body = """
func Drawn() *config.Rule {
	r := config.Rule{RuleID: "acme-drawn"}
	tps := []string{
		secrets.NewSecret(`acme_[a-z]{8}`),
		secrets.NewSecret(utils.Lower("12") + `-[0-9]{2,4}`),
		secrets.NewSecret(`acme_(?:x|y)[a-z]{300}`),
		secrets.NewSecret(`acme_[a-z]{3,}`),
	}
	return utils.Validate(r, tps, nil)
}
"""
    a = cases_of(run(body, ["Drawn"], seed=7), "tp")
    assert re.fullmatch(r"acme_[a-z]{8}", a[0])
    assert re.fullmatch(r"[a-z]{12}-[0-9]{2}", a[1])  # reggen with limit 1: the minimum
    assert re.fullmatch(r"acme_[xy][a-z]{300}", a[2])  # long exact repeats are kept
    assert re.fullmatch(r"acme_[a-z]{3}", a[3])  # open repeats too
    assert cases_of(run(body, ["Drawn"], seed=7), "tp") == a
    assert cases_of(run(body, ["Drawn"], seed=8), "tp") != a


def test_validate_with_paths_and_helper_function():
    ext = run(
        """
func helper(n int) string {
	return strings.Repeat("x", n)
}

func Paths() *config.Rule {
	r := config.Rule{RuleID: "acme-paths"}
	tps := map[string]string{
		"conf/acme.cfg": "acme = " + helper(3),
		"empty.bin":     "",
	}
	fps := map[string]string{"other.txt": "acme"}
	return utils.ValidateWithPaths(r, tps, fps)
}
""",
        ["Paths"],
    )
    assert not ext.not_extracted
    by_path = {(c.kind, c.path): c.text for c in ext.cases}
    assert by_path == {("tp", "conf/acme.cfg"): "acme = xxx", ("tp", "empty.bin"): "", ("fp", "other.txt"): "acme"}


def test_unsupported_constructs_are_listed_not_dropped():
    ext = run(
        """
func Switchy() *config.Rule {
	r := config.Rule{RuleID: "acme-switch"}
	switch r.RuleID {
	case "x":
		r.RuleID = "y"
	}
	return utils.Validate(r, nil, nil)
}

func Unknown() *config.Rule {
	r := config.Rule{RuleID: "acme-unknown"}
	tps := []string{"ok", otherpkg.Make("x")}
	return utils.Validate(r, tps, nil)
}

func Fine() *config.Rule {
	r := config.Rule{RuleID: "acme-fine", Regex: otherpkg.Compile("x")}
	return utils.Validate(r, []string{"ok"}, nil)
}

func NoCases() *config.Rule {
	r := config.Rule{RuleID: "acme-none"}
	return &r
}
""",
        ["Switchy", "Unknown", "Fine", "NoCases", "Missing"],
    )
    reasons = {s["function"]: s["reason"] for s in ext.not_extracted}
    assert set(reasons) == {"Switchy", "Unknown", "Missing"}
    assert "switch" in reasons["Switchy"]
    assert "otherpkg" in reasons["Unknown"]
    assert "not found" in reasons["Missing"]
    assert [c.rule for c in ext.cases] == ["acme-fine"]  # an unknown Regex does not matter
    assert [s["rule"] for s in ext.no_cases] == ["acme-none"]

    broken = gc.evaluate_rules({"rules/bad.go": HEADER + "func Bad( {"}, {"utils/u.go": UTILS}, ["Bad"])
    assert [bool(s.get("file")) for s in broken.not_extracted] == [True, False]


def test_scoring_folders_and_redaction(tmp_path):
    cases = [
        gc.Case("acme-a", "tp", 1, "acme_" + "x" * 30),
        gc.Case("acme-a", "tp", 2, "short"),
        gc.Case("acme-a", "fp", 1, "x"),
        gc.Case("acme-b", "fp", 1, "y", "dir/file.cfg"),
    ]
    gc.write_cases(cases, tmp_path)
    assert (tmp_path / "acme-b/fp-1/dir/file.cfg").read_text() == "y"
    assert gc.case_folder(str(tmp_path / "acme-a/tp-1/case.txt"), tmp_path) == "acme-a/tp-1"
    assert gc.case_folder("acme-b/fp-1/dir/file.cfg", tmp_path) == "acme-b/fp-1"
    assert gc.case_folder("/elsewhere/x.txt", tmp_path) is None
    s = gc.score(cases, {"acme-a/tp-1", "acme-b/fp-1"})
    assert (s["tp_found"], s["tp_total"], s["fp_fired"], s["fp_total"]) == (1, 2, 1, 2)
    assert s["rules_with_miss"] == 1
    text = s["per_rule"]["acme-a"]["missed"][0]["text"]
    assert text == "sh... (5 chars)"  # a short case is cut to half
    long = gc.redact("acme_" + "x" * 30)
    assert long == "acme_xxxxxxx... (35 chars)" and "x" * 13 not in long


def test_real_snapshot_sample_secrets_if_present():
    src = Path(gc.DEFAULT_SRC)
    if not src.exists():
        pytest.skip("no gitleaks snapshot here")
    commit = gc.git(src, "rev-parse", "HEAD").strip()
    utils_files = {f: gc.git(src, "show", f"{commit}:{f}") for f in gc.list_go_files(src, commit, gc.UTILS_DIR)}
    ext = gc.evaluate_rules(
        {
            "rules/x.go": HEADER
            + """
func Real() *config.Rule {
	r := config.Rule{RuleID: "acme-real"}
	return utils.Validate(r, utils.GenerateSampleSecrets("acme", "acme_xxxxxxxx"), nil)
}
"""
        },
        utils_files,
        ["Real"],
    )
    tps = cases_of(ext, "tp")
    assert len(tps) >= 20 and len(set(tps)) >= len(tps) - 2  # two of gitleaks' syntaxes coincide
    assert all("acme_xxxxxxxx" in t for t in tps)
