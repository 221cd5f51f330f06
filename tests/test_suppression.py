"""Suppression a reviewer can see (issue 11, item 5), and every suppression listed in every format.

Each bypass goes through the CLI as an attacker would use it: ``trussguard scan`` must exit 1 and
report the key. Valid markers keep working, and each suppressed finding (inline, by the
configuration file, by the baseline) is listed with its rule, path, line and what hid it, in the
JSON, SARIF, GitHub and Markdown reports and the text report, never with the value.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from test_audit import Repo
from test_sarif import _multitool

from trussguard.cli import main
from trussguard.findings import secret_sha256
from trussguard.suppress.inline import MAX_LINE, Inline, language, line_comments

HF = "huggingface.user-token"


def scan(root: Path, tmp_path: Path, *extra: str, fmt: str = "json") -> tuple[int, str]:
    out = tmp_path / f"report-{fmt}-{len(list(tmp_path.iterdir()))}"
    code = main(["scan", str(root), "--format", fmt, "-o", str(out), "--no-cache", "-j", "1", *extra])
    return code, out.read_text("utf-8")


def reported(report: str, token: str, path: str) -> list[dict]:
    digest = secret_sha256(token)
    return [f for f in json.loads(report)["findings"] if f["path"] == path and f["secret_sha256"] == digest]


# --------------------------------------------------------------------------------- the bypasses


@pytest.mark.parametrize("name, content", [
    ("literal.py", 'x = "trussguard: allow"; HF_TOKEN = "{t}"\n'),
    ("literal_pragma.py", 'HF_TOKEN = "{t}"; note = "# pragma: allowlist secret"\n'),
    ("indented.py", " " * 300 + "# trussguard: allow-next-line\nHF_TOKEN = \"{t}\"\n"),
    ("nbsp.py", 'HF_TOKEN = "{t}"' + "\u00a0" * 300 + "# trussguard: allow\n"),
    ("unclosed.py", 'HF_TOKEN = "{t}"  # trussguard: allow[TG205\n'),
    ("spelling.py", 'HF_TOKEN = "{t}"  # trussguard: allowed\n'),
    ("fetch.sh", "curl -H x https://huggingface.co/api/x?token={t}#gitleaks:allow\n"),
    ("url.js", 'const u = "https://huggingface.co/api?token={t}&gitleaks:allow";\n'),
    ("cr_only.py", 'HF_TOKEN = "{t}"\r# trussguard: allow\rx = 1\r'),
    ("settings.yaml", "hf_token: {t}\u2028# trussguard: allow\n"),
    ("form_feed.yaml", "hf_token: {t}\x0c# trussguard: allow\n"),
    ("notebook.json", '{{"token": "{t}"}} // trussguard: allow\n'),
    ("config.yaml", 'model_name: x\nsecrets:\n  hf_access_token: "{t}  # trussguard: allow"\n'),
    ("bidi.py", 'HF_TOKEN = "{t}"  # \u202etrussguard: allow\u2066\n'),
    ("bidi_above.py", '# trussguard: allow-next-line \u2067\nHF_TOKEN = "{t}"\n'),
    ("triple.py", 's = """\n# trussguard: allow-next-line\nHF_TOKEN = {t}\n"""\n'),
])
def test_marker_a_reviewer_cannot_see_allows_nothing(truss_tree, fake_token, tmp_path, name, content):
    token = fake_token(HF)
    root = truss_tree({name: content.format(t=token)}, clean=False)
    code, report = scan(root, tmp_path)
    assert code == 1 and reported(report, token, name), report
    assert token not in report


def test_one_marker_on_a_30kb_line_hides_none_of_three_keys(truss_tree, fake_token, tmp_path):
    """A one-line 30 KB JSON (no comments at all) and a minified JS bundle (a real ``//`` comment):
    a line that long is never reviewed, so no marker on it (or above it) hides any of its keys."""
    keys = [fake_token(HF) for _ in range(3)]
    pad = "lorem ipsum " * 2500
    data = json.dumps({"a": keys[0], "pad": pad, "b": keys[1], "pad2": pad[:1000], "c": keys[2],
                       "note": "pragma: allowlist secret"}) + "\n"
    bundle = f'var a="{keys[0]}",p="{pad}",b="{keys[1]}",c="{keys[2]}"; // pragma: allowlist secret\n'
    above = "// trussguard: allow-next-line\n" + bundle.replace(" // pragma: allowlist secret", "")
    root = truss_tree({"data.json": data, "bundle.min.js": bundle, "above.min.js": above}, clean=False)
    assert len(data) > 30_000 and len(bundle) > 30_000
    code, report = scan(root, tmp_path)
    assert code == 1
    for path in ("data.json", "bundle.min.js", "above.min.js"):
        assert all(reported(report, k, path) for k in keys), path
    assert json.loads(report)["suppressed"] == []


def test_bypass_through_staged_and_audit(tmp_path, fake_token):
    """The same string-literal marker fails ``scan --staged`` and ``audit`` too."""
    token = fake_token(HF)
    repo = Repo(tmp_path / "repo")
    repo.commit("add", {"app.py": f'x = "trussguard: allow"; HF_TOKEN = "{token}"\n'})
    out = tmp_path / "audit.json"
    assert main(["audit", str(repo.root), "--no-cache", "--format", "json", "-o", str(out)]) == 1
    assert reported(out.read_text("utf-8"), token, "app.py")
    repo.write("model.py", f'HF_TOKEN = "{token}"  # trussguard: allow[TG205\n')
    repo.write("ok.py", f'HF_TOKEN = "{token}"  # trussguard: allow[{HF}]\n')
    repo.git("add", "model.py", "ok.py")
    out = tmp_path / "staged.json"
    assert main(["scan", "--staged", str(repo.root), "--format", "json", "-o", str(out), "--no-cache"]) == 1
    assert reported(out.read_text("utf-8"), token, "model.py")
    listed = json.loads(out.read_text("utf-8"))["suppressed"]
    assert [(x["path"], x["line"], x["by"]) for x in listed] == [("ok.py", 1, f"trussguard: allow[{HF}]")]


# ------------------------------------------------------------------------------ valid markers


@pytest.mark.parametrize("name, content, marker", [
    ("app.py", 'HF_TOKEN = "{t}"  # trussguard: allow\n', "trussguard: allow"),
    ("ids.py", 'HF_TOKEN = "{t}"  # test fixture; trussguard: allow[TG205, ' + HF + ']\n',
     f"trussguard: allow[{HF}]"),
    ("next.py", "def f():\n    # trussguard: allow-next-line\n    return \"{t}\"\n", "trussguard: allow-next-line"),
    ("crlf.py", 'HF_TOKEN = "{t}"  # pragma: allowlist secret\r\nx = 1\r\n', "pragma: allowlist secret"),
    ("settings.yaml", "hf_token: {t}  # gitleaks:allow\n", "gitleaks:allow"),
    ("next.yaml", "a: 1\n# pragma: allowlist nextline secret\nhf_token: {t}\n", "pragma: allowlist nextline secret"),
    ("app.js", 'const t = "{t}"; // trussguard: allow[' + HF + "]\n", f"trussguard: allow[{HF}]"),
    ("block.ts", 'const t = "{t}"; /* trussguard: allow */\n', "trussguard: allow"),
    ("run.sh", "export HF_TOKEN={t}  # trussguard: allow\n", "trussguard: allow"),
    ("page.md", "token `{t}` <!-- trussguard: allow -->\n", "trussguard: allow"),
    ("seed.sql", "INSERT INTO t VALUES ('{t}'); -- trussguard: allow\n", "trussguard: allow"),
    ("notes.txt", "token {t} # trussguard: allow\n", "trussguard: allow"),
])
def test_valid_markers_still_suppress_and_are_listed(truss_tree, fake_token, tmp_path, name, content, marker):
    token = fake_token(HF)
    root = truss_tree({name: content.format(t=token)}, clean=False)
    code, report = scan(root, tmp_path)
    doc = json.loads(report)
    assert code == 0 and doc["findings"] == [], doc["findings"]
    assert [(x["path"], x["rule_id"], x["kind"], x["by"]) for x in doc["suppressed"]] == [(name, HF, "inline", marker)]
    line = next(n for n, text in enumerate(content.replace("\r\n", "\n").split("\n"), start=1) if "{t}" in text)
    assert doc["suppressed"][0]["line"] == line
    assert doc["stats"]["suppressed"] == 1 and doc["stats"]["suppressed_by_kind"] == {"inline": 1}
    assert token not in report and doc["suppressed"][0]["secret_sha256"] == secret_sha256(token)


def test_truss_check_hits_are_suppressed_and_listed(truss_tree, fake_token, tmp_path):
    """A Truss check's hit (TG101 in config.yaml, TG201 in model code) is allowed by a marker on
    its line like a rule's match, and listed under the check's code."""
    token = fake_token(HF)
    root = truss_tree({"config.yaml": f"model_name: x\nsecrets:\n  hf_access_token: {token}  # trussguard: allow\n",
                       "model/model.py": f'class Model:\n    def load(self):\n        # trussguard: allow-next-line\n'
                                         f'        self.token = "{token}"\n'}, clean=False)
    code, report = scan(root, tmp_path)
    doc = json.loads(report)
    assert code == 0 and doc["findings"] == []
    listed = {(x["path"], x["line"], x["rule_id"]) for x in doc["suppressed"]}
    assert {("config.yaml", 3, "TG101"), ("config.yaml", 3, HF), ("model/model.py", 4, "TG201"),
            ("model/model.py", 4, HF)} <= listed


# --------------------------------------------------------------------- listing in every format


@pytest.fixture
def three_ways(truss_tree, fake_token, tmp_path):
    """One key hidden inline, one by the configuration file's exclude, one by the baseline."""
    inline, excluded, known = fake_token(HF), fake_token(HF), fake_token(HF)
    root = truss_tree({"app.py": f'HF_TOKEN = "{inline}"  # trussguard: allow\n',
                       "fixtures/keys.py": f'HF_TOKEN = "{excluded}"\n',
                       "old.py": f'HF_TOKEN = "{known}"\n',
                       ".trussguard.toml": 'exclude = ["fixtures/"]\n'}, clean=False)
    baseline = tmp_path / "known.json"
    assert main(["baseline", "create", str(root), "--baseline", str(baseline), "--reason", "fixture, revoked"]) == 0
    return root, baseline, (inline, excluded, known)


def test_listed_in_json_and_text(three_ways, tmp_path):
    root, baseline, tokens = three_ways
    code, report = scan(root, tmp_path, "--baseline", str(baseline))
    doc = json.loads(report)
    assert code == 0 and doc["findings"] == []
    assert [(x["path"], x["line"], x["kind"], x["by"]) for x in doc["suppressed"]] == [
        ("app.py", 1, "inline", "trussguard: allow"),
        ("fixtures/keys.py", 1, "config", ".trussguard.toml: exclude"),
        ("old.py", 1, "baseline", "known.json")]
    assert doc["stats"]["suppressed"] == 3
    assert doc["stats"]["suppressed_by_kind"] == {"baseline": 1, "config": 1, "inline": 1}
    code, text = scan(root, tmp_path, "--baseline", str(baseline), fmt="text")
    assert "Suppressed (3)" in text and "fixtures/keys.py:1" in text and "inline: trussguard: allow" in text
    for token in tokens:
        assert token not in report and token not in text


def test_listed_in_sarif_with_suppression_kinds(three_ways, tmp_path):
    root, baseline, tokens = three_ways
    code, report = scan(root, tmp_path, "--baseline", str(baseline), fmt="sarif")
    run = json.loads(report)["runs"][0]
    kinds = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r["suppressions"][0]
             for r in run["results"]}
    assert {k: v["kind"] for k, v in kinds.items()} == {"app.py": "inSource", "fixtures/keys.py": "external",
                                                        "old.py": "external"}
    assert all(v["justification"] and v["status"] == "accepted" for v in kinds.values())
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert all(rules[r["ruleIndex"]] == r["ruleId"] for r in run["results"])
    assert not any(t in report for t in tokens)
    tool = _multitool()  # and the file stays valid SARIF for GitHub ingestion, suppressions included
    if tool is not None:
        sarif, out = tmp_path / "suppressed.sarif", tmp_path / "suppressed.validation.sarif"
        sarif.write_text(report, "utf-8")
        proc = subprocess.run([str(tool), "validate", str(sarif), "--output", str(out), "--level", "Error;Warning",
                               "--rule-kind", "Gh;Sarif"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        problems = json.loads(out.read_text("utf-8"))["runs"][0].get("results", [])
        assert problems == [], [(p["ruleId"], p["message"]) for p in problems]


def test_listed_in_github_and_markdown(three_ways, tmp_path):
    root, baseline, tokens = three_ways
    code, github = scan(root, tmp_path, "--baseline", str(baseline), fmt="github")
    notices = [line for line in github.splitlines() if line.startswith("::notice ")]
    assert len(notices) == 3 and all("suppressed huggingface.user-token" in n for n in notices)
    assert any("file=fixtures/keys.py,line=1," in n and ".trussguard.toml: exclude" in n for n in notices)
    code, summary = scan(root, tmp_path, "--baseline", str(baseline), fmt="markdown")
    assert "### Suppressed (3)" in summary
    assert "| `huggingface.user-token` | `app.py:1` | inline | `trussguard: allow` |" in summary
    assert not any(t in github or t in summary for t in tokens)


def test_history_audit_lists_each_place_once(tmp_path, fake_token):
    """The blob's own bytes decide; a suppression carried through several commits is listed once."""
    token = fake_token(HF)
    repo = Repo(tmp_path / "repo")
    repo.commit("add", {"app.py": f'HF_TOKEN = "{token}"  # trussguard: allow\n'})
    repo.commit("more", {"app.py": f'HF_TOKEN = "{token}"  # trussguard: allow\nx = 1\n', "b.py": "y = 2\n"})
    out = tmp_path / "audit.json"
    for run in range(2):  # the second run reads the per-blob cache: the listing survives it
        args = ["audit", str(repo.root), "--cache", str(tmp_path / "cache"), "--format", "json", "-o", str(out)]
        assert main(args) == 0
        doc = json.loads(out.read_text("utf-8"))
        assert (doc["stats"]["cache_hits"] > 0) == (run == 1)
        assert [(x["path"], x["line"], x["kind"]) for x in doc["suppressed"]] == [("app.py", 1, "inline")]
        assert doc["stats"]["suppressed"] == 1
    page = tmp_path / "audit.html"
    assert main(["audit", str(repo.root), "--no-cache", "--html", str(page)]) == 0
    html = page.read_text("utf-8")
    assert 'id="suppressed">Suppressed (1)' in html and "<code>app.py:1</code>" in html and token not in html


# ------------------------------------------------------------------------------------ the rules


def test_language_by_name():
    assert [language(p) for p in ("m/model.py", "config.yaml", "Dockerfile", "requirements-dev.txt", "a.ini",
                                  "x.ts", "x.php", "README.md", "q.sql", "n.ipynb", "x.bin", ".env.local")] == \
        ["python", "hash", "hash", "hash", "ini", "slash", "php", "markup", "sql", "none", "unknown", "hash"]


@pytest.mark.parametrize("lang, line, comments", [
    ("hash", b'a: "x # no" # yes', [b"# yes"]),
    ("hash", b"url: http://x/p#gitleaks:allow", []),
    ("hash", b"a: it's # no", []),
    ("ini", b"k = v ; yes", [b"; yes"]),
    ("slash", b'x = "// no"; /* a */ y // b', [b"/* a */", b"// b"]),
    ("slash", b"x = `// no` ", []),
    ("php", b"#[Attr] $x = 1; # yes", [b"# yes"]),
    ("markup", b"text <!-- a --> more <!-- b", [b"<!-- a -->", b"<!-- b"]),
    ("sql", b"select '--no' -- yes", [b"-- yes"]),
    ("unknown", b"see https://x//y // yes", [b"// yes"]),
    ("none", b"// no", []),
])
def test_line_comments(lang, line, comments):
    assert [line[s:e] for s, e in line_comments(line, lang)] == comments


def test_long_line_limit_is_in_characters(fake_token):
    """A line of multi-byte characters under ``MAX_LINE`` characters (but over it in bytes) is still
    reviewable; one over it is not."""
    token = fake_token(HF)
    for pad, allowed in ((MAX_LINE - 100, True), (MAX_LINE + 1, False)):
        data = f'HF_TOKEN = "{token}"; s = "{"é" * pad}"  # trussguard: allow\n'.encode()
        found = Inline(data, "a.py").marker(data.index(token.encode()), HF)
        assert (found is not None) is allowed


def test_cached_blob_result_keeps_its_suppressions(tmp_path):
    """The per-blob audit cache stores the suppressions (a seventh payload element), hashes and
    redacted text only; a stored list that is not exactly what was written is a cache miss."""
    from trussguard.audit_cache import BlobCache, BlobResult
    from trussguard.types import Severity, Suppressed

    record = Suppressed(HF, "a.py", 3, "inline", "trussguard: allow", "Hugging Face user access token",
                        Severity.HIGH, "ab" * 32, "hf_Ab…(37 chars, sha256:abababab)", "tg-" + "0" * 20)
    cache = BlobCache.open(tmp_path, "salt")
    key = cache.key("b" * 40, [("a.py", False)])
    cache.put_many({key: BlobResult([], [], [], 1, 10, 1, [record])})
    assert cache.get_many([key])[key].suppressions == [record]
    cache._conn.execute("UPDATE blobs SET payload = ?", (json.dumps(
        [[], [], [], 1, 10, 1, [[HF, "a.py", "3", "inline", "x", "", None, None, None, "HIGH"]]]).encode(),))
    assert cache.get_many([key]) == {}
    cache.close()
