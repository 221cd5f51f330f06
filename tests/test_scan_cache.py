"""The tree scan's content-addressed cache (``scan_cache``): a warm re-scan reads every file but scans
only what changed, reports exactly what a cold scan reports, and never stores a secret.

Every credential is generated at run time from the rule's token template.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import textwrap

import pytest

from trussguard import pipeline
from trussguard.config import ScanConfig
from trussguard.pipeline import scan_tree
from trussguard.policy import runner
from trussguard.scan_cache import FILENAME, ScanCache

MODEL = textwrap.dedent('''\
    class Model:
        def __init__(self, **kwargs):
            self._secrets = kwargs["secrets"]

        def load(self):
            self.token = self._secrets["hf_access_token"]
    ''')
CONFIG = "model_name: m\nsecrets:\n  hf_access_token: null\n"


def _key(f):
    return f.path, f.line, f.rule_id, f.check, f.message, f.secret_sha256, f.severity


@pytest.fixture
def counted(monkeypatch):
    """Paths handed to ``scan_unit`` and to ``check_code`` in this process."""
    seen = {"units": [], "code": []}
    real_unit, real_code = pipeline.scan_unit, runner.check_code
    monkeypatch.setattr(pipeline, "scan_unit", lambda unit, ctx: seen["units"].append(unit.path)
                        or real_unit(unit, ctx))
    monkeypatch.setattr(runner, "check_code", lambda path, *a, **k: seen["code"].append(path)
                        or real_code(path, *a, **k))
    return seen


def _scan(root, cache):
    return scan_tree(ScanConfig(paths=(root,), cache_dir=cache, jobs=1))


def test_a_warm_rescan_scans_only_what_changed_and_reports_the_same(truss_tree, tmp_path, fake_token, counted):
    token = fake_token("huggingface.user-token")
    files = {"config.yaml": CONFIG, "model/model.py": MODEL, "other/config.yaml": CONFIG,
             "other/model/model.py": MODEL + f'\nHF = "{token}"\n', **{f"docs/n{i}.md": f"note {i}\n" for i in range(5)}}
    root = truss_tree(files)
    cache = tmp_path / "cache"
    cold = _scan(root, None)
    first = _scan(root, cache)
    assert sorted(map(_key, first.findings)) == sorted(map(_key, cold.findings))
    assert any(f.rule_id == "huggingface.user-token" for f in first.findings)

    counted["units"].clear(), counted["code"].clear()
    (root / "docs/n0.md").write_text("note 0, edited\n")
    warm = _scan(root, cache)
    assert sorted(map(_key, warm.findings)) == sorted(map(_key, cold.findings))
    assert warm.stats.files_scanned == first.stats.files_scanned
    # only the edited file: the file with a match is restored, its secret read back from its bytes
    assert sorted(counted["units"]) == ["docs/n0.md"]
    assert counted["code"] == ["other/model/model.py"]  # the Truss with a leak: its policy hits hold the secret

    counted["units"].clear(), counted["code"].clear()
    (root / "model/model.py").write_text(MODEL.replace('"hf_access_token"', '"hf_token"'))
    changed = _scan(root, cache)
    assert "model/model.py" in counted["code"]
    assert [f.message for f in changed.findings if f.check == "TG207"] == [
        "reads the secret `hf_token`, which config.yaml does not declare"]
    assert sorted(map(_key, changed.findings)) == sorted(map(_key, _scan(root, None).findings))


@pytest.mark.parametrize("value", ['"foo"', '"YOUR_TOKEN"', "baseten_api_key"])
def test_cached_policy_hits_keep_their_severity_and_what_they_cleared(truss_tree, tmp_path, value):
    """A stored hit keeps its severity override (an undeclared `runtime_secret_name` is medium) and the hash of
    a value its check judged no credential (TG102: a placeholder under `secrets:` is no leak finding)."""
    config = (f"model_name: m\nsecrets:\n  baseten_api_key: {value}\n"
              "model_cache:\n  - repo_id: org/m\n    runtime_secret_name: hf_access_token\n")
    root = truss_tree({"config.yaml": config, "model/model.py": MODEL})
    cache = tmp_path / "cache"
    cold = sorted(map(_key, _scan(root, None).findings))
    assert {(k[3], k[6].name) for k in cold} >= {("TG102", "MEDIUM"), ("TG207", "MEDIUM")}
    assert all(k[5] is None for k in cold)  # no leak finding of the placeholder
    _scan(root, cache)
    assert sorted(map(_key, _scan(root, cache).findings)) == cold  # every unit from the cache


def test_a_stored_truss_layout_spares_parsing_unchanged_configs(truss_tree, tmp_path, monkeypatch):
    """A warm re-scan takes each unchanged config's Truss layout from the cache; the config is parsed only
    if a check of its Truss runs again, and the findings are those of a cold scan."""
    from trussguard.policy import yaml_nodes
    files = {"a/config.yaml": CONFIG + "requirements_file: reqs.txt\n", "a/model/model.py": MODEL,
             "a/reqs.txt": "torch\n", "b/config.yaml": "model_name: b\nsecrets:\n  hf_token: null\n",
             "b/model/model.py": MODEL, "c/config.yaml": "just:\n  other: yaml\n", "d/config.yaml": "[1, 2\n"}
    root = truss_tree(files)
    cache = tmp_path / "cache"
    cold = _scan(root, None)
    _scan(root, cache)
    parsed = []
    real = yaml_nodes.parse
    monkeypatch.setattr(yaml_nodes, "parse", lambda data: parsed.append(data) or real(data))
    (root / "b/notes.md").write_text("edited\n")
    warm = _scan(root, cache)
    assert sorted(map(_key, warm.findings)) == sorted(map(_key, cold.findings))
    assert [f.message for f in warm.findings if f.check == "TG207"] == [
        "reads the secret `hf_access_token`, which config.yaml does not declare"]
    assert warm.stats.notes == cold.stats.notes and any("d/config.yaml" in n for n in warm.stats.notes)
    assert warm.stats.trusses == cold.stats.trusses
    # b's unit and the fixture's root Truss ran again (their listings changed) and parsed their configs; a's
    # came whole from the cache; d is not valid YAML: its note is never stored, so it is parsed every time
    assert sorted(parsed) == sorted([(root / "config.yaml").read_bytes(), files["b/config.yaml"].encode(),
                                     files["d/config.yaml"].encode()])


def test_the_cache_never_holds_a_secret(truss_tree, tmp_path, fake_token):
    token = fake_token("huggingface.user-token")
    root = truss_tree({"config.yaml": CONFIG + f"environment_variables:\n  HF_TOKEN: {token}\n",
                       "model/model.py": MODEL + f'\nHF = "{token}"\n', "notes.txt": f"token {token}\n"})
    cache = tmp_path / "cache"
    found = _scan(root, cache).findings
    assert {f.path for f in found} >= {"config.yaml", "model/model.py", "notes.txt"}
    stored = b"".join(p.read_bytes() for p in cache.rglob("*") if p.is_file())
    assert stored and token.encode() not in stored and token[:12].encode() not in stored
    assert sorted(map(_key, _scan(root, cache).findings)) == sorted(map(_key, found))


def test_an_edited_cache_row_is_rejected_and_scanned_again(truss_tree, tmp_path, fake_token):
    root = truss_tree({"config.yaml": CONFIG, "model/model.py": MODEL, "notes.txt": "nothing here\n"})
    cache = tmp_path / "cache"
    _scan(root, cache)
    token = fake_token("huggingface.user-token")
    (root / "notes.txt").write_text(f"token {token}\n")
    _scan(root, cache)  # its unit has a match: not stored; every other row is
    with sqlite3.connect(cache / "scan" / FILENAME) as conn:
        conn.execute("UPDATE blobs SET payload = CAST('[\"unit\",1,false,false,false]' AS BLOB)")
    result = _scan(root, cache)
    assert any(f.path == "notes.txt" and f.rule_id == "huggingface.user-token" for f in result.findings)
    assert any("failed the checksum" in n for n in result.stats.notes)


def test_a_match_inside_a_decoded_run_is_scanned_again(truss_tree, tmp_path, fake_token, counted):
    """Its secret is not in the bytes as written, so the cache cannot read it back: never stored."""
    import base64
    hidden = base64.b64encode(f"HF_TOKEN={fake_token('huggingface.user-token')}\n".encode()).decode()
    root = truss_tree({"config.yaml": CONFIG, "model/model.py": MODEL, "blob.txt": f"payload: {hidden}\n"})
    cache = tmp_path / "cache"
    first = _scan(root, cache)
    assert any(f.path == "blob.txt" for f in first.findings)
    counted["units"].clear()
    again = _scan(root, cache)
    assert counted["units"] == ["blob.txt"]
    assert sorted(map(_key, again.findings)) == sorted(map(_key, first.findings))


def test_a_stored_match_that_does_not_hash_is_scanned_again(truss_tree, tmp_path, fake_token, counted):
    token = fake_token("huggingface.user-token")
    root = truss_tree({"config.yaml": CONFIG, "model/model.py": MODEL, "notes.txt": f"token {token}\n"})
    cache = tmp_path / "cache"
    first = _scan(root, cache)
    store = ScanCache.open(cache / "scan", "")
    rows = store._conn.execute("SELECT key, payload FROM blobs").fetchall()
    forged = [(k, p.replace(hashlib.sha256(token.encode()).hexdigest().encode(), b"0" * 64)) for k, p in rows]
    assert forged != rows
    store._write(forged)  # consistent checksums: only the secret's hash is wrong
    store.close()
    counted["units"].clear()
    again = _scan(root, cache)
    assert counted["units"] == ["notes.txt"]
    assert sorted(map(_key, again.findings)) == sorted(map(_key, first.findings))


def test_an_unchanged_signature_skips_reading_and_a_same_size_edit_is_still_seen(truss_tree, tmp_path, fake_token,
                                                                                  monkeypatch, counted):
    """A file whose (device, inode, size, mtime, ctime) is unchanged is not read again; an edit that keeps
    the size and puts the mtime back still changes the ctime, so the file is read and scanned."""
    monkeypatch.setattr(pipeline, "SETTLED_NS", -10**12)  # the fixture's files are seconds old, not settled
    token = fake_token("huggingface.user-token")
    filler = "x" * len(token)
    root = truss_tree({"config.yaml": CONFIG, "model/model.py": MODEL, "notes.txt": f"token {filler}\n"})
    cache = tmp_path / "cache"
    assert not any(f.path == "notes.txt" for f in _scan(root, cache).findings)
    reads = []
    real = pipeline.read_fragment
    monkeypatch.setattr(pipeline, "read_fragment", lambda c, n: reads.append(c.path) or real(c, n))
    _scan(root, cache)
    assert reads == ["config.yaml"]  # only the policy stage's read of the config (for the Truss layout)
    notes = root / "notes.txt"
    before = notes.stat()
    notes.write_text(f"token {token}\n")  # same size
    os.utime(notes, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old mtime
    assert notes.stat().st_size == before.st_size and notes.stat().st_mtime_ns == before.st_mtime_ns
    counted["units"].clear()
    found = _scan(root, cache).findings
    assert counted["units"] == ["notes.txt"]
    assert any(f.path == "notes.txt" and f.rule_id == "huggingface.user-token" for f in found)


def test_no_cache_writes_nothing(truss_tree, tmp_path):
    root = truss_tree({"config.yaml": CONFIG, "model/model.py": MODEL})
    _scan(root, None)
    assert not list(tmp_path.rglob(FILENAME))
