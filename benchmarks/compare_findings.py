"""The same findings before and after: compare what two trussguard builds report on the same corpora.

Usage:
    python benchmarks/compare_findings.py CORPUS [CORPUS ...] --before REV --after REV
    python benchmarks/compare_findings.py CORPUS [CORPUS ...] --before-exe CMD --after-exe CMD

``--before``/``--after`` take git revisions of this project: each is exported with ``git archive``
into a temporary folder (nothing is checked out in, or registered with, the repository) and installed
into its own virtual environment (``--no-venv``: run the exported source with this Python instead,
faster, when both revisions have the same dependencies). ``--before-exe``/``--after-exe`` take two
installed trussguard commands (a path, or a command line such as ``"python -m trussguard"``).

Each build runs, on each corpus, the tree scan and the history audit (``--modes``) with JSON output
and no cache: ``scan CORPUS --format json --fail-on low`` and ``audit CORPUS --format json --fail-on
low -q`` plus ``--audit-args`` (default ``--allow-missing --include-unreachable``, which real corpora
need). Findings are keyed by (mode, rule_id, path, line, commit, severity, secret_sha256); the script
prints the keys only one build reports and, for keys both report, message changes. Exit 0 when the
finding sets and messages are the same, 1 when they differ, 2 when a run failed.

No secret value is ever printed or stored: findings carry only the redacted form and the SHA-256
(trussguard writes values only under ``--show-secrets``, never passed here; a ``secret`` field in a
report is dropped on reading anyway).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import venv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
MODES = ("tree", "history")
KEY_FIELDS = ("mode", "rule_id", "path", "line", "commit", "severity", "secret_sha256")
DEFAULT_AUDIT_ARGS = "--allow-missing --include-unreachable"
UNSAFE_FIELDS = ("secret",)  # only present under --show-secrets; never kept

Key = tuple


def finding_key(mode: str, f: dict) -> Key:
    """The identity of a finding across builds."""
    return (mode, f.get("rule_id"), f.get("path"), f.get("line"), f.get("commit"), f.get("severity"),
            f.get("secret_sha256"))


def findings_of(report: dict) -> list[dict]:
    """A JSON report's findings, each with the report's mode, without any value field."""
    mode = report.get("mode", "tree")
    out = []
    for f in report.get("findings", []):
        f = {k: v for k, v in f.items() if k not in UNSAFE_FIELDS}
        f["mode"] = mode
        out.append(f)
    return out


@dataclass
class Diff:
    only_before: list[dict] = field(default_factory=list)  # findings the after build no longer reports
    only_after: list[dict] = field(default_factory=list)  # findings new in the after build
    message_changes: list[tuple[dict, dict]] = field(default_factory=list)  # (before, after), same key

    @property
    def same(self) -> bool:
        return not (self.only_before or self.only_after or self.message_changes)

    def extend(self, other: Diff) -> None:
        self.only_before += other.only_before
        self.only_after += other.only_after
        self.message_changes += other.message_changes


def diff_findings(before: list[dict], after: list[dict]) -> Diff:
    """Compares two lists of findings (dicts with ``mode``, as ``findings_of`` returns) as multisets
    of keys; for a key both report, as many findings as both have are paired in message order and a
    different message is a change."""
    groups: dict[Key, tuple[list, list]] = defaultdict(lambda: ([], []))
    for f in before:
        groups[finding_key(f["mode"], f)][0].append(f)
    for f in after:
        groups[finding_key(f["mode"], f)][1].append(f)
    out = Diff()
    for key in sorted(groups, key=_sortable):
        old, new = (sorted(g, key=lambda f: str(f.get("message"))) for g in groups[key])
        unmatched_old = list(old)
        unmatched_new = []
        for f in new:  # identical messages pair first, so a reordering is no change
            twin = next((o for o in unmatched_old if o.get("message") == f.get("message")), None)
            if twin is not None:
                unmatched_old.remove(twin)
            else:
                unmatched_new.append(f)
        paired = min(len(unmatched_old), len(unmatched_new))
        out.message_changes += list(zip(unmatched_old[:paired], unmatched_new[:paired]))
        out.only_before += unmatched_old[paired:]
        out.only_after += unmatched_new[paired:]
    return out


def _sortable(key: Key) -> tuple:
    return tuple("" if v is None else str(v) if not isinstance(v, int) else f"{v:09d}" for v in key)


def describe(f: dict) -> str:
    """One line for a finding: key fields and the redacted form, never a value."""
    where = f"{f.get('path')}:{f.get('line')}"
    commit = f" @{str(f['commit'])[:12]}" if f.get("commit") else ""
    digest = f" sha256:{str(f['secret_sha256'])[:12]}" if f.get("secret_sha256") else ""
    redacted = f" {f['redacted']}" if f.get("redacted") else ""
    return f"[{f['mode']}] {f.get('severity')} {f.get('rule_id')} {where}{commit}{digest}{redacted}"


def render(diff: Diff, label: str = "") -> str:
    head = f"{label}: " if label else ""
    if diff.same:
        return f"{head}same findings\n"
    lines = [f"{head}{len(diff.only_before)} only before, {len(diff.only_after)} only after, "
             f"{len(diff.message_changes)} message change(s)"]
    lines += [f"  - {describe(f)}" for f in diff.only_before]
    lines += [f"  + {describe(f)}" for f in diff.only_after]
    for old, new in diff.message_changes:
        lines += [f"  ~ {describe(new)}", f"      before: {old.get('message')}", f"      after:  {new.get('message')}"]
    return "\n".join(lines) + "\n"


def diff_as_json(diff: Diff) -> dict:
    keep = (*KEY_FIELDS, "redacted", "message")
    slim = lambda f: {k: f.get(k) for k in keep}  # noqa: E731
    return {"same": diff.same, "only_before": [slim(f) for f in diff.only_before],
            "only_after": [slim(f) for f in diff.only_after],
            "message_changes": [{"before": slim(o), "after": slim(n)} for o, n in diff.message_changes]}


class RunFailed(Exception):
    pass


def run_report(exe: list[str], mode: str, corpus: Path, out: Path, jobs: int | None, audit_args: list[str],
               env: dict | None = None, cwd: Path | None = None) -> dict:
    """One trussguard run; its parsed JSON report. Exit 0/1 are normal (1: something found)."""
    if mode == "tree":
        argv = [*exe, "scan", str(corpus)]
    else:
        argv = [*exe, "audit", str(corpus), "-q", *audit_args]
    argv += ["--format", "json", "-o", str(out), "--fail-on", "low", "--no-cache"]
    if jobs:
        argv += ["--jobs", str(jobs)]
    out.unlink(missing_ok=True)
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    if proc.returncode not in (0, 1) or not out.is_file():
        err = proc.stderr.strip().splitlines()[-1:] or ["no message"]
        raise RunFailed(f"{shlex.join(argv)} exited {proc.returncode}: {err[0]}")
    return json.loads(out.read_text("utf-8"))


@dataclass
class Build:
    label: str
    exe: list[str]
    env: dict | None = None
    cwd: Path | None = None  # `python -m` puts the working folder first on sys.path


def build_revision(rev: str, work: Path, label: str, use_venv: bool) -> Build:
    """Exports REV of this project with ``git archive`` and makes it runnable."""
    src = work / f"src-{label}"
    src.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(PROJECT), "archive", "--format=tar", rev], capture_output=True)
    if archive.returncode:
        raise RunFailed(f"git archive {rev}: {archive.stderr.decode(errors='replace').strip()}")
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    if not use_venv:
        env = dict(os.environ, PYTHONPATH=str(src))
        exe = [sys.executable, "-m", "trussguard"]
        where = subprocess.run([sys.executable, "-c", "import trussguard; print(trussguard.__file__)"], env=env,
                               cwd=work, capture_output=True, text=True).stdout.strip()
        if not Path(where).resolve().is_relative_to(src.resolve()):
            raise RunFailed(f"{label}: python imports trussguard from {where}, not from the export of {rev}; "
                            "drop --no-venv")
        return Build(label, exe, env, work)
    env_dir = work / f"venv-{label}"
    venv.create(env_dir, with_pip=True)
    pip = subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "-q", str(src)],
                         capture_output=True, text=True)
    if pip.returncode:
        raise RunFailed(f"pip install of {rev} failed: {pip.stderr.strip().splitlines()[-1:]}")
    return Build(label, [str(env_dir / "bin" / "trussguard")])


def compare(before: Build, after: Build, corpora: list[Path], modes: list[str], work: Path,
            jobs: int | None, audit_args: list[str]) -> tuple[Diff, list[str]]:
    """The combined diff over every corpus and mode, and one printed block per (corpus, mode)."""
    total, blocks = Diff(), []
    for corpus in corpora:
        for mode in modes:
            reports = []
            for build in (before, after):
                out = work / f"{corpus.name}-{mode}-{build.label}.json"
                reports.append(run_report(build.exe, mode, corpus, out, jobs, audit_args, build.env, build.cwd))
            diff = diff_findings(findings_of(reports[0]), findings_of(reports[1]))
            counts = f"{len(reports[0]['findings'])} -> {len(reports[1]['findings'])} findings"
            blocks.append(render(diff, f"{corpus} {mode} ({counts})"))
            total.extend(diff)
    return total, blocks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpora", nargs="+", type=Path, help="repositories or folders to scan")
    parser.add_argument("--before", metavar="REV", help="git revision of this project (the baseline)")
    parser.add_argument("--after", metavar="REV", help="git revision of this project (the candidate)")
    parser.add_argument("--before-exe", metavar="CMD", help="trussguard command of the baseline")
    parser.add_argument("--after-exe", metavar="CMD", help="trussguard command of the candidate")
    parser.add_argument("--no-venv", action="store_true", help="run exported revisions with this Python")
    parser.add_argument("--modes", default="tree,history", help="tree, history or both (default)")
    parser.add_argument("--audit-args", default=DEFAULT_AUDIT_ARGS, help=f"extra audit flags ({DEFAULT_AUDIT_ARGS})")
    parser.add_argument("-j", "--jobs", type=int, help="--jobs for each run (default: trussguard's)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the differences as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (exports, reports)")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - set(MODES):
        parser.error(f"--modes takes {', '.join(MODES)}")
    revs, exes = (args.before, args.after), (args.before_exe, args.after_exe)
    if all(revs) == all(exes) or any(revs) != all(revs) or any(exes) != all(exes):
        parser.error("give either --before REV --after REV or --before-exe CMD --after-exe CMD")
    for corpus in args.corpora:
        if not corpus.exists():
            parser.error(f"no such corpus: {corpus}")
    work = Path(tempfile.mkdtemp(prefix="trussguard-compare-"))
    try:
        if all(revs):
            before = build_revision(args.before, work, "before", not args.no_venv)
            after = build_revision(args.after, work, "after", not args.no_venv)
        else:
            before, after = Build("before", shlex.split(args.before_exe)), Build("after", shlex.split(args.after_exe))
        diff, blocks = compare(before, after, [c.resolve() for c in args.corpora], modes, work, args.jobs,
                               shlex.split(args.audit_args))
    except RunFailed as exc:
        print(f"compare_findings: {exc}", file=sys.stderr)
        return 2
    finally:
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.stdout.write("".join(blocks))
    print("same findings" if diff.same else "findings differ")
    if args.json:
        args.json.write_text(json.dumps(diff_as_json(diff), indent=2) + "\n", "utf-8")
    return 0 if diff.same else 1


if __name__ == "__main__":
    sys.exit(main())
