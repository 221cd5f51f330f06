"""Generate a synthetic ML-serving monorepo working tree for the scan benchmark.

    python benchmarks/make_tree.py OUTDIR [--files 5000] [--megabytes 100] [--seed 7]

Everything is drawn from one seeded ``random.Random``, so a seed always yields
the same tree, byte for byte; nothing is copied from the machine.  To stay fast
(about 100 MB in well under 30 s) text is assembled from fragment pools that are
generated once at start-up, rather than word by word.

Eleven fake credentials are planted, each in a realistic spot.  They are built
at run time from a harmless prefix plus random characters, so no realistic key
ever appears in this source.  ``OUTDIR/.bench-manifest.json`` lists where they
are (kind, path, line) and the SHA-256 of each value, never the value itself.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import keyword
import math
import random
import string
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MANIFEST_NAME = ".bench-manifest.json"
MIB = 1024 * 1024
BIG_FILE_MIN_BYTES = 12 * MIB  # above the 10 MiB size cap the scanners are given
BINARY_FILES = 6

ALNUM = string.ascii_letters + string.digits
URLSAFE = ALNUM + "_-"
AWS_KEY_ID_CHARS = string.ascii_uppercase + "234567"
AWS_SECRET_CHARS = ALNUM + "/+"

SYLLABLES = (
    "ba ce di fo gu ka le mi no pu ra se ti vo zu an el in or ur tra pre con dex "
    "lin mor nek pol ser tal ven zor qua sto rin gal hex vim dra"
).split()
COMMON_WORDS = (
    "the of and to in is for that with on as are this be by from at or it an "
    "model data input output token request response batch latency server "
    "inference training weights checkpoint layer tensor prompt user service "
    "config cache queue worker deploy image gpu memory throughput error retry"
).split()
ML_IDENTS = (
    "tokenizer max_tokens pad_token eos_token bos_token input_ids attention_mask "
    "logits temperature top_p top_k batch_size num_beams max_new_tokens "
    "hidden_states embeddings device dtype checkpoint revision prompt completion "
    "stream generation_config model_id vocab_size seq_len kv_cache lora_rank "
    "pad_token_id eos_token_id stop_sequences request_id"
).split()
PACKAGES = (
    "torch transformers accelerate numpy pandas fastapi uvicorn pydantic "
    "sentencepiece tokenizers safetensors huggingface-hub vllm scipy scikit-learn "
    "requests httpx boto3 pyyaml truss einops bitsandbytes peft datasets tqdm "
    "protobuf triton openai anthropic"
).split()
IMPORTS = (
    "import logging",
    "import os",
    "import json",
    "import time",
    "from typing import Any, Dict, List, Optional",
    "import numpy as np",
    "import torch",
    "from transformers import AutoModelForCausalLM, AutoTokenizer",
    "from pydantic import BaseModel",
    "from fastapi import FastAPI, HTTPException",
    "from dataclasses import dataclass",
    "import httpx",
    "from pathlib import Path",
)
ACCELERATORS = ("A10G", "A100", "H100", "T4", "L4", "H100:2")
DTYPES = ("float16", "bfloat16", "float32", "int8")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Secret:
    """A planted credential.

    ``value`` is what the manifest hashes; ``needle`` is how it is written in
    the file (used to find its line); ``alts`` are other forms a scanner may
    legitimately report for the same leak (say, a whole URL for its password).
    """

    kind: str
    value: str
    needle: str
    alts: tuple[str, ...] = ()


@dataclass
class Spec:
    """One file to generate: ``kind`` picks the generator, ``size`` is a target."""

    path: str
    kind: str
    size: int = 0
    plants: tuple[str, ...] = ()
    name: str = ""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def rand_chars(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choices(alphabet, k=n))


def make_secrets(rng: random.Random) -> dict[str, Secret]:
    """Build the eleven fake credentials from prefixes plus random characters."""

    def r(alphabet: str, n: int) -> str:
        return rand_chars(rng, alphabet, n)

    openai = "sk-proj-" + r(URLSAFE, 74) + "T3Blbk" + "FJ" + r(URLSAFE, 74)
    hf = "hf_" + r(string.ascii_letters, 34)
    aws_id = "AK" + "IA" + r(AWS_KEY_ID_CHARS, 16)
    aws_secret = r(AWS_SECRET_CHARS, 40)
    ghp = "ghp" + "_" + r(ALNUM, 36)
    anthropic = "sk-ant-" + "api03-" + r(URLSAFE, 93) + "AA"
    slack = "-".join(("xoxb", r(string.digits, 11), r(string.digits, 12), r(ALNUM, 24)))
    stripe = "sk_" + "live_" + r(ALNUM, 24)
    s3_sig = r("0123456789abcdef", 64)
    s3_url = (
        "https://acme-model-weights.s3.amazonaws.com/llm/model-00001-of-00002.safetensors"
        "?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Credential={'AK' + 'IA' + r(AWS_KEY_ID_CHARS, 16)}/20990101/us-east-1/s3/aws4_request"
        "&X-Amz-Date=20990101T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
        f"&X-Amz-Signature={s3_sig}"
    )
    pg_password = r(ALNUM, 20)
    pg_url = f"postgresql://app:{pg_password}@db.internal:5432/prod"
    b64_hf = "hf_" + r(string.ascii_letters, 34)
    b64_blob = base64.b64encode(f"HF_TOKEN={b64_hf}\nLOG_LEVEL=info\nMAX_BATCH_SIZE=8\n".encode()).decode()
    return {
        "openai": Secret("openai-api-key", openai, openai),
        "huggingface": Secret("huggingface-token", hf, hf),
        "aws_key_id": Secret("aws-access-key-id", aws_id, aws_id),
        "aws_secret": Secret("aws-secret-access-key", aws_secret, aws_secret),
        "github": Secret("github-pat", ghp, ghp),
        "anthropic": Secret("anthropic-api-key", anthropic, anthropic),
        "slack": Secret("slack-bot-token", slack, slack),
        "stripe": Secret("stripe-live-key", stripe, stripe),
        "s3_presigned": Secret("s3-presigned-url", s3_sig, s3_url, (s3_url,)),
        "postgres": Secret("postgres-url-password", pg_password, pg_url, (pg_url,)),
        "base64_hf": Secret("base64-encoded-huggingface-token", b64_hf, b64_blob, (b64_blob,)),
    }


class Pools:
    """Pre-generated words and fragments that file generators stitch together."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = [self._pseudo_word() for _ in range(3000)] + COMMON_WORDS * 20
        self.idents = [self._ident() for _ in range(2000)] + ML_IDENTS * 10
        self.distinct_idents = list(dict.fromkeys(self.idents))  # for parameter lists
        self.sentences = [self._sentence() for _ in range(3000)]
        self.paragraphs = [self._paragraph() for _ in range(800)]
        self.py_blocks = [self._py_block() for _ in range(2000)]
        self.yaml_blocks = [self._yaml_block() for _ in range(800)]
        self.sh_blocks = [self._sh_block() for _ in range(600)]
        self.md_blocks = [self._md_block() for _ in range(1200)]
        self.csv_rows = [self._csv_row() for _ in range(4000)]

    def _pseudo_word(self) -> str:
        return "".join(self.rng.choices(SYLLABLES, k=self.rng.randint(1, 3)))

    def _ident(self) -> str:
        r = self.rng
        parts = [r.choice(ML_IDENTS) if r.random() < 0.3 else self._pseudo_word()]
        parts += [self._pseudo_word() for _ in range(r.randint(0, 2))]
        name = "_".join(parts)
        return name + "_" if keyword.iskeyword(name) else name  # generated Python must parse

    def word(self) -> str:
        return self.rng.choice(self.words)

    def ident(self) -> str:
        return self.rng.choice(self.idents)

    def camel(self) -> str:
        suffix = self.rng.choice(("Model", "Tokenizer", "Config", "Handler", "Pipeline", "Engine", ""))
        return self.word().capitalize() + self.word().capitalize() + suffix

    def sentence(self) -> str:
        return self.rng.choice(self.sentences)

    def _sentence(self) -> str:
        words = self.rng.choices(self.words, k=self.rng.randint(5, 16))
        return " ".join(words).capitalize() + "."

    def _paragraph(self) -> str:
        return " ".join(self.rng.choices(self.sentences, k=self.rng.randint(2, 7)))

    def _py_stmt(self, ind: str, args: list[str]) -> str:
        r = self.rng
        v, a, n = self.ident(), r.choice(args), r.choice((8, 64, 128, 256, 512, 2048, 4096))
        templates = (
            lambda: f'{ind}{v} = {a}.get("{self.word()}", {n})',
            lambda: f'{ind}{v} = tokenizer({a}, max_length={n}, padding="max_length", truncation=True)',
            lambda: f'{ind}if {a} is None:\n{ind}    raise ValueError("{self.sentence()}")',
            lambda: f'{ind}logger.debug("{self.sentence()} %s", {a})',
            lambda: f"{ind}{v} = [t for t in {a} if t != tokenizer.pad_token_id]",
            lambda: f"{ind}{v} = torch.tensor({a}, dtype=torch.{r.choice(DTYPES)})",
            lambda: f"{ind}{v} = min(int({a}), MAX_TOKENS)",
            lambda: f"{ind}# {self.sentence()}",
            lambda: f'{ind}{v} = {{"{self.word()}": {a}, "max_tokens": {n}, "temperature": {r.random():.2f}}}',
            lambda: f"{ind}for {v} in range({n}):\n{ind}    {a}.append({v} % tokenizer.vocab_size)",
        )
        return r.choice(templates)()

    def _py_function(self, ind: str = "", method: bool = False) -> str:
        r = self.rng
        args = r.sample(self.distinct_idents, r.randint(1, 4))
        params = ["self", *args] if method else args
        lines = [f"{ind}def {self.ident()}({', '.join(params)}):", f'{ind}    """{self.sentence()}"""']
        lines += [self._py_stmt(ind + "    ", args) for _ in range(r.randint(2, 9))]
        lines.append(f"{ind}    return {r.choice(args)}")
        return "\n".join(lines) + "\n"

    def _py_class(self) -> str:
        r = self.rng
        attrs = r.sample(self.distinct_idents, r.randint(2, 5))
        lines = [
            f"class {self.camel()}({r.choice(('object', 'BaseModel', 'torch.nn.Module'))}):",
            f'    """{self.sentence()}\n\n    {self.sentence()}\n    """',
            "",
            f"    def __init__(self, {', '.join(attrs)}) -> None:",
            *[f"        self.{a} = {a}" for a in attrs],
            '        self.pad_token = "<pad>"',
            "",
        ]
        methods = [self._py_function("    ", method=True) for _ in range(r.randint(1, 4))]
        return "\n".join(lines) + "\n" + "\n".join(methods)

    def _py_block(self) -> str:
        return self._py_class() if self.rng.random() < 0.3 else self._py_function()

    def _yaml_block(self) -> str:
        r = self.rng
        lines = []
        for _ in range(r.randint(3, 9)):
            key = self.ident()
            kind = r.random()
            if kind < 0.4:
                lines.append(f"  {key}: {r.choice((r.randint(1, 4096), round(r.random(), 3), 'true', 'false'))}")
            elif kind < 0.7:
                lines.append(f"  {key}: {self.word()}-{self.word()}")
            elif kind < 0.85:
                lines.append(f"  {key}:")
                lines += [f"    - {self.word()}" for _ in range(r.randint(1, 4))]
            else:
                lines.append(f'  {key}: "{self.sentence()}"')
        return "\n".join(lines) + "\n"

    def _sh_block(self) -> str:
        r = self.rng
        var = self.ident().upper()
        choices = (
            f'export {var}="${{{var}:-{self.word()}}}"',
            f"python -m {self.word()}.{self.ident()} --batch-size {r.choice((1, 8, 32))}"
            f" --max-tokens {r.choice((256, 1024))}",
            f'if [[ -z "${{{var}:-}}" ]]; then\n  echo "{self.sentence()}" >&2\n  exit 1\nfi',
            f'echo "[$(date +%H:%M:%S)] {self.sentence()}"',
            f"docker build -t registry.internal/{self.word()}:$GIT_SHA -f docker/{self.word()}.Dockerfile .",
            f"curl -fsS http://{self.word()}.svc.cluster.local:8080/healthz > /dev/null",
            f'for shard in $(seq 0 {r.randint(1, 15)}); do\n  ./scripts/{self.ident()}.sh "$shard"\ndone',
            f"# {self.sentence()}",
        )
        return r.choice(choices) + "\n"

    def _md_block(self) -> str:
        r = self.rng
        kind = r.random()
        if kind < 0.55:
            return self.rng.choice(self.paragraphs) + "\n\n"
        if kind < 0.7:
            return f"## {self.sentence()[:-1]}\n\n"
        if kind < 0.85:
            body = "\n".join(self.rng.choice(self.py_blocks).splitlines()[:8])
            return f"```python\n{body}\n```\n\n"
        rows = [f"| {self.ident()} | {r.randint(1, 4096)} | {self.sentence()} |" for _ in range(r.randint(2, 6))]
        return "| name | value | notes |\n| --- | --- | --- |\n" + "\n".join(rows) + "\n\n"

    def _csv_row(self) -> str:
        r = self.rng
        text = " ".join(r.choices(self.words, k=r.randint(3, 14)))
        return f'"{text}",{r.choice(("positive", "negative", "neutral"))},{r.random():.5f},{r.randint(1, 4096)}'


def fill(rng: random.Random, pool: list[str], size: int, sep: str = "\n") -> str:
    """Concatenate random pool fragments until about ``size`` characters."""
    out: list[str] = []
    total = 0
    while total < size:
        frag = rng.choice(pool)
        out.append(frag)
        total += len(frag) + len(sep)
    return sep.join(out)


class Generator:
    """Turns each ``Spec`` into file content; one method per file kind."""

    def __init__(self, rng: random.Random, pools: Pools, secrets: dict[str, Secret]) -> None:
        self.rng = rng
        self.p = pools
        self.secrets = secrets

    def __call__(self, spec: Spec) -> str | bytes:
        return getattr(self, "gen_" + spec.kind)(spec)

    def needle(self, spec: Spec, key: str) -> str | None:
        return self.secrets[key].needle if key in spec.plants else None

    def gen_py(self, spec: Spec) -> str:
        head = [f'"""{self.p.sentence()}\n\n{self.rng.choice(self.p.paragraphs)}\n"""', ""]
        head += ["import logging", "import os", *self.rng.sample(IMPORTS[2:], self.rng.randint(1, 5))]
        head += ["", "logger = logging.getLogger(__name__)", f"MAX_TOKENS = {self.rng.choice((512, 2048, 4096))}", ""]
        if url := self.needle(spec, "postgres"):
            head += [
                f'DATABASE_URL = os.environ.get("DATABASE_URL", "{url}")',
                'POOL_SIZE = int(os.environ.get("POOL_SIZE", "10"))',
                "",
            ]
        return "\n".join(head) + "\n\n" + fill(self.rng, self.p.py_blocks, spec.size)

    def gen_truss_model(self, spec: Spec) -> str:
        openai = self.needle(spec, "openai")
        const = f'OPENAI_API_KEY = "{openai}"\n' if openai else ""
        return (
            TRUSS_MODEL_TEMPLATE.format(
                doc=self.p.sentence(),
                const=const,
                max_tokens=self.rng.choice((256, 512, 1024)),
                dtype=self.rng.choice(DTYPES[:2]),
            )
            + "\n\n"
            + fill(self.rng, self.p.py_blocks, spec.size)
        )

    def gen_truss_config(self, spec: Spec) -> str:
        r, p = self.rng, self.p
        lines = [
            f"model_name: {spec.name}",
            "python_version: py311",
            f"description: {p.sentence()}",
            "model_metadata:",
            f"  repo_id: acme/{spec.name}",
            f'  example_model_input: {{"prompt": "{p.sentence()}", "max_tokens": {r.choice((64, 256))}}}',
            "requirements:",
            *[f"  - {pkg}=={r.randint(0, 4)}.{r.randint(0, 40)}.{r.randint(0, 9)}" for pkg in r.sample(PACKAGES, 5)],
            "resources:",
            f"  accelerator: {r.choice(ACCELERATORS)}",
            f'  cpu: "{r.choice((2, 4, 8))}"',
            f"  memory: {r.choice((16, 32, 64))}Gi",
            "  use_gpu: true",
            "secrets:",
            f"  hf_access_token: {self.needle(spec, 'huggingface') or 'null'}",
            "environment_variables:",
            '  HF_HUB_ENABLE_HF_TRANSFER: "1"',
            f'  MAX_BATCH_SIZE: "{r.choice((4, 8, 16))}"',
            f"  LOG_LEVEL: {r.choice(('info', 'debug', 'warning'))}",
        ]
        if ghp := self.needle(spec, "github"):
            lines += [
                "build_commands:",
                "  - pip install --upgrade pip",
                f"  - git clone https://x-access-token:{ghp}@github.com/acme/lib",
                "  - pip install ./lib",
            ]
        if url := self.needle(spec, "s3_presigned"):
            lines += [
                "external_data:",
                f"  - url: {url}",
                "    local_data_path: weights/model-00001-of-00002.safetensors",
            ]
        lines += ["runtime:", f"  predict_concurrency: {r.choice((1, 8, 32))}"]
        return "\n".join(lines) + "\n"

    def gen_requirements(self, spec: Spec) -> str:
        r = self.rng
        hashed = r.random() < 0.3
        lines = []
        for pkg in r.sample(PACKAGES, r.randint(4, 15)):
            line = f"{pkg}=={r.randint(0, 4)}.{r.randint(0, 40)}.{r.randint(0, 9)}"
            if hashed:
                line += f" \\\n    --hash=sha256:{r.randbytes(32).hex()}"
            lines.append(line)
        return "\n".join(lines) + "\n"

    def gen_md(self, spec: Spec) -> str:
        return f"# {self.p.sentence()[:-1]}\n\n" + fill(self.rng, self.p.md_blocks, spec.size, sep="")

    def gen_yaml(self, spec: Spec) -> str:
        out, total, i = [f"# {self.p.sentence()}\n"], 0, 0
        while total < spec.size:
            block = self.rng.choice(self.p.yaml_blocks)
            out.append(f"{self.p.ident()}_{i}:\n{block}")
            total += len(block)
            i += 1
        return "".join(out)

    def gen_sh(self, spec: Spec) -> str:
        head = f"#!/usr/bin/env bash\n# {self.p.sentence()}\nset -euo pipefail\n\n"
        if token := self.needle(spec, "slack"):
            head += (
                f'SLACK_BOT_TOKEN="{token}"\nCHANNEL="#ml-deploys"\n\n'
                "notify() {\n  curl -fsS -X POST https://slack.com/api/chat.postMessage \\\n"
                '    -H "Authorization: Bearer $SLACK_BOT_TOKEN" \\\n'
                '    --data-urlencode "channel=$CHANNEL" --data-urlencode "text=$1"\n}\n\n'
            )
        return head + fill(self.rng, self.p.sh_blocks, spec.size, sep="")

    def gen_env(self, spec: Spec) -> str:
        return (
            f"# local development settings for {spec.name}\nAPP_ENV=development\nLOG_LEVEL=info\n"
            f"AWS_REGION=us-east-1\nAWS_ACCESS_KEY_ID={self.needle(spec, 'aws_key_id')}\n"
            f"AWS_SECRET_ACCESS_KEY={self.needle(spec, 'aws_secret')}\nS3_BUCKET=acme-{spec.name}-artifacts\n"
        )

    def gen_env_example(self, spec: Spec) -> str:
        keys = ("OPENAI_API_KEY", "HF_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "DATABASE_URL")
        values = ("", "changeme", "<your-token-here>", "${SECRET_FROM_VAULT}")
        return "".join(f"{k}={self.rng.choice(values)}\n" for k in keys)

    def _json_value(self, depth: int) -> object:
        r = self.rng
        roll = r.random()
        if depth > 2 or roll < 0.5:
            return r.choice((r.randint(0, 65536), round(r.random(), 4), self.p.word(), self.p.sentence(), True, None))
        if roll < 0.75:
            return [self._json_value(depth + 1) for _ in range(r.randint(1, 6))]
        return {self.p.ident(): self._json_value(depth + 1) for _ in range(r.randint(2, 8))}

    def gen_json(self, spec: Spec) -> str:
        doc: dict[str, object] = {}
        if key := self.needle(spec, "stripe"):
            doc["billing"] = {
                "provider": "stripe",
                "secret_key": key,
                "currency": "usd",
                "webhook_path": "/hooks/stripe",
            }
        total = 0
        while total < spec.size:
            value = self._json_value(0)
            doc[f"{self.p.ident()}_{len(doc)}"] = value
            total += len(json.dumps(value, indent=2)) + 8
        return json.dumps(doc, indent=2) + "\n"

    def gen_k8s_secret(self, spec: Spec) -> str:
        doc = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{spec.name}-env", "namespace": "ml-serving", "labels": {"app": spec.name}},
            "type": "Opaque",
            "data": {".env": self.needle(spec, "base64_hf")},
        }
        return json.dumps(doc, indent=2) + "\n"

    def gen_vocab(self, spec: Spec) -> str:
        words = self.p.words[:3000]
        vocab: dict[str, int] = {}
        for prefix in ("", "\u0120", "##", "\u2581"):
            for w in words:
                vocab.setdefault(prefix + w, len(vocab))
        n = 0
        while len(vocab) * 20 < spec.size:  # about 20 bytes per entry; grow with numbered merges
            for w in words:
                vocab.setdefault(f"{w}{n}", len(vocab))
            n += 1
        return json.dumps(vocab, indent=0) + "\n"

    def gen_tokenizer_config(self, spec: Spec) -> str:
        cfg = {
            "tokenizer_class": "LlamaTokenizerFast",
            "model_max_length": self.rng.choice((4096, 8192, 32768)),
            "pad_token": "<pad>",
            "eos_token": "</s>",
            "bos_token": "<s>",
            "padding_side": "left",
            "add_bos_token": True,
            "clean_up_tokenization_spaces": False,
        }
        return json.dumps(cfg, indent=2) + "\n"

    def gen_csv(self, spec: Spec, sep: str = ",") -> str:
        header = sep.join(("id", "text", "label", "score", "length"))
        rows = self._csv_rows(spec.size)
        if sep != ",":
            rows = [row.replace(",", sep) for row in rows]
        return header + "\n" + "".join(f"{i}{sep}{row}\n" for i, row in enumerate(rows, 1))

    def _csv_rows(self, size: int) -> list[str]:
        avg = sum(len(x) for x in self.p.csv_rows[:200]) / 200 + 6
        return self.rng.choices(self.p.csv_rows, k=max(1, math.ceil(size / avg)))

    def gen_tsv(self, spec: Spec) -> str:
        return self.gen_csv(spec, sep="\t")

    def gen_ipynb(self, spec: Spec) -> str:
        r, p = self.rng, self.p
        cells: list[dict] = [self._md_cell(f"# {p.sentence()}\n\n{r.choice(p.paragraphs)}")]
        if key := self.needle(spec, "anthropic"):
            cells.append(
                self._code_cell(
                    f'import os\nimport anthropic\n\nos.environ["ANTHROPIC_API_KEY"] = "{key}"\n'
                    "client = anthropic.Anthropic()",
                    [],
                )
            )
        png = base64.b64encode(PNG_MAGIC + r.randbytes(r.randint(3000, max(3001, spec.size // 3)))).decode()
        cells.append(
            self._code_cell(
                r.choice(p.py_blocks),
                [
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {"image/png": png + "\n", "text/plain": ["<Figure size 640x480 with 1 Axes>"]},
                    }
                ],
            )
        )
        total = len(png)
        while total < spec.size:
            code = r.choice(p.py_blocks)
            output = {
                "output_type": "stream",
                "name": "stdout",
                "text": [s + "\n" for s in r.choices(p.sentences, k=r.randint(1, 8))],
            }
            cells += [self._md_cell(r.choice(p.paragraphs)), self._code_cell(code, [output])]
            total += len(code) * 2 + 400
        nb = {
            "cells": cells,
            "metadata": {
                "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                "language_info": {"name": "python", "version": "3.11.7"},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        return json.dumps(nb, indent=1) + "\n"

    def _lines(self, text: str) -> list[str]:
        return [line + "\n" for line in text.splitlines()]

    def _md_cell(self, text: str) -> dict:
        return {"cell_type": "markdown", "id": self.rng.randbytes(4).hex(), "metadata": {}, "source": self._lines(text)}

    def _code_cell(self, code: str, outputs: list[dict]) -> dict:
        return {
            "cell_type": "code",
            "execution_count": self.rng.randint(1, 99),
            "id": self.rng.randbytes(4).hex(),
            "metadata": {},
            "outputs": outputs,
            "source": self._lines(code),
        }

    def gen_safetensors(self, spec: Spec) -> bytes:
        n = spec.size
        header = json.dumps(
            {
                "__metadata__": {"format": "pt"},
                "model.embed_tokens.weight": {"dtype": "F16", "shape": [n // 2], "data_offsets": [0, n]},
            }
        ).encode()
        return struct.pack("<Q", len(header)) + header + self.rng.randbytes(n)

    def gen_bin(self, spec: Spec) -> bytes:
        return b"\x00\x00\x00\x00" + self.rng.randbytes(spec.size)


TRUSS_MODEL_TEMPLATE = '''"""{doc}"""
import logging
from typing import Any, Dict

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

logger = logging.getLogger(__name__)
{const}MAX_TOKENS = {max_tokens}


class Model:
    """Truss entry point: load() once per replica, predict() per request."""

    def __init__(self, **kwargs) -> None:
        self._config = kwargs["config"]
        self._secrets = kwargs["secrets"]
        self._model = None
        self._tokenizer = None

    def load(self) -> None:
        token = self._secrets["hf_access_token"]
        model_id = self._config["model_metadata"]["repo_id"]
        self._tokenizer = AutoTokenizer.from_pretrained(model_id, token=token)
        if self._tokenizer.pad_token is None:
            self._tokenizer.pad_token = self._tokenizer.eos_token
        self._model = AutoModelForCausalLM.from_pretrained(
            model_id, token=token, torch_dtype=torch.{dtype}, device_map="auto"
        )

    def predict(self, request: Dict[str, Any]) -> Dict[str, Any]:
        prompt = request.pop("prompt")
        max_tokens = min(int(request.pop("max_tokens", MAX_TOKENS)), MAX_TOKENS)
        inputs = self._tokenizer(prompt, return_tensors="pt", padding=True).to(self._model.device)
        with torch.no_grad():
            output = self._model.generate(
                **inputs, max_new_tokens=max_tokens, pad_token_id=self._tokenizer.pad_token_id
            )
        return {{"completion": self._tokenizer.decode(output[0], skip_special_tokens=True)}}
'''

# kind -> (weight among ordinary files, median size in bytes, directory maker, extension)
KINDS: dict[str, tuple[float, int, Callable[[Pools], str], str]] = {
    "py": (38, 9000, lambda p: f"services/{p.word()}/src/{p.word()}", ".py"),
    "json": (10, 8000, lambda p: f"configs/{p.word()}", ".json"),
    "yaml": (9, 3000, lambda p: f"configs/{p.word()}", ".yaml"),
    "md": (10, 6000, lambda p: f"docs/{p.word()}", ".md"),
    "ipynb": (4, 50000, lambda p: f"notebooks/{p.word()}", ".ipynb"),
    "csv": (6, 60000, lambda p: f"data/{p.word()}", ".csv"),
    "tsv": (2, 60000, lambda p: f"data/{p.word()}", ".tsv"),
    "sh": (6, 1500, lambda p: f"scripts/{p.word()}", ".sh"),
    "requirements": (3, 600, lambda p: f"services/{p.word()}", ".txt"),
    "env_example": (0.5, 200, lambda p: f"services/{p.word()}", ".env.example"),
}


class Planner:
    """Chooses every file's path, kind and target size before any content is made."""

    def __init__(self, rng: random.Random, pools: Pools) -> None:
        self.rng = rng
        self.p = pools
        self.used: set[str] = set()
        self.specs: list[Spec] = []
        # A monorepo has a bounded set of folders; reuse them instead of a new one per file.
        self.dirs = {kind: [make(pools) for _ in range(40)] for kind, (_, _, make, _) in KINDS.items()}

    def add(self, path: str, kind: str, size: int = 0, plants: tuple[str, ...] = (), name: str = "") -> None:
        base, n = path, 1
        while path in self.used:
            stem, dot, ext = base.rpartition(".")
            path = f"{stem}_{n}.{ext}" if dot else f"{base}_{n}"
            n += 1
        self.used.add(path)
        self.specs.append(Spec(path, kind, size, plants, name))

    def size_for(self, kind: str) -> int:
        return max(200, int(self.rng.lognormvariate(math.log(KINDS[kind][1]), 1.0)))

    def truss(self, plants_by_file: dict[str, tuple[str, ...]]) -> None:
        name = f"{self.p.word()}-{self.rng.choice(('llama', 'mistral', 'whisper', 'sdxl', 'bert'))}-{self.p.word()}"
        root = f"models/{name}"
        self.add(f"{root}/config.yaml", "truss_config", plants=plants_by_file.get("config", ()), name=name)
        self.add(f"{root}/model/__init__.py", "py", 200)
        self.add(f"{root}/model/model.py", "truss_model", self.size_for("py"), plants_by_file.get("model", ()))
        self.add(f"{root}/requirements.txt", "requirements")
        self.add(f"{root}/README.md", "md", self.size_for("md"))

    def tokenizer(self) -> None:
        root = f"tokenizers/{self.p.word()}-{self.rng.choice((8, 32, 64, 128))}k"
        self.add(f"{root}/vocab.json", "vocab", self.rng.randint(200_000, 900_000))
        self.add(f"{root}/tokenizer_config.json", "tokenizer_config")

    def plants(self) -> None:
        """Files that carry planted secrets outside Truss directories."""
        p = self.p
        svc = p.word()
        self.add(f"services/{svc}/.env", "env", plants=("aws_key_id", "aws_secret"), name=svc)
        self.add(f"notebooks/{p.word()}/{p.ident()}.ipynb", "ipynb", self.size_for("ipynb"), ("anthropic",))
        self.add(f"scripts/{p.word()}/notify_{p.ident()}.sh", "sh", self.size_for("sh"), ("slack",))
        self.add(f"configs/{p.word()}/billing_{p.word()}.json", "json", self.size_for("json"), ("stripe",))
        self.add(f"services/{svc}/src/{svc}/settings.py", "py", self.size_for("py"), ("postgres",))
        self.add(f"deploy/k8s/{svc}-env-secret.json", "k8s_secret", plants=("base64_hf",), name=svc)

    def ordinary(self, count: int) -> None:
        kinds = list(KINDS)
        weights = [KINDS[k][0] for k in kinds]
        for kind in self.rng.choices(kinds, weights=weights, k=count):
            folder = self.rng.choice(self.dirs[kind])
            self.add(f"{folder}/{self.p.ident()}{KINDS[kind][3]}", kind, self.size_for(kind))

    def binaries(self) -> None:
        for i in range(BINARY_FILES):
            kind = "safetensors" if i % 2 == 0 else "bin"
            name = "model.safetensors" if kind == "safetensors" else "pytorch_model.bin"
            self.add(f"weights/{self.p.word()}-{i}/{name}", kind, self.rng.randint(256 * 1024, 2 * MIB))


def plan(rng: random.Random, pools: Pools, files: int, budget: int) -> tuple[list[Spec], Spec]:
    """Lay out ``files`` files; scale sizes so the total lands near ``budget``.

    The big CSV is returned separately: it is generated last and absorbs
    whatever is left of the budget, so the total never falls short.
    """
    pl = Planner(rng, pools)
    truss_plants = [
        {"model": ("openai",)},
        {"config": ("huggingface",)},
        {"config": ("github",)},
        {"config": ("s3_presigned",)},
    ]
    n_truss = max(len(truss_plants), files // 100)
    for i in range(n_truss):
        pl.truss(truss_plants[i] if i < len(truss_plants) else {})
    for _ in range(max(2, files // 500)):
        pl.tokenizer()
    pl.plants()
    pl.binaries()
    big = Spec("data/corpus/train_full.csv", "csv", BIG_FILE_MIN_BYTES)
    pl.used.add(big.path)
    pl.ordinary(files - len(pl.specs) - 1)
    scalable = [s for s in pl.specs if s.kind in KINDS or s.kind == "truss_model"]
    fixed = sum(s.size for s in pl.specs if s not in scalable) + BIG_FILE_MIN_BYTES
    factor = max(0.05, (budget - fixed) / max(1, sum(s.size for s in scalable)))
    for s in scalable:
        s.size = int(s.size * factor)
    return pl.specs, big


def locate(text: str, needle: str) -> int:
    """1-based line of ``needle`` in ``text``."""
    idx = text.index(needle)
    return text.count("\n", 0, idx) + 1


def write_file(root: Path, rel: str, content: str | bytes) -> int:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode() if isinstance(content, str) else content
    path.write_bytes(data)
    return len(data)


def build_tree(outdir: Path, files: int = 5000, megabytes: int = 100, seed: int = 7) -> dict:
    """Generate the tree and its manifest; return a small summary (no secrets)."""
    rng = random.Random(seed)
    secrets = make_secrets(random.Random(f"secrets-{seed}"))
    pools = Pools(rng)
    budget = megabytes * MIB
    specs, big = plan(rng, pools, files, budget)
    gen = Generator(rng, pools, secrets)
    manifest, total = [], 0
    for spec in specs:
        content = gen(spec)
        total += write_file(outdir, spec.path, content)
        for key in spec.plants:
            s = secrets[key]
            manifest.append(
                {
                    "kind": s.kind,
                    "path": spec.path,
                    "line": locate(content, s.needle),
                    "sha256": sha256(s.value),
                    "alt_sha256": [sha256(a) for a in s.alts],
                }
            )
    big.size = max(BIG_FILE_MIN_BYTES, budget - total)
    total += write_file(outdir, big.path, gen(big))
    (outdir / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
    return {"files": len(specs) + 1, "bytes": total, "planted": len(manifest), "seed": seed}


def write_tiny_truss(outdir: Path, seed: int = 7) -> None:
    """A clean three-file Truss (config.yaml, model/model.py, requirements.txt)."""
    rng = random.Random(seed)
    pools = Pools(rng)
    gen = Generator(rng, pools, secrets={})
    for spec in (
        Spec("config.yaml", "truss_config", name="tiny-llama"),
        Spec("model/model.py", "truss_model", 1500),
        Spec("requirements.txt", "requirements"),
    ):
        write_file(outdir, spec.path, gen(spec))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--files", type=int, default=5000, help="number of files (default 5000)")
    ap.add_argument("--megabytes", type=int, default=100, help="total size in MiB (default 100)")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    if args.files < 100:
        ap.error("--files must be at least 100")
    if args.outdir.exists() and any(args.outdir.iterdir()):
        ap.error(f"{args.outdir} is not empty")
    start = time.perf_counter()
    summary = build_tree(args.outdir, args.files, args.megabytes, args.seed)
    print(
        f"{args.outdir}: {summary['files']} files, {summary['bytes'] / 1e6:.1f} MB, "
        f"{summary['planted']} planted secrets (seed {args.seed}) in {time.perf_counter() - start:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
