"""The generic assignment rule reports literal values only: a quoted string in code, or a bare
value in .env/shell/INI/TOML/YAML files; never a type, import, expression, path, prose or a line
of minified code. Fake values are made at test time."""

from __future__ import annotations

import random

import pytest

from trussguard.engine import tokens
from trussguard.engine.detector import Detector
from trussguard.engine.loader import load_rules

RULE = "generic.secret-assignment"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_rules(), use_detect_secrets=False)


def _token() -> str:
    return tokens.expand_template("{24:A-Za-z0-9}", random.Random())


def _generic(detector: Detector, path: str, text: str) -> list[str]:
    return [m.secret for m in detector.detect(path, text.encode()) if m.rule_id == RULE]


POSITIVE = [
    ("settings.py", 'DB_PASSWORD = "{v}"\n'),
    ("config.yaml", 'api_key: "{v}"\n'),
    ("config.yaml", "api_key: {v}\n"),
    ("deploy.sh", "export SERVICE_TOKEN={v}\n"),
    (".env", "SERVICE_TOKEN={v} # prod\n"),
    ("app.ini", "password = {v}\n"),
    ("pyproject.toml", 'token = "{v}"\n'),
    ("creds.json", '{{"password": "{v}"}}\n'),
    ("client.js", 'const apiKey = "{v}";\n'),
    ("client.ts", "const apiKey = '{v}';\n"),
    ("main.go", 'apiToken := "{v}"\n'),
    ("src/main.rs", 'let secret = "{v}";\n'),
    ("App.java", 'String password = "{v}";\n'),
]

NEGATIVE = [
    ("truss/remote/auth.py", "credential: OAuthCredential\n"),
    ("src/cancellation.rs", "pub fn with_cancel_token(cancel_token: CancellationToken) -> Self {{\n"),
    ("src/aws.rs", "use crate::secrets::get_secret_from_file;\n"),
    ("index.js", "module.exports.CancellationToken = CancellationToken\n"),
    ("model/model.py", "token = {v}\n"),  # bare word in code: a name, not a literal
    ("docs/loss.md", "per_token_loss = -clamped_ratios * advantages\n"),
    ("docs/params.md", "- calculate_per_token_loss: 根据全局批次中的非填充token数量来对交叉熵损失进行缩放\n"),
    ("docs/params.md", "- judge_auth_token: judge0访问Token{v}。\n"),
    ("docker-compose.yml", "- ./api-key.txt:/etc/baseten/api-key.txt:ro\n"),
    ("yarn.cjs", "var a=1;" + "f(x);" * 60 + 'W9={{appId:"X",apiKey:"{v}"}};g(y);\n'),
    ("build.py", 's3_credentials: AWSCredentials = parse_file(\n'),
]


@pytest.mark.parametrize("path,template", POSITIVE)
def test_literal_values_are_found(detector: Detector, path: str, template: str) -> None:
    value = _token()
    assert _generic(detector, path, template.format(v=value)) == [value]


@pytest.mark.parametrize("path,template", NEGATIVE)
def test_non_literals_are_not_reported(detector: Detector, path: str, template: str) -> None:
    assert _generic(detector, path, template.format(v=_token())) == []


def test_path_unknown_keeps_bare_values(detector: Detector) -> None:
    """Callers without a path (Truss config checks) judge values as in a data file: never stricter."""
    value = _token()
    found = [m.secret for m in detector.matcher.scan(f"SERVICE_TOKEN={value}\n".encode()) if m.rule_id == RULE]
    assert found == [value]
