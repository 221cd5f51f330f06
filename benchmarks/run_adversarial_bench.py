"""Time and peak memory of trussguard against gitleaks and kingfisher on hostile inputs (issue 11).

    python benchmarks/run_adversarial_bench.py [--runs 3] [--scale 1.0] [--cases lines,aws,branches]
                                               [--timeout 900] [--keep] [--save]

Three cases, each at three sizes, generated at run time from seeded random parts (no real key):

* ``lines``: a Truss (``config.yaml`` with ``model_name: x``, ``model/model.py``) whose model.py has
  N lines ``api_key_<i> = "<random 32-char token>"``, N = 20,000 / 40,000 / 80,000;
* ``aws``: N AWS access key ids (``AKIA`` + 16 of [A-Z2-7]) on one line of a plain file, N = 25,000 /
  50,000 / 100,000 (2.1 MB at 100,000), plus the 100,000 line inside a Truss model.py;
* ``branches``: a 12-commit history with one planted key, and N branches over it made with one
  ``git update-ref --stdin``, N = 1,000 / 5,000 / 10,000.

Trees are scanned with ``trussguard scan`` / ``gitleaks dir`` / ``kingfisher scan``; histories with
``trussguard audit --no-cache`` / ``gitleaks git`` (all refs) / ``kingfisher scan --git-history full``.
Each tool runs ``--runs`` times per input, round-robin (the starting tool rotates), no warm-up round
(the inputs are large enough that start-up does not matter). Reported per tool: median wall time,
peak resident memory of the scanner process (``/usr/bin/time -f %M``, else ``os.wait4``; with its
waited-for workers), exit codes,
findings, and the ratios to gitleaks. A run over ``--timeout`` is killed and shown as ``>T``.
No secret is printed or saved: reports are only counted.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import random
import signal
import statistics
import string
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from run_scan_bench import HERE, native_exe, ratio, round_robin, scratch_dir, tool_version, trussguard_exe

TOKEN_ALPHABET = string.ascii_letters + string.digits
AWS_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
GNU_TIME = Path("/usr/bin/time").exists()
# Python writes and reads its bytecode caches as an installed package does (pip compiles them at
# install time): a shell with PYTHONDONTWRITEBYTECODE set would otherwise charge every trussguard run
# about 0.15 s of recompiling its own modules.
MEASURED_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

TREE = {
    "trussguard": "scan {target} --format json --output {report} --fail-on low",
    "gitleaks": "dir {target} --no-banner --report-format json --report-path {report} --max-target-megabytes 10",
    "kingfisher": "scan {target} --no-validate -f json -o {report} --no-update-check --max-file-size 10",
}
HISTORY = {
    "trussguard": "audit {target} --format json --output {report} --fail-on low --no-cache",
    "gitleaks": "git {target} --no-banner --report-format json --report-path {report}",  # --log-opts: --all
    "kingfisher": "scan {target} --git-history full --no-validate -f json -o {report} --no-update-check",
}


@dataclass
class Case:
    name: str  # e.g. "lines 20000"
    build: Callable[[Path], Path]  # workdir -> target
    history: bool


@dataclass
class Runs:
    times: list[float] = field(default_factory=list)
    rss_kib: list[int] = field(default_factory=list)
    codes: set[int] = field(default_factory=set)
    findings: int | None = None
    timed_out: bool = False


# ----------------------------------------------------------------------------- inputs


def _token(rng: random.Random, n: int = 32, alphabet: str = TOKEN_ALPHABET) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _aws_line(rng: random.Random, n: int) -> str:
    return " ".join("AKIA" + _token(rng, 16, AWS_ALPHABET) for _ in range(n))


def _truss(root: Path, model: str) -> Path:
    (root / "model").mkdir(parents=True, exist_ok=True)
    (root / "config.yaml").write_text("model_name: x\n")
    (root / "model" / "model.py").write_text(model)
    return root


def build_lines(n: int) -> Callable[[Path], Path]:
    def build(workdir: Path) -> Path:
        rng = random.Random(f"lines-{n}")
        return _truss(workdir / f"lines-{n}", "".join(f'api_key_{i} = "{_token(rng)}"\n' for i in range(n)))
    return build


def build_aws(n: int, truss: bool) -> Callable[[Path], Path]:
    def build(workdir: Path) -> Path:
        line = _aws_line(random.Random(f"aws-{n}"), n)
        root = workdir / f"aws-{n}-{'truss' if truss else 'plain'}"
        if truss:
            return _truss(root, f"KEYS = '{line}'\n")
        root.mkdir(parents=True, exist_ok=True)
        (root / "keys.txt").write_text(line + "\n")
        return root
    return build


def _git(repo: Path, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@example.com",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@example.com"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          input=stdin, env=env).stdout


def build_branches(n: int, commits: int = 12) -> Callable[[Path], Path]:
    """A small Truss history (one fake key added in the 4th commit, removed in the 9th) and n branches
    spread over its commits, created in one ``git update-ref --stdin`` transaction."""
    def build(workdir: Path) -> Path:
        rng = random.Random(f"branches-{n}")
        repo = workdir / f"branches-{n}"
        _truss(repo, "class Model:\n    def predict(self, x):\n        return x\n")
        _git(repo, "init", "-q", "-b", "main")
        shas = []
        for i in range(commits):
            model = repo / "model" / "model.py"
            body = "class Model:\n    def predict(self, x):\n        return x  # v%d\n" % i
            if 3 <= i < 8:
                body = f'HF_TOKEN = "hf_{_token(rng, 34)}"\n' if i == 3 else model.read_text().split("\n")[0] + "\n"
                body += "class Model:\n    def predict(self, x):\n        return x  # v%d\n" % i
            model.write_text(body)
            _git(repo, "add", "-A")
            _git(repo, "commit", "-q", "-m", f"change {i}", f"--date={1_700_000_000 + 3600 * i} +0000")
            shas.append(_git(repo, "rev-parse", "HEAD").strip())
        _git(repo, "update-ref", "--stdin", stdin="".join(
            f"create refs/heads/feature/b{i:05d} {shas[i % len(shas)]}\n" for i in range(n)))
        _git(repo, "gc", "-q")
        return repo
    return build


def cases(kinds: list[str], scale: float) -> list[Case]:
    def size(n: int) -> int:
        return max(10, int(n * scale))

    out: list[Case] = []
    if "lines" in kinds:
        out += [Case(f"model.py lines {size(n)}", build_lines(size(n)), False) for n in (20_000, 40_000, 80_000)]
    if "aws" in kinds:
        out += [Case(f"AWS ids one line {size(n)}", build_aws(size(n), False), False) for n in (25_000, 50_000, 100_000)]
        out.append(Case(f"AWS ids one line {size(100_000)} in model.py", build_aws(size(100_000), True), False))
    if "branches" in kinds:
        out += [Case(f"branches {size(n)}", build_branches(size(n)), True) for n in (1_000, 5_000, 10_000)]
    return out


# ----------------------------------------------------------------------------- running


def count_findings(name: str, report: Path) -> int | None:
    """Findings a report stands for: trussguard's capped summaries count the matches they stand for."""
    try:
        data = json.loads(report.read_text())
    except (OSError, ValueError):
        return None
    if name == "gitleaks":
        return len(data)
    items = data["findings"]
    if name == "kingfisher":
        return len(items)
    more = sum(int(f["message"].split()[0]) - 1 for f in items if not f.get("secret_sha256")
               and " more match" in f.get("message", ""))
    return len(items) + more


def run_measured(argv: list[str], cwd: Path, log: Path, timeout: float) -> tuple[float, int, int | None]:
    """Wall seconds, peak RSS in KiB (the process and its waited-for children), exit code (None: killed
    at the timeout).

    The peak comes from ``/usr/bin/time -f %M`` when there is one: a process forked from this (large)
    Python and exec'd inherits its high-water mark in ``ru_maxrss``, so ``wait4`` on it would report at
    least this script's own size; ``time`` is small, and the scanner is forked from it.
    """
    rss_file = log.with_suffix(".rss")
    rss_file.unlink(missing_ok=True)
    wrapped = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file), *argv] if GNU_TIME else argv
    with log.open("wb") as err, log.with_suffix(".out").open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(wrapped, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=MEASURED_ENV)
        deadline = start + timeout
        code: int | None = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                code = os.waitstatus_to_exitcode(status)
                break
            if time.perf_counter() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        wall = time.perf_counter() - start
    proc.returncode = -9 if code is None else code
    try:
        rss = int(rss_file.read_text().split()[-1])
    except (OSError, ValueError, IndexError):
        rss = usage.ru_maxrss
    return wall, rss, code


def discover() -> dict[str, list[str]]:
    exes = {"trussguard": trussguard_exe()}
    for name in ("gitleaks", "kingfisher"):
        exe = native_exe(name)
        exes[name] = [exe] if exe else None
    missing = [n for n, e in exes.items() if not e]
    if missing:
        print(f"NOTE: not installed, left out: {', '.join(missing)}")
    return {n: e for n, e in exes.items() if e}


def bench_case(case: Case, tools: dict[str, list[str]], workdir: Path, runs: int, timeout: float) -> dict:
    started = time.perf_counter()
    target = case.build(workdir)
    print(f"{case.name}: generated in {time.perf_counter() - started:.1f} s", flush=True)
    templates = HISTORY if case.history else TREE
    results = {name: Runs() for name in tools}
    for rnd, order in round_robin(list(tools), runs):
        if rnd < 0:
            continue  # no warm-up round: see the module docstring
        for name in order:
            r = results[name]
            if r.timed_out:
                continue  # one timeout is enough to know
            report = workdir / f"{name}.json"
            report.unlink(missing_ok=True)
            argv = [*tools[name], *(a.format(target=target, report=report) for a in templates[name].split())]
            wall, rss, code = run_measured(argv, workdir, workdir / f"{name}.log", timeout)
            if code is None:
                r.timed_out = True
                r.times, r.rss_kib = [wall], [rss]
                continue
            r.times.append(wall)
            r.rss_kib.append(rss)
            r.codes.add(code)
            r.findings = count_findings(name, report)
        print("  round %d: %s" % (rnd + 1, ", ".join(
            f"{n} {'>' if r.timed_out else ''}{r.times[-1]:.2f}s" for n, r in results.items() if r.times)),
              flush=True)
    return {name: {"median_s": round(statistics.median(r.times), 3), "timed_out": r.timed_out,
                   "peak_rss_mb": round(max(r.rss_kib) / 1024, 1), "exit_codes": sorted(r.codes),
                   "findings": r.findings, "times_s": [round(t, 3) for t in r.times]}
            for name, r in results.items()}


def print_table(results: dict[str, dict], runs: int) -> None:
    print(f"\nMedian of {runs} round-robin runs; peak RSS of the scanner process; ratio = tool / gitleaks")
    head = f"{'input':<38}{'tool':<12}{'time':>10}{'RSS MB':>9}{'t/gl':>7}{'m/gl':>7}{'exit':>7}{'findings':>10}"
    print(head)
    print("-" * len(head))
    for case, tools in results.items():
        gl = tools.get("gitleaks", {})
        for name, r in tools.items():
            t = f"{'>' if r['timed_out'] else ''}{r['median_s']:.2f}s"
            rt = ratio(r["median_s"], gl.get("median_s")) if name != "gitleaks" else None
            rm = ratio(r["peak_rss_mb"], gl.get("peak_rss_mb")) if name != "gitleaks" else None
            codes = ",".join(map(str, r["exit_codes"])) or "-"
            print(f"{case:<38}{name:<12}{t:>10}{r['peak_rss_mb']:>9.0f}{(f'{rt:.1f}x' if rt else '-'):>7}"
                  f"{(f'{rm:.1f}x' if rm else '-'):>7}{codes:>7}{r['findings'] if r['findings'] is not None else '-':>10}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="runs per tool and input (default 3; the median is shown)")
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every size (0.1 for a quick try)")
    ap.add_argument("--cases", default="lines,aws,branches", help="comma-separated: lines, aws, branches")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds before a run is killed (default 900)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with inputs, reports and logs")
    ap.add_argument("--save", action="store_true", help="write benchmarks/results/adversarial-<date>.json")
    args = ap.parse_args(argv)
    kinds = [k.strip() for k in args.cases.split(",") if k.strip()]
    if args.runs < 1 or not kinds or set(kinds) - {"lines", "aws", "branches"}:
        ap.error("--runs must be at least 1 and --cases a list of lines, aws, branches")
    tools = discover()
    results: dict[str, dict] = {}
    with scratch_dir("trussguard-adversarial-", args.keep) as workdir:
        for case in cases(kinds, args.scale):
            results[case.name] = bench_case(case, tools, workdir, args.runs, args.timeout)
    print_table(results, args.runs)
    if args.save:
        out = HERE / "results" / f"adversarial-{datetime.date.today().isoformat()}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps({
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "runs": args.runs, "scale": args.scale,
            "versions": {n: tool_version(_T(n, e)) for n, e in tools.items()},
            "results": results}, indent=2) + "\n")
        print(f"\nSaved {out}")
    return 0


@dataclass
class _T:
    """What ``run_scan_bench.tool_version`` reads of a tool."""

    name: str
    exe: list[str]


if __name__ == "__main__":
    sys.exit(main())
