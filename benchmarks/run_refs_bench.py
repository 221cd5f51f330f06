"""Many refs: time and peak memory of ``trussguard audit`` against gitleaks and kingfisher as the
number of branches grows (1,000 / 5,000 / 10,000 over the same ~200-commit history).

    python benchmarks/run_refs_bench.py [--branches 1000,5000,10000] [--commits 200] [--keep DIR]

Why: an audit does per-ref work (which refs reach a leak, which branch tips still hold it); if
that work is quadratic, or builds a list of every ref per finding, a monorepo with thousands of
branches makes the CI gate time out or run out of memory. The repository is written with one
``git fast-import`` (a main line of ``--commits`` commits, two fake tokens made at run time from
random characters, one added and later removed, one kept), then ``git update-ref --stdin`` adds
the branches at commits spread over the history. Each tool runs once per size under
``/usr/bin/time -v`` (wall seconds, peak RSS). Not a test: it prints figures and ratios only, and
never a token value.
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
from pathlib import Path

EPOCH = 1_700_000_000


def make_repo(root: Path, commits: int, rng: random.Random) -> list[str]:
    """A linear history of ``commits`` commits; returns the commit ids, oldest first."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    hf = "hf_" + "".join(rng.choice(string.ascii_letters) for _ in range(34))
    ghp = "ghp" + "_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36))
    stream = []
    for n in range(commits):
        files = {f"svc/file{n % 20}.py": f"VALUE_{n} = {n}\n" * 20}
        if n == commits // 4:
            files["model/model.py"] = f'HF_TOKEN = "{hf}"\n'
        if n == commits // 2:
            files["model/model.py"] = "import os\nHF_TOKEN = os.environ['HF_TOKEN']\n"
        if n == commits // 3:
            files["deploy/ci.env"] = f"GITHUB_TOKEN={ghp}\n"
        when = EPOCH + n * 3600
        stream.append(f"commit refs/heads/main\nmark :{n + 1}\n"
                      f"committer Bench <bench@example.invalid> {when} +0000\n")
        message = f"commit {n}"
        stream.append(f"data {len(message)}\n{message}\n")
        if n:
            stream.append(f"from :{n}\n")
        for path, text in files.items():
            data = text.encode()
            stream.append(f"M 100644 inline {path}\ndata {len(data)}\n{text}\n")
    stream.append("done\n")
    subprocess.run(["git", "-C", str(root), "fast-import", "--quiet", "--done"], input="".join(stream).encode(),
                   check=True)
    return subprocess.run(["git", "-C", str(root), "rev-list", "--reverse", "main"], check=True,
                          capture_output=True, text=True).stdout.split()


def set_branches(root: Path, shas: list[str], count: int, rng: random.Random) -> None:
    """Exactly ``count`` branches besides main, ``b0000``..., each at a random commit."""
    existing = subprocess.run(["git", "-C", str(root), "for-each-ref", "--format=%(refname)", "refs/heads/b*"],
                              capture_output=True, text=True, check=True).stdout.split()
    for lines in ([f"delete {name}\n" for name in existing],
                  [f"create refs/heads/b{i:05d} {rng.choice(shas)}\n" for i in range(count)]):
        subprocess.run(["git", "-C", str(root), "update-ref", "--stdin"], input="".join(lines).encode(), check=True)
    subprocess.run(["git", "-C", str(root), "pack-refs", "--all"], check=True)


def timed(cmd: list[str], cwd: Path) -> tuple[float, float, int]:
    """(wall seconds, peak RSS in MB, exit code) of one run under /usr/bin/time -v."""
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], cwd=cwd, capture_output=True, text=True)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    if not wall or not rss:
        raise SystemExit(f"{cmd[0]}: no timing ({proc.stderr.strip().splitlines()[-1:]})")
    seconds = int(wall.group(1) or 0) * 3600 + int(wall.group(2)) * 60 + float(wall.group(3))
    return seconds, int(rss.group(1)) / 1024, proc.returncode


def tools(repo: Path, out: Path) -> dict[str, list[str]]:
    found = {}
    trussguard = shutil.which("trussguard") or str(Path(sys.executable).with_name("trussguard"))
    found["trussguard"] = [trussguard, "audit", str(repo), "--no-cache", "--quiet", "--format", "json",
                           "--output", str(out / "tg.json"), "--fail-on", "low"]
    if shutil.which("gitleaks"):
        found["gitleaks"] = ["gitleaks", "git", str(repo), "--no-banner", "--report-format", "json",
                             "--report-path", str(out / "gl.json")]
    if shutil.which("kingfisher"):
        found["kingfisher"] = ["kingfisher", "scan", str(repo), "--git-history", "full", "--no-validate",
                               "-f", "json", "-o", str(out / "kf.json"), "--no-update-check"]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", default="1000,5000,10000")
    parser.add_argument("--commits", type=int, default=200)
    parser.add_argument("--keep", type=Path, help="Build the repository here and keep it.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tg-refs-bench-"))
    repo = args.keep or work / "repo"
    rng = random.Random(11)
    shas = make_repo(repo, args.commits, rng)
    print(f"{'branches':>8}  {'tool':<11} {'wall s':>7} {'peak MB':>8} {'exit':>4}  ratio (trussguard/peer)")
    try:
        for count in (int(n) for n in args.branches.split(",")):
            set_branches(repo, shas, count, rng)
            results = {name: timed(cmd, work) for name, cmd in tools(repo, work).items()}
            tg = results["trussguard"]
            for name, (wall, rss, code) in results.items():
                ratio = "" if name == "trussguard" else f"time {tg[0] / wall:.2f}x, memory {tg[1] / rss:.2f}x"
                print(f"{count:>8}  {name:<11} {wall:>7.2f} {rss:>8.0f} {code:>4}  {ratio}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
