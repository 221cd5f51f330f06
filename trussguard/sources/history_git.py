"""Running git for the history audit and --staged: one place that sets the environment (never
fetch), checks the version, and turns a failing git into a one-line GitError.

Why a module of its own: every other git-facing module (the log walk, the blob reader, tree
lookups, the revision reader of the gate) needs these few functions and nothing else, so they
can import them without importing each other.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

class NotARepository(Exception):
    """The audit target is not inside a git repository."""


class GitError(Exception):
    """A git command failed (its stderr's first line is the message)."""


def decode_path(raw: bytes) -> str:
    """A path as reported: UTF-8, with any other byte shown as ``\\xNN`` (the same in log and ls-tree,
    so lookups agree, and printable in every report format)."""
    return raw.decode("utf-8", "backslashreplace")


GIT_MISSING = "git is not installed or not on PATH (the history audit and --staged need it)"
# The oldest git whose every option trussguard passes is known: `ls-files --deduplicate` (the tree
# scan) arrived in 2.31; `rev-parse --end-of-options` (2.24), `rev-list --missing=print` and
# `rev-parse --is-shallow-repository` (2.15) are older. A git that lacks one would not fail
# loudly everywhere; it could answer a narrower question, so older gits are refused up front.
MIN_GIT = (2, 31)
# Every git an audit starts must never fetch: not lazily from a promisor remote (a partial clone
# asks the network for each missing object, and a tree:0 clone for each commit's trees), not at
# all. GIT_NO_LAZY_FETCH is how git >= 2.45 says it; GIT_ALLOW_PROTOCOL with no real protocol
# makes every transport refuse on older gits (the fetch git would start fails before it connects).
NO_FETCH = {"GIT_NO_LAZY_FETCH": "1", "GIT_ALLOW_PROTOCOL": "trussguard-no-fetch", "GIT_TERMINAL_PROMPT": "0"}


def git_env() -> dict[str, str]:
    """The environment of every git an audit or a staged scan starts (see ``NO_FETCH``)."""
    return dict(os.environ, **NO_FETCH)


def summarise(stderr: bytes | str, limit: int = 200) -> str:
    """git's stderr as one line: the first ``fatal:`` line (git's own summary), else the first
    ``error:`` line, else the first non-blank one, trimmed; never several lines of raw git output
    in an error or a note."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    chosen = next((line for prefix in ("fatal:", "error:") for line in lines if line.startswith(prefix)),
                  lines[0] if lines else "failed")
    return chosen if len(chosen) <= limit else chosen[:limit - 3] + "..."


def _run(repo: Path, args: tuple[str, ...], input: bytes | None = None,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, timeout=3600,
                              env=dict(git_env(), **(env or {})), input=input,
                              stdin=None if input is not None else subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError(GIT_MISSING) from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]}: did not finish within an hour") from None


def git(repo: Path, *args: str, check: bool = True, ok: tuple[int, ...] = (0,), input: bytes | None = None,
        env: dict[str, str] | None = None) -> bytes:
    """git's stdout. With ``check`` (the default), an exit status outside ``ok`` is a GitError:
    a git command that fails makes the audit incomplete, so it is never silently ignored. Use
    ``ok=(0, 1)`` where 1 is a legitimate answer (``rev-parse -q --verify``: no such object).
    ``check=False`` is for questions whose failure changes nothing that is scanned."""
    proc = _run(repo, args, input, env)
    if check and proc.returncode not in ok:
        raise GitError(f"git {args[0]}: {summarise(proc.stderr)}")
    return proc.stdout


_checked_gits: dict[str, tuple[int, ...]] = {}


def require_git_version() -> tuple[int, ...]:
    """The git on PATH's version, or GitError (one line) if it is older than ``MIN_GIT``; asked once
    per git executable."""
    where = shutil.which("git")
    if where is None:
        raise GitError(GIT_MISSING)
    if where not in _checked_gits:
        try:
            proc = subprocess.run([where, "version"], capture_output=True, timeout=60, env=git_env())
        except OSError as exc:
            raise GitError(f"git version: {exc.strerror or exc}") from None
        found = re.search(rb"git version (\d+)\.(\d+)(?:\.(\d+))?", proc.stdout)
        if proc.returncode != 0 or not found:
            raise GitError(f"git version: cannot tell which git this is ({summarise(proc.stderr or proc.stdout)})")
        _checked_gits[where] = tuple(int(n or 0) for n in found.groups())
    version = _checked_gits[where]
    if version[:2] < MIN_GIT:
        raise GitError(f"git {'.'.join(map(str, version))} is too old: trussguard needs git >= "
                       f"{'.'.join(map(str, MIN_GIT))} ({where})")
    return version


def repository_root(path: Path) -> Path:
    """The work-tree root (or the git dir of a bare repository) containing ``path``."""
    if not path.exists():
        raise NotARepository(f"no such directory: {path}")
    try:
        proc = subprocess.run(["git", "-C", str(path), "rev-parse", "--show-toplevel", "--absolute-git-dir"],
                              capture_output=True, timeout=60, env=git_env(), stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError(GIT_MISSING) from None
    if proc.returncode != 0:
        raise NotARepository(f"not a git repository: {path}")
    lines = [ln for ln in proc.stdout.decode("utf-8", "replace").splitlines() if ln]
    return Path(lines[0]) if len(lines) == 2 else Path(lines[-1])


def resolve(repo: Path, rev: str) -> str:
    """The commit a revision names, or GitError with a one-line message."""
    sha = git(repo, "rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}", ok=(0, 1))
    if not sha.strip():
        raise GitError(f"unknown revision: {rev}")
    return sha.decode().strip()
