"""Issue 14's three shapes of leak, for fourteen providers each: a key in a notebook (a code cell and
a printed output), inside escaped JSON / YAML / TOML strings, and as an argument of a command.

Each case checks the provider's own rule reports the exact value, at the exact file line and column
(and, in a notebook, the exact cell and cell line). Every credential is generated at test time from
the rule's own token template (``fake_token``).
"""

from __future__ import annotations

import json

import pytest

from trussguard.engine.detector import Detector
from trussguard.scan_unit import Unit, UnitContext, scan_unit
from trussguard.types import CellPlace, Fragment

# (rule id, token template name, the environment variable a user would put it in)
PROVIDERS = [
    ("openai.project-key", "token", "OPENAI_API_KEY"),
    ("anthropic.api-key", "token", "ANTHROPIC_API_KEY"),
    ("huggingface.user-token", "token", "HF_TOKEN"),
    ("mistral.api-key", "token", "MISTRAL_API_KEY"),  # keyword-anchored: no prefix of its own
    ("cohere.api-key", "token", "COHERE_API_KEY"),  # keyword-anchored
    ("github.pat", "token", "GITHUB_TOKEN"),
    ("replicate.api-token", "token", "REPLICATE_API_TOKEN"),
    ("groq.api-key", "token", "GROQ_API_KEY"),
    ("together.api-key", "token", "TOGETHER_API_KEY"),
    ("wandb.api-key", "token", "WANDB_API_KEY"),
    ("slack.bot-token", "token", "SLACK_BOT_TOKEN"),
    ("stripe.live-secret-key", "key", "STRIPE_SECRET_KEY"),
    ("nvidia.api-key", "token", "NVIDIA_API_KEY"),
    ("gitlab.pat", "token", "GITLAB_TOKEN"),
]
IDS = [p[0] for p in PROVIDERS]


@pytest.fixture(scope="module")
def ctx(ruleset) -> UnitContext:
    return UnitContext(Detector(ruleset, None, False, 1), frozenset(), 1 << 20)


def _scan(ctx: UnitContext, path: str, data: bytes):
    return scan_unit(Unit((path,), Fragment(path, data)), ctx)


def _only(result, rule_id: str, secret: str):
    found = [m for m in result.matches if m.secret == secret]
    assert [m.rule_id for m in found] == [rule_id], [(m.rule_id, m.line) for m in result.matches]
    return found[0]


def _line_and_column(data: bytes, secret: str) -> tuple[int, int]:
    """Where the secret's first character stands in the file as written (1-based line and column)."""
    start = data.index(secret.encode())
    line_start = data.rfind(b"\n", 0, start) + 1
    return data.count(b"\n", 0, start) + 1, len(data[line_start:start].decode()) + 1


def _notebook(*cells: dict) -> bytes:
    doc = {"cells": list(cells), "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4,
           "nbformat_minor": 5}
    return (json.dumps(doc, indent=1) + "\n").encode()


@pytest.mark.parametrize("rule_id,template,env", PROVIDERS, ids=IDS)
def test_in_a_notebook_code_cell(ctx, fake_token, rule_id, template, env):
    key = fake_token(rule_id, template)
    code = {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
            "source": ["import os\n", "\n", f'os.environ["{env}"] = "{key}"\n', "client = make_client()"]}
    data = _notebook({"cell_type": "markdown", "metadata": {}, "source": ["# Try it"]}, code)
    m = _only(_scan(ctx, "try.ipynb", data), rule_id, key)
    assert m.cell == CellPlace(2, 3)
    assert (m.line, m.column) == _line_and_column(data, key)
    assert data[m.start:m.end] == key.encode()


@pytest.mark.parametrize("rule_id,template,env", PROVIDERS, ids=IDS)
def test_printed_in_a_notebook_output(ctx, fake_token, rule_id, template, env):
    key = fake_token(rule_id, template)
    stream = {"name": "stdout", "output_type": "stream", "text": ["loaded settings\n", f"{env}={key}\n"]}
    code = {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [stream],
            "source": ["print_settings()"]}
    first = {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [], "source": ["import os"]}
    data = _notebook(first, code)
    m = _only(_scan(ctx, "settings.ipynb", data), rule_id, key)
    assert m.cell == CellPlace(2, 2, output=True)
    assert (m.line, m.column) == _line_and_column(data, key)


@pytest.mark.parametrize("rule_id,template,env", PROVIDERS, ids=IDS)
def test_inside_an_escaped_json_string(ctx, fake_token, rule_id, template, env):
    key = fake_token(rule_id, template)
    command = f'set -e\nexport {env}="{key}"\npython serve.py\n'
    data = json.dumps({"name": "svc", "run": {"command": command}}, indent=2).encode()
    assert b'\\"' + key.encode() + b'\\"' in data  # written with escapes around it
    m = _only(_scan(ctx, "deploy.json", data), rule_id, key)
    assert (m.line, m.column) == _line_and_column(data, key) and m.cell is None


@pytest.mark.parametrize("rule_id,template,env", PROVIDERS, ids=IDS)
def test_inside_an_escaped_yaml_string(ctx, fake_token, rule_id, template, env):
    key = fake_token(rule_id, template)
    data = (f'name: svc\nrun: "set -e\\nexport {env}=\\"{key}\\"\\npython serve.py\\n"\n').encode()
    m = _only(_scan(ctx, "deploy.yaml", data), rule_id, key)
    assert (m.line, m.column) == (2, _line_and_column(data, key)[1])


@pytest.mark.parametrize("rule_id,template,env", PROVIDERS, ids=IDS)
def test_inside_an_escaped_toml_string(ctx, fake_token, rule_id, template, env):
    key = fake_token(rule_id, template)
    data = f'[tool.run]\nname = "svc"\ncommand = "export {env}=\\"{key}\\" && serve"\n'.encode()
    m = _only(_scan(ctx, "pyproject.toml", data), rule_id, key)
    assert (m.line, m.column) == (3, _line_and_column(data, key)[1])


# A provider-shaped key as the argument of a command gets the provider's rule. Keyword-anchored
# providers (Mistral, Cohere) are left out: as a bare argument their keys have no shape of their own
# (the curl, flag and header rules report them; tests/test_rules.py covers those).
SHAPED = [p for p in PROVIDERS if p[0] not in ("mistral.api-key", "cohere.api-key")]
COMMANDS = [
    ("config.yaml", "build_commands:\n  - pip install -q acme\n  - acme-cli login --token {key}\n", 3),
    ("scripts/setup.sh", "#!/bin/sh\nset -e\ncurl -sf -H \"Authorization: Bearer {key}\" https://api.acme.dev/v1/models\n", 3),
    ("Dockerfile", "FROM python:3.11\nRUN acme configure --api-key={key} && acme pull model\n", 2),
    ("Makefile", "login:\n\t{env}={key} python -m acme.login\n", 2),
    ("README.md", "# Setup\n\n```sh\ndocker login -u bot -p {key} registry.acme.dev\n```\n", 4),
]


@pytest.mark.parametrize("rule_id,template,env", SHAPED, ids=[p[0] for p in SHAPED])
@pytest.mark.parametrize("path,command,line", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_as_a_command_argument(ctx, fake_token, rule_id, template, env, path, command, line):
    key = fake_token(rule_id, template)
    data = command.format(key=key, env=env).encode()
    m = _only(_scan(ctx, path, data), rule_id, key)
    assert (m.line, m.column) == (line, _line_and_column(data, key)[1])


def test_every_case_covers_at_least_ten_providers():
    assert len({p[0].split(".")[0] for p in PROVIDERS}) >= 10
    assert len({p[0].split(".")[0] for p in SHAPED}) >= 10
