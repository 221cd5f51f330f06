"""A realistic multi-model repository (TRUSS_SECRETS.md section 4 styles), scanned end to end.

Twelve Truss directories in the shapes truss-examples uses (classic model.py, trt_llm,
docker_server, model_cache, weights, Chains, a generated Chains config), most of them
compliant; the expected findings are the table below, and nothing else may be reported.
Fake credentials are generated when the test runs.
"""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest

from trussguard.config import ScanConfig
from trussguard.engine import tokens
from trussguard.engine.loader import load_rules
from trussguard.pipeline import scan_tree

CLASSIC_MODEL = '''\
    from transformers import AutoModelForCausalLM, AutoTokenizer


    class Model:
        def __init__(self, **kwargs):
            self._secrets = kwargs["secrets"]
            self.model = None

        def load(self):
            token = self._secrets["hf_access_token"]
            self.tokenizer = AutoTokenizer.from_pretrained("meta-llama/Llama-2-7b-chat-hf", token=token)
            self.tokenizer.pad_token = self.tokenizer.eos_token
            self.model = AutoModelForCausalLM.from_pretrained("meta-llama/Llama-2-7b-chat-hf", token=token)

        def predict(self, request):
            inputs = self.tokenizer(request["prompt"], return_tensors="pt")
            return {"output": self.model.generate(**inputs, max_new_tokens=request.get("max_tokens", 256))}
    '''


def repository(fake) -> dict[str, str]:
    """{path: text} of the repository; ``fake(rule_id)`` gives a fresh fake credential."""
    return {
        # 1. classic, compliant
        "llama-2-7b/config.yaml": """\
            model_name: Llama 2 7B
            python_version: py311
            requirements: [transformers==4.44.0, torch==2.3.1]
            resources: {accelerator: A10G, use_gpu: true}
            secrets:
              hf_access_token: null
            environment_variables:
              TOKENIZERS_PARALLELISM: "false"
            """,
        "llama-2-7b/model/model.py": CLASSIC_MODEL,
        # 2. declares hf_token, reads hf_access_token (the real truss-examples bug)
        "llama-2-70b/config.yaml": """\
            model_name: Llama 2 70B
            resources: {accelerator: "A100:2"}
            secrets:
              hf_token: null
            """,
        "llama-2-70b/model/model.py": CLASSIC_MODEL,
        # 3. docker_server reading an undeclared /secrets name
        "mistral-vllm/config.yaml": """\
            model_name: Mistral 7B vLLM
            base_image: {image: vllm/vllm-openai:v0.6.3}
            docker_server:
              start_command: sh -c "HF_TOKEN=$(cat /secrets/hf_access_token) vllm serve mistralai/Mistral-7B-Instruct-v0.3"
              readiness_endpoint: /health
              liveness_endpoint: /health
              predict_endpoint: /v1/completions
              server_port: 8000
            resources: {accelerator: A10G}
            """,
        # 4. docker_server, compliant
        "qwen-vllm/config.yaml": """\
            model_name: Qwen vLLM
            docker_server:
              start_command: sh -c "HF_TOKEN=$(cat /secrets/hf_access_token) vllm serve Qwen/Qwen2.5-7B-Instruct"
              server_port: 8000
            resources: {accelerator: A10G}
            secrets:
              hf_access_token: null
            """,
        # 5. trt_llm relying on the implicit hf_access_token default
        "llama-3-trt/config.yaml": """\
            model_name: Llama 3 8B TRT-LLM
            resources: {accelerator: H100}
            secrets:
              hf_access_token: null
            trt_llm:
              build:
                base_model: llama
                checkpoint_repository:
                  repo: meta-llama/Meta-Llama-3-8B-Instruct
                  source: HF
                max_seq_len: 8192
            """,
        # 6. model_cache with an explicit runtime_secret_name
        "whisper-cache/config.yaml": """\
            model_name: Whisper v3
            resources: {accelerator: T4}
            model_cache:
              - repo_id: openai/whisper-large-v3
                use_volume: true
                volume_folder: whisper
                runtime_secret_name: hf_access_token
            secrets:
              hf_access_token: null
            """,
        "whisper-cache/model/model.py": """\
            class Model:
                def __init__(self, **kwargs):
                    self._data_dir = kwargs["data_dir"]

                def predict(self, request):
                    return {"text": ""}
            """,
        # 7. placeholder under secrets (corpus style)
        "sdxl/config.yaml": """\
            model_name: SDXL
            resources: {accelerator: A10G}
            secrets:
              hf_access_token: "ENTER HF ACCESS TOKEN HERE"
            """,
        "sdxl/model/model.py": CLASSIC_MODEL,
        # 8. misplaced declaration under environment_variables
        "flux/config.yaml": """\
            model_name: Flux
            resources: {accelerator: H100}
            environment_variables:
              hf_access_token: null
            """,
        # 9. the seed scenario: a real-shaped key pasted into model.py
        "chat-openai/config.yaml": """\
            model_name: OpenAI proxy
            resources: {cpu: "1", memory: 2Gi}
            requirements: [openai==1.40.0]
            """,
        "chat-openai/model/model.py": f"""\
            from openai import OpenAI

            OPENAI_API_KEY = "{fake('openai.project-key')}"


            class Model:
                def load(self):
                    self.client = OpenAI(api_key=OPENAI_API_KEY)

                def predict(self, request):
                    return self.client.chat.completions.create(model="gpt-4o-mini", messages=request["messages"])
            """,
        # 10. a token in a build command
        "private-lib/config.yaml": f"""\
            model_name: Private lib model
            resources: {{cpu: "2"}}
            build_commands:
              - git clone https://x-access-token:{fake('github.pat')}@github.com/acme/private-lib /opt/lib
            """,
        # 11. Chains: a chainlet declaring its secret, and the config Chains generates
        "chains/chain.py": """\
            import truss_chains as chains


            class Embedder(chains.ChainletBase):
                remote_config = chains.RemoteConfig(assets=chains.Assets(secret_keys=["hf_access_token"]))

                def __init__(self, context: chains.DeploymentContext = chains.depends_context()):
                    self._token = context.secrets["hf_access_token"]

                async def run_remote(self, text: str) -> list[float]:
                    return [float(len(text))]
            """,
        "chains/generated/config.yaml": """\
            model_name: Embedder
            model_class_name: Embedder
            model_module_dir: model
            resources: {cpu: "1"}
            secrets:
              hf_access_token: "***"
              baseten_chain_api_key: "***"
            """,
        # 12. weights with auth_secret_name and an OIDC role: compliant
        "gemma-weights/config.yaml": """\
            model_name: Gemma
            resources: {accelerator: L4}
            weights:
              - source: hf://google/gemma-2-9b-it
                mount_location: /models/gemma
                auth_secret_name: hf_access_token
              - source: s3://acme-weights/gemma-lora
                mount_location: /models/lora
                auth:
                  auth_method: AWS_OIDC
                  aws_oidc_role_arn: arn:aws:iam::123456789012:role/baseten-weights
                  aws_oidc_region: us-east-1
            """,
        "README.md": "# models\n\nOne Truss per folder. Tokens live in Baseten workspace secrets.\n",
    }


# (path, line, rule or check code(s), severity): every finding the scan must report, and no other.
EXPECTED = {
    ("llama-2-70b/config.yaml", 4, ("TG208",), "low"),  # hf_token declared, never read
    ("llama-2-70b/model/model.py", 10, ("TG207",), "high"),  # hf_access_token read, not declared
    ("mistral-vllm/config.yaml", 4, ("TG106",), "medium"),  # /secrets/hf_access_token undeclared
    ("sdxl/config.yaml", 4, ("TG102",), "medium"),  # placeholder instead of null
    ("flux/config.yaml", 4, ("TG104",), "medium"),  # declaration under environment_variables
    ("chat-openai/model/model.py", 3, ("openai.project-key", "TG201"), "critical"),  # the seed scenario
    ("private-lib/config.yaml", 4, ("github.pat", "TG107"), "critical"),  # token in a build command
}


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    rules = load_rules(cache_dir=None).by_id()
    rng = random.Random(20261122)

    def fake(rule_id: str) -> str:
        return tokens.expand_template(rules[rule_id].tokens["token"], rng)

    root: Path = tmp_path_factory.mktemp("repo")
    for rel, text in repository(fake).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), "utf-8")
    return scan_tree(ScanConfig(paths=(root,), cache_dir=None))


def test_recognises_every_truss(scanned):
    assert scanned.stats.trusses == 12


def test_reports_exactly_the_expected_findings(scanned):
    got = {(f.path, f.line, tuple(c for c in (f.rule_id, f.check) if c and c != f.rule_id) and
            (f.rule_id, f.check) or (f.rule_id,), str(f.severity)) for f in scanned.findings}
    assert got == EXPECTED


def test_policy_findings_carry_a_fix_and_leaks_a_hash(scanned):
    for f in scanned.findings:
        assert f.fix, f
        assert (f.kind == "leak") == (f.secret_sha256 is not None)


def test_nothing_unparsed(scanned):
    assert scanned.stats.notes == []
