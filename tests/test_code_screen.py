"""The parse screen (``policy.code_screen``): which Python files of a Truss the code checks parse.

A file is left unparsed only when no code check can fire on it; the project checks then count it as
code that reads no secret (a screened file's quoted names are not uses, as they would be for code
that failed to parse). Every credential is generated at run time.
"""

from __future__ import annotations

import random
import textwrap

import pytest

from trussguard.config import ScanConfig
from trussguard.engine.detector import Detector
from trussguard.pipeline import scan_tree
from trussguard.policy import runner
from trussguard.policy.code_screen import needs_parse

from conftest import random_password

HELPER = textwrap.dedent('''\
    import math

    def scale(values, factor=2):
        """Multiply each value."""
        return [math.floor(v * factor) for v in values]  # plain code
    ''')


@pytest.fixture(scope="module")
def detector(ruleset):
    return Detector(ruleset, None)


def test_plain_code_needs_no_parse(detector):
    assert not needs_parse(HELPER.encode(), False, detector)


@pytest.mark.parametrize("line", ['token = self._secrets["x"]', 'home = os.environ["HOME"]', 'v = os.getenv("V")',
                                  'open("/secrets/x").read()', "import truss_chains as chains"])
def test_a_word_a_structural_check_starts_from_needs_parse(detector, line):
    data = (HELPER + line + "\n").encode()
    assert needs_parse(data, False, detector)
    assert not needs_parse(data.replace(line.encode(), b"pass"), False, detector)


def test_a_literal_that_may_be_a_credential_needs_parse(detector, fake_token):
    rng = random.Random(7)
    for value in (fake_token("huggingface.user-token"), random_password(rng, 32)):
        data = (HELPER + f'SETTING = "{value}"\n').encode()
        any_match = bool(detector.detect("model/model.py", data, True))  # the caller's answer, as in a scan
        assert needs_parse(data, any_match, detector, leaks_only=True), value[:4]
    split = random_password(rng, 32)  # one value in two pieces: no rule sees it, the screen does
    assert needs_parse((HELPER + f'SETTING = ("{split[:16]}"\n    "{split[16:]}")\n').encode(), False, detector)
    assert needs_parse(HELPER.encode(), True, detector)  # a rule matched somewhere: always parsed


def test_screened_files_are_not_parsed_and_findings_stay(truss_tree, monkeypatch, fake_token):
    parsed = []
    real = runner.parse_python
    monkeypatch.setattr(runner, "parse_python", lambda path, data: parsed.append(path) or real(path, data))
    token = fake_token("huggingface.user-token")
    root = truss_tree({
        "config.yaml": "model_name: m\nsecrets:\n  hf_access_token: null\n",
        "model/model.py": f'HF = "{token}"\n',
        "packages/helper.py": HELPER,
    })
    found = {(f.path, f.check or f.rule_id) for f in scan_tree(ScanConfig(paths=(root,), cache_dir=None)).findings}
    assert parsed == ["model/model.py"]
    assert ("model/model.py", "TG201") in found


def test_a_screened_file_quoting_a_declared_name_is_not_a_use(truss_tree):
    """`packages/names.py` quotes `wandb_api_key` but never reads the secrets mapping: the
    declaration is unused (TG208), as when the file was parsed and found to read nothing."""
    root = truss_tree({
        "config.yaml": "model_name: m\nsecrets:\n  hf_access_token: null\n  wandb_api_key: null\n",
        "model/model.py": textwrap.dedent('''\
            class Model:
                def __init__(self, **kwargs):
                    self._secrets = kwargs["secrets"]

                def load(self):
                    self.token = self._secrets["hf_access_token"]
            '''),
        "packages/names.py": 'KNOWN = ["wandb_api_key"]\n',
    })
    found = [f.message for f in scan_tree(ScanConfig(paths=(root,), cache_dir=None)).findings if f.check == "TG208"]
    assert found == ["`secrets.wandb_api_key` is declared but nothing in this Truss reads it"]
