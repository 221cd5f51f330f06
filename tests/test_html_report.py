"""``trussguard audit --html``: one self-contained file, checked as text and in a real headless browser.

The browser is Debian's chromium (``.ci/run`` installs it where it is missing). Where it cannot be
had, the browser test is skipped with that reason; the static checks always run.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_audit import Repo, leak

from trussguard.cli import main

HF, OPENAI = "huggingface.user-token", "openai.project-key"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture
def report(tmp_path: Path, fake_token):
    """An audit of a repository with one removed and one live secret, as HTML; and both secrets."""
    repo = Repo(tmp_path / "repo")
    old, live = fake_token(HF), fake_token(OPENAI)
    repo.commit("old key", {"scripts/run.py": leak(old)})
    repo.commit("copy", {"scripts/copy.py": leak(old)})
    repo.commit("remove", {"scripts/run.py": "import os\n", "scripts/copy.py": None})
    repo.commit("live key", {"model/model.py": f'KEY = "{live}"\n'})
    html = tmp_path / "audit.html"
    assert main(["audit", str(repo.root), "--no-cache", "-o", str(tmp_path / "r.txt"), "--html", str(html)]) == 1
    return html, (old, live)


def _script_hashes(text: str) -> tuple[list[str], list[str]]:
    """(the sha256 of each inline script, the hashes the Content Security Policy allows)."""
    scripts = re.findall(r"<script>(.*?)</script>", text, re.DOTALL)
    digests = [base64.b64encode(hashlib.sha256(s.encode("utf-8")).digest()).decode() for s in scripts]
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text).group(1)
    return digests, re.findall(r"'sha256-([^']+)'", csp)


def test_html_is_self_contained_and_never_holds_a_secret(report):
    html, secrets = report
    text = html.read_text("utf-8")
    assert all(s not in text for s in secrets)
    assert not re.search(r"<link|<img|<iframe|\bsrc=|url\(", text, re.IGNORECASE)  # nothing to load
    assert "default-src 'none'" in text
    digests, allowed = _script_hashes(text)
    assert len(digests) == 1 and digests == allowed  # the one inline script, allowed by its hash only
    assert "unsafe-inline" not in re.search(r"script-src[^;\"]*", text).group(0)
    assert 'id="secrets-found">2<' in text and 'id="still-present">1<' in text and 'id="rotated">0<' in text
    assert text.count("<circle") == 3  # introduced, copied, introduced


def _rows(text: str) -> list[str]:
    body = re.search(r'<section id="findings">.*?<tbody>(.*?)</tbody>', text, re.DOTALL).group(1)
    return re.findall(r"<tr>(.*?)</tr>", body)


def test_findings_table_in_triage_order_with_revoke_links(report):
    html, _ = report
    text = html.read_text("utf-8")
    rows = _rows(text)
    assert len(rows) == 3  # all high: by path (the live OpenAI key first), the HF key's two places after it
    assert ">high<" in rows[0] and OPENAI in rows[0] and "model/model.py:1" in rows[0]
    assert ["scripts/copy.py:1" in rows[1], "scripts/run.py:1" in rows[2]] == [True, True]
    assert '<a href="https://platform.openai.com/api-keys"' in rows[0]  # the rule links to its revoke page
    assert '<a href="https://huggingface.co/settings/tokens"' in rows[1]
    assert all(re.search(r"\d{4}-\d\d-\d\d", r) for r in rows)  # first seen
    assert [r.rsplit("<td", 1)[1] for r in rows] == [' data-key="HEAD">HEAD</td>', ' data-key="no">no</td>',
                                                    ' data-key="no">no</td>']  # still at a tip?
    assert "/commit/" not in text  # no --commit-url: no commit links


def test_advisories_render_code_spans_and_follow_the_order(report):
    html, _ = report
    text = html.read_text("utf-8")
    advisories = re.findall(r'<div class="adv" id="([^"]+)"><h3>([^<]+)', text)
    assert [title.strip() for _, title in advisories] == ["OpenAI project API key", "Hugging Face user access token"]
    assert "`" not in text  # every Markdown code span of the advice is a <code> element
    assert "<code>self._secrets[&quot;openai_api_key&quot;]</code>" in text
    assert "Reachable from 1 branch: main." in text


def test_timeline_labels_name_the_file(report):
    html, _ = report
    svg = re.search(r"<svg.*?</svg>", html.read_text("utf-8"), re.DOTALL).group(0)
    labels = re.findall(r'<text class="path"[^>]*>([^<]*)<title>([^<]*)</title>', svg)
    assert labels == [("model/model.py:1", "model/model.py:1"),
                      ("scripts/copy.py:1 (+1 more)", "scripts/copy.py:1, scripts/run.py:1")]


def test_commit_links_and_hostile_paths_are_escaped(tmp_path: Path, fake_token):
    """--commit-url links each commit (path and line filled in, percent-encoded); a file name made of
    markup stays text everywhere (it is the committer's input, not ours)."""
    repo = Repo(tmp_path / "repo")
    hostile = "<img src=x onerror=alert(1)>\"'&.py"
    repo.commit("add", {hostile: leak(fake_token(HF)), "b.py": leak(fake_token(HF))})
    html = tmp_path / "audit.html"
    template = "https://git.example.invalid/o/r/commit/{commit}?path={path}&line={line}"
    assert main(["audit", str(repo.root), "--no-cache", "-o", str(tmp_path / "r.txt"), "--html", str(html),
                 "--commit-url", template]) == 1
    text = html.read_text("utf-8")
    assert "<img" not in text and "onerror=alert(1)>" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;&quot;&#x27;&amp;.py" in text
    commit = repo.git("rev-parse", "HEAD")
    assert (f'<a href="https://git.example.invalid/o/r/commit/{commit}?path=b.py&amp;line=1"' in text)
    assert f"?path=%3Cimg%20src%3Dx%20onerror%3Dalert%281%29%3E%22%27%26.py&amp;line=1" in text


def test_commit_url_must_be_a_url_with_a_commit(tmp_path: Path, capsys):
    repo = Repo(tmp_path / "repo")
    repo.commit("init", {"README.md": "# r\n"})
    for bad in ("https://github.com/o/r/commit/{sha}", "javascript:alert(1)//{commit}", "https://x/{commit}/{nope}"):
        assert main(["audit", str(repo.root), "--no-cache", "--commit-url", bad]) == 2
        assert "--commit-url" in capsys.readouterr().err


def _browser() -> str | None:
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


# Clicks "severity" (the table's order already: now descending, least severe and last first), "path:line"
# (ascending), "severity" again (ascending: the triage order back), and records the row order after each click. Allowed by its own hash, added to the page's policy.
_CLICKS = """
var out = [], buttons = document.querySelectorAll("#findings th button");
function order() { return Array.prototype.map.call(document.querySelectorAll("#findings tbody tr"),
  function (tr) { return tr.children[2].textContent; }).join(","); }
buttons[0].click(); out.push(order()); buttons[2].click(); out.push(order()); buttons[0].click(); out.push(order());
document.body.setAttribute("data-sorted", out.join("|"));
"""


@pytest.mark.skipif(_browser() is None, reason="no chromium here (.ci/run installs Debian's with apt-get)")
def test_html_in_a_headless_browser(report, tmp_path: Path):
    html, secrets = report
    browser = [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--window-size=1100,1400"]
    dom = subprocess.run([*browser, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    assert re.search(r'id="secrets-found">2<', dom)
    assert all(s not in dom for s in secrets)
    assert "<svg" in dom and "Change this repository" in dom
    # the table sorts when its headers are clicked (the page's own script, under its own policy)
    text = html.read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(_CLICKS.encode()).digest()).decode()
    clicked = tmp_path / "clicked.html"
    clicked.write_text(text.replace("script-src ", f"script-src 'sha256-{digest}' ")
                       .replace("</body>", f"<script>{_CLICKS}</script></body>"), "utf-8")
    dom = subprocess.run([*browser, "--dump-dom", clicked.as_uri()], capture_output=True, text=True, timeout=120,
                         check=True).stdout
    sorted_rows = re.search(r'data-sorted="([^"]*)"', dom).group(1).split("|")
    assert sorted_rows == ["scripts/run.py:1,scripts/copy.py:1,model/model.py:1",
                           "model/model.py:1,scripts/copy.py:1,scripts/run.py:1",
                           "model/model.py:1,scripts/copy.py:1,scripts/run.py:1"]
    shot = Path(os.environ.get("TRUSSGUARD_TEST_OUTPUT", tmp_path)) / "audit-report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([*browser, f"--screenshot={shot}", html.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")


def test_a_secret_left_on_another_branch_says_so_in_the_table_and_the_timeline(tmp_path, fake_token):
    """`at HEAD` and "still present at some branch tip" differ: a key removed from main but left on a
    feature branch is not at HEAD, yet still present; the table and the timeline say which."""
    from trussguard.cli import main
    from test_audit import Repo, leak
    repo = Repo(tmp_path / "repo")
    repo.commit("initial", {"README.md": "# demo\n"})
    repo.git("checkout", "-q", "-b", "feature")
    repo.commit("add a key", {"app.py": leak(fake_token("huggingface.user-token"))})
    repo.git("checkout", "-q", "main")
    out = tmp_path / "r.html"
    assert main(["audit", str(repo.root), "--html", str(out), "--no-cache", "-q", "--format", "json",
                 "-o", str(tmp_path / "r.json")]) == 1
    text = out.read_text("utf-8")
    assert [r.rsplit("<td", 1)[1] for r in _rows(text)] == [' data-key="other branch">other branch</td>']
    assert ">tip<title>still at another branch tip</title>" in text

