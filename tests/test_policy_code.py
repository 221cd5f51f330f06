"""Truss policy checks on Python code (TG201-TG212): what the fixture files cannot express.

The seed scenario end to end through the CLI, files checked without their Truss (history
blobs), one check per literal, guarded reads, taint through ``self`` attributes, and the
fix texts. Every credential is generated at run time from the rule's own token template.
"""

from __future__ import annotations

import json
import random
import textwrap

import pytest

from trussguard.cli import main
from trussguard.config import ScanConfig
from trussguard.engine.detector import Detector
from trussguard.engine.loader import load_rules
from trussguard.pipeline import scan_tree
from trussguard.policy.runner import check_code
from trussguard.policy.secrets_analysis import analyse
from trussguard.policy.secrets_flow import secret_echoes

from conftest import random_password

OPENAI = "openai.project-key"
HF = "huggingface.user-token"
BASETEN = "baseten.api-key"
CONFIG = "model_name: m\nresources:\n  cpu: \"1\"\nsecrets:\n  hf_access_token: null\n"


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def scan(root) -> list:
    return scan_tree(ScanConfig(paths=(root,), cache_dir=None)).findings


def codes(findings, path: str | None = None) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for f in findings:
        if path is None or f.path == path:
            out.setdefault(f.line, set()).update(c for c in (f.rule_id, f.check) if c and c.startswith("TG"))
    return {line: c for line, c in out.items() if c}


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_rules(cache_dir=None))


def check_alone(detector: Detector, path: str, source: str):
    """Code checks on one file seen without its Truss (as the history audit sees a blob)."""
    data = dedent(source).encode()
    hits, notes, tree = check_code(path, data, detector.detect(path, data), detector, truss=None)
    assert tree is not None and not notes
    return hits


# --------------------------------------------------------------------------- the seed scenario


def test_seed_openai_key_in_model_is_critical_with_the_truss_fix(truss_tree, fake_token, capsys):
    key = fake_token(OPENAI)
    root = truss_tree({"model/model.py": dedent(f'''
        from openai import OpenAI

        OPENAI_API_KEY = '{key}'


        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]

            def load(self):
                self.client = OpenAI(api_key=OPENAI_API_KEY)
        ''')})
    code = main(["scan", str(root), "--format", "json", "--no-cache"])
    out = capsys.readouterr().out
    assert code == 1
    assert key not in out
    findings = [f for f in json.loads(out)["findings"] if f["path"] == "model/model.py"]
    assert len(findings) == 1, findings  # the rule's finding and TG201 merged into one
    f = findings[0]
    assert (f["severity"], f["rule_id"], f["check"], f["kind"], f["line"], f["column"]) == \
        ("critical", OPENAI, "TG201", "leak", 3, 19)
    fix = f["fix"]
    for needle in ("revoke the key now", "Baseten workspace secret `openai_api_key`",
                   "`openai_api_key: null` under `secrets:`", 'self._secrets["openai_api_key"]',
                   "git history as compromised"):
        assert needle in fix, (needle, fix)
    assert "kwargs[\"secrets\"]" not in fix  # the class already keeps the mapping


def test_fix_asks_for_the_mapping_when_the_class_lacks_it(truss_tree, fake_token):
    root = truss_tree({"model/model.py": f'HF_TOKEN = "{fake_token(HF)}"\n\nclass Model:\n    pass\n'})
    [f] = [f for f in scan(root) if f.path == "model/model.py"]
    assert (f.check, f.rule_id, str(f.severity)) == ("TG201", HF, "critical")
    assert 'self._secrets["hf_access_token"]' in f.fix and 'self._secrets = kwargs["secrets"]' in f.fix


# --------------------------------------------------------------------------- value checks without a Truss


def test_value_checks_run_on_a_file_seen_alone(detector, fake_token):
    hf, password = fake_token(HF), random_password(random.Random(7), 24)
    hits = check_alone(detector, "model/model.py", f'''
        import os
        TOKEN = "{hf}"
        os.environ["DB_PASSWORD"] = "{password}"
        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]
            def load(self):
                self.x = self._secrets.get("hf_access_token")
        ''')
    by_code = {h.code: h for h in hits}
    assert set(by_code) == {"TG201", "TG202"}  # TG209 is an idiom check: it needs the Truss
    assert by_code["TG201"].secret == hf and str(by_code["TG201"].severity) == "critical"
    assert by_code["TG202"].secret == password and str(by_code["TG202"].severity) == "high"
    assert (by_code["TG201"].line, by_code["TG201"].column) == (2, 10)  # where the rule found the key


def test_placeholders_and_short_values_are_never_leaks(detector):
    hits = check_alone(detector, "model/model.py", '''
        import os
        HF_TOKEN = "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0"
        OPENAI_API_KEY = "sk-proj-..."
        API_KEY = "${OPENAI_API_KEY}"
        PASSWORD = "hunter2"
        SECRET = "set token in baseten workspace"
        os.environ["HF_TOKEN"] = "<your token>"
        token = os.getenv("HF_TOKEN", "None")
        client = OpenAI(api_key="EMPTY", base_url="http://localhost:8000/v1")
        tok = AutoTokenizer.from_pretrained(repo, pad_token="<|padding_token_value|>", token="<pad>")
        pipe.load_textual_inversion("sd-concepts-library/cat-toy", token="LulaCipher")
        ''')
    assert hits == []


def test_literal_in_a_multiline_string_is_reported_where_the_rule_found_it(truss_tree, fake_token):
    hf = fake_token(HF)
    root = truss_tree({"model/model.py": f'HF_TOKEN = """\n{hf}\n"""\n'})
    [f] = [f for f in scan(root) if f.path == "model/model.py"]
    assert (f.line, f.check, f.rule_id) == (2, "TG201", HF)


# --------------------------------------------------------------------------- one check per literal


def test_each_literal_is_reported_by_exactly_one_check(detector, fake_token):
    hf, bt = fake_token(HF), fake_token(BASETEN)
    hits = check_alone(detector, "chain.py", f'''
        import os
        import requests
        import truss_chains as chains
        requests.post(url, headers={{"Authorization": "Api-Key {bt}"}})
        os.environ.update({{"HF_TOKEN": "{hf}"}})
        with chains.run_local(secrets={{"hf_access_token": "{hf}"}}):
            pass
        ''')
    assert sorted((h.line, h.code) for h in hits) == [(4, "TG212"), (5, "TG202"), (6, "TG210")]
    assert all(str(h.severity) == "critical" for h in hits)
    assert next(h for h in hits if h.code == "TG212").secret == bt


def test_baseten_key_bound_to_a_baseten_name_without_rule_context(detector):
    key = random_password(random.Random(3), 8) + "." + random_password(random.Random(4), 32)
    hits = check_alone(detector, "model/model.py", f'''
        class Model:
            def predict(self, request):
                return call(request, key="{key}", baseten_api_key="{key}")
        ''')
    assert [(h.code, h.secret) for h in hits] == [("TG212", key)]


# --------------------------------------------------------------------------- reads of the mapping


def test_reads_through_kwargs_and_context_and_locals(detector):
    use = analyse(__import__("ast").parse(dedent('''
        class Model:
            def __init__(self, **kw):
                self.token = kw["secrets"]["hf_access_token"]
                secrets = kw.get("secrets") or {}
                self.other = secrets["openai_api_key"]
                self._store = secrets

            def load(self):
                def inner():
                    return self._store["wandb_api_key"]
                return inner

        class Chainlet:
            def __init__(self, context=None):
                self._context = context
                self.x = self._context.secrets["x"]
        ''')))
    assert [(r.name, r.via, r.owner) for r in use.reads] == [
        ("hf_access_token", "mapping", "Model"), ("openai_api_key", "mapping", "Model"),
        ("wandb_api_key", "mapping", "Model"), ("x", "context", "Chainlet")]


def _truss_with(truss_tree, secrets: str, model: str, extra: dict | None = None):
    config = "model_name: m\nresources:\n  cpu: \"1\"\n" + secrets
    return truss_tree({"config.yaml": config, "model/model.py": dedent(model), **(extra or {})})


GUARDED = '''
    class Model:
        def __init__(self, **kwargs):
            self._secrets = kwargs["secrets"]

        def load(self):
            if self._secrets and "hf_access_token" in self._secrets:
                self.token = self._secrets["hf_access_token"]
            base = self._secrets._base_secrets
            if "wandb_api_key" in base and self._secrets._base_secrets.get("wandb_api_key"):
                self.wandb = self._secrets["wandb_api_key"]
    '''


def test_guarded_reads_with_nothing_declared_are_not_undeclared(truss_tree):
    root = _truss_with(truss_tree, "secrets: {}\n", GUARDED)
    found = codes(scan(root), "model/model.py")
    assert all("TG207" not in c for c in found.values()), found
    assert found[6] == {"TG209"} and found[8] == {"TG209"}  # `in` and `_base_secrets` stay unsafe idioms


def test_truthy_guard_does_not_excuse_an_undeclared_name_once_something_is_declared(truss_tree):
    root = _truss_with(truss_tree, "secrets:\n  other_token: null\n", GUARDED)
    found = codes(scan(root), "model/model.py")
    assert "TG207" in found[6] and "TG207" in found[7]
    assert "TG207" not in found.get(10, set())  # guarded by a _base_secrets test of that very name


def test_chainlet_code_in_a_truss_is_left_to_tg211(truss_tree):
    root = _truss_with(truss_tree, "secrets:\n  hf_access_token: null\n", '''
        import truss_chains as chains

        class Gen(chains.ChainletBase):
            def __init__(self, context=chains.depends_context()):
                self.key = context.secrets["baseten_chain_api_key"]
                self.hf = context.secrets["hf_access_token"]
        ''')
    found = codes(scan(root), "model/model.py")
    assert found == {6: {"TG211"}}


# --------------------------------------------------------------------------- declared but unused


def test_unused_declaration_is_not_reported_when_a_key_is_computed(truss_tree):
    root = _truss_with(truss_tree, "secrets:\n  a_token: null\n  b_token: null\n", '''
        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]

            def load(self):
                self.values = [self._secrets[n] for n in ("a_token", "b_token")]
        ''')
    assert not any(f.check == "TG208" for f in scan(root))


def test_unused_declaration_counts_quoted_names_in_code_that_does_not_parse(truss_tree):
    root = _truss_with(truss_tree, "secrets:\n  a_token: null\n  b_token: null\n",
                       'def broken(:\n    token = secrets["a_token"]\n')
    found = [(f.line, f.message) for f in scan(root) if f.check == "TG208"]
    assert found == [(6, "`secrets.b_token` is declared but nothing in this Truss reads it")]


# --------------------------------------------------------------------------- echoes


def test_taint_follows_attributes_across_methods_and_stops_at_clients():
    tree = __import__("ast").parse(dedent('''
        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]

            def load(self):
                self._key = self._secrets["openai_api_key"]
                self.client = OpenAI(api_key=self._key)
                self.label = "key:%s" % self._key
                safe = self.client
                print(safe)

            def predict(self, request):
                yield self.label
                token = "fixed"
                return token
        '''))
    echoes = secret_echoes(tree)
    assert [(e.node.lineno, e.secret, e.sink) for e in echoes] == [
        (13, "openai_api_key", "yielded from `predict()`")]


def test_chains_context_secrets_are_tainted(detector):
    hits = check_alone(detector, "chain.py", '''
        import logging
        import truss_chains as chains

        class Gen(chains.ChainletBase):
            remote_config = chains.RemoteConfig(assets=chains.Assets(secret_keys=["hf_access_token"]))

            def __init__(self, context=chains.depends_context()):
                self._token = context.secrets["hf_access_token"]
                logging.getLogger(__name__).warning("token=" + self._token)

            async def run_remote(self, prompt: str) -> str:
                return f"{prompt} {self._token}"
        ''')
    assert sorted((h.code, h.line) for h in hits) == [("TG206", 9), ("TG206", 12)]
