"""Advice that fits the moment: ``scan --staged`` on a secret no commit holds yet says to remove it
before committing (and rotate it if it was shared), never to purge a history or force-push; a secret
already in a commit keeps the five steps. And the default text report is short: one finding fits in
about a dozen lines of at most 100 characters, the full steps behind ``--verbose``.

Every secret is generated at run time; the repositories are throwaway ones (test_audit.Repo).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from test_audit import Repo

from trussguard.cli import main

HF = "huggingface.user-token"
HISTORY_WORDS = ("filter-repo", "force", "purge", "history as compromised", "git history")

CONFIG = textwrap.dedent("""\
    model_name: tiny
    secrets:
      hf_access_token: null
    """)
MODEL = textwrap.dedent("""\
    class Model:
        def __init__(self, **kwargs):
            self._secrets = kwargs["secrets"]

        def load(self):
            self.token = self._secrets["hf_access_token"]
    """)


def leaky_model(token: str) -> str:
    return MODEL.replace('self._secrets["hf_access_token"]', f'"{token}"')


@pytest.fixture
def truss_repo(tmp_path: Path) -> Repo:
    r = Repo(tmp_path / "repo")
    r.commit("a Truss", {"config.yaml": CONFIG, "model/model.py": MODEL})
    return r


def staged(repo: Repo, tmp_path: Path, *extra: str) -> tuple[int, dict]:
    out = tmp_path / "staged.json"
    code = main(["scan", "--staged", str(repo.root), "--format", "json", "-o", str(out), "--no-cache", *extra])
    return code, json.loads(out.read_text("utf-8"))


def staged_text(repo: Repo, tmp_path: Path, *extra: str) -> tuple[int, str]:
    out = tmp_path / "staged.txt"
    code = main(["scan", "--staged", str(repo.root), "-o", str(out), "--no-cache", *extra])
    return code, out.read_text("utf-8")


def advice_text(report: dict) -> str:
    return json.dumps([a["actions"] for a in report["advisories"]] + [f["fix"] for f in report["findings"]])


def test_a_never_committed_secret_gets_remove_and_rotate_if_shared(truss_repo: Repo, fake_token, tmp_path: Path):
    token = fake_token(HF)
    truss_repo.write("model/model.py", leaky_model(token))
    truss_repo.git("add", "model/model.py")
    code, report = staged(truss_repo, tmp_path)
    assert code == 1  # still blocked: the advice changes, not the gate
    (advisory,) = report["advisories"]
    assert [a["title"] for a in advisory["actions"]] == ["Remove it before committing",
                                                         "Rotate it if it was ever shared"]
    assert any("model/model.py:6" in d for d in advisory["actions"][0]["details"])
    assert "huggingface.co/settings/tokens" in advisory["actions"][1]["details"][0]
    text = advice_text(report).lower()
    assert not [w for w in HISTORY_WORDS if w in text], text
    code, out = staged_text(truss_repo, tmp_path, "--verbose")
    assert not [w for w in HISTORY_WORDS if w in out.lower()], out
    assert token not in out


def test_a_secret_already_committed_keeps_the_five_steps(truss_repo: Repo, fake_token, tmp_path: Path):
    token = fake_token(HF)
    truss_repo.commit("oops", {"model/model.py": leaky_model(token)})
    truss_repo.write("model/model.py", leaky_model(token) + "\n# touched\n")
    truss_repo.git("add", "model/model.py")
    code, report = staged(truss_repo, tmp_path)
    (advisory,) = report["advisories"]
    assert code == 1 and [a["step"] for a in advisory["actions"]] == [1, 2, 3, 4, 5]
    assert "filter-repo" in advice_text(report)


def test_a_secret_committed_in_another_file_counts_as_committed(truss_repo: Repo, fake_token, tmp_path: Path):
    token = fake_token(HF)
    truss_repo.commit("a script", {"scripts/load.py": f'TOKEN = "{token}"\n'})
    truss_repo.write("model/model.py", leaky_model(token))
    truss_repo.git("add", "model/model.py")
    _, report = staged(truss_repo, tmp_path)
    assert [len(a["actions"]) for a in report["advisories"]] == [5]


def test_before_the_first_commit_nothing_is_committed(tmp_path: Path, fake_token):
    repo = Repo(tmp_path / "fresh")
    repo.write("config.yaml", CONFIG)
    repo.write("model/model.py", leaky_model(fake_token(HF)))
    repo.git("add", "-A")
    _, report = staged(repo, tmp_path)
    assert [a["actions"][0]["title"] for a in report["advisories"]] == ["Remove it before committing"]


def test_a_base64_encoded_secret_is_found_in_head_by_its_encoded_text(truss_repo: Repo, fake_token, tmp_path: Path):
    import base64

    encoded = base64.b64encode(f"token={fake_token(HF)}".encode()).decode()
    truss_repo.commit("encoded", {"scripts/blob.py": f'BLOB = "{encoded}"\n'})
    truss_repo.write("scripts/copy.py", f'COPY = "{encoded}"\n')
    truss_repo.git("add", "scripts/copy.py")
    _, report = staged(truss_repo, tmp_path)
    decoded = [f for f in report["findings"] if f["decoded"] == "base64"]
    assert decoded, report["findings"]
    assert {len(a["actions"]) for a in report["advisories"] if a["id"] == decoded[0]["advisory_id"]} == {5}


# ----------------------------------------------------------------------------- the compact text report


def one_finding_output(repo: Repo, monkeypatch, capsys, *extra: str) -> tuple[int, str]:
    monkeypatch.chdir(repo.root)  # a pre-commit run: in the repository, no path given
    code = main(["scan", "--staged", "--no-cache", *extra])
    return code, capsys.readouterr().out


@pytest.mark.parametrize("committed", [False, True])
def test_one_finding_fits_in_twelve_lines_of_100_columns(truss_repo: Repo, fake_token, monkeypatch, capsys,
                                                         committed: bool):
    token = fake_token(HF)
    if committed:
        truss_repo.commit("oops", {"scripts/load.py": f'TOKEN = "{token}"\n'})
    truss_repo.write("model/model.py", leaky_model(token))
    truss_repo.git("add", "model/model.py")
    code, out = one_finding_output(truss_repo, monkeypatch, capsys)
    lines = out.splitlines()
    assert code == 1 and len(lines) <= 12, out
    assert max(map(len, lines)) <= 100, out
    finding = next(line for line in lines if "CRITICAL" in line)
    assert HF in finding and "model/model.py" in out and "6:" in finding
    value = lines[lines.index(finding) + 1].split()
    assert value[0].startswith(token[:5]) and value[-1].startswith("adv-")  # the value whole, then the advisory
    assert "--verbose" in out
    assert ("remove it before committing" in out) != committed
    assert token not in out


def test_verbose_adds_the_fix_and_every_step_still_within_100_columns(truss_repo: Repo, fake_token, monkeypatch,
                                                                      capsys):
    token = fake_token(HF)
    truss_repo.commit("oops", {"scripts/load.py": f'TOKEN = "{token}"\n'})
    truss_repo.write("model/model.py", leaky_model(token))
    truss_repo.git("add", "model/model.py")
    _, short = one_finding_output(truss_repo, monkeypatch, capsys)
    _, full = one_finding_output(truss_repo, monkeypatch, capsys, "--verbose")
    assert "fix:" not in short and "fix:" in full
    assert "5. Verify" in full and "filter-repo" in full and "5. Verify" not in short
    assert max(map(len, full.splitlines())) <= 100


def test_wrapping_never_cuts_a_path_or_a_redacted_value():
    from trussguard.report.text import WIDTH, wrap

    path = "models/" + "very-long-folder-name/" * 6 + "model.py"
    value = "hf_AbCdE…(37 chars, sha256:0123abcd)"
    lines = wrap(f"fix: in {path} replace {value} with a read of the workspace secret and " + "word " * 30,
                 "     ", keep=(value,))
    assert any(path in line for line in lines) and any(value in line for line in lines)
    assert all(len(line) <= WIDTH for line in lines if path not in line)
