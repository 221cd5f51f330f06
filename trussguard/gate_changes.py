"""What a change does to its own gate: the configuration, the baseline and inline markers it changes.

Why: a pull request that adds ``.trussguard.toml`` with ``exclude = ["*"]``, leaves the credential
rules out of ``enable`` or adds baseline entries would otherwise switch off the very scan that gates
it. So in pull-request mode (``--trusted-rev REV``, implied by ``audit --range BASE..HEAD``, and the
Action on pull requests) the configuration and the baseline are read from the trusted revision
through git, and every change the pull request makes to them is listed here:

- a change that *widens* what goes unscanned or unreported (more ``exclude`` patterns, rules left
  out of ``enable`` or added to ``disable``, custom rules dropped, added or edited (a custom rule can
  take a built-in rule's place on a secret), new ``allow-values``, a higher ``fail-on``, another
  ``max-file-size`` (it decides which files are too large to scan) or ``cache-dir``, new
  baseline entries, or a configuration or baseline that no longer loads) fails the gate unless
  ``--allow-config-changes`` (Action input ``allow-config-changes: true``) accepts it, and then the
  head's settings apply;
- a change that narrows it, and each inline suppression marker on an added line, is listed only.
  Markers do not fail the gate by themselves: each one sits on a line of the diff the reviewer
  reads, next to what it suppresses, whereas a configuration line hides findings anywhere.

Values from ``allow-values`` are counted, never printed (one could be a real secret).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, replace
from pathlib import Path

from trussguard.baseline import Baseline, BaselineError, load, load_at_revision
from trussguard.config import parse_size
from trussguard.project_config import ConfigError, ProjectConfig, load_config, load_nearest
from trussguard.project_config import load_at_revision as config_at
from trussguard.sources.at_revision import merge_base, relative
from trussguard.sources.history_git import GIT_MISSING, GitError, git, repository_root, resolve
from trussguard.types import Severity

MARKER = re.compile(rb"trussguard:[ \t]*allow|pragma:[ \t]*allowlist|gitleaks:allow", re.IGNORECASE)
HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
MAX_LISTED = 10  # places named in one line; the JSON report keeps them all
MAX_UNTRACKED_BYTES = 10 * 1024 * 1024  # an untracked file larger than this is not searched for markers


@dataclass(frozen=True)
class GateChange:
    """One change to the gate's settings: ``kind`` config | rules | baseline | markers; ``widens`` when
    it lets more through; ``blocks`` when it widens and was not allowed (the gate fails: exit 1)."""

    kind: str
    message: str
    widens: bool = False
    blocks: bool = False
    places: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "widens": self.widens, "blocks": self.blocks,
                "places": list(self.places)}


@dataclass(frozen=True)
class Gate:
    """The settings to apply (the trusted ones, or the head's when allowed) and what the change did."""

    project: ProjectConfig
    baseline: Baseline | None
    changes: tuple[GateChange, ...]


def resolve_gate(start: Path, config_file: Path | None, baseline_path: Path | None, trusted_rev: str,
                 head_rev: str | None = None, allow: bool = False) -> Gate:
    """Settings from ``trusted_rev`` and the changes to them up to ``head_rev`` (None: the working tree).

    The changes are measured from the merge base of the two, so what the base branch changed since
    the pull request branched off is not counted as the pull request's. Raises ConfigError or
    BaselineError when the trusted settings (or, when allowed, the head's) do not load, GitError for
    an unknown revision."""
    root = repository_root(start)
    trusted = resolve(root, trusted_rev)
    head = resolve(root, head_rev) if head_rev else None
    since = merge_base(root, trusted, head or "HEAD") or trusted
    base_config = config_at(root, trusted, start, config_file)
    since_config = base_config if since == trusted else _config_or(base_config, root, since, start, config_file)
    base_baseline = since_baseline = None
    if baseline_path is not None:
        base_baseline = load_at_revision(root, trusted, baseline_path)
        since_baseline = base_baseline if since == trusted else load_at_revision(root, since, baseline_path)
    changes: list[GateChange] = []
    try:
        head_config = config_at(root, head, start, config_file) if head else \
            load_config(config_file) if config_file is not None else load_nearest(start)
    except ConfigError as exc:
        if allow:
            raise
        head_config = None
        changes.append(GateChange("config", f"the changed configuration does not load ({exc}); fix it",
                                  widens=True))
    if head_config is not None:
        changes += compare_configs(since_config, head_config, root)
        changes += changed_rule_files(root, since, head, since_config.rules + head_config.rules)
    head_baseline = None
    if baseline_path is not None:
        try:
            head_baseline = _baseline_at(root, head, baseline_path)
        except BaselineError as exc:
            if allow:
                raise
            changes.append(GateChange("baseline", f"the changed baseline does not load ({exc}); fix it",
                                      widens=True))
        else:
            changes += compare_baselines(since_baseline, head_baseline)
    markers = added_markers(root, since, head, relative(root, start if start.is_dir() else start.parent) or "")
    changes += [markers] if markers else []
    changes = [replace(c, blocks=c.widens and not allow) for c in changes]
    if allow:
        return Gate(head_config, head_baseline, tuple(changes))
    return Gate(base_config, base_baseline, tuple(changes))


def _config_or(fallback: ProjectConfig, root: Path, commit: str, start: Path, config_file: Path | None):
    """The configuration at the merge base, or the base's when that one no longer loads here (say,
    its custom rules folder was deleted since): it is only the reference the changes are measured from."""
    try:
        return config_at(root, commit, start, config_file)
    except ConfigError:
        return fallback


def _baseline_at(root: Path, head: str | None, path: Path) -> Baseline:
    return load(path) if head is None else load_at_revision(root, head, path)


# ----------------------------------------------------------------------------- configuration


def compare_configs(old: ProjectConfig, new: ProjectConfig, root: Path) -> list[GateChange]:
    """Key by key, old -> new; ``widens`` marks what lets more through."""
    out: list[GateChange] = []

    def add(message: str, widens: bool) -> None:
        out.append(GateChange("config", message, widens=widens))

    if old.path != new.path:
        where = _name(new.path or old.path, root)
        add(f"{'adds' if old.path is None else 'removes' if new.path is None else 'moves'} the configuration "
            f"file `{where}`", False)
    added, removed = _delta(old.exclude, new.exclude)
    wider = [p for p in added if not p.startswith("!")] + [p for p in removed if p.startswith("!")]
    narrower = [p for p in added if p.startswith("!")] + [p for p in removed if not p.startswith("!")]
    if wider:
        add(f"widens `exclude` by {_quoted(wider)}", True)
    if narrower:
        add(f"narrows `exclude` ({_quoted(narrower, 'removes' if removed else 'adds')})", False)
    added, removed = _delta(old.disable, new.disable)
    if added:
        add(f"disables rules {_quoted(added)}", True)
    if removed:
        add(f"enables again rules {_quoted(removed)} (removed from `disable`)", False)
    added, removed = _delta(old.enable, new.enable)
    if new.enable and not old.enable:
        add(f"restricts `enable` to {_quoted(new.enable)}: every other rule and check is turned off", True)
    elif old.enable and not new.enable:
        add("drops the `enable` list: every rule and check is on", False)
    else:
        if removed:
            add(f"leaves {_quoted(removed)} out of `enable`", True)
        if added:
            add(f"adds {_quoted(added)} to `enable`", False)
    added, removed = _delta(tuple(map(str, old.rules)), tuple(map(str, new.rules)))
    if removed:
        add(f"drops custom rules {_quoted([_name(Path(r), root) for r in removed])}", True)
    if added:  # a specific rule ranks before a generic one: a new one can take a built-in's place on a secret
        add(f"adds custom rules {_quoted([_name(Path(r), root) for r in added])} (a custom rule can replace a "
            "built-in rule's finding on the same secret)", True)
    if old.baseline != new.baseline:  # where the acknowledged findings come from (None: the root's default file)
        before, after = _baseline_name(old.baseline, root), _baseline_name(new.baseline, root)
        add(f"changes `baseline` from {before} to {after}", new.baseline is not False)
    added, removed = _delta(old.allow_values, new.allow_values)
    if added:
        add(f"allows {len(added)} more exact value(s) in `allow-values` (not shown: a value could be a secret)",
            True)
    if removed:
        add(f"removes {len(removed)} value(s) from `allow-values`", False)
    before, after = Severity.parse(old.fail_on or "high"), Severity.parse(new.fail_on or "high")
    if before != after:
        add(f"{'raises' if after > before else 'lowers'} `fail-on` from {before} to {after}", after > before)
    before_size, after_size = _size(old.max_file_size), _size(new.max_file_size)
    if before_size != after_size:  # either way it changes which files are refused as too large: reviewed
        add(f"{'lowers' if after_size < before_size else 'raises'} `max-file-size` from {before_size} to "
            f"{after_size} bytes (it decides which files are too large to scan)", True)
    if old.cache_dir != new.cache_dir:  # a cache the change points at is not one to trust
        add("changes `cache-dir` (cached results decide what is not scanned again)", True)
    return out


def changed_rule_files(root: Path, since: str, head: str | None, rules: tuple[Path, ...]) -> list[GateChange]:
    """Custom rule files the change adds, edits or deletes: a rule can be weakened (a pattern that
    never matches) as surely as removed, and a new specific rule takes precedence over a built-in one
    on the same secret (with its own, perhaps low, severity), so any change counts as widening."""
    paths = sorted({rel for r in rules if (rel := relative(root, r))})
    if not paths:
        return []
    quiet = ["-c", "core.quotePath=false"]
    out = git(root, *quiet, "diff", "--name-only", "--no-renames", since, *([head] if head else []), "--",
              *paths).decode("utf-8", "replace").splitlines()
    if head is None:
        out += git(root, *quiet, "ls-files", "--others", "--exclude-standard", "--", *paths).decode(
            "utf-8", "replace").splitlines()
    if not out:
        return []
    return [GateChange("rules", f"changes {len(out)} custom rule file(s): {_quoted(out)}", widens=True,
                       places=tuple(out))]


def _delta(old: tuple, new: tuple) -> tuple[list, list]:
    return [x for x in new if x not in old], [x for x in old if x not in new]


def _quoted(items, verb: str = "") -> str:
    items = list(items)
    shown = ", ".join(f"`{i}`" for i in items[:MAX_LISTED]) + (f" and {len(items) - MAX_LISTED} more"
                                                               if len(items) > MAX_LISTED else "")
    return f"{verb} {shown}" if verb else shown


def _name(path: Path, root: Path) -> str:
    return relative(root, path) or str(path)


def _size(value) -> int:
    return parse_size(str(value if value is not None else "10MiB"))


# ----------------------------------------------------------------------------- baseline


def compare_baselines(old: Baseline | None, new: Baseline | None) -> list[GateChange]:
    """Entries added (each hides a finding or stops a rotated secret from failing: widening) and removed."""
    import json

    def keyed(b: Baseline | None) -> dict[str, dict]:
        return {json.dumps(e, sort_keys=True): e for e in (b.entries if b else [])}

    before, after = keyed(old), keyed(new)
    added = [e for k, e in after.items() if k not in before]
    removed = [k for k in before if k not in after]
    out = []
    if added:
        places = tuple(sorted({e.get("path") or (e.get("detect_secrets") or {}).get("filename")
                               or e.get("advisory_id") for e in added}))
        out.append(GateChange("baseline", f"adds {len(added)} baseline entr{'y' if len(added) == 1 else 'ies'} "
                                          f"({_quoted(places)})", widens=True, places=places))
    if removed:
        out.append(GateChange("baseline", f"removes {len(removed)} baseline entr"
                                          f"{'y' if len(removed) == 1 else 'ies'}"))
    return out


# ----------------------------------------------------------------------------- inline markers


def added_markers(root: Path, since: str, head: str | None, under: str = "") -> GateChange | None:
    """Suppression markers on the lines the change adds (``git diff``; with no ``head``, the working
    tree's tracked changes plus its untracked files)."""
    spec = ["--", under] if under else []
    places = _markers_in_diff(root, ["-c", "core.quotePath=false", "diff", "--no-color", "--no-ext-diff",
                                     "--no-textconv", "--no-renames", "-U0", since, *([head] if head else []), *spec])
    if head is None:
        places += _markers_in_untracked(root, spec)
    if not places:
        return None
    n = len(places)
    return GateChange("markers", f"this change adds {n} suppression marker{'s' if n != 1 else ''} "
                                 f"({', '.join(places[:MAX_LISTED])}{', ...' if n > MAX_LISTED else ''})",
                      places=tuple(places))


def _markers_in_diff(root: Path, args: list[str]) -> list[str]:
    """Streamed, one line at a time: a pull request adding a large file costs its longest line in memory."""
    places: list[str] = []
    path, line, in_hunk = None, 0, False
    try:
        proc = subprocess.Popen(["git", "-C", str(root), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise GitError(GIT_MISSING) from None
    with proc:
        for raw in proc.stdout:
            if raw.startswith(b"diff --git "):
                path, in_hunk = None, False
            elif not in_hunk and raw.startswith(b"+++ "):
                name = raw[4:].rstrip(b"\n").decode("utf-8", "replace").strip('"')  # quoted: keeps its escapes
                path = name[2:] if name.startswith("b/") else None
            elif raw.startswith(b"@@"):
                hunk = HUNK.match(raw)
                in_hunk, line = hunk is not None, int(hunk.group(1)) if hunk else 0
            elif in_hunk and raw.startswith(b"+"):
                if path is not None and MARKER.search(raw):
                    places.append(f"{path}:{line}")
                line += 1
        error = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.returncode != 0:
        raise GitError(f"git diff: {error.splitlines()[0] if error else 'failed'}")
    return places


def _markers_in_untracked(root: Path, spec: list[str]) -> list[str]:
    names = git(root, "-c", "core.quotePath=false", "ls-files", "-z", "--others", "--exclude-standard", *spec)
    places = []
    for raw in filter(None, names.split(b"\0")):
        name = raw.decode("utf-8", "replace")
        path = root / name
        try:
            if not path.is_file() or path.stat().st_size > MAX_UNTRACKED_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        places += [f"{name}:{n}" for n, text in enumerate(data.split(b"\n"), start=1) if MARKER.search(text)]
    return places


def _baseline_name(value, root: Path) -> str:
    if value is None or value is True:
        return "the default (`.trussguard-baseline.json` at the repository root)"
    if value is False:
        return "none (`baseline = false`)"
    return f"`{_name(Path(value), root)}`"

