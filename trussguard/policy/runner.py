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
from trussguard.policy.code_screen import needs_parse
from trussguard.policy.context import CodeContext, ConfigContext, ProjectContext
from trussguard.policy.registry import PolicyHit, iter_checks
from trussguard.redact import redact_python_error, redact_text
from trussguard.types import Match
from trussguard.workers import map_in_workers

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
        reason = redact_python_error(exc.msg) if isinstance(exc, SyntaxError) else type(exc).__name__
        line = f" (line {exc.lineno})" if isinstance(exc, SyntaxError) and exc.lineno else ""
        return None, f"{path}: not valid Python{line}: {reason}; scanned with the credential rules only"


def check_config(path: str, data: bytes, matches: list[Match], detector: Detector
                 ) -> tuple[list[PolicyHit], list[str], truss_dirs.TrussDir | None]:
    """Config checks for one file named config.yaml (a Truss config or a committed local config)."""
    if len(data) > MAX_PARSE_BYTES:
        return [], [redact_text(f"{path}: too large to parse as YAML; scanned with the credential rules only",
                                detector)], None
    kind, doc = truss_dirs.classify(data)
    if kind is None:
        if doc is None and data.strip():
            return [], [redact_text(f"{path}: not valid YAML; scanned with the credential rules only", detector)], None
        return [], [], None
    truss = truss_dirs.truss_dir(path, doc) if kind == "truss" else None
    ctx = ConfigContext(path, data, matches, detector, doc=doc, truss=truss, kind=kind)
    return [h for c in iter_checks("config") for h in c.func(ctx)], [], truss


def check_requirements(path: str, data: bytes, matches: list[Match], detector: Detector,
                       truss: truss_dirs.TrussDir) -> tuple[list[PolicyHit], list[str]]:
    """Config checks on the file a Truss names in `requirements_file` (ConfigContext kind "requirements")."""
    if len(data) > MAX_PARSE_BYTES:
        return [], [redact_text(f"{path}: too large to check as a requirements file; scanned with the credential "
                                "rules only", detector)]
    ctx = ConfigContext(path, data, matches, detector, doc=None, truss=truss, kind="requirements")
    return [h for c in iter_checks("config") for h in c.func(ctx)], []


def check_code(path: str, data: bytes, matches: list[Match], detector: Detector,
               truss: truss_dirs.TrussDir | None = None, kind: str | None = None,
               ) -> tuple[list[PolicyHit], list[str], ast.Module | None]:
    """Code checks for one Python file (model code, bundled packages, Chains sources).

    ``kind="leak"`` runs only the value checks: the history audit reports leaks only, and the
    structural checks (taint tracking among them) are the expensive part on old versions.
    """
    tree, note = parse_python(path, data)
    if tree is None:
        return [], [redact_text(note, detector)] if note else [], None
    ctx = CodeContext(path, data, matches, detector, tree=tree, truss=truss)
    checks = [c for c in iter_checks("code") if kind is None or c.kind == kind]
    return [h for c in checks for h in c.func(ctx)], [], tree


def run_policy(paths: list[str], read: Callable[[str], bytes | None], matches: dict[str, list[Match]],
               detector: Detector, chains_files: frozenset[str] = frozenset(), workers: int = 1,
               marked: frozenset[str] = frozenset()) -> PolicyResult:
    """The policy stage over a working-tree listing; ``read`` returns a file's bytes or None;
    ``marked``: paths where a rule matched but an inline marker allowed every match (their code is
    still checked, so the allowed policy hits are listed as suppressed too).

    Config checks run here (configs are small); the rest runs per Truss (its code, then its
    project checks), spread over ``workers`` processes where the OS can fork, since parsing
    and analysing every model file of a monorepo is the expensive part.
    """
    result = PolicyResult()
    configs: dict[str, bytes] = {}
    for path in sorted(p for p in paths if truss_dirs.is_config_name(p)):
        data = read(path)
        if data is None:
            continue
        hits, notes, truss = check_config(path, data, matches.get(path, []), detector)
        result.hits += hits
        result.notes += notes
        if truss is not None:
            result.trusses.append(truss)
            configs[path] = data
    listed = set(paths)
    for truss in result.trusses:
        req = truss.requirements_file
        if req and req in listed:
            data = read(req)
            if data is not None:
                hits, notes = check_requirements(req, data, matches.get(req, []), detector, truss)
                result.hits += hits
                result.notes += notes
    owners = _owners([p for p in paths if p.endswith((".py", ".sh"))], result.trusses)
    units: list[tuple[int | None, list[str]]] = [(i, []) for i in range(len(result.trusses))]
    orphans: list[str] = []
    index = {id(t): i for i, t in enumerate(result.trusses)}
    for path in sorted(owners):
        owner = owners[path]
        if owner is not None:
            units[index[id(owner)]][1].append(path)
        elif path in chains_files:
            orphans.append(path)
    if orphans:
        units.append((None, orphans))
    state = _UnitState(paths, read, matches, detector, result.trusses, configs, frozenset(listed), marked)
    jobs = workers if len(units) >= PARALLEL_MIN_UNITS else 1
    for hits, notes in map_in_workers(_run_unit, state, units, jobs,
                                      chunksize=max(1, len(units) // (workers * 4))):
        result.hits += hits
        result.notes += notes
    return result


PARALLEL_MIN_UNITS = 8


@dataclass(frozen=True)
class _UnitState:
    """What per-Truss work needs: handed to the worker pool once (inherited by fork), so a task
    sends only its unit, (Truss index or None for orphan Chains files, its code paths)."""

    paths: list[str]
    read: Callable[[str], bytes | None]
    matches: dict[str, list[Match]]
    detector: Detector
    trusses: list[truss_dirs.TrussDir]
    configs: dict[str, bytes]
    listed: frozenset[str] = frozenset()
    marked: frozenset[str] = frozenset()  # paths with rule matches all allowed inline


def _run_unit(state: _UnitState, unit: tuple[int | None, list[str]]) -> tuple[list[PolicyHit], list[str]]:
    """Code checks on one Truss's Python files, then its project checks (or orphan Chains files)."""
    truss_index, code_paths = unit
    truss = state.trusses[truss_index] if truss_index is not None else None
    hits: list[PolicyHit] = []
    notes: list[str] = []
    trees: dict[str, ast.Module] = {}
    texts: dict[str, bytes] = {}
    quiet: set[str] = set()
    for path in code_paths:
        data = state.read(path)
        if data is None:
            continue
        texts[path] = data
        if path.endswith(".py"):
            matches = state.matches.get(path, [])
            if not needs_parse(data, bool(matches) or path in state.marked, state.detector):
                quiet.add(path)  # no code check can fire on it: not parsed (``code_screen``)
                continue
            file_hits, file_notes, tree = check_code(path, data, matches, state.detector, truss)
            hits += file_hits
            notes += file_notes
            if tree is not None:
                trees[path] = tree
    if truss is None:
        return hits, notes
    texts[truss.config_path] = state.configs[truss.config_path]
    for extra in (truss.join(".truss_ignore"), truss.requirements_file):
        if extra and extra in state.listed and extra not in texts:
            data = state.read(extra)
            if data is not None:
                texts[extra] = data
    ctx = ProjectContext(truss, [p for p in state.paths if _under(p, truss.root)], trees, texts, frozenset(quiet))
    hits += [h for c in iter_checks("project") for h in c.func(ctx)]
    return hits, notes


def _under(path: str, root: str) -> bool:
    return not root or path.startswith(root + "/")


def _owners(paths: list[str], trusses: list[truss_dirs.TrussDir]) -> dict[str, truss_dirs.TrussDir | None]:
    """For each code path, the innermost Truss that ships it (via its code folders), or None.

    One dictionary of code folders and a walk up each path's parents: linear in the listing,
    where testing every path against every Truss was quadratic in a monorepo.
    """
    folders: dict[str, list[truss_dirs.TrussDir]] = {}
    for truss in trusses:
        for folder in (truss.model_module_dir, truss.bundled_packages_dir, truss.data_dir):
            folders.setdefault(truss.join(folder), []).append(truss)
    out: dict[str, truss_dirs.TrussDir | None] = {}
    for path in paths:
        owning = []
        parent = posixpath.dirname(path)
        while parent:
            owning += folders.get(parent, [])
            parent = posixpath.dirname(parent)
        out[path] = max((t for t in owning if t.owns_code(path)), key=lambda t: len(t.root), default=None)
    return out


def chains_source(path: str, data: bytes) -> bool:
    """A Chains / Python-DX source: a Python file importing truss_chains (TRUSS_SECRETS.md 5.2)."""
    return path.endswith(".py") and b"truss_chains" in data and posixpath.basename(path) != "setup.py"
