"""Issue 11's hygiene: no secret in any message, clean exits, caches that cannot change a result.

Every credential is made at test time from a rule's own token template (``fake_token``) or from
random parts; nothing here is a real key.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import random_password
from test_action import pull_request, run_action
from test_audit import Repo, _slow_history, leak

from trussguard.audit_cache import FILENAME
from trussguard.cli import main
from trussguard.engine.loader import load_rules
from trussguard.redact import redact_text, redact_url

HF = "huggingface.user-token"
CONFIG = "model_name: tiny\nsecrets:\n  hf_access_token: null\n"


def run(*args: str, cwd: Path | None = None, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trussguard", *args], capture_output=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=300, **kw)


def files_under(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------- no secret in any message

def test_encoding_declaration_value_reaches_no_report_cache_or_notice(tmp_path: Path, fake_token):
    """`# TODO stop hard-coding: hf_...` is read by Python as an encoding declaration; the value
    was quoted in the "not valid Python" note of every report, the audit cache and ::notice::."""
    token = fake_token(HF)
    repo = Repo(tmp_path / "repo")
    base = repo.commit("base", {"README.md": "# demo\n"})
    head = repo.commit("model", {"config.yaml": CONFIG, "model/__init__.py": "",
                                 "model/model.py": f"# TODO stop hard-coding: {token}\nclass Model:\n    pass\n"})
    cache = tmp_path / "cache"
    env = {"TRUSSGUARD_CACHE_DIR": str(cache)}
    outputs = []
    for fmt in ("text", "json", "sarif", "github", "markdown"):
        done = run("scan", str(repo.root), "--format", fmt, env=env)
        assert done.returncode == 1, done.stderr
        outputs.append(done.stdout + done.stderr)
    repo.write("model/model.py", f"# TODO stop hard-coding: {token}\nclass Model:\n    x = 1\n")
    repo.git("add", "model/model.py")
    outputs.append(run("scan", "--staged", str(repo.root), "--format", "json", env=env, cwd=repo.root).stdout)
    done = run("audit", str(repo.root), "--format", "json", "--html", str(tmp_path / "r.html"),
               "--evidence", str(tmp_path / "e.json"), env=env)
    assert done.returncode == 1, done.stderr
    assert any("unknown encoding" in n for n in json.loads(done.stdout)["stats"]["notes"])  # the note is kept
    outputs += [done.stdout, done.stderr, (tmp_path / "r.html").read_bytes(), (tmp_path / "e.json").read_bytes(),
                files_under(cache)]
    repo.git("reset", "-q", "--hard")
    action = run_action(tmp_path, repo.root, "pull_request", pull_request(base, head), command="scan")
    outputs += [action.stdout.encode(), action.summary.encode()]
    assert "::notice::" in action.stdout
    for text in outputs:
        text = text if isinstance(text, bytes) else text.encode()
        assert token.encode() not in text
        assert token[4:].encode() not in text  # nor the token without its prefix


def test_rule_file_yaml_error_line_masks_the_quoted_secret(tmp_path: Path, fake_token, monkeypatch, capsys):
    """PyYAML without libyaml quotes the offending alias ("found undefined alias 'hf_...'"); the
    one-line rule error carried the token to the CI log."""
    import yaml

    from trussguard.engine import loader

    monkeypatch.setattr(loader, "_YAML_LOADER", yaml.SafeLoader)  # as on an install without libyaml
    token = fake_token(HF)
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"rules:\n  - id: acme.key\n    pattern: *{token}\n", "utf-8")
    (tmp_path / "tree").mkdir()
    assert main(["scan", str(tmp_path / "tree"), "--rules", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "rule error" in err and "undefined alias" in err and token not in err


def test_config_file_error_line_masks_a_key_holding_a_token(tmp_path: Path, fake_token):
    """"unknown key '<whatever the file says>'" quoted a pasted token into the exit-2 line."""
    token = fake_token(HF)
    (tmp_path / ".trussguard.toml").write_text(f"{token} = 1\n", "utf-8")
    done = run("scan", str(tmp_path))
    assert done.returncode == 2
    err = done.stderr.decode()
    assert len(err.strip().splitlines()) == 1 and "unknown key" in err and token not in err


def test_a_path_holding_a_token_is_masked_in_notes(tmp_path: Path, fake_token):
    token = fake_token(HF)
    folder = tmp_path / "tree" / token
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text("model_name: [unclosed\n", "utf-8")
    done = run("scan", str(tmp_path / "tree"), "--format", "json")
    notes = json.loads(done.stdout)["stats"]["notes"]
    assert any("not valid YAML" in n for n in notes)
    assert token.encode() not in done.stdout + done.stderr


def test_a_file_named_after_a_token_is_a_finding_with_a_masked_path(tmp_path: Path, fake_token):
    """The name alone is a leak (exit 1); every report shows the path masked, never the token."""
    token, other = fake_token(HF), fake_token(HF)
    repo = Repo(tmp_path / "repo")
    (repo.root / "keys").mkdir()
    (repo.root / "keys" / f"{token}.txt").write_text("nothing to see\n", "utf-8")
    (repo.root / f"{other}.py").write_text(leak(other), "utf-8")  # name and content: one finding
    for fmt in ("text", "json", "sarif", "github", "markdown"):
        done = run("scan", str(repo.root), "--format", fmt)
        assert done.returncode == 1, done.stderr
        assert token.encode() not in done.stdout and other.encode() not in done.stdout, fmt
    findings = json.loads(run("scan", str(repo.root), "--format", "json").stdout)["findings"]
    assert sorted(f["path"].split("…")[0] for f in findings) == sorted([f"keys/{token[:8]}", other[:8]])
    repo.git("add", "-A")
    done = run("scan", "--staged", "--format", "json", cwd=repo.root)
    assert done.returncode == 1 and len(json.loads(done.stdout)["findings"]) == 2
    assert token.encode() not in done.stdout


def test_a_file_name_token_in_history_is_a_finding_with_its_commit(tmp_path: Path, fake_token):
    token = fake_token(HF)
    repo = Repo(tmp_path / "repo")
    added = repo.commit("add", {f"notes/{token}.md": "remember to rotate\n"})
    repo.commit("remove", {f"notes/{token}.md": None})
    done = run("audit", str(repo.root), "--format", "json")
    assert done.returncode == 1, done.stderr
    (finding,) = json.loads(done.stdout)["findings"]
    assert finding["rule_id"] == HF and finding["commit"] == added and finding["path"].startswith("notes/hf_")
    assert token.encode() not in done.stdout + done.stderr


@pytest.mark.parametrize("shape", ["slash", "at", "query"])
def test_evidence_remote_url_keeps_no_credential(tmp_path: Path, fake_token, shape: str):
    """The issue's three: a password holding `/`, a `?private_token=` query, a raw `@` that left a
    14-character tail behind."""
    rng = random.Random()
    secret = {"slash": f"{random_password(rng, 10)}/{random_password(rng, 12)}",
              "at": f"{random_password(rng, 6)}@{random_password(rng, 14)}",
              "query": random_password(rng, 20)}[shape]
    url = {"slash": f"https://ci:{secret}@git.example.invalid/org/model.git",
           "at": f"https://ci:{secret}@git.example.invalid/org/model.git",
           "query": f"https://git.example.invalid/org/model.git?private_token={secret}#{random_password(rng)}"}[shape]
    repo = Repo(tmp_path / "repo")
    repo.commit("leak", {"app.py": leak(fake_token(HF))})
    repo.git("remote", "add", "origin", url)
    done = run("audit", str(repo.root), "--evidence", str(tmp_path / "e.json"))
    assert done.returncode == 1, done.stderr
    remote = json.loads((tmp_path / "e.json").read_text())["scope"]["remote"]
    assert remote == "https://git.example.invalid/org/model.git"
    for part in (secret, *secret.split("/"), *secret.split("@")):
        assert part not in (tmp_path / "e.json").read_text()


@pytest.mark.parametrize("url, expected", [
    ("ssh://git:{a}%2F{b}@host.invalid:22/org/repo", "ssh://host.invalid:22/org/repo"),
    ("deploy:{a}@{b}@host.invalid:org/repo.git", "host.invalid:org/repo.git"),
    ("git@github.com:org/repo.git", "github.com:org/repo.git"),
    ("https://github.com/org/repo@v1", "https://github.com/org/repo@v1"),  # an "@" in the path is no userinfo
])
def test_redact_url_shapes(url: str, expected: str):
    rng = random.Random()  # password halves made at test time ({a}, {b})
    assert redact_url(url.format(a=random_password(rng, 6), b=random_password(rng, 6))) == expected


def test_redact_text_masks_rule_matches_url_passwords_and_token_queries(fake_token):
    token, rng = fake_token(HF), random.Random()
    password = f"{random_password(rng, 8)}/@{random_password(rng, 8)}"
    query = random_password(rng, 16)
    text = (f"x: unknown encoding: {token}; fetched https://u:{password}@h.invalid/r "
            f"and https://h.invalid/r?access_token={query}&ref=main")
    out = redact_text(text)
    for secret in (token, password, query, password.split("@")[1]):
        assert secret not in out
    assert "chars, sha256:" in out and "ref=main" in out and "h.invalid/r" in out


# ----------------------------------------------------------------------------- closed stdout, odd names

def test_closed_pipe_is_exit_2_with_one_line(tmp_path: Path, fake_token):
    """`trussguard scan . | head -0`: click turned EPIPE into exit 1 (read as "findings")."""
    (tmp_path / "app.py").write_text(leak(fake_token(HF)), "utf-8")
    proc = subprocess.Popen([sys.executable, "-m", "trussguard", "scan", str(tmp_path), "--format", "json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader went away before the report was written
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 2
    assert len(err.strip().splitlines()) == 1 and "standard output was closed" in err, err


def test_closed_stdout_descriptor_is_exit_2_with_one_line(tmp_path: Path, fake_token):
    """`trussguard scan >&-`: an AttributeError on None; with --output the report still works."""
    (tmp_path / "app.py").write_text(leak(fake_token(HF)), "utf-8")
    closing = {"preexec_fn": lambda: os.close(1)}
    done = run("scan", str(tmp_path), **closing)
    assert done.returncode == 2
    assert done.stderr.decode().strip().splitlines() == [
        "trussguard: error: standard output was closed before the report was written "
        "(use --output FILE to write it to a file)"]
    done = run("scan", str(tmp_path), "-o", str(tmp_path / "r.txt"), **closing)
    assert done.returncode == 1 and b"huggingface.user-token" in (tmp_path / "r.txt").read_bytes()


def test_non_utf8_file_names_in_every_command_and_format(tmp_path: Path, fake_token):
    """A Latin-1 file name crashed `scan` with UnicodeEncodeError and no report; it is shown as
    `caf\\xe9.py`, as the history audit shows it, in every format, under any locale."""
    token = fake_token(HF)
    repo = Repo(tmp_path / "repo")
    name = os.fsdecode(b"caf\xe9.py")
    (repo.root / name).write_text(leak(token), "utf-8")
    for env in ({}, {"LANG": "C", "LC_ALL": "C"}, {"PYTHONIOENCODING": "ascii"}):
        for fmt in ("text", "json", "sarif", "github", "markdown"):
            done = run("scan", str(repo.root), "--format", fmt, env=env)
            assert done.returncode == 1, (env, fmt, done.stderr)
            shown = done.stdout.replace(b"\\\\", b"\\").replace(b"%5C", b"\\")  # JSON and SARIF escape "\\"
            assert b"caf\\xe9.py" in shown and b"\xe9" not in done.stdout, (env, fmt)
    done = run("scan", str(repo.root), "--format", "json", "-o", str(tmp_path / "r.json"))
    assert done.returncode == 1, done.stderr
    assert json.loads((tmp_path / "r.json").read_text())["findings"][0]["path"] == "caf\\xe9.py"
    repo.git("add", "-A")
    done = run("scan", "--staged", "--format", "json", cwd=repo.root)
    assert done.returncode == 1 and json.loads(done.stdout)["findings"][0]["path"] == "caf\\xe9.py"
    repo.git("commit", "-q", "-m", "latin-1 name")
    done = run("audit", str(repo.root), "--format", "json", env={"LANG": "C", "LC_ALL": "C"})
    assert done.returncode == 1 and json.loads(done.stdout)["findings"][0]["path"] == "caf\\xe9.py"


# ----------------------------------------------------------------------------- signals and workers

def _descendants(pid: int) -> set[int]:
    """Every process whose parent chain leads to ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's wait is missing


@pytest.fixture(scope="module")
def many_blobs(tmp_path_factory) -> Path:
    """Over PARALLEL_MIN_BLOBS versions of a model file, so `audit -j 2` forks workers that work
    for seconds."""
    root = tmp_path_factory.mktemp("many") / "repo"
    _slow_history(root, versions=1100)
    return root


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG is Linux's")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_die_with_the_audit(many_blobs: Path, tmp_path: Path, sig: int):
    report = tmp_path / "report.json"
    proc = subprocess.Popen([sys.executable, "-m", "trussguard", "audit", str(many_blobs), "--no-cache", "-j", "2",
                             "--format", "json", "-o", str(report)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    workers: set[int] = set()
    deadline = time.monotonic() + 120
    while len(workers) < 2 and proc.poll() is None and time.monotonic() < deadline:
        workers = {p for p in _descendants(proc.pid) if "trussguard" in _cmdline(p)}
        time.sleep(0.05)
    if proc.poll() is not None:
        pytest.skip("the audit finished before its workers could be seen")
    time.sleep(0.3)
    family = _descendants(proc.pid)  # the workers and their git cat-file processes
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if sig == signal.SIGTERM:
        assert proc.returncode == 143
        assert err.decode().strip().splitlines() == ["trussguard: terminated (SIGTERM); no report written"]
    else:
        assert proc.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in family) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in family if _alive(p)], "processes outlived the audit"
    assert not report.exists()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowing is the point
def test_an_interrupt_whose_exception_was_swallowed_still_exits_130(tmp_path: Path, monkeypatch, fake_token):
    """A KeyboardInterrupt raised where Python swallows it (a __del__, a callback) let the scan go
    on, write its report and exit 0 after Ctrl-C: test_audit's SIGINT test saw exit 0."""
    from trussguard import commands

    (tmp_path / "app.py").write_text(leak(fake_token(HF)), "utf-8")
    real = commands.scan_result

    class Swallower:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the handler runs between bytecodes: here, inside __del__
                pass

    def scan_then_swallow(*args, **kwargs):
        holder = Swallower()
        del holder  # "Exception ignored in: <function Swallower.__del__>"
        return real(*args, **kwargs)

    monkeypatch.setattr(commands, "scan_result", scan_then_swallow)
    before = signal.getsignal(signal.SIGINT)
    report = tmp_path / "r.json"
    assert main(["scan", str(tmp_path), "-o", str(report)]) == 130
    assert not report.exists()
    assert signal.getsignal(signal.SIGINT) is before  # handlers are put back


# ----------------------------------------------------------------------------- verified caches
# The built-in rules alone load from their shipped parse (test_shipped_rules.py), so these tests reach the
# user's rule cache with a custom rule folder beside them, or with the shipped parse out of the way.


@pytest.fixture
def without_shipped_parse(monkeypatch):
    from trussguard.engine import loader
    monkeypatch.setattr(loader, "SHIPPED", "no-such-parse.json")


def _custom_rules(tmp_path: Path) -> Path:
    import yaml
    from conftest import acme_rule
    folder = tmp_path / "custom-rules"
    folder.mkdir()
    (folder / "acme.yaml").write_text(yaml.safe_dump({"schema_version": 1, "provider": "acme",
                                                      "rules": [acme_rule()]}), "utf-8")
    return folder


def test_rule_cache_replaced_by_an_empty_list_is_rebuilt_with_a_note(tmp_path: Path, fake_token):
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "app.py").write_text(leak(fake_token(HF)), "utf-8")
    cache = tmp_path / "cache"
    env = {"TRUSSGUARD_CACHE_DIR": str(cache)}
    custom = str(_custom_rules(tmp_path))
    assert run("scan", str(tmp_path / "tree"), "--rules", custom, env=env).returncode == 1
    (rule_cache,) = cache.glob("rules-*.json")
    rule_cache.write_text("[]", "utf-8")
    done = run("scan", str(tmp_path / "tree"), "--rules", custom, "--format", "json", env=env)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["stats"]["rules"] == len(load_rules([Path(custom)], cache_dir=None).rules)
    assert [f["rule_id"] for f in report["findings"]] == [HF]
    assert any("rule cache" in n and "discarded" in n for n in report["stats"]["notes"])
    assert json.loads(rule_cache.read_text("utf-8"))["count"] == report["stats"]["rules"]  # rebuilt


def test_rule_cache_with_a_recomputed_but_empty_list_is_not_trusted(tmp_path: Path, fake_token, without_shipped_parse):
    from trussguard.engine import loader

    cache = tmp_path / "cache"
    good = load_rules(cache_dir=cache)
    (rule_cache,) = cache.glob("rules-*.json")
    doc = json.loads(rule_cache.read_text("utf-8"))
    doc.update(rules=[], count=0, sha256=loader._rules_sha256([]))  # a consistent lie
    rule_cache.write_text(json.dumps(doc), "utf-8")
    again = load_rules(cache_dir=cache)
    assert again.rules == good.rules and again.notes


def test_rule_cache_keeping_a_consistent_subset_of_the_rules_is_not_trusted(tmp_path: Path, without_shipped_parse):
    """A forged cache whose own count and checksum agree, holding all rules but one: the rule files
    declare one more id, so it is refused and the full set is parsed."""
    from trussguard.engine import loader

    cache = tmp_path / "cache"
    good = load_rules(cache_dir=cache)
    (rule_cache,) = cache.glob("rules-*.json")
    doc = json.loads(rule_cache.read_text("utf-8"))
    kept = [r for r in doc["rules"] if r["id"] != HF]
    doc.update(rules=kept, count=len(kept), sha256=loader._rules_sha256(kept))
    rule_cache.write_text(json.dumps(doc), "utf-8")
    again = load_rules(cache_dir=cache)
    assert HF in again.by_id() and again.rules == good.rules and again.notes


def test_keyword_database_of_other_keywords_is_not_used(tmp_path: Path, fake_token, ruleset):
    from trussguard.engine import prefilter
    from trussguard.engine.matcher import Matcher

    cache = tmp_path / "cache"
    Matcher(ruleset, cache)
    (db,) = cache.glob("prefilter-*.hsdb")
    db.write_bytes(prefilter.hyperscan.dumpb(prefilter._compile(["zzzz-no-such-keyword"])))
    token = fake_token(HF)
    assert [m.secret for m in Matcher(ruleset, cache).scan(f'x = "{token}"'.encode()) if m.rule_id == HF] == [token]


def test_rewritten_audit_cache_payloads_cannot_hide_a_leak(tmp_path: Path, fake_token):
    repo = Repo(tmp_path / "repo")
    repo.commit("leak", {"app.py": leak(fake_token(HF))})
    cache = tmp_path / "blobs"
    args = ("audit", str(repo.root), "--cache", str(cache), "--format", "json")
    assert run(*args).returncode == 1
    with sqlite3.connect(cache / FILENAME) as conn:  # every entry now says "scanned, nothing found"
        conn.execute("UPDATE blobs SET payload = CAST('[[],[],[],1,40,0]' AS BLOB)")
    done = run(*args)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert [f["rule_id"] for f in report["findings"]] == [HF]
    assert any("failed the checksum" in n and "scanned again" in n for n in report["stats"]["notes"])
    assert run(*args).returncode == 1  # rewritten with sound entries: a third run is quiet and right
    assert not any("checksum" in n for n in json.loads(run(*args).stdout)["stats"]["notes"])


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github", "markdown"])
def test_parse_errors_of_yaml_notebooks_and_settings_quote_no_token(tmp_path: Path, fake_token, fmt):
    """Files that do not parse (a Truss config.yaml, a notebook's JSON) still have their tokens found, and
    nothing said about them (notes, the exit-2 line of a broken baseline or configuration file) holds one."""
    tokens = [fake_token(HF) for _ in range(4)]
    tree = tmp_path / "tree"
    (tree / "model").mkdir(parents=True)
    (tree / "config.yaml").write_text(f"model_name: x\nsecrets:\n  hf_access_token: [{tokens[0]}\n  : :\n", "utf-8")
    (tree / "model" / "model.py").write_text("class Model:\n    pass\n", "utf-8")
    (tree / "try.ipynb").write_text('{"cells": [{"source": ["HF_TOKEN = \\"' + tokens[1] + '\\"\\n"', "utf-8")
    done = run("scan", str(tree), "--format", fmt)
    assert done.returncode == 1, done.stderr
    said = done.stdout + done.stderr
    assert b"config.yaml" in said and b"try.ipynb" in said  # both were reported, as findings or notes
    assert not any(t.encode() in said for t in tokens)
    bad_baseline = tmp_path / "baseline.json"
    bad_baseline.write_text('{"version": 1, "entries": [' + tokens[2], "utf-8")
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text(f'exclude = ["{tokens[3]}"\nfail-on = \n', "utf-8")
    for flags in (["--baseline", str(bad_baseline)], ["--config", str(bad_config)]):
        done = run("scan", str(tree), "--format", fmt, *flags)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert not any(t.encode() in done.stdout + done.stderr for t in tokens)
