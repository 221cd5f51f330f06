"""Time trussguard against gitleaks and kingfisher on real repositories, in one run.

Generated inputs flatter a scanner; this script takes clones of real public repositories
(made with ``../shared/tools/prepare-corpus.sh SNAPSHOT OUT``: every branch local, missing blobs
replaced by the empty blob) and runs, round-robin, on the same input in the same session:

- ``tree``: the files of HEAD (``git archive`` into a scratch folder, no ``.git``), with
  ``trussguard scan``, ``gitleaks dir`` and ``kingfisher scan``;
- ``history``: every ref, with ``trussguard audit``, ``gitleaks git`` and
  ``kingfisher scan --git-history full``.

trussguard runs without any cache (``--no-cache``: rules parsed and compiled, every blob read),
the peers as installed. ``--baseline-trussguard EXE`` adds another trussguard build (for
example the previous release in its own virtual environment) as a fourth tool, to show what a
change costs on real code. Per tool and repository it prints the median wall time, the peak RSS
(``/usr/bin/time``), the ratio to gitleaks and kingfisher, the exit code and the number of
findings. Not a test: figures only. Judge precision by reading the findings, not by counts.

    python benchmarks/run_corpus_bench.py /work/corpora/truss-examples /work/corpora/truss
    python benchmarks/run_corpus_bench.py REPO --modes tree --runs 5 --baseline-trussguard /tmp/old/bin/trussguard
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from run_adversarial_bench import run_measured  # noqa: E402  (benchmarks are scripts, not a package)
from run_scan_bench import native_exe, round_robin, trussguard_exe  # noqa: E402

COMMANDS = {
    ("tree", "trussguard"): ["scan", "{target}", "--no-cache", "--format", "json", "-o", "{report}"],
    ("tree", "gitleaks"): ["dir", "{target}", "--no-banner", "--report-format", "json", "--report-path", "{report}"],
    ("tree", "kingfisher"): ["scan", "{target}", "--no-validate", "-f", "json", "-o", "{report}",
                             "--no-update-check"],
    ("history", "trussguard"): ["audit", "{target}", "--no-cache", "--format", "json", "-o", "{report}"],
    ("history", "gitleaks"): ["git", "{target}", "--no-banner", "--report-format", "json", "--report-path",
                              "{report}"],
    ("history", "kingfisher"): ["scan", "{target}", "--git-history", "full", "--no-validate", "-f", "json",
                                "-o", "{report}", "--no-update-check"],
}


def count_findings(tool: str, report: Path) -> int | None:
    try:
        data = json.loads(report.read_text("utf-8") or "null")
    except (OSError, ValueError):
        return None
    if tool.startswith("trussguard"):
        return len(data.get("findings", [])) if isinstance(data, dict) else None
    if isinstance(data, dict):  # kingfisher: {"findings": [...]} in recent versions
        data = data.get("findings", [])
    return len(data) if isinstance(data, list) else None


def tools(baseline: str | None) -> dict[str, list[str]]:
    found = {"trussguard": trussguard_exe(), "gitleaks": [native_exe("gitleaks")],
             "kingfisher": [native_exe("kingfisher")]}
    if baseline:
        found["trussguard-baseline"] = [baseline]
    return {name: exe for name, exe in found.items() if exe and exe[0]}


def export_head(repo: Path, into: Path) -> Path:
    """HEAD's files, without .git: every tool sees the same tree and no history."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(repo), "archive", "HEAD"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def measure(repo: Path, mode: str, exes: dict[str, list[str]], runs: int, work: Path) -> list[dict]:
    target = export_head(repo, work / f"{repo.name}-tree") if mode == "tree" else repo
    times: dict[str, list[tuple[float, int]]] = {name: [] for name in exes}
    codes: dict[str, int] = {}
    counts: dict[str, int | None] = {}
    for _, order in round_robin(list(exes), runs):
        for name in order:
            report = work / f"{repo.name}-{mode}-{name}.json"
            report.unlink(missing_ok=True)
            argv = [*exes[name], *(a.format(target=target, report=report)
                                   for a in COMMANDS[(mode, name.removesuffix("-baseline"))])]
            wall, rss_kib, code = run_measured(argv, work, work / f"{repo.name}-{mode}-{name}.log", 3600)
            times[name].append((wall, rss_kib / 1024))
            codes[name], counts[name] = code, count_findings(name, report)
    rows = []
    for name, samples in times.items():
        rows.append({"repo": repo.name, "mode": mode, "tool": name,
                     "seconds": statistics.median(s for s, _ in samples),
                     "rss_mb": statistics.median(m for _, m in samples), "exit": codes[name],
                     "findings": counts[name]})
    return rows


def print_rows(rows: list[dict]) -> None:
    peers = {(r["repo"], r["mode"], r["tool"]): r["seconds"] for r in rows}
    print(f"{'repository':22} {'mode':8} {'tool':20} {'time':>8} {'RSS MB':>7} {'/gl':>6} {'/kf':>6} "
          f"{'exit':>5} {'findings':>9}")
    for r in rows:
        gl = peers.get((r["repo"], r["mode"], "gitleaks"))
        kf = peers.get((r["repo"], r["mode"], "kingfisher"))
        ratio = lambda peer: f"{r['seconds'] / peer:.2f}x" if peer else "-"  # noqa: E731
        print(f"{r['repo']:22} {r['mode']:8} {r['tool']:20} {r['seconds']:7.2f}s {r['rss_mb']:7.0f} "
              f"{ratio(gl):>6} {ratio(kf):>6} {r['exit']:>5} {str(r['findings']):>9}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repos", nargs="+", type=Path, help="prepared clones of real repositories")
    parser.add_argument("--modes", default="tree,history", help="comma-separated: tree, history")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (default 3; the median is shown)")
    parser.add_argument("--baseline-trussguard", help="another trussguard executable to time beside this one")
    args = parser.parse_args(argv)
    exes = tools(args.baseline_trussguard)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="trussguard-corpus-") as scratch:
        for repo in args.repos:
            for mode in args.modes.split(","):
                rows += measure(repo.resolve(), mode.strip(), exes, args.runs, Path(scratch))
    print(f"Median of {args.runs} round-robin runs; trussguard without caches; ratio = tool / peer")
    print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
