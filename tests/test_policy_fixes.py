"""Fix texts that fit the Truss: the reading a `docker_server:` Truss can do, the name it already declares,
and the workspace secret a generic finding is named after (issue 12).

Fixture trees live in tests/fixtures/fixes/<case>/ as ``.tmpl`` files, with fake values made at test time
(see test_policy.materialise)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from test_policy import materialise

from trussguard.config import ScanConfig
from trussguard.pipeline import scan_tree

FIXES = Path(__file__).parent / "fixtures" / "fixes"


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    root = tmp_path_factory.mktemp("fixes")
    materialise(FIXES, root, random.Random(12))
    return scan_tree(ScanConfig(paths=(root,), cache_dir=None, jobs=1))


def fix_of(result, check: str, path: str) -> str:
    (found,) = [f for f in result.findings if check in (f.check, f.rule_id) and f.path == path]
    return found.fix


def advisory_of(result, path: str):
    ids = {f.id for f in result.findings if f.path == path and f.secret_sha256}
    (adv,) = [a for a in result.advisories if ids & set(a.finding_ids)]
    return adv


def test_docker_server_truss_is_told_to_read_the_mounted_file(scanned):
    fix = fix_of(scanned, "TG104", "docker/config.yaml")
    assert "`HUGGING_FACE_HUB_TOKEN=$(cat /secrets/hf_access_token)` in `docker_server.start_command`" in fix
    assert "_secrets[" not in fix
    unused = fix_of(scanned, "TG208", "docker/config.yaml")
    assert "$(cat /secrets/wandb_api_key)" in unused and "_secrets[" not in unused
    assert 'self._secrets["wandb_api_key"]' in fix_of(scanned, "TG208", "model/config.yaml")  # a model class


def test_fix_reuses_the_declared_name_of_the_same_credential(scanned):
    env = fix_of(scanned, "TG103", "model/config.yaml")
    assert "`hf_access_token`" in env and "hf_token" not in env
    assert "declare `hf_access_token: null`" not in env  # already declared
    misplaced = fix_of(scanned, "TG104", "docker/config.yaml")
    assert "`hf_access_token` is already declared" in misplaced and "hugging_face_hub_token" not in misplaced


def test_docker_server_advisory_reads_the_file_in_steps_2_and_3(scanned):
    adv = advisory_of(scanned, "docker/config.yaml")
    store, change = adv.actions[1], adv.actions[2]
    assert adv.truss_secret_name == "openai_api_key"
    assert "`openai_api_key: null` under `secrets:` in config.yaml" in store.details[-1]
    assert "$(cat /secrets/openai_api_key)" in store.details[-1] and "_secrets[" not in store.details[-1]
    assert "`OPENAI_API_KEY=$(cat /secrets/openai_api_key)`" in change.details[0]
    assert "_secrets[" not in " ".join(change.details)


def test_generic_literal_advisory_is_named_after_its_variable(scanned):
    adv = advisory_of(scanned, "model/model/model.py")
    assert adv.truss_secret_name == "openai_api_key"
    assert "`openai_api_key`" in adv.actions[1].title
    assert 'self._secrets["openai_api_key"]' in adv.actions[1].details[-1]


def test_undeclared_read_of_a_declared_credential_is_a_misspelling(scanned):
    fix = fix_of(scanned, "TG207", "misspelled/model/model.py")
    assert fix.startswith("rename `hf_token` to `hf_access_token` under `secrets:` in misspelled/config.yaml")
