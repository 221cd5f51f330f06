"""Run the policy checks: per config, per Python file, per Truss; collect hits and notes.

``check_config`` and ``check_code`` take (path, bytes) so any version of a file can be
checked (history, index). ``run_policy`` is the working-tree stage: it finds the Truss
directories of a listing and runs all three scopes; a config's ``requirements_file`` target is
checked by the config checks as a ConfigContext of kind "requirements".
"""

from __future__ import annotations

import ast
import bisect
import posixpath
import warnings
from dataclasses import dataclass, field
from typing import Callable

from trussguard.engine.detector import Detector
from trussguard.engine.matcher import _LineIndex
from trussguard.policy import truss_dirs
from trussguard.policy.code_screen import needs_parse
from trussguard.policy.context import CodeContext, ConfigContext, ProjectContext
from trussguard.policy.notebook_code import code_of
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


def check_config(path: str, data: bytes, matches: list[Match], detector: Detector, checks: bool = True
                 ) -> tuple[list[PolicyHit], list[str], truss_dirs.TrussDir | None]:
    """Config checks for one file named config.yaml (a Truss config or a committed local config);
    with ``checks=False`` only what it is (its notes and Truss layout), the checks' hits being known."""
    if len(data) > MAX_PARSE_BYTES:
        return [], [redact_text(f"{path}: too large to parse as YAML; scanned with the credential rules only",
                                detector)], None
    kind, doc = truss_dirs.classify(data)
    if kind is None:
        if doc is None and data.strip():
            return [], [redact_text(f"{path}: not valid YAML; scanned with the credential rules only", detector)], None
        return [], [], None
    truss = truss_dirs.truss_dir(path, doc) if kind == "truss" else None
    if not checks:
        return [], [], truss
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
               truss: truss_dirs.TrussDir | None = None, kind: str | None = None, tree: ast.Module | None = None,
               ) -> tuple[list[PolicyHit], list[str], ast.Module | None]:
    """Code checks for one Python file (model code, bundled packages, Chains sources).

    ``kind="leak"`` runs only the value checks: the history audit reports leaks only, and the
    structural checks (taint tracking among them) are the expensive part on old versions.
    ``tree``: ``data`` already parsed (a notebook's code cells, ``check_notebook``).
    """
    if tree is None:
        tree, note = parse_python(path, data)
        if tree is None:
            return [], [redact_text(note, detector)] if note else [], None
    ctx = CodeContext(path, data, matches, detector, tree=tree, truss=truss)
    checks = [c for c in iter_checks("code") if kind is None or c.kind == kind]
    return [h for c in checks for h in c.func(ctx)], [], tree


def check_notebook(path: str, data: bytes, matches: list[Match], detector: Detector,
                   truss: truss_dirs.TrussDir | None = None, kind: str | None = None,
                   any_match: bool = False) -> tuple[list[PolicyHit], list[str]]:
    """Code checks on a notebook's code cells (``notebook_code``), hits at the file's lines with their cell;
    screened like a Python file (``code_screen``): most notebooks hold nothing a check starts from."""
    code = code_of(data)
    if code is None or not needs_parse(code.text, any_match or bool(matches), detector, leaks_only=kind == "leak"):
        return [], []
    if len(code.text) > MAX_PARSE_BYTES:
        return [], [f"{path}: code cells too large to parse as Python; scanned with the credential rules only"]
    if code.parse(path, detector) is None:
        return [], code.notes
    hits, notes, _ = check_code(path, code.text, code.matches(matches), detector, truss, kind, tree=code.tree)
    lines = _LineIndex(data)
    return [code.to_file(h, data, lines) for h in hits], code.notes + notes


def run_policy(paths: list[str], read: Callable[[str], bytes | None], matches: dict[str, list[Match]],
               detector: Detector, chains_files: frozenset[str] = frozenset(), workers: int = 1,
               marked: frozenset[str] = frozenset(), memo=None) -> PolicyResult:
    """The policy stage over a working-tree listing; ``read`` returns a file's bytes or None;
    ``marked``: paths where a rule matched but an inline marker allowed every match (their code is
    still checked, so the allowed policy hits are listed as suppressed too); ``memo``: a
    ``scan_cache.PolicyMemo`` holding the results of Truss units whose inputs have not changed.

    Config checks run here (configs are small); the rest runs per Truss (its code, then its
    project checks), spread over ``workers`` processes where the OS can fork, since parsing
    and analysing every model file of a monorepo is the expensive part.
    """
    result = PolicyResult()
    configs: dict[str, bytes] = {}
    memo = memo if memo is not None and memo.enabled else None
    config_paths = sorted(p for p in paths if truss_dirs.is_config_name(p))
    config_keys = {p: memo.key("config", [p], [], [(p, matches.get(p, []), p in marked)]) for p in config_paths} \
        if memo else {}
    known = memo.get(list(config_keys.values())) if memo else {}
    layout_keys = {p: memo.layout_key(p) for p in config_paths} if memo else {}
    layouts = memo.get_layouts([k for k in layout_keys.values() if k]) if memo else {}
    new, new_layouts = {}, {}
    for path in config_paths:
        data = read(path)
        if data is None:
            continue
        key, layout_key = config_keys.get(path), layout_keys.get(path)
        if key in known and layout_key in layouts:
            hits, notes, truss = known[key][0], [], _restored(path, data, layouts[layout_key])
            if truss is False:  # a stored layout of the wrong shape: parse after all
                hits, notes, truss = check_config(path, data, matches.get(path, []), detector, checks=False)
                hits = known[key][0]
        else:
            hits, notes, truss = check_config(path, data, matches.get(path, []), detector, checks=key not in known)
            if key in known:
                hits = known[key][0]  # the checks' hits from the cache; only the layout was wanted
            elif key is not None:
                new[key] = (hits, [])
            if layout_key and not notes:
                stored = truss_dirs.stored_layout(truss) if truss is not None else None
                if truss is None or stored is not None:
                    new_layouts[layout_key] = stored
        result.hits += hits
        result.notes += notes
        if truss is not None:
            result.trusses.append(truss)
            configs[path] = data
    if new:
        memo.put(new)
    if new_layouts:
        memo.put_layouts(new_layouts)
    listed = set(paths)
    for truss in result.trusses:
        req = truss.requirements_file
        if req and req in listed:
            data = read(req)
            if data is not None:
                hits, notes = check_requirements(req, data, matches.get(req, []), detector, truss)
                result.hits += hits
                result.notes += notes
    owners = _owners([p for p in paths if p.endswith((".py", ".sh", ".ipynb"))], result.trusses)
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
    state = _UnitState(paths, read, matches, detector, result.trusses, configs, frozenset(listed), marked,
                       _Under(paths))
    if memo:
        keys = [memo.key(*_inputs(state, unit)) for unit in units]
    else:
        keys = []
    done = memo.get(keys) if keys else {}
    todo = [unit for i, unit in enumerate(units) if not keys or keys[i] not in done]
    jobs = workers if len(todo) >= PARALLEL_MIN_UNITS else 1
    fresh = iter(map_in_workers(_run_unit, state, todo, jobs, chunksize=max(1, len(todo) // (workers * 4))))
    new = {}
    for i in range(len(units)):  # in unit order, cached or not, so the result is the same either way
        if keys and keys[i] in done:
            hits, notes = done[keys[i]]
        else:
            hits, notes = next(fresh)
            if keys:
                new[keys[i]] = (hits, notes)
        result.hits += hits
        result.notes += notes
    if new:
        memo.put(new)
    return result


def _restored(path: str, data: bytes, stored: list | None):
    """The Truss a stored layout describes (None: the config is no Truss), or False if it is malformed."""
    if stored is None:
        return None
    try:
        return truss_dirs.restored_layout(path, data, stored)
    except ValueError:
        return False


def _inputs(state: "_UnitState", unit: tuple[int | None, list[str]]):
    """What one policy unit reads, as ``PolicyMemo.key`` takes it: its config, its code and extra files,
    the paths its project checks list, and its code files' matches."""
    truss_index, code_paths = unit
    matched = [(p, state.matches.get(p, []), p in state.marked) for p in code_paths]
    if truss_index is None:
        return None, code_paths, code_paths, matched
    truss = state.trusses[truss_index]
    extras = [p for p in (truss.join(".truss_ignore"), truss.requirements_file) if p and p in state.listed]
    listed = state.under.paths(truss.root)
    return truss.config_path, [truss.config_path, *code_paths, *extras], listed, matched


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
    under: "_Under | None" = None  # the paths under each Truss root


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
        if path.endswith(".ipynb"):  # its code cells' checks; not part of the project's code (never served)
            file_hits, file_notes = check_notebook(path, data, state.matches.get(path, []), state.detector, truss,
                                                   any_match=path in state.marked)
            hits += file_hits
            notes += file_notes
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
    ctx = ProjectContext(truss, state.under.paths(truss.root), trees, texts, frozenset(quiet))
    hits += [h for c in iter_checks("project") for h in c.func(ctx)]
    return hits, notes


class _Under:
    """The listed paths under a folder, in listing order, by bisecting a sorted copy (a scan of every
    path per Truss was 725k tests on truss-examples)."""

    def __init__(self, paths: list[str]):
        self.order = {p: i for i, p in enumerate(paths)}
        self.sorted = sorted(paths)

    def paths(self, root: str) -> list[str]:
        if not root:
            return sorted(self.order, key=self.order.__getitem__)
        start = bisect.bisect_left(self.sorted, root + "/")
        end = bisect.bisect_left(self.sorted, root + "0")  # "0" sorts right after "/"
        return sorted(self.sorted[start:end], key=self.order.__getitem__)


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
