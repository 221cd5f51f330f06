"""Shared fixtures for the trussguard test suite.

Every credential used by the tests is generated at run time from the rule's own ``tokens:``
template (``trussguard.engine.tokens.expand_template``), so no realistic key literal ever sits
in a test file. Tests never touch the user's cache: ``TRUSSGUARD_CACHE_DIR`` points at a
per-session temporary folder for the whole run (subprocesses inherit it).
"""

from __future__ import annotations

import os
import random
import tempfile
import textwrap
from pathlib import Path
from typing import Callable

import pytest

from trussguard.engine import tokens
from trussguard.engine.loader import RuleSet, load_rules

try:  # keep hypothesis' own files (.hypothesis/) out of the checkout
    from hypothesis.configuration import set_hypothesis_home_dir

    set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "trussguard-tests-hypothesis")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory):
    """TRUSSGUARD_CACHE_DIR -> a tmp folder for the session; NO_CACHE and colour env cleared."""
    cache = tmp_path_factory.mktemp("trussguard-cache")
    saved = {k: os.environ.get(k) for k in ("TRUSSGUARD_CACHE_DIR", "TRUSSGUARD_NO_CACHE")}
    os.environ["TRUSSGUARD_CACHE_DIR"] = str(cache)
    os.environ.pop("TRUSSGUARD_NO_CACHE", None)
    try:
        yield cache
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="session")
def cache_dir(_isolated_cache: Path) -> Path:
    return _isolated_cache


@pytest.fixture(scope="session")
def ruleset() -> RuleSet:
    """The built-in rule set, parsed without any cache."""
    return load_rules(cache_dir=None)


@pytest.fixture(scope="session")
def rules_by_id(ruleset: RuleSet) -> dict:
    return ruleset.by_id()


class TokenFactory:
    """``fake_token(rule_id, name="token")``: a fresh fake credential in the rule's own shape.

    Deterministic per session (seeded) but never the same value twice within a session.
    """

    def __init__(self, ruleset: RuleSet, seed: int = 20240607):
        self._rules = ruleset.by_id()
        self.rng = random.Random(seed)

    def __call__(self, rule_id: str, name: str = "token", rng: random.Random | None = None) -> str:
        rule = self._rules[rule_id]
        if name not in rule.tokens:
            raise KeyError(f"rule {rule_id} has no token template {name!r} (has {sorted(rule.tokens)})")
        return tokens.expand_template(rule.tokens[name], rng or self.rng)

    def template(self, rule_id: str, name: str = "token") -> str:
        return self._rules[rule_id].tokens[name]


@pytest.fixture(scope="session")
def fake_token(ruleset: RuleSet) -> TokenFactory:
    """Callable fixture: ``fake_token("huggingface.user-token")`` -> a fresh fake HF token."""
    return TokenFactory(ruleset)


def random_password(rng: random.Random, length: int = 18) -> str:
    """A random alphanumeric value (a generic password), built at run time."""
    return tokens.expand_template(f"{{{length}:A-Za-z0-9}}", rng)


CLEAN_CONFIG = """\
    model_name: tiny-llm
    python_version: py311
    resources:
      accelerator: A10G
    requirements:
      - transformers==4.44.0
    secrets:
      hf_access_token: null
    environment_variables:
      TOKENIZERS_PARALLELISM: "false"
    """

CLEAN_MODEL = '''\
    class Model:
        def __init__(self, **kwargs):
            self._secrets = kwargs["secrets"]
            self.max_tokens = 512

        def load(self):
            self.hf_token = self._secrets["hf_access_token"]

        def predict(self, request):
            return {"ok": True}
    '''


def write_truss(root: Path, files: dict[str, str | bytes] | None = None, clean: bool = True) -> Path:
    """Writes a small Truss (config.yaml, model/model.py, README.md) plus ``files`` under root."""
    base: dict[str, str | bytes] = {}
    if clean:
        base = {
            "config.yaml": textwrap.dedent(CLEAN_CONFIG),
            "model/__init__.py": "",
            "model/model.py": textwrap.dedent(CLEAN_MODEL),
            "README.md": "# tiny-llm\n\nA Truss used by the tests.\n",
        }
    base.update(files or {})
    for rel, content in base.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, "utf-8")
    return root


@pytest.fixture
def truss_tree(tmp_path: Path) -> Callable[..., Path]:
    """``truss_tree(files=None, name="truss")`` -> a fresh small Truss folder under tmp_path."""
    counter = iter(range(1_000_000))

    def make(files: dict[str, str | bytes] | None = None, name: str | None = None, clean: bool = True) -> Path:
        root = tmp_path / (name or f"truss{next(counter)}")
        root.mkdir(parents=True, exist_ok=False)
        return write_truss(root, files, clean)

    return make


def acme_rule(**over) -> dict:
    """A valid custom rule as plain data, with fields overridden: for schema and CLI tests."""
    rule = {
        "id": "acme.api-key",
        "name": "Acme API key",
        "description": "An Acme key; whoever holds it can call the Acme API.",
        "severity": "high",
        "keywords": ["acme_"],
        "pattern": r"(?:^|[^A-Za-z0-9_])(?P<secret>acme_[A-Za-z0-9]{32})(?:[^A-Za-z0-9_]|$)",
        "min_entropy": 3.0,
        "tokens": {"token": "acme_{32:A-Za-z0-9}"},
        "examples": ['ACME_KEY="{{token}}"'],
        "negative_examples": [{"text": "ACME_KEY=acme_xxx", "why": "placeholder"}],
        "rotation": {"revoke_url": "https://acme.invalid/keys", "steps": ["Revoke it."],
                     "truss_secret_name": "acme_api_key"},
        "references": ["https://acme.invalid/docs"],
    }
    rule.update(over)
    return rule
