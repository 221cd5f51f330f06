"""Precision on real repositories: how many distinct values each scanner reports, and how many are real.

Usage: python benchmarks/run_precision_bench.py /work/corpora/truss-examples [...]
       [--verdicts benchmarks/verdicts.json] [--unjudged-json FILE] [--modes tree,history]

For each corpus, in tree mode (HEAD's files from ``git archive HEAD``, so every tool sees the same
files) and history mode (every ref; trussguard with ``--include-unreachable``), trussguard, gitleaks
and kingfisher run ONCE: this is about findings, not time. Values are deduplicated by the SHA-256 of
the secret (trussguard reports ``secret_sha256``; the peers' reported value is hashed in memory and
dropped), so a value found at ten places counts once. Each distinct value is then looked up in the
verdicts file (sha256 -> {"verdict": "true"|"false", "why", "corpus", "rule"}), written by a person
who read the finding in context. Unjudged trussguard values are listed with path:line, rule and
redacted form only, so someone can judge them; no secret value is ever printed or stored.

Issue 12's target reads off this table: trussguard reports no more false values than the better of
gitleaks and kingfisher, and loses no true one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_adversarial_bench import run_measured  # noqa: E402  (benchmarks are scripts, not a package)
from run_corpus_bench import COMMANDS, export_head, tools  # noqa: E402
from run_scan_bench import parse_gitleaks, parse_kingfisher  # noqa: E402

# trussguard's own history flags: unreachable commits count (issue 12's truss target), and a
# corpus with LFS/missing blobs is still audited (the missing ones are reported, not fatal).
TRUSSGUARD_HISTORY_EXTRA = ["--include-unreachable", "--allow-missing"]
SEVERITIES = ["low", "medium", "high", "critical"]
DEFAULT_GATE = "high"
PEER_PARSERS = {"gitleaks": parse_gitleaks, "kingfisher": parse_kingfisher}


def run_tool(name: str, exe: list[str], mode: str, target: Path, work: Path, label: str) -> Path | None:
    """One run; the JSON report's path, or None when the tool wrote none (its log says why)."""
    report = work / f"{label}-{mode}-{name}.json"
    argv = [*exe, *(a.format(target=target, report=report) for a in COMMANDS[(mode, name)])]
    if name == "trussguard" and mode == "history":
        argv += TRUSSGUARD_HISTORY_EXTRA
    run_measured(argv, work, work / f"{label}-{mode}-{name}.log", 3600)
    return report if report.exists() and report.stat().st_size else None


def trussguard_values(report: Path) -> dict[str, dict]:
    """sha256 -> the first finding carrying it (path, line, rule, severity, kind, redacted)."""
    values: dict[str, dict] = {}
    for f in json.loads(report.read_text("utf-8"))["findings"]:
        if f.get("secret_sha256"):
            values.setdefault(f["secret_sha256"], f)
    return values


def judged(values, verdicts: dict[str, dict]) -> dict[str, int]:
    counts = {"true": 0, "false": 0, "unjudged": 0}
    for h in values:
        counts[verdicts.get(h, {}).get("verdict", "unjudged")] += 1
    return counts


def at_gate(finding: dict) -> bool:
    return SEVERITIES.index(finding.get("severity", "low")) >= SEVERITIES.index(DEFAULT_GATE)


def measure(repo: Path, mode: str, exes: dict[str, list[str]], verdicts: dict, work: Path) -> tuple[list, list]:
    target = export_head(repo, work / f"{repo.name}-tree") if mode == "tree" else repo
    rows, unjudged = [], []
    for name, exe in exes.items():
        report = run_tool(name, exe, mode, target, work, repo.name)
        row = {"corpus": repo.name, "mode": mode, "tool": name}
        if report is None:
            rows.append({**row, "error": "no report"})
            continue
        if name == "trussguard":
            found = trussguard_values(report)
            gate = {h for h, f in found.items() if at_gate(f)}
            leak = {h for h, f in found.items() if f.get("kind") == "leak"}
            row.update(distinct=len(found), **judged(found, verdicts),
                       gate=len(gate), gate_false=judged(gate, verdicts)["false"],
                       leak=len(leak), policy=len(found) - len(leak))
            for h, f in sorted(found.items(), key=lambda kv: (kv[1]["path"], kv[1].get("line") or 0)):
                if h not in verdicts:
                    unjudged.append({"secret_sha256": h, "corpus": repo.name, "mode": mode, "tool": name,
                                     "path": f["path"], "line": f.get("line"), "commit": f.get("commit"),
                                     "rule": f["rule_id"], "severity": f.get("severity"),
                                     "kind": f.get("kind"), "redacted": f.get("redacted")})
        else:
            parsed = PEER_PARSERS[name](report, target)
            found = {h for finding in parsed for h in finding.hashes}
            row.update(distinct=len(found), **judged(found, verdicts))
            seen: set[str] = set()
            for finding in parsed:
                for h in finding.hashes - verdicts.keys() - seen:
                    seen.add(h)
                    unjudged.append({"secret_sha256": h, "corpus": repo.name, "mode": mode, "tool": name,
                                     "path": finding.path, "line": finding.line, "rule": finding.rule})
        rows.append(row)
    return rows, unjudged


def print_rows(rows: list[dict]) -> None:
    print(f"{'corpus':26} {'mode':8} {'tool':11} {'distinct':>8} {'true':>5} {'false':>6} {'unjudged':>8}"
          f"  trussguard: at-gate(false) leak/policy")
    for r in rows:
        if "error" in r:
            print(f"{r['corpus']:26} {r['mode']:8} {r['tool']:11} {r['error']}")
            continue
        extra = (f"  {r['gate']}({r['gate_false']}) {r['leak']}/{r['policy']}" if r["tool"] == "trussguard" else "")
        print(f"{r['corpus']:26} {r['mode']:8} {r['tool']:11} {r['distinct']:>8} {r['true']:>5} {r['false']:>6}"
              f" {r['unjudged']:>8}{extra}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="+", type=Path)
    parser.add_argument("--verdicts", type=Path, default=Path(__file__).with_name("verdicts.json"))
    parser.add_argument("--modes", default="tree,history")
    parser.add_argument("--unjudged-json", type=Path, help="write every tool's unjudged values here (no value)")
    parser.add_argument("--print-unjudged", action="store_true", help="list unjudged trussguard values")
    parser.add_argument("--keep", type=Path, help="write the tools' reports and logs here (for judging), not to a temp dir")
    args = parser.parse_args(argv)
    verdicts = json.loads(args.verdicts.read_text("utf-8")) if args.verdicts.exists() else {}
    exes = {n: e for n, e in tools(None).items()}
    rows, unjudged = [], []
    with tempfile.TemporaryDirectory(prefix="precbench-") as tmp:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            tmp = str(args.keep)
        for repo in args.corpora:
            for mode in args.modes.split(","):
                r, u = measure(repo.resolve(), mode, exes, verdicts, Path(tmp))
                rows += r
                unjudged += u
    print_rows(rows)
    if args.unjudged_json:
        args.unjudged_json.write_text(json.dumps(unjudged, indent=1) + "\n", "utf-8")
    if args.print_unjudged:
        for u in unjudged:
            if u["tool"] == "trussguard":
                print(f"{u['corpus']} {u['mode']} {u['path']}:{u['line']} {u['rule']} {u['severity']} {u['redacted']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
