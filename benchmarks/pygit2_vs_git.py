"""pygit2 (libgit2) against the git subprocesses the history audit uses, on one repository: medians
of 3 runs, seconds. Not a test; needs `pip install pygit2`. Usage: python benchmarks/pygit2_vs_git.py REPO
"""
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import pygit2

from trussguard.sources import history
from trussguard.sources.history_places import tree_blobs

repo_path = Path(sys.argv[1])
ROUNDS = 3

def median(fn):
    times = []
    for _ in range(ROUNDS):
        t = time.perf_counter(); out = fn(); times.append(time.perf_counter() - t)
    return statistics.median(times), out

refs, _ = history.list_refs(repo_path)
tips = sorted({r.commit for r in refs})
index = history.build_index(repo_path, tips)
blobs = sorted(index.blobs)
print(f"{repo_path.name}: {len(tips)} tips, {len(index.commits)} commits, {len(blobs)} blobs")

MISSING = set()
# 1. all blobs' bytes
def git_blobs():
    proc = subprocess.Popen(["git", "-C", str(repo_path), "cat-file", "--batch"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    def feed():
        proc.stdin.write("".join(f"{b}\n" for b in blobs).encode()); proc.stdin.close()
    threading.Thread(target=feed, daemon=True).start()
    total = 0
    for _ in blobs:
        header = proc.stdout.readline().split()
        if len(header) != 3: continue
        size = int(header[2]); total += len(proc.stdout.read(size)); proc.stdout.read(1)
    proc.wait(); return total
def pg_blobs():
    repo = pygit2.Repository(str(repo_path)); odb = repo.odb
    total = 0
    for b in blobs:
        try: total += len(odb.read(b)[1])
        except KeyError: MISSING.add(b)
    return total
t_git, n1 = median(git_blobs); t_pg, n2 = median(pg_blobs)
print(f"read all blobs ({n1/1e6:.0f} MB): git cat-file --batch {t_git:.2f} s, pygit2 odb.read {t_pg:.2f} s ({n2/1e6:.0f} MB; not found by pygit2: {len(MISSING)})")

# 2. tree listings: every distinct tip tree, recursively (path -> blob)
trees = sorted(set(subprocess.run(["git", "-C", str(repo_path), "rev-parse", *[f"{t}^{{tree}}" for t in tips]],
                                  capture_output=True, text=True).stdout.split()))
def git_trees():
    return sum(len(tree_blobs(repo_path, t)) for t in trees)
def pg_trees():
    repo = pygit2.Repository(str(repo_path)); n = 0
    def walk(tree, prefix):
        nonlocal n
        for e in tree:
            if e.type_str == "tree": walk(repo[e.id], prefix + e.name + "/")
            elif e.type_str == "blob": n += 1
    for t in trees: walk(repo[t], "")
    return n
t_git, n1 = median(git_trees); t_pg, n2 = median(pg_trees)
print(f"list {len(trees)} distinct tip trees ({n1} entries): git ls-tree -r per tree {t_git:.2f} s, pygit2 walk {t_pg:.2f} s ({n2})")

# 3a. commit graph only
def git_graph():
    out = subprocess.run(["git", "-C", str(repo_path), "rev-list", "--parents", "--topo-order", "--stdin"],
                         input="".join(f"{t}\n" for t in tips), capture_output=True, text=True).stdout
    return len(out.splitlines())
def pg_graph():
    repo = pygit2.Repository(str(repo_path)); w = repo.walk(tips[0], pygit2.enums.SortMode.TOPOLOGICAL)
    for t in tips[1:]: w.push(t)
    return sum(1 for c in w if c.parent_ids is not None)
t_git, n1 = median(git_graph); t_pg, n2 = median(pg_graph); assert n1 == n2, (n1, n2)
print(f"walk the commit graph ({n1} commits): git rev-list --parents {t_git:.2f} s, pygit2 walker {t_pg:.2f} s")

# 3b. the audit's index: every commit diffed against each parent (log --raw -m --root)
def git_index():
    return len(history.build_index(repo_path, tips).blobs)
def pg_index():
    repo = pygit2.Repository(str(repo_path)); w = repo.walk(tips[0], pygit2.enums.SortMode.TOPOLOGICAL)
    for t in tips[1:]: w.push(t)
    seen = {}
    for c in w:
        parents = c.parents or [None]
        for p in parents:
            d = c.tree.diff_to_tree(swap=True) if p is None else repo.diff(p.tree, c.tree)
            for delta in d.deltas:
                nf = delta.new_file
                if delta.status_char() != "D" and nf.mode in (0o100644, 0o100755):
                    seen.setdefault(str(nf.id), []).append((nf.path, str(c.id)))
    return len(seen)
t_git, n1 = median(git_index); t_pg, n2 = median(pg_index)
print(f"commit index (every commit's diff against each parent): git log --raw -m {t_git:.2f} s ({n1} blobs), pygit2 walker + diff {t_pg:.2f} s ({n2} blobs)")

# 4. the audit's "still there?" lookups: 10 paths at every distinct tip tree
random.seed(1)
some = random.sample(sorted({p for pairs in index.blobs.values() for p, _ in pairs if "\\" not in p}), 10)
def git_lookup():
    pairs = [(t, p) for t in trees for p in some]
    out = subprocess.run(["git", "-C", str(repo_path), "cat-file", "--batch-check=%(objectname) %(objecttype)"],
                         input="".join(f"{t}:{p}\n" for t, p in pairs).encode(), capture_output=True).stdout
    return sum(1 for line in out.split(b"\n") if line.endswith(b" blob"))
def pg_lookup():
    repo = pygit2.Repository(str(repo_path)); n = 0
    for t in trees:
        tree = repo[t]
        for p in some:
            try: n += tree[p].type_str == "blob"
            except KeyError: pass
    return n
t_git, n1 = median(git_lookup); t_pg, n2 = median(pg_lookup)
print(f"10 paths at {len(trees)} distinct tip trees ({n1} found): git cat-file --batch-check {t_git:.3f} s, pygit2 tree[path] {t_pg:.3f} s ({n2})")
