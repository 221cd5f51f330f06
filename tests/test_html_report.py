"""``trussguard audit --html``: one self-contained file, checked as text and in a real headless browser.

The browser is Debian's chromium (``.ci/run`` installs it where it is missing). Where it cannot be
had, the browser test is skipped with that reason; the static checks always run.
"""

from __future__ import annotations

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


def test_html_is_self_contained_and_never_holds_a_secret(report):
    html, secrets = report
    text = html.read_text("utf-8")
    assert all(s not in text for s in secrets)
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|url\(", text, re.IGNORECASE)  # nothing to load
    assert "default-src 'none'" in text
    assert 'id="secrets-found">2<' in text and 'id="still-present">1<' in text and 'id="rotated">0<' in text
    assert text.count("<circle") == 3  # introduced, copied, introduced


def _browser() -> str | None:
    return next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)


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
    shot = Path(os.environ.get("TRUSSGUARD_TEST_OUTPUT", tmp_path)) / "audit-report.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([*browser, f"--screenshot={shot}", html.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"screenshot: {shot}")
