"""``trussguard demo``: a throwaway Truss with the classic mistakes, scanned as a user would see it.

The fake credentials are generated now, from each rule's own token template, so nothing
realistic ever sits in this source file and every run plants different values.
"""

from __future__ import annotations

import random
import shutil
import tempfile
import textwrap
from pathlib import Path

import click

from trussguard.engine import tokens
from trussguard.engine.loader import default_cache_dir, load_rules


def fake_token(rule_id: str, rng: random.Random, name: str = "token") -> str:
    """A fresh fake credential in the shape of the given rule."""
    rule = load_rules(cache_dir=default_cache_dir()).by_id()[rule_id]
    return tokens.expand_template(rule.tokens[name], rng)


def build_demo_repo(root: Path, rng: random.Random) -> dict[str, str]:
    """Writes a small Truss repository with planted leaks; returns {description: path}."""
    hf = fake_token("huggingface.user-token", rng)
    password = tokens.expand_template("{18:A-Za-z0-9}", rng)
    openai = fake_token("openai.project-key", rng)
    files = {
        "config.yaml": f"""\
            model_name: demo-llm
            python_version: py311
            resources:
              accelerator: A10G
            requirements:
              - transformers==4.44.0
            secrets:
              hf_access_token: "{hf}"
            environment_variables:
              TOKENIZERS_PARALLELISM: "false"
            """,
        "model/model.py": f'''\
            from openai import OpenAI

            OPENAI_API_KEY = "{openai}"  # "just to get it working"


            class Model:
                def __init__(self, **kwargs):
                    self._secrets = kwargs["secrets"]
                    self.max_tokens = 512

                def load(self):
                    self.client = OpenAI(api_key=OPENAI_API_KEY)
                    self.hf_token = self._secrets["hf_access_token"]

                def predict(self, request):
                    return {{"ok": True}}
            ''',
        "scripts/seed_db.py": f'''\
            DB_PASSWORD = "{password}"
            ''',
        "README.md": "# demo-llm\n\nA Truss built by `trussguard demo`.\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), "utf-8")
    return {"HF token under secrets:": "config.yaml", "OpenAI key in model code": "model/model.py",
            "database password in a helper script": "scripts/seed_db.py"}


def run_demo(keep: bool = False) -> int:
    from trussguard.commands import run_scan

    root = Path(tempfile.mkdtemp(prefix="trussguard-demo-"))
    try:
        planted = build_demo_repo(root, random.Random())
        click.echo(click.style("trussguard demo", bold=True) + f": a throwaway Truss at {root} with "
                   f"{len(planted)} planted fake leaks:")
        for what, where in planted.items():
            click.echo(f"  - {what} ({where})")
        click.echo(f"\n$ trussguard scan {root}\n")
        code = run_scan(paths=(root,), rule_dirs=(), fmt="text", output=None, fail_on="high",
                        max_file_size="10MiB", show_secrets=False, no_detect_secrets=False, no_decode=False,
                        allow_unreadable=False, jobs=None, no_cache=False)
        click.echo(f"(exit code {code}: 1 means findings at or above --fail-on, which fails a CI job)")
        if keep:
            click.echo(f"Kept the demo repository at {root}")
        return 0 if code == 1 else 2
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
