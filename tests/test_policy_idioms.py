"""The Truss policy on secrets code written the way engineers write it (issue 12, "the idioms real engineers
write"): the mapping handed to a settings object, a client wrapper or a property, read through helpers that
take the name as a parameter, forwarded with ``**kwargs``, printed whole; names that config.yaml uses in
``model_cache`` and ``docker_server.start_command`` without declaring them.

Each Truss here is written from scratch; none needs a secret value. Lines are counted in the dedented model
source (line 1 is its first line).
"""

from __future__ import annotations

import textwrap

from trussguard.config import ScanConfig
from trussguard.pipeline import scan_tree

HEAD = 'model_name: m\nresources:\n  cpu: "1"\n'


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def scan(truss_tree, model: str | None, secrets: str = "secrets:\n  hf_access_token: null\n", config: str = ""):
    files = {"config.yaml": HEAD + secrets + dedent(config)}
    if model is not None:
        files["model/model.py"] = dedent(model)
    return scan_tree(ScanConfig(paths=(truss_tree(files),), cache_dir=None)).findings


def hits(findings, code: str, path: str = "model/model.py") -> list[tuple[int, str]]:
    return sorted((f.line, f.message) for f in findings if code in (f.check, f.rule_id) and f.path == path)


def undeclared(findings) -> dict[int, str]:
    """line -> the name TG207 reports there ("?" for a key that is not a literal); one per line."""
    out: dict[int, str] = {}
    for line, message in hits(findings, "TG207"):
        assert line not in out, (line, message)  # never twice for the same place
        out[line] = message.split("`")[1] if "`" in message and "not a literal" not in message else "?"
    return out


# --------------------------------------------------------------------------- helpers that take the name


HELPERS = '''
    class Model:
        def __init__(self, **kwargs):
            self._secrets = kwargs["secrets"]
            self.name = kwargs.get("config", {}).get("secret")

        def _secret(self, name):
            return self._secrets[name]

        def _optional(self, key, default=None):
            if key in self._secrets:
                return self._secret(key)
            return default

        def _hf(self, name="hf_access_token"):
            return self._secret(name)

        def load(self):
            self.openai = self._secret("openai_api_key")
            self.hf = self._secret("hf_access_token")
            self.wandb = self._optional("wandb_api_key")
            self.dflt = self._hf()
            self.other = self._secret(name="db_password")
    '''


def test_each_undeclared_name_read_through_a_helper_is_reported_at_its_call(truss_tree):
    found = undeclared(scan(truss_tree, HELPERS))
    assert found == {18: "openai_api_key", 20: "wandb_api_key", 22: "db_password"}, found
    messages = dict(hits(scan(truss_tree, HELPERS), "TG207"))
    assert "through `_secret()`" in messages[18] and "through `_optional()`" in messages[20]


def test_declared_names_through_helpers_are_quiet_and_count_as_used(truss_tree):
    secrets = "secrets:\n" + "".join(f"  {n}: null\n" for n in
                                     ("hf_access_token", "openai_api_key", "wandb_api_key", "db_password"))
    findings = scan(truss_tree, HELPERS, secrets)
    assert hits(findings, "TG207") == []
    assert hits(findings, "TG208", "config.yaml") == []  # each name is read, through a helper
    assert [line for line, _ in hits(findings, "TG209")] == [10]  # the helper's own `in` test, once


def test_a_helper_called_with_a_computed_key_invents_no_name(truss_tree):
    findings = scan(truss_tree, '''
        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]

            def _get(self, key):
                return self._secrets[key]

            def _lower(self, key):
                key = key.lower()
                return self._secrets[key]

            def load(self):
                for which in ("a", "b"):
                    self.values = self._get(which)
                self.hf = self._get("hf_access_token")
                self.hf2 = self._lower("HF_ACCESS_TOKEN")
        ''')
    # at the call, not in the helper, and nothing invented; a helper that rewrites its key is not followed
    assert undeclared(findings) == {10: "?", 14: "?"}
    assert "through `_get()`" in hits(findings, "TG207")[1][1]


def test_a_guard_at_the_call_site_keeps_its_exemption(truss_tree):
    found = undeclared(scan(truss_tree, '''
        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]

            def _secret(self, name):
                return self._secrets[name]

            def load(self):
                if "openai_api_key" in self._secrets:
                    self.openai = self._secret("openai_api_key")
        '''))
    assert found == {9: "openai_api_key"}  # reported once, on the test (it raises first on Baseten)


def test_a_closure_and_a_module_function_are_helpers_too(truss_tree):
    found = undeclared(scan(truss_tree, '''
        def read_secret(store, name):
            return store[name]


        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]

            def load(self):
                def get(name):
                    return self._secrets[name]

                self.a = get("anthropic_api_key")
                self.b = read_secret(self._secrets, "replicate_api_token")
                self.c = read_secret(self._secrets, "hf_access_token")
        '''))
    assert found == {13: "anthropic_api_key", 14: "replicate_api_token"}


def test_a_helper_inherited_from_a_base_class_of_the_file(truss_tree):
    found = undeclared(scan(truss_tree, '''
        class SecretsMixin:
            def _secret(self, name):
                return self._secrets[name]


        class Model(SecretsMixin):
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]

            async def load(self):
                self.key = self._secret("elevenlabs_api_key")
                self.hf = self._secret("hf_access_token")
        '''))
    assert found == {11: "elevenlabs_api_key"}


def test_a_chainlet_helper_is_checked_against_its_secret_keys(tmp_path):
    source = dedent('''
        import truss_chains as chains


        class Generate(chains.ChainletBase):
            remote_config = chains.RemoteConfig(assets=chains.Assets(secret_keys=["hf_access_token"]))

            def __init__(self, context=chains.depends_context()):
                self._context = context

            def _secret(self, name):
                return self._context.secrets[name]

            async def run_remote(self, prompt: str) -> str:
                self.openai = self._secret("openai_api_key")
                self.hf = self._secret("hf_access_token")
                return prompt
        ''')
    (tmp_path / "chain").mkdir()
    (tmp_path / "chain" / "chain.py").write_text(source)
    findings = scan_tree(ScanConfig(paths=(tmp_path / "chain",), cache_dir=None)).findings
    assert [(f.line, f.message.split("`")[3]) for f in findings if f.check == "TG211"] == [(14, "openai_api_key")]


# --------------------------------------------------------------------------- the mapping handed to objects


def test_a_settings_dataclass_holding_the_mapping(truss_tree):
    found = undeclared(scan(truss_tree, '''
        from dataclasses import dataclass
        from typing import Mapping


        @dataclass
        class Settings:
            secrets: Mapping[str, str]
            region: str = "us-east-1"

            def __post_init__(self):
                self.aws_key = self.secrets["aws_secret_access_key"]

            def hf(self):
                return self.secrets["hf_access_token"]


        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]
                self.settings = Settings(secrets=self._secrets)

            def load(self):
                self.token = self.settings.secrets["hf_token"]
                self.hf = self.settings.hf()
        '''))
    assert found == {11: "aws_secret_access_key", 23: "hf_token"}


def test_a_pydantic_like_settings_class_built_positionally_and_by_classmethod(truss_tree):
    found = undeclared(scan(truss_tree, '''
        from pydantic import BaseModel


        class Keys(BaseModel):
            store: dict
            timeout: int = 30

            @classmethod
            def build(cls, secrets):
                return cls(store=secrets)

            def openai(self):
                return self.store["openai_api_key"]


        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]
                self.keys = Keys.build(self._secrets)
                self.more = Keys(self._secrets, 5)

            def load(self):
                self.key = self.keys.openai()
                self.groq = self.more.store["groq_api_key"]
        '''))
    assert found == {13: "openai_api_key", 24: "groq_api_key"}


def test_a_client_wrapper_that_names_the_mapping_otherwise(truss_tree):
    found = undeclared(scan(truss_tree, '''
        class Client:
            def __init__(self, store, model):
                self._store = store
                self._model = model

            def headers(self):
                return {"Authorization": f"Bearer {self._store['together_api_key']}"}

            def base(self):
                return self._model._secrets["hf_access_token"]


        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]
                self.client = Client(self._secrets, self)
        '''))
    assert found == {7: "together_api_key"}


def test_an_unrelated_attribute_of_the_same_name_is_no_holder(truss_tree):
    found = undeclared(scan(truss_tree, '''
        class Settings:
            def __init__(self, config):
                self.config = config

            def token(self):
                return self.config["cohere_api_key"]


        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]
                self.config = kwargs["config"]
                self.settings = Settings(self._secrets)

            def load(self):
                self.name = self.config["model_name"]
        '''))
    assert found == {6: "cohere_api_key"}  # Model's own `self.config` is the Truss config, not the mapping


def test_properties_getattr_and_kwargs_forwarding(truss_tree):
    found = undeclared(scan(truss_tree, '''
        import functools


        class Uploader:
            def __init__(self, **options):
                self._s = options.get("secrets")

            def key(self):
                return self._s["aws_access_key_id"]


        class Model:
            def __init__(self, **kwargs):
                self._kwargs = kwargs
                self.uploader = Uploader(**kwargs)

            @property
            def secrets(self):
                return getattr(self, "_kwargs")["secrets"]

            @functools.cached_property
            def store(self):
                return self.secrets

            def load(self):
                self.a = self.secrets["mistral_api_key"]
                self.b = self.store["fireworks_api_key"]
                self.c = self._kwargs["secrets"]["pinecone_api_key"]
        '''))
    assert found == {9: "aws_access_key_id", 26: "mistral_api_key", 27: "fireworks_api_key", 28: "pinecone_api_key"}


def test_a_local_alias_in_predict_and_an_env_fallback(truss_tree):
    findings = scan(truss_tree, '''
        import os


        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]

            def predict(self, request):
                s = getattr(self, "_secrets", None)
                key = s.get("serper_api_key") or os.environ.get("SERPER_API_KEY")
                return {"ok": key is not None}
        ''')
    assert undeclared(findings) == {10: "serper_api_key"}
    assert [line for line, _ in hits(findings, "TG209")] == [10]
    assert [line for line, _ in hits(findings, "TG205")] == [10]


# --------------------------------------------------------------------------- values echoed


def test_the_whole_mapping_printed_or_logged_is_an_echo(truss_tree):
    findings = scan(truss_tree, '''
        import json
        import logging

        logger = logging.getLogger(__name__)


        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]
                secrets = kwargs["secrets"]
                print(self._secrets)
                logger.info("secrets %s", secrets)
                logging.debug(f"loaded {self._secrets}")
                snapshot = dict(self._secrets)
                logger.warning("snapshot: %s", snapshot)
                print(json.dumps(getattr(self, "_secrets")))

            def load(self):
                logger.info("%d secrets", len(self._secrets))
                logger.info("names: %s", ", ".join(self._secrets.keys()))
                logger.info("hf set: %s", self._secrets["hf_access_token"] is not None)
        ''')
    echoed = hits(findings, "TG206")
    assert [line for line, _ in echoed] == [11, 12, 13, 15, 16], echoed
    assert all("whole secrets mapping" in message for _, message in echoed)


def test_values_returned_by_helpers_and_properties_are_followed_to_the_log(truss_tree):
    findings = scan(truss_tree, '''
        import logging

        logger = logging.getLogger(__name__)


        class Model:
            def __init__(self, **kwargs):
                self._secrets = kwargs["secrets"]

            def _secret(self, name):
                return self._secrets[name]

            @property
            def token(self):
                return self._secrets["hf_access_token"]

            def load(self):
                logger.info("token %s", self.token)
                print("key:", self._secret("hf_access_token"))
                self.client = make_client(token=self.token)
        ''')
    echoed = hits(findings, "TG206")
    assert [line for line, _ in echoed] == [18, 19]
    assert all("`hf_access_token`" in message for _, message in echoed)


# --------------------------------------------------------------------------- names config.yaml uses


def test_an_explicit_runtime_secret_name_must_be_declared(truss_tree):
    findings = scan(truss_tree, None, "secrets:\n  hf_access_token: null\n", '''
        model_cache:
          - repo_id: public-org/public-model
            use_volume: true
          - repo_id: gated-org/gated-model
            runtime_secret_name: hf_access_token
          - repo_id: gated-org/other-model
            runtime_secret_name: hf_read_token
        trt_llm:
          build:
            checkpoint_repository:
              repo: gated-org/gated-model
              source: HF
              runtime_secret_name: hf_read_token
        ''')
    found = [(f.line, str(f.severity)) for f in findings if f.check == "TG207" and f.path == "config.yaml"]
    # the public entry relies on the default and is not reported; the declared name is not reported
    assert found == [(12, "medium"), (18, "medium")], found


def test_start_command_variables_that_nothing_sets(truss_tree):
    config = '''
        environment_variables:
          VLLM_API_KEY: "{value}"
        docker_server:
          start_command: >-
            sh -c "export OPENAI_API_KEY=$(cat /secrets/openai_api_key) &&
            vllm serve org/model --port $PORT --download-dir $HOME/w --served-model-name $MODEL
            --api-key $VLLM_API_KEY --hf-token $HF_TOKEN ${{WANDB_API_KEY:-none}} $OPENAI_API_KEY
            --extra ${{DB_PASSWORD}} --again $HF_TOKEN"
          server_port: 8000
          predict_endpoint: /v1/completions
          readiness_endpoint: /health
          liveness_endpoint: /health
        '''.format(value="${VLLM_KEY_FROM_CI}")
    findings = scan(truss_tree, None, "secrets:\n  openai_api_key: null\n", config)
    messages = [m for _, m in hits(findings, "TG106", "config.yaml")]
    assert len(messages) == 2, messages  # $HF_TOKEN once, ${DB_PASSWORD}; never $PORT/$HOME/$MODEL
    assert "`$HF_TOKEN`" in messages[0] and "`${DB_PASSWORD}`" in messages[1]
    fixes = [f.fix for f in findings if f.check == "TG106"]
    assert "HF_TOKEN=$(cat /secrets/hf_access_token)" in fixes[0] and "declare `hf_access_token: null`" in fixes[0]


def test_start_command_variables_set_by_the_command_or_a_sourced_file(truss_tree):
    reported = {}
    for command in ('sh -c "HF_TOKEN=$(cat /secrets/hf_access_token) vllm serve org/model --hf-token $HF_TOKEN"',
                    'sh -c "read -r HF_TOKEN < /secrets/hf_access_token; server --token ${HF_TOKEN}"',
                    'sh -c "server --token $HF_TOKEN; HF_TOKEN=$(cat /secrets/hf_access_token)"',
                    'sh -c ". /app/env.sh && server --token $HF_TOKEN"'):
        findings = scan(truss_tree, None, "secrets:\n  hf_access_token: null\n",
                        f"docker_server:\n  start_command: '{command}'\n  server_port: 8000\n")
        reported[command.split()[2].strip("\"")] = len(hits(findings, "TG106", "config.yaml"))
    assert reported == {"HF_TOKEN=$(cat": 0, "read": 0, "server": 1, ".": 0}  # set only after its use: reported
