"""Generate a synthetic Truss monorepo *git history* for the history-audit benchmark.

    python benchmarks/make_history.py OUTDIR [--commits 3000] [--models 40]
                                             [--megabytes 100] [--seed 7] [--scale 1]

The history is written with one ``git fast-import`` process fed from Python
(no ``git commit`` per commit), so 3,000 commits and 100 MB of blobs take
seconds.  Content comes from ``make_tree``'s seeded pools and generators, and
author dates are fixed, so one seed always gives the same commit ids.

Shape: ``--models`` Truss directories (``config.yaml``, ``model/model.py``,
``requirements.txt``, CSV/TSV data files) plus a few service files; a main
line with feature branches that fork, interleave with main and come back as
merge commits; annotated release tags.  ``--scale N`` multiplies commits and
megabytes (the linearity check).

Fake credentials (``make_tree.make_secrets``: prefix plus random characters)
are planted in the history in six ways:

    added-then-removed   added on main, removed by a later main commit
    present-at-head      added on main and never removed
    unmerged-branch      only on a side branch that is never merged
    tag-only             only in a commit reachable from a tag alone
    merge-commit         introduced by a merge commit itself (in neither parent)
    renamed-file         added on main, its file later renamed (git mv)

``OUTDIR/../<OUTDIR name>.manifest.json`` (outside the repository, so scanners
do not see it) lists each one's scenario, kind, path, introducing commit and
SHA-256, and whether it is present at HEAD; never a value.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from make_tree import MIB, Generator, Pools, Secret, Spec, locate, make_secrets, sha256

EPOCH = 1_700_000_000  # first commit's date; each commit is one hour later
AUTHORS = ("Ada Ops", "Ben Infra", "Chen ML", "Dana Serving", "Eli Data", "Fay Platform")
MAIN = "main"
TMP_BRANCH = "hotfix-tmp"  # deleted after import, so its commit is reachable from its tag only
MIN_DATA_BYTES = 2000


def manifest_path(outdir: Path) -> Path:
    return outdir.resolve().parent / f"{outdir.resolve().name}.manifest.json"


@dataclass
class Plant:
    """A planted secret as it goes into the manifest (digests only)."""

    scenario: str
    secret: Secret
    path: str
    line: int
    commit_mark: int
    branch: str
    at_head: bool
    head_path: str | None = None


@dataclass
class Writer:
    """Emits the fast-import stream and mirrors each branch's tree in Python.

    fast-import does not merge trees, so a merge commit must list the files it
    takes from the merged branch; the per-branch ``trees`` make that possible.
    """

    out: IO[bytes]
    rng: random.Random
    marks: int = 0
    commits: int = 0
    unique_bytes: int = 0
    seen: set[bytes] = field(default_factory=set)
    trees: dict[str, dict[str, int]] = field(default_factory=dict)  # branch -> path -> blob mark
    tips: dict[str, int] = field(default_factory=dict)  # branch -> commit mark

    def _mark(self) -> int:
        self.marks += 1
        return self.marks

    def _data(self, data: bytes) -> None:
        self.out.write(b"data %d\n" % len(data) + data + b"\n")

    def blob(self, content: str | bytes) -> int:
        data = content.encode() if isinstance(content, str) else content
        digest = hashlib.sha1(data).digest()
        if digest not in self.seen:
            self.seen.add(digest)
            self.unique_bytes += len(data)
        mark = self._mark()
        self.out.write(b"blob\nmark :%d\n" % mark)
        self._data(data)
        return mark

    def commit(
        self,
        branch: str,
        message: str,
        changes: dict[str, str | bytes | None],
        *,
        parent: str | None = None,
        merge: str | None = None,
        renames: tuple[tuple[str, str], ...] = (),
    ) -> int:
        """One commit on ``branch`` (forked from ``parent``'s tip if new); ``None`` deletes a path."""
        if branch not in self.tips:
            base = parent or branch
            self.trees[branch] = dict(self.trees.get(base, {}))
            start = self.tips.get(base)
        else:
            start = self.tips[branch]
        blobs = {path: (self.blob(c) if c is not None else None) for path, c in changes.items()}
        if merge:  # take every path the merged branch changed
            theirs, ours = self.trees[merge], self.trees[branch]
            for path, mark in theirs.items():
                if ours.get(path) != mark and path not in blobs:
                    blobs[path] = mark
        mark = self._mark()
        when = EPOCH + self.commits * 3600
        who = self.rng.choice(AUTHORS)
        ident = f"{who} <{who.split()[0].lower()}@acme.example> {when} +0000\n".encode()
        self.out.write(b"commit refs/heads/%s\nmark :%d\n" % (branch.encode(), mark))
        self.out.write(b"author " + ident + b"committer " + ident)
        self._data(message.encode())
        if start is not None:
            self.out.write(b"from :%d\n" % start)
        if merge:
            self.out.write(b"merge :%d\n" % self.tips[merge])
        tree = self.trees[branch]
        for old, new in renames:
            self.out.write(f"R {old} {new}\n".encode())
            tree[new] = tree.pop(old)
        for path, blob in blobs.items():
            if blob is None:
                self.out.write(f"D {path}\n".encode())
                tree.pop(path, None)
            else:
                self.out.write(f"M 100644 :{blob} {path}\n".encode())
                tree[path] = blob
        self.tips[branch] = mark
        self.commits += 1
        return mark

    def tag(self, name: str, branch: str, message: str) -> None:
        when = EPOCH + self.commits * 3600
        self.out.write(f"tag {name}\nfrom :{self.tips[branch]}\n".encode())
        self.out.write(f"tagger Release Bot <release@acme.example> {when} +0000\n".encode())
        self._data(message.encode())


class HistoryBuilder:
    """Decides what every commit changes; owns the content generators."""

    def __init__(self, w: Writer, seed: int, commits: int, models: int, budget: int) -> None:
        self.w = w
        self.rng = w.rng
        self.pools = Pools(self.rng)
        self.secrets = make_secrets(random.Random(f"history-secrets-{seed}"))
        self.gen = Generator(self.rng, self.pools, self.secrets)
        self.target, self.budget = commits, budget
        self.models = self._model_names(models)
        self.pinned: set[str] = set()  # paths random edits must not touch (they hold a plant)
        self.plants: list[Plant] = []
        self.renamed: dict[str, str] = {}
        self.data_version = 0

    def _model_names(self, n: int) -> list[str]:
        names: list[str] = []
        while len(names) < n:
            family = self.rng.choice(("llama", "mistral", "whisper", "sdxl", "bert", "qwen"))
            name = f"{self.pools.word()}-{family}-{self.pools.word()}"
            if name not in names:
                names.append(name)
        return names

    # ---- content -------------------------------------------------------------------------

    def model_files(self, name: str) -> dict[str, str | bytes | None]:
        root = f"models/{name}"
        return {
            f"{root}/config.yaml": self.gen(Spec("", "truss_config", name=name)),
            f"{root}/model/__init__.py": "",
            f"{root}/model/model.py": self.gen(Spec("", "truss_model", self.model_size())),
            f"{root}/requirements.txt": self.gen(Spec("", "requirements")),
            f"{root}/data/train.csv": self.gen(Spec("", "csv", 20_000)),
            f"{root}/data/eval.tsv": self.gen(Spec("", "tsv", 8_000)),
        }

    def model_size(self) -> int:
        return int(self.rng.lognormvariate(8.3, 0.6))  # median ~4 KB

    def data_size(self) -> int:
        """Spread what is left of the byte budget over the commits still to come."""
        left = max(1, self.target - self.w.commits)
        return max(MIN_DATA_BYTES, int((self.budget - self.w.unique_bytes) / left))

    def edit(self, name: str) -> dict[str, str | bytes | None]:
        """A routine change inside one model directory: code and/or data."""
        root, r = f"models/{name}", self.rng
        changes: dict[str, str | bytes | None] = {}
        if r.random() < 0.7:
            changes[f"{root}/model/model.py"] = self.gen(Spec("", "truss_model", self.model_size()))
        if r.random() < 0.1:
            changes[f"{root}/requirements.txt"] = self.gen(Spec("", "requirements"))
        kind = r.choice(("csv", "tsv"))
        data = f"{root}/data/train.csv" if kind == "csv" else f"{root}/data/eval.tsv"
        size = self.data_size() - sum(len(c or "") for c in changes.values())
        changes[data] = self.gen(Spec("", kind, max(MIN_DATA_BYTES, size)))
        return {p: c for p, c in changes.items() if p not in self.pinned}

    def message(self, name: str) -> str:
        verb = self.rng.choice(("Update", "Tune", "Refresh", "Fix", "Retrain", "Bump"))
        return f"{verb} {name}: {self.pools.sentence()}\n"

    # ---- planting --------------------------------------------------------------------------

    def plant(self, scenario: str, branch: str, mark: int, path: str, content: str, keys: tuple[str, ...]) -> None:
        for key in keys:
            s = self.secrets[key]
            self.plants.append(Plant(scenario, s, path, locate(content, s.needle), mark, branch, at_head=False))

    def planted_file(self, path: str, kind: str, keys: tuple[str, ...], **spec: object) -> str:
        return self.gen(Spec(path, kind, plants=keys, **spec))  # type: ignore[arg-type]

    def do_added_then_removed(self) -> None:
        name = self.models[1]
        path = f"models/{name}/config.yaml"
        content = self.planted_file(path, "truss_config", ("huggingface",), name=name)
        mark = self.w.commit(MAIN, f"Pin HF token for {name} while debugging gated download\n", {path: content})
        self.plant("added-then-removed", MAIN, mark, path, content, ("huggingface",))
        self.removal = (path, name)

    def do_remove(self) -> None:
        path, name = self.removal
        clean = self.gen(Spec(path, "truss_config", name=name))
        self.w.commit(MAIN, f"Move {name} HF token back to Baseten secrets\n", {path: clean})

    def do_present_at_head(self) -> None:
        name = self.models[2]
        path = f"models/{name}/model/model.py"
        content = self.planted_file(path, "truss_model", ("openai",), size=self.model_size())
        mark = self.w.commit(MAIN, f"{name}: call OpenAI for fallback completions\n", {path: content})
        self.plant("present-at-head", MAIN, mark, path, content, ("openai",))
        self.pinned.add(path)

    def do_renamed_file(self) -> None:
        path = "services/gateway/settings.py"
        content = self.planted_file(path, "py", ("postgres",), size=3000)
        mark = self.w.commit(MAIN, "gateway: add settings module\n", {path: content})
        self.plant("renamed-file", MAIN, mark, path, content, ("postgres",))
        self.pinned.add(path)

    def do_rename(self) -> None:
        old, new = "services/gateway/settings.py", "services/gateway/app/settings.py"
        self.w.commit(MAIN, "gateway: move settings into the app package\n", {}, renames=((old, new),))
        self.renamed[old] = new
        self.pinned.add(new)

    def do_unmerged_branch(self) -> None:
        name = self.models[3]
        branch = f"experiment/{name}-private-lib"
        path = f"models/{name}/config.yaml"
        content = self.planted_file(path, "truss_config", ("github",), name=name)
        mark = self.w.commit(branch, f"{name}: build against private lib\n", {path: content}, parent=MAIN)
        self.plant("unmerged-branch", branch, mark, path, content, ("github",))
        self.w.commit(branch, self.message(name), self.edit(name))

    def do_tag_only(self, tag: str) -> None:
        path = "scripts/deploy/notify_release.sh"
        content = self.planted_file(path, "sh", ("slack",), size=1500)
        mark = self.w.commit(TMP_BRANCH, "hotfix: notify #releases on deploy\n", {path: content}, parent=MAIN)
        self.plant("tag-only", f"refs/tags/{tag}", mark, path, content, ("slack",))
        self.w.tag(tag, TMP_BRANCH, f"Hotfix release {tag}\n")

    def feature(self, merge_extra: bool = False) -> None:
        """Fork a branch, interleave its commits with main's, merge it back."""
        name = self.rng.choice(self.models[5:])
        branch = f"feature/{name}-{self.w.commits}"
        others = [m for m in self.models[5:] if m != name]
        self.w.commit(branch, self.message(name), self.edit(name), parent=MAIN)
        for _ in range(self.rng.randint(1, 6)):
            if self.rng.random() < 0.5:
                self.w.commit(branch, self.message(name), self.edit(name))
            else:
                other = self.rng.choice(others)
                self.w.commit(MAIN, self.message(other), self.edit(other))
        extra: dict[str, str | bytes | None] = {}
        msg = f"Merge branch '{branch}'\n"
        if merge_extra:  # the merge commit itself adds a file that neither parent has
            path = f"models/{name}/.env"
            content = self.planted_file(path, "env", ("aws_key_id", "aws_secret"), name=name)
            extra[path] = content
            msg = f"Merge branch '{branch}' (resolve conflict in local settings)\n"
        mark = self.w.commit(MAIN, msg, extra, merge=branch)
        if merge_extra:
            self.plant("merge-commit", MAIN, mark, path, content, ("aws_key_id", "aws_secret"))
            self.pinned.add(path)

    # ---- the whole history ----------------------------------------------------------------

    def build(self) -> None:
        initial: dict[str, str | bytes | None] = {}
        for name in self.models:
            initial.update(self.model_files(name))
        initial["services/gateway/README.md"] = self.gen(Spec("", "md", 3000))
        initial["scripts/deploy/notify_release.sh"] = self.gen(Spec("", "sh", 1500))
        self.w.commit(MAIN, "Initial import of the model monorepo\n", initial)
        # (fraction of the history, action); each runs once, when its point is passed
        events = [
            (0.15, self.do_added_then_removed),
            (0.20, self.do_renamed_file),
            (0.25, self.do_present_at_head),
            (0.35, self.do_remove),
            (0.40, self.do_unmerged_branch),
            (0.55, lambda: self.do_tag_only("v0.5.1-hotfix")),
            (0.60, self.do_rename),
            (0.70, lambda: self.feature(merge_extra=True)),
        ]
        releases = 0
        while self.w.commits < self.target:
            frac = self.w.commits / self.target
            while events and frac >= events[0][0]:
                events.pop(0)[1]()
            if frac >= (releases + 1) / 10:
                releases += 1
                self.w.tag(f"v0.{releases}.0", MAIN, f"Release v0.{releases}.0\n")
            if self.rng.random() < 0.08:
                self.feature()
            else:
                name = self.rng.choice(self.models[5:])
                self.w.commit(MAIN, self.message(name), self.edit(name))
        for _, action in events:  # a tiny --commits leaves some behind
            action()
        for p in self.plants:
            p.head_path = self.renamed.get(p.path)


def run_git(repo: Path, *args: str, **kw: object) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, **kw)  # type: ignore[call-overload]


def build_history(
    outdir: Path, commits: int = 3000, models: int = 40, megabytes: int = 100, seed: int = 7, scale: int = 1
) -> dict:
    """Generate the repository and its manifest; return a small summary (no secrets)."""
    outdir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", MAIN, str(outdir)], check=True)
    marks_file = outdir / ".git" / "bench-marks"
    proc = subprocess.Popen(
        ["git", "-C", str(outdir), "fast-import", "--quiet", f"--export-marks={marks_file}"],
        stdin=subprocess.PIPE,
    )
    assert proc.stdin is not None
    rng = random.Random(seed)
    w = Writer(proc.stdin, rng)
    hb = HistoryBuilder(w, seed, commits * scale, models, megabytes * scale * MIB)
    try:
        hb.build()
    finally:
        proc.stdin.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    merged = [b for b in w.tips if b.startswith("feature/")]  # merged branches get deleted, as on GitHub
    deletions = "".join(f"delete refs/heads/{b}\n" for b in [*merged, TMP_BRANCH])
    run_git(outdir, "update-ref", "--stdin", input=deletions.encode())
    run_git(outdir, "reset", "-q", "--hard", MAIN)
    for p in hb.plants:  # ask git, not the bookkeeping, what HEAD holds
        shown = subprocess.run(["git", "-C", str(outdir), "show", f"HEAD:{p.head_path or p.path}"], capture_output=True)
        p.at_head = shown.returncode == 0 and p.secret.needle.encode() in shown.stdout
    ids = dict(line.split() for line in marks_file.read_text().splitlines())
    marks_file.unlink()
    manifest = {
        "seed": seed,
        "scale": scale,
        "commits": w.commits,
        "unique_blob_bytes": w.unique_bytes,
        "head": run_git(outdir, "rev-parse", "HEAD", text=True).stdout.strip(),
        "planted": [
            {
                "scenario": p.scenario,
                "kind": p.secret.kind,
                "path": p.path,
                "head_path": p.head_path or p.path,
                "line": p.line,
                "commit": ids[f":{p.commit_mark}"],
                "ref": p.branch,
                "present_at_head": p.at_head,
                "sha256": sha256(p.secret.value),
                "alt_sha256": [sha256(a) for a in p.secret.alts],
            }
            for p in hb.plants
        ],
    }
    manifest_path(outdir).write_text(json.dumps(manifest, indent=2) + "\n")
    return {k: v for k, v in manifest.items() if k != "planted"} | {"planted": len(manifest["planted"])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--commits", type=int, default=3000, help="commits at scale 1 (default 3000)")
    ap.add_argument("--models", type=int, default=40, help="Truss model directories (default 40)")
    ap.add_argument("--megabytes", type=int, default=100, help="unique blob MiB at scale 1 (default 100)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--scale", type=int, default=1, help="multiply commits and megabytes (default 1)")
    args = ap.parse_args(argv)
    if args.commits < 50 or args.models < 8 or args.scale < 1:
        ap.error("need --commits >= 50, --models >= 8, --scale >= 1")
    if args.outdir.exists() and any(args.outdir.iterdir()):
        ap.error(f"{args.outdir} is not empty")
    start = time.perf_counter()
    s = build_history(args.outdir, args.commits, args.models, args.megabytes, args.seed, args.scale)
    print(
        f"{args.outdir}: {s['commits']} commits, {s['unique_blob_bytes'] / 1e6:.1f} MB unique blobs, "
        f"{s['planted']} planted secrets (seed {args.seed}, scale {args.scale}) "
        f"in {time.perf_counter() - start:.1f} s; manifest {manifest_path(args.outdir)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
