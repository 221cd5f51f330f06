"""Time the pre-commit path: a commit of 5 staged files in a 40-Truss monorepo, process start included.

    python benchmarks/run_precommit_bench.py [--runs 10] [--keep]

Builds a repository (40 Truss folders: config.yaml, model/model.py of ~16 KB, requirements.txt,
a README; plus scripts), commits it, then stages changes to 5 files (two model files, a config,
two scripts, no secret) and times, round-robin and in the same run, the commands a pre-commit
hook runs: ``trussguard scan --staged``, ``gitleaks git --pre-commit --staged`` and
``detect-secrets-hook`` on the 5 file names. Prints medians and the ratios to trussguard.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from run_scan_bench import native_exe, scratch_dir, trussguard_exe

TRUSSES = 40
CONFIG = """model_name: {name}
python_version: py311
requirements_file: ./requirements.txt
resources:
  accelerator: A10G
secrets:
  hf_access_token: null
environment_variables:
  TOKENIZERS_PARALLELISM: "false"
"""
MODEL_HEAD = '''"""{name}: a Truss model."""
import logging

logger = logging.getLogger(__name__)


class Model:
    def __init__(self, **kwargs):
        self._secrets = kwargs["secrets"]
        self._model = None

    def load(self):
        token = self._secrets["hf_access_token"]
        logger.info("loading with a token of %d characters", len(token))

    def predict(self, request):
        return {{"echo": request.get("prompt", "")}}
'''


def helper(n: int, rng: random.Random) -> str:
    words = ["tokenizer", "prompt", "batch", "cache", "logits", "sampler", "weights", "device"]
    name = f"{rng.choice(words)}_{n}"
    return (f"\n\ndef {name}(values, scale={rng.randint(1, 9)}):\n"
            f"    \"\"\"Scale the {rng.choice(words)} values for the {rng.choice(words)} step.\"\"\"\n"
            f"    out = [v * scale for v in values if v is not None]\n"
            f"    logger.debug(\"{name}: %d values\", len(out))\n"
            f"    return {{\"{rng.choice(words)}\": out, \"count\": len(out)}}\n")


def build(root: Path, rng: random.Random) -> list[str]:
    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    for i in range(TRUSSES):
        folder = root / "models" / f"m{i:02d}"
        (folder / "model").mkdir(parents=True)
        (folder / "config.yaml").write_text(CONFIG.format(name=f"m{i:02d}"))
        body = MODEL_HEAD.format(name=f"m{i:02d}")
        while len(body) < 16_000:
            body += helper(len(body), rng)
        (folder / "model" / "model.py").write_text(body)
        (folder / "model" / "__init__.py").write_text("")
        (folder / "requirements.txt").write_text("transformers==4.44.0\ntorch==2.4.0\n")
        (folder / "README.md").write_text(f"# m{i:02d}\n\nA model.\n")
    (root / "scripts").mkdir()
    for i in range(20):
        (root / "scripts" / f"tool{i}.py").write_text(f"import os\n\nprint(os.environ.get('HOME'), {i})\n")
    git("add", "-A")
    git("-c", "user.name=Bench", "-c", "user.email=bench@example.invalid", "commit", "-q", "-m", "initial")
    staged = ["models/m03/model/model.py", "models/m17/model/model.py", "models/m21/config.yaml",
              "scripts/tool2.py", "scripts/tool5.py"]
    for rel in staged:
        with (root / rel).open("a") as f:
            f.write("\n# changed for the benchmark commit\n" if rel.endswith(".py") else "description: changed\n")
    git("add", *staged)
    return staged


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args(argv)
    tg = trussguard_exe()
    if not tg:
        print("trussguard is not installed", file=sys.stderr)
        return 1
    with scratch_dir("trussguard-precommit-bench-", args.keep) as work:
        root = work / "repo"
        root.mkdir()
        staged = build(root, random.Random(7))
        commands = {"trussguard": [*tg, "scan", "--staged", str(root)]}  # the warm-up fills the rule cache
        if gitleaks := native_exe("gitleaks"):
            commands["gitleaks"] = [gitleaks, "git", "--pre-commit", "--staged", "--no-banner", str(root)]
        hook = Path(sys.executable).with_name("detect-secrets-hook")
        if hook.exists():
            commands["detect-secrets-hook"] = [str(hook), *staged]
        times: dict[str, list[float]] = {name: [] for name in commands}
        # As on a developer's machine: Python keeps its bytecode (some CI images turn that off,
        # which costs every command ~60 ms of recompiling its modules).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        for rnd in range(args.runs + 1):  # the first round warms the page cache and is not counted
            names = list(commands)[rnd % len(commands):] + list(commands)[:rnd % len(commands)]
            for name in names:
                start = time.perf_counter()
                proc = subprocess.run(commands[name], cwd=root, env=env, capture_output=True)
                elapsed = time.perf_counter() - start
                if proc.returncode not in (0, 1):
                    print(f"{name} failed ({proc.returncode}): {proc.stderr[-500:]!r}", file=sys.stderr)
                    return 1
                if rnd:
                    times[name].append(elapsed)
        print(f"A commit of {len(staged)} staged files in a {TRUSSES}-Truss repository; median of {args.runs} "
              "round-robin runs after a warm-up, process start included:")
        medians = {name: statistics.median(t) for name, t in times.items()}
        for name, median in medians.items():
            ratio = "" if name == "trussguard" else f"   trussguard/{name}: {medians['trussguard'] / median:.2f}x"
            print(f"  {name:<20} {median * 1000:7.0f} ms{ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
