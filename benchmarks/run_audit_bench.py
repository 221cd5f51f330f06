"""Time ``trussguard audit`` against gitleaks and kingfisher on a synthetic git history.

    python benchmarks/run_audit_bench.py [--repo DIR] [--runs 3] [--scale 1,2] [--keep] [--save]

For each scale, the repository is generated with ``make_history.py`` (or
reused from ``DIR/repo-x<scale>`` if its manifest is there), then every
installed tool scans the whole history, round-robin as in
``run_scan_bench.py``: one untimed warm-up round, then ``--runs`` rounds with
the starting tool rotated.  Reported: median wall time, CPU time, peak
resident memory of the scanner process, recall of the planted secrets (by
SHA-256 of the reported secret, else by path and commit), the trussguard/peer
time ratios, and how each tool's time grows from scale 1 to scale 2.  trussguard is
timed cold (``--no-cache``); then, separately, a re-audit with a warm per-blob cache and
no new commits (median of ``--runs``).

``trussguard audit`` is left out, with a note, while ``trussguard audit --help``
fails.  No secret value is printed or saved: reports are reduced to digests.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import make_history
from run_scan_bench import (
    scratch_dir,
    HERE,
    Finding,
    Tool,
    ToolFailed,
    native_exe,
    parse_gitleaks,
    parse_kingfisher,
    print_planted_matrix,
    ratio,
    rel_path,
    round_robin,
    tool_version,
    trussguard_exe,
)

AUDIT = {
    # cold: no per-blob cache (the warm re-audit is timed separately, see warm_reaudit)
    "trussguard": "audit {tree} --format json --output {report} --fail-on low --no-cache",
    # gitleaks' default --log-opts is `--all`, i.e. `git log -p -U0 --full-history --all`
    "gitleaks": "git {tree} --no-banner --report-format json --report-path {report}",
    "kingfisher": "scan {tree} --git-history full --no-validate -f json -o {report} --no-update-check",
}


@dataclass(frozen=True)
class AuditFinding(Finding):
    commit: str | None = None


@dataclass
class AuditTool(Tool):
    peak_kb: list[int] = field(default_factory=list)


def parse_trussguard_audit(report: Path, repo: Path) -> list[Finding]:
    """Assumed shape: like ``scan``'s JSON plus a ``commit`` per finding (the command is new)."""
    return [
        AuditFinding(
            rel_path(f.get("path", ""), repo),
            f.get("line"),
            frozenset([f["secret_sha256"]] if f.get("secret_sha256") else []),
            f.get("rule_id", "?"),
            f.get("commit") or f.get("commit_id"),
        )
        for f in json.loads(report.read_text())["findings"]
    ]


def audit_available(exe: list[str]) -> bool:
    try:
        return subprocess.run([*exe, "audit", "--help"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def discover_tools() -> list[AuditTool]:
    tools = []
    tg = trussguard_exe()
    if tg and audit_available(tg):
        tools.append(AuditTool("trussguard", tg, parse_trussguard_audit))
    else:
        print("NOTE: `trussguard audit --help` fails (command not written yet?): trussguard left out")
    for name, parse in (("gitleaks", parse_gitleaks), ("kingfisher", parse_kingfisher)):
        if exe := native_exe(name):
            tools.append(AuditTool(name, [exe], parse))
        else:
            print(f"NOTE: {name} not installed, left out")
    return tools


def run_measured(argv: list[str], cwd: Path, log: Path) -> tuple[float, float, int, int]:
    """Wall s, CPU s (process and its waited-for children), peak RSS KiB, exit code."""
    with log.open("wb") as err, log.with_suffix(".out").open("wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode


def audit(tool: AuditTool, repo: Path, workdir: Path) -> None:
    report, log = workdir / f"{tool.name}.json", workdir / f"{tool.name}.log"
    report.unlink(missing_ok=True)
    wall, cpu, peak, rc = run_measured(tool.argv(AUDIT[tool.name], repo, report), workdir, log)
    try:
        tool.findings = tool.parse(report, repo)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ToolFailed(f"{tool.name} exited {rc} without a usable report ({exc!r}); see {log}") from exc
    tool.times.append(wall)
    tool.cpu_times.append(cpu)
    tool.peak_kb.append(peak)


def match_history(planted: list[dict], findings: list[Finding]) -> dict[str, str | None]:
    """``scenario/kind`` -> rule that caught it, or None.

    A reported secret whose SHA-256 is the planted one (or an accepted form)
    counts wherever it was reported.  Without one, a finding at the planted
    path (or its post-rename path) in the introducing commit counts, marked
    ``*`` if that finding reported a different secret.
    """
    found: dict[str, str | None] = {}
    for p in planted:
        accepted = {p["sha256"], *p["alt_sha256"]}
        by_secret = next((f for f in findings if f.hashes & accepted), None)
        by_place = next(
            (
                f
                for f in findings
                if f.path in (p["path"], p["head_path"]) and getattr(f, "commit", None) == p["commit"]
            ),
            None,
        )
        label = f"{p['scenario']}/{p['kind']}"
        if by_secret:
            found[label] = by_secret.rule
        elif by_place:
            found[label] = by_place.rule + ("*" if by_place.hashes else "")
        else:
            found[label] = None
    return found


def prepare_repo(base: Path, scale: int) -> tuple[Path, dict]:
    repo = base / f"repo-x{scale}"
    manifest = make_history.manifest_path(repo)
    if manifest.exists() and (repo / ".git").is_dir():
        print(f"Reusing {repo}")
    else:
        if repo.exists():
            shutil.rmtree(repo)
        start = time.perf_counter()
        make_history.build_history(repo, scale=scale)
        print(f"Generated {repo} in {time.perf_counter() - start:.1f} s", flush=True)
    return repo, json.loads(manifest.read_text())


def bench_scale(tools: list[AuditTool], repo: Path, manifest: dict, workdir: Path, runs: int) -> dict:
    for tool in tools:
        tool.times, tool.cpu_times, tool.peak_kb = [], [], []
    for rnd, order in round_robin(tools, runs):
        for tool in order:
            audit(tool, repo, workdir)
        if rnd < 0:
            for tool in tools:
                tool.times.clear()
                tool.cpu_times.clear()
                tool.peak_kb.clear()
            print("  warm-up round done", flush=True)
        else:
            print(f"  round {rnd + 1}: " + ", ".join(f"{t.name} {t.times[-1]:.2f}s" for t in tools), flush=True)
    planted = manifest["planted"]
    out = {}
    for t in tools:
        found = match_history(planted, t.findings)
        out[t.name] = {
            "times_s": [round(x, 3) for x in t.times],
            "median_s": round(statistics.median(t.times), 3),
            "cpu_median_s": round(statistics.median(t.cpu_times), 3),
            "peak_rss_mb": round(max(t.peak_kb) / 1024, 1),
            "findings": len(t.findings),
            "planted_found": sum(v is not None for v in found.values()),
            "planted": found,
        }
    return {
        "repo": {k: manifest[k] for k in ("commits", "unique_blob_bytes", "seed", "scale")} | {"planted": len(planted)},
        "tools": out,
    }


def warm_reaudit(tool: AuditTool, repo: Path, workdir: Path, runs: int) -> dict:
    """trussguard with a per-blob cache that one audit has filled: the re-audit of an unchanged repo."""
    cache = workdir / "blob-cache"
    shutil.rmtree(cache, ignore_errors=True)
    argv = [*tool.exe, "audit", str(repo), "--format", "json", "--output", str(workdir / "warm.json"),
            "--fail-on", "low", "--cache", str(cache)]
    fill = run_measured(argv, workdir, workdir / "warm-fill.log")
    times = [run_measured(argv, workdir, workdir / "warm.log")[0] for _ in range(runs)]
    same = json.loads((workdir / "warm.json").read_text())["findings"] == \
        json.loads((workdir / "trussguard.json").read_text())["findings"]
    return {"fill_s": round(fill[0], 3), "times_s": [round(t, 3) for t in times],
            "median_s": round(statistics.median(times), 3), "same_findings_as_cold": same}


def print_scale(scale: int, res: dict, runs: int) -> None:
    repo, tools = res["repo"], res["tools"]
    print(
        f"\nScale {scale}: {repo['commits']} commits, {repo['unique_blob_bytes'] / 1e6:.1f} MB unique blobs, "
        f"{repo['planted']} planted secrets; median of {runs} round-robin runs after 1 warm-up"
    )
    print(f"{'tool':<13}{'median':>9}{'cpu':>9}{'peak RSS':>11}{'planted':>9}{'findings':>10}")
    for name, r in tools.items():
        print(
            f"{name:<13}{r['median_s']:>8.2f}s{r['cpu_median_s']:>8.2f}s{r['peak_rss_mb']:>8.0f} MB"
            f"{r['planted_found']:>6}/{repo['planted']:<2}{r['findings']:>10}"
        )
    if warm := res.get("trussguard_warm_cache"):
        print(f"trussguard re-audit, warm cache, no new commits: {warm['median_s']:.2f}s "
              f"(cache fill run {warm['fill_s']:.2f}s; same findings as cold: {warm['same_findings_as_cold']})")
    med = {n: r["median_s"] for n, r in tools.items()}
    for peer in ("kingfisher", "gitleaks"):
        if value := ratio(med.get("trussguard"), med.get(peer)):
            print(f"trussguard/{peer} (time): {value:.2f}x")
    print_planted_matrix(tools)


def scaling(results: dict[int, dict]) -> dict[str, float | None]:
    """Median time at the largest scale over the smallest, per tool (2.0 = linear for 1x -> 2x)."""
    lo, hi = min(results), max(results)
    if lo == hi:
        return {}
    return {
        name: ratio(results[hi]["tools"][name]["median_s"], r["median_s"])
        for name, r in results[lo]["tools"].items()
        if name in results[hi]["tools"]
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, help="generate (or reuse) repo-x<scale> under this directory")
    ap.add_argument("--runs", type=int, default=3, help="timed rounds per tool (default 3)")
    ap.add_argument("--scale", default="1,2", help="comma-separated history scales (default 1,2)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir with repos, reports and logs")
    ap.add_argument("--save", action="store_true", help="write benchmarks/results/audit-<date>.json")
    args = ap.parse_args(argv)
    scales = sorted({int(s) for s in args.scale.split(",")})
    if args.runs < 1 or min(scales) < 1:
        ap.error("--runs and every --scale must be at least 1")
    tools = discover_tools()
    if not tools:
        ap.error("no scanner installed")
    results: dict[int, dict] = {}
    try:
        with scratch_dir("trussguard-audit-bench-", args.keep) as workdir:
            base = (args.repo or workdir).resolve()
            base.mkdir(parents=True, exist_ok=True)
            for scale in scales:
                repo, manifest = prepare_repo(base, scale)
                print(f"Timing {', '.join(t.name for t in tools)} on scale {scale}", flush=True)
                results[scale] = bench_scale(tools, repo, manifest, workdir, args.runs)
                if tg := next((t for t in tools if t.name == "trussguard"), None):
                    results[scale]["trussguard_warm_cache"] = warm_reaudit(tg, repo, workdir, args.runs)
    except ToolFailed as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    for scale, res in results.items():
        print_scale(scale, res, args.runs)
    print("(* = matched by path and commit; the secret reported there is a different one)")
    growth = scaling(results)
    if growth:
        print(f"\nTime x{max(scales)} / x{min(scales)} (linear = {max(scales) / min(scales):.1f}):")
        for name, value in growth.items():
            print(f"  {name:<12}{value:.2f}x")
    if args.save:
        out = HERE / "results" / f"audit-{datetime.date.today().isoformat()}.json"
        out.parent.mkdir(exist_ok=True)
        payload = {
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
            "runs": args.runs,
            "versions": {t.name: tool_version(t) for t in tools},
            "commands": {t.name: f"{t.name} {AUDIT[t.name].format(tree='REPO', report='REPORT')}" for t in tools},
            "scales": results,
            "scaling": growth,
        }
        out.write_text(json.dumps(payload, indent=2) + "\n")
        print(f"\nSaved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
