"""One 50 MB minified-JS-like file with one token: time and peak memory of trussguard (which now
streams files over --max-file-size in chunks) against gitleaks and kingfisher.

    python benchmarks/run_large_file_bench.py [--megabytes 50] [--runs 3]

Each tool scans the folder holding only that file, ``--runs`` times (median reported), under
``/usr/bin/time -v`` for the peak resident set. Peers get a size cap above the file, so that
they scan it too. Whether each found the token is checked by its SHA-256 only: no secret value
is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from run_scan_bench import native_exe, trussguard_exe

from trussguard.engine import tokens
from trussguard.engine.loader import load_rules

RULE = "huggingface.user-token"


def make_bundle(folder: Path, megabytes: int, rng: random.Random) -> str:
    """A one-line minified bundle (identifiers, numbers, string literals), the token past the middle."""
    rule = load_rules(cache_dir=None).by_id()[RULE]
    token = tokens.expand_template(rule.tokens["token"], rng)
    words = [f"var {chr(97 + i % 26)}{i}=function(e,t){{return e+t*{i}}};" for i in range(4000)]
    piece = "".join(rng.choice(words) for _ in range(20000)).encode()
    size = megabytes * 1_000_000
    with open(folder / "bundle.min.js", "wb") as f:
        written = 0
        while written < size * 0.6:
            written += f.write(piece)
        written += f.write(f'const HF_TOKEN="{token}";'.encode())
        while written < size:
            written += f.write(piece[:size - written])
    return hashlib.sha256(token.encode()).hexdigest()


def run(argv: list[str]) -> tuple[float, int, str]:
    """(seconds, peak RSS in KiB, stdout) of one run under /usr/bin/time -v."""
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *argv], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return seconds, peak, proc.stdout


def found(report: Path, digest: str) -> bool:
    """Whether the report holds the token (any field equal to it, compared by digest)."""
    if not report.exists():
        return False
    text = report.read_text(errors="replace")
    if digest in text:  # trussguard reports the digest itself
        return True
    values = re.findall(r'"(?:Secret|Match|snippet|secret|finding)"\s*:\s*"([^"]*)"', text) + \
        [v for v in re.findall(r'"([A-Za-z0-9_]{20,})"', text)]
    return any(hashlib.sha256(v.encode()).hexdigest() == digest or digest in
               {hashlib.sha256(w.encode()).hexdigest() for w in re.findall(r"hf_[A-Za-z0-9]+", v)} for v in values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder, out = Path(tmp) / "tree", Path(tmp)
        folder.mkdir()
        digest = make_bundle(folder, args.megabytes, random.Random(7))
        cap = str(args.megabytes * 2)
        tools = {
            "trussguard": [*trussguard_exe(), "scan", str(folder), "--format", "json", "-o", str(out / "tg.json"),
                           "--no-cache"],
            "gitleaks": [native_exe("gitleaks"), "dir", str(folder), "--no-banner", "--report-format", "json",
                         "--report-path", str(out / "gl.json"), "--max-target-megabytes", cap],
            "kingfisher": [native_exe("kingfisher"), "scan", str(folder), "--no-validate", "-f", "json", "-o",
                           str(out / "kf.json"), "--no-update-check", "--max-file-size", cap],
        }
        reports = {"trussguard": "tg.json", "gitleaks": "gl.json", "kingfisher": "kf.json"}
        results = {}
        for name, argv in tools.items():
            if argv[0] is None:
                print(f"{name}: not installed, left out")
                continue
            runs = [run(argv) for _ in range(args.runs)]
            results[name] = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
                             found(out / reports[name], digest))
        base = results.get("trussguard")
        print(f"{args.megabytes} MB one-line bundle, one token; median of {args.runs} runs")
        for name, (seconds, peak, hit) in results.items():
            ratio = f"  x{seconds / base[0]:.2f} of trussguard's time" if base and name != "trussguard" else ""
            print(f"{name:11} {seconds:6.2f} s  peak {peak / 1024:7.1f} MiB  token found: {hit}{ratio}")
        print(json.dumps({k: {"seconds": round(v[0], 3), "peak_mib": round(v[1] / 1024, 1), "found": v[2]}
                          for k, v in results.items()}))


if __name__ == "__main__":
    main()
