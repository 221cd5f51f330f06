"""Time trussguard against gitleaks and kingfisher on real repositories, in one run.

Generated inputs flatter a scanner; this script takes clones of real public repositories
(made with ``../shared/tools/prepare-corpus.sh SNAPSHOT OUT``: every branch local, missing blobs
replaced by the empty blob) and runs, round-robin, on the same input in the same session:

- ``tree``: the files of HEAD (``git archive`` into a scratch folder, no ``.git``), with
  ``trussguard scan``, ``gitleaks dir`` and ``kingfisher scan``;
- ``history``: every ref, with ``trussguard audit``, ``gitleaks git`` and
  ``kingfisher scan --git-history full``;
- ``warm-history``: trussguard's re-audit with nothing new (its blob cache primed by one untimed
  run), shown against the peers' cold ``history`` times (issue 13: at most 0.35x kingfisher's);
- ``rescan-one``: a tree re-scan of HEAD's files after one file changed (trussguard with its default
  caches, primed by an untimed run, and again 3 s later, once the exported files are older than the
  2 s after which their signatures are kept), against the peers' ``tree`` times;
- ``staged5``: the pre-commit case, five changed Python files staged in a local clone:
  ``trussguard scan --staged`` and ``gitleaks git --pre-commit --staged``.

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
import time
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
    ("warm-history", "trussguard"): ["audit", "{target}", "--cache", "{cache}", "--format", "json", "-o",
                                     "{report}"],
    ("rescan-one", "trussguard"): ["scan", "{target}", "--format", "json", "-o", "{report}"],
    ("staged5", "trussguard"): ["scan", "--staged", "--format", "json", "-o", "{report}"],
    ("staged5", "gitleaks"): ["git", "--pre-commit", "--staged", "--no-banner", "--report-format", "json",
                              "--report-path", "{report}", "{target}"],
}
# The cold mode whose peer times a warm mode is compared with.
PEER_MODE = {"warm-history": "history", "rescan-one": "tree"}
STAGED_FILES = 5


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


def prepare(repo: Path, mode: str, work: Path) -> Path:
    """The input a mode runs on: HEAD's files for tree modes, a local clone with staged changes for
    ``staged5``, the repository itself for history modes."""
    if mode in ("tree", "rescan-one"):
        return export_head(repo, work / f"{repo.name}-{mode}")
    if mode == "staged5":
        clone = work / f"{repo.name}-staged"
        # a copy, not a clone: prepared corpora may lack blobs of HEAD, which a clone's checkout refuses
        subprocess.run(["cp", "-a", str(repo), str(clone)], check=True)
        listed = subprocess.run(["git", "-C", str(clone), "ls-files", "*.py"], check=True, capture_output=True,
                                text=True).stdout.split()
        for name in listed[:STAGED_FILES]:
            with (clone / name).open("a", encoding="utf-8") as f:
                f.write("\n# edited for the pre-commit benchmark\n")
        subprocess.run(["git", "-C", str(clone), "add", *listed[:STAGED_FILES]], check=True)
        return clone
    return repo


def _touch_one(target: Path) -> None:
    """Changes one file of the tree before each timed re-scan (a different line each run)."""
    readme = next(iter(sorted(target.rglob("*.md"))), None) or next(p for p in sorted(target.rglob("*"))
                                                                     if p.is_file())
    with readme.open("a", encoding="utf-8") as f:
        f.write("\nedited\n")


def measure(repo: Path, mode: str, exes: dict[str, list[str]], runs: int, work: Path) -> list[dict]:
    target = prepare(repo, mode, work)
    exes = {name: exe for name, exe in exes.items() if (mode, name.removesuffix("-baseline")) in COMMANDS}
    cache = work / f"{repo.name}-cache"
    times: dict[str, list[tuple[float, int]]] = {name: [] for name in exes}
    codes: dict[str, int] = {}
    counts: dict[str, int | None] = {}
    cwd = target if mode == "staged5" else work

    def argv_for(name: str, report: Path) -> list[str]:
        return [*exes[name], *(a.format(target=target, report=report, cache=cache)
                               for a in COMMANDS[(mode, name.removesuffix("-baseline"))])]

    if mode in PEER_MODE:  # prime the caches once, untimed
        for name in exes:
            run_measured(argv_for(name, work / "prime.json"), cwd, work / "prime.log", 3600)
        if mode == "rescan-one":
            # A just-exported tree is seconds old: trussguard keeps a file's content digest by its
            # signature only once the file has been still for 2 s (``pipeline.SETTLED_NS``). A developer
            # re-scans files that are older than that; wait, and prime again, as that re-scan would see.
            time.sleep(3)
            for name in exes:
                run_measured(argv_for(name, work / "prime.json"), cwd, work / "prime.log", 3600)
    for _, order in round_robin(list(exes), runs):
        for name in order:
            report = work / f"{repo.name}-{mode}-{name}.json"
            report.unlink(missing_ok=True)
            if mode == "rescan-one":
                _touch_one(target)
            wall, rss_kib, code = run_measured(argv_for(name, report), cwd,
                                               work / f"{repo.name}-{mode}-{name}.log", 3600)
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
    print(f"{'repository':22} {'mode':12} {'tool':20} {'time':>8} {'RSS MB':>7} {'/gl':>6} {'/kf':>6} "
          f"{'exit':>5} {'findings':>9}")
    for r in rows:
        peer_mode = PEER_MODE.get(r["mode"], r["mode"])
        gl = peers.get((r["repo"], peer_mode, "gitleaks"))
        kf = peers.get((r["repo"], peer_mode, "kingfisher"))
        ratio = lambda peer: f"{r['seconds'] / peer:.2f}x" if peer else "-"  # noqa: E731
        print(f"{r['repo']:22} {r['mode']:12} {r['tool']:20} {r['seconds']:7.2f}s {r['rss_mb']:7.0f} "
              f"{ratio(gl):>6} {ratio(kf):>6} {r['exit']:>5} {str(r['findings']):>9}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("repos", nargs="+", type=Path, help="prepared clones of real repositories")
    parser.add_argument("--modes", default="tree,history", help="comma-separated: tree, history, warm-history, rescan-one, staged5")
    parser.add_argument("--runs", type=int, default=3, help="runs per tool (default 3; the median is shown)")
    parser.add_argument("--baseline-trussguard", help="another trussguard executable to time beside this one")
    args = parser.parse_args(argv)
    exes = tools(args.baseline_trussguard)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="trussguard-corpus-") as scratch:
        for repo in args.repos:
            for mode in args.modes.split(","):
                rows += measure(repo.resolve(), mode.strip(), exes, args.runs, Path(scratch))
    print(f"Median of {args.runs} round-robin runs; trussguard without caches in tree and history, primed"
          f" ones in warm-history and rescan-one (ratio against the peers' cold run); ratio = tool / peer")
    print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
