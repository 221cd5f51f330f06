"""Run the policy checks: per config, per Python file, per Truss; collect hits and notes.

``check_config`` and ``check_code`` take (path, bytes) so any version of a file can be
checked (history, index). ``run_policy`` is the working-tree stage: it finds the Truss
directories of a listing and runs all three scopes; a config's ``requirements_file`` target is
checked by the config checks as a ConfigContext of kind "requirements".
"""

from __future__ import annotations

import ast
import posixpath
import warnings
from dataclasses import dataclass, field
from typing import Callable

from trussguard.engine.detector import Detector
from trussguard.policy import truss_dirs
from trussguard.policy.context import CodeContext, ConfigContext, ProjectContext
from trussguard.policy.registry import PolicyHit, iter_checks
from trussguard.types import Match

MAX_PARSE_BYTES = 2 * 1024 * 1024  # larger "config" or "model code" is data: rule scan only


@dataclass
class PolicyResult:
    hits: list[PolicyHit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. files that did not parse
    trusses: list[truss_dirs.TrussDir] = field(default_factory=list)


def parse_python(path: str, data: bytes) -> tuple[ast.Module | None, str | None]:
    """The AST, or None and a note saying why the file gets only the plain rule scan."""
    if len(data) > MAX_PARSE_BYTES:
        return None, f"{path}: too large to parse as Python; scanned with the credential rules only"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarning for odd escapes in user code
            return ast.parse(data, filename=path), None
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        reason = exc.msg if isinstance(exc, SyntaxError) else type(exc).__name__
        line = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        return None, f"{path}: not valid Python{line}: {reason}; scanned with the credential rules only"


def check_config(path: str, data: bytes, matches: list[Match], detector: Detector
                 ) -> tuple[list[PolicyHit], list[str], truss_dirs.TrussDir | None]:
    """Config checks for one file named config.yaml (a Truss config or a committed local config)."""
    if len(data) > MAX_PARSE_BYTES:
        return [], [f"{path}: too large to parse as YAML; scanned with the credential rules only"], None
    kind, doc = truss_dirs.classify(data)
    if kind is None:
        if doc is None and data.strip():
            return [], [f"{path}: not valid YAML; scanned with the credential rules only"], None
        return [], [], None
    truss = truss_dirs.truss_dir(path, doc) if kind == "truss" else None
    ctx = ConfigContext(path, data, matches, detector, doc=doc, truss=truss, kind=kind)
    return [h for c in iter_checks("config") for h in c.func(ctx)], [], truss


def check_requirements(path: str, data: bytes, matches: list[Match], detector: Detector,
                       truss: truss_dirs.TrussDir) -> tuple[list[PolicyHit], list[str]]:
    """Config checks on the file a Truss names in `requirements_file` (ConfigContext kind "requirements")."""
    if len(data) > MAX_PARSE_BYTES:
        return [], [f"{path}: too large to check as a requirements file; scanned with the credential rules only"]
    ctx = ConfigContext(path, data, matches, detector, doc=None, truss=truss, kind="requirements")
    return [h for c in iter_checks("config") for h in c.func(ctx)], []


def check_code(path: str, data: bytes, matches: list[Match], detector: Detector,
               truss: truss_dirs.TrussDir | None = None) -> tuple[list[PolicyHit], list[str], ast.Module | None]:
    """Code checks for one Python file (model code, bundled packages, Chains sources)."""
    tree, note = parse_python(path, data)
    if tree is None:
        return [], [note] if note else [], None
    ctx = CodeContext(path, data, matches, detector, tree=tree, truss=truss)
    return [h for c in iter_checks("code") for h in c.func(ctx)], [], tree


def run_policy(paths: list[str], read: Callable[[str], bytes | None], matches: dict[str, list[Match]],
               detector: Detector, chains_files: frozenset[str] = frozenset()) -> PolicyResult:
    """The policy stage over a working-tree listing; ``read`` returns a file's bytes or None."""
    result = PolicyResult()
    trees: dict[str, ast.Module] = {}
    texts: dict[str, bytes] = {}
    for path in sorted(p for p in paths if truss_dirs.is_config_name(p)):
        data = read(path)
        if data is None:
            continue
        hits, notes, truss = check_config(path, data, matches.get(path, []), detector)
        result.hits += hits
        result.notes += notes
        if truss is not None:
            result.trusses.append(truss)
            texts[path] = data
    listed = set(paths)
    for truss in result.trusses:
        req = truss.requirements_file
        if req and req in listed and req not in texts:
            data = read(req)
            if data is not None:
                texts[req] = data
                hits, notes = check_requirements(req, data, matches.get(req, []), detector, truss)
                result.hits += hits
                result.notes += notes
    owners = {p: _owner(p, result.trusses) for p in paths}
    for path in sorted(p for p in paths if p.endswith((".py", ".sh")) and (owners[p] or p in chains_files)):
        data = read(path)
        if data is None:
            continue
        texts[path] = data
        if path.endswith(".py"):
            hits, notes, tree = check_code(path, data, matches.get(path, []), detector, owners[path])
            result.hits += hits
            result.notes += notes
            if tree is not None:
                trees[path] = tree
    for truss in result.trusses:
        ignore = truss.join(".truss_ignore")
        if ignore in paths and ignore not in texts:
            data = read(ignore)
            if data is not None:
                texts[ignore] = data
        mine = [p for p in paths if _under(p, truss.root)]
        ctx = ProjectContext(truss, mine, {p: t for p, t in trees.items() if owners.get(p) is truss},
                             {p: t for p, t in texts.items() if _under(p, truss.root)})
        result.hits += [h for c in iter_checks("project") for h in c.func(ctx)]
    return result


def _under(path: str, root: str) -> bool:
    return not root or path.startswith(root + "/")


def _owner(path: str, trusses: list[truss_dirs.TrussDir]) -> truss_dirs.TrussDir | None:
    """The innermost Truss that ships this file, if any."""
    owning = [t for t in trusses if t.owns_code(path)]
    return max(owning, key=lambda t: len(t.root), default=None)


def chains_source(path: str, data: bytes) -> bool:
    """A Chains / Python-DX source: a Python file importing truss_chains (TRUSS_SECRETS.md 5.2)."""
    return path.endswith(".py") and b"truss_chains" in data and posixpath.basename(path) != "setup.py"
