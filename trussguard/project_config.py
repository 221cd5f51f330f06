"""The project configuration file: ``.trussguard.toml`` or ``[tool.trussguard]`` in pyproject.toml.

Why a separate module from ``config.py``: this one only *reads a file* into a frozen
``ProjectConfig`` (values as the user wrote them, paths made absolute); the CLI merges it under its
flags (flags win) and builds the ``ScanConfig`` the pipeline sees. Keeping file parsing out of the
CLI lets the same rules apply to ``scan``, ``audit`` and the pre-commit hook, and keeps the CLI thin.

Like black and ruff, unknown keys are errors that name the nearest valid key, because a misspelt
``exlude`` that is silently ignored would let a team believe a path is excluded when it is not.
Keys take kebab-case or snake_case (``fail-on`` / ``fail_on``). Exclusions follow gitignore
(pathspec); rule selection uses shell globs (fnmatch), as ``--refs`` does.
"""

from __future__ import annotations

import difflib
import hashlib
import fnmatch
import functools
import sys
from dataclasses import dataclass
from pathlib import Path

from trussguard.config import parse_size
from trussguard.types import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_NAMES = (".trussguard.toml", "pyproject.toml")
KEYS = ("fail-on", "enable", "disable", "rules", "exclude", "allow-values", "max-file-size", "cache-dir",
        "baseline")
SEVERITIES = tuple(str(s) for s in Severity)


class ConfigError(Exception):
    """A bad configuration file; the message is one line and starts with the file's path."""


@dataclass(frozen=True)
class ProjectConfig:
    path: Path | None = None
    fail_on: str | None = None
    enable: tuple[str, ...] = ()
    disable: tuple[str, ...] = ()
    rules: tuple[Path, ...] = ()
    exclude: tuple[str, ...] = ()
    allow_values: tuple[str, ...] = ()
    max_file_size: str | int | None = None
    cache_dir: Path | None = None
    # None: `.trussguard-baseline.json` at the repository root if there is one; False: no baseline
    # (`baseline = false`); a Path: that file (`baseline = "ci/baseline.json"`, relative to this file)
    baseline: Path | bool | None = None

    def rule_enabled(self, rule_id: str) -> bool:
        """Enabled when it matches ``enable`` (or that is empty) and matches no ``disable`` glob."""
        enabled = not self.enable or _matches_any(rule_id, self.enable)
        return enabled and not _matches_any(rule_id, self.disable)

    def excluded(self, rel_path: str) -> bool:
        """gitignore semantics for a POSIX path relative to the config folder (``dir/`` marks a folder).

        As in git, a file below an excluded folder stays excluded even if a later ``!`` pattern names it.
        """
        rel = rel_path.removeprefix("./")
        if not self.exclude or not rel or rel.startswith(("/", "../")):
            return False
        spec = _spec(self.exclude)
        parts = rel.rstrip("/").split("/")
        folders = ["/".join(parts[:i]) + "/" for i in range(1, len(parts))]
        return any(spec.match_file(p) for p in folders) or spec.match_file(rel)

    def allowed(self, value: str) -> bool:
        """Exact match only: a placeholder list must never hide a real key that merely contains one."""
        return hashlib.sha256(value.encode("utf-8")).hexdigest() in self.allowed_hashes()

    def allowed_hashes(self) -> set[str]:
        return {allowed_hash(v) for v in self.allow_values}


def allowed_hash(entry: str) -> str:
    """An ``allow-values`` entry's SHA-256: written as ``sha256:<64 hex>`` (so a value that looks like a
    key need not be written in the configuration, where it would itself be found), or the value itself."""
    digest = entry.removeprefix("sha256:")
    if entry.startswith("sha256:") and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
        return digest
    return hashlib.sha256(entry.encode("utf-8")).hexdigest()


def find_config(start: Path) -> Path | None:
    """The nearest config file from ``start`` upwards, stopping at the repository root (a ``.git``)."""
    start = Path(start).resolve()
    folder = start if start.is_dir() else start.parent
    for current in (folder, *folder.parents):
        candidate = current / CONFIG_NAMES[0]
        if candidate.is_file():
            return candidate
        pyproject = current / CONFIG_NAMES[1]
        if pyproject.is_file() and _table(_read(pyproject), pyproject) is not None:
            return pyproject
        if (current / ".git").exists():
            return None
    return None


def load_config(path: Path) -> ProjectConfig:
    """Parse and validate one config file; every problem is a ``ConfigError``."""
    path = Path(path)
    return _settings(_read(path), path)


def load_config_data(data: bytes, path: Path) -> ProjectConfig:
    """Like ``load_config``, for a file's bytes read elsewhere (a git revision); ``path`` is where the
    file sits in the repository (messages name it, ``rules`` and ``cache-dir`` are relative to it)."""
    path = Path(path)
    return _settings(_parse(data, path), path)


def load_at_revision(root: Path, commit: str, start: Path, explicit: Path | None = None) -> ProjectConfig:
    """The configuration as revision ``commit`` of the repository at ``root`` has it: ``explicit``
    (``--config``) at that revision, else the nearest config file from ``start`` up to the root, read
    through git. Without one at that revision the defaults apply (never the working tree's file).
    An ``explicit`` file outside the repository is not versioned: it is read from disk."""
    from trussguard.sources.at_revision import read_file, relative

    if explicit is not None:
        rel = relative(root, explicit)
        if rel is None:
            return load_config(explicit)
        data = read_file(root, commit, rel)
        return ProjectConfig() if data is None else load_config_data(data, Path(root) / rel)
    folder = relative(root, start if Path(start).is_dir() else Path(start).parent) or ""
    parts = folder.split("/") if folder else []
    for depth in range(len(parts), -1, -1):
        prefix = "/".join(parts[:depth])
        for name in CONFIG_NAMES:
            rel = f"{prefix}/{name}" if prefix else name
            data = read_file(root, commit, rel)
            if data is None:
                continue
            if name == CONFIG_NAMES[0] or _table(_parse(data, Path(root) / rel), Path(root) / rel) is not None:
                return load_config_data(data, Path(root) / rel)
    return ProjectConfig()


def _settings(data: dict, path: Path) -> ProjectConfig:
    table, where = _table(data, path), "[tool.trussguard]"
    if table is None:
        table, where = ({} if path.name == CONFIG_NAMES[1] else data), "the top level"
    settings = {}
    for key, value in table.items():
        canonical = key.replace("_", "-")
        if canonical not in KEYS:
            raise ConfigError(f"{path}: unknown key {key!r} in {where}; {_suggest(canonical)}")
        if canonical in settings:
            raise ConfigError(f"{path}: {key!r} is given twice (as kebab-case and snake_case)")
        settings[canonical] = value
    return _build(path, settings)


def load_nearest(start: Path) -> ProjectConfig:
    found = find_config(start)
    return load_config(found) if found else ProjectConfig()


def _read(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return _parse(data, path)


def _parse(data: bytes, path: Path) -> dict:
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def _table(data: dict, path: Path) -> dict | None:
    """The ``[tool.trussguard]`` table, or None; in .trussguard.toml it must not sit beside top-level keys."""
    tool = data.get("tool")
    table = tool.get("trussguard") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.trussguard] must be a table")
    if table is not None and path.name != CONFIG_NAMES[1] and len(data) > 1:
        raise ConfigError(f"{path}: put settings at the top level or under [tool.trussguard], not both")
    return table


def _suggest(key: str) -> str:
    close = difflib.get_close_matches(key, KEYS, n=1)
    return f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(KEYS)}"


def _build(path: Path, settings: dict) -> ProjectConfig:
    folder = path.resolve().parent
    fail_on = settings.get("fail-on")
    if fail_on is not None and (not isinstance(fail_on, str) or fail_on.lower() not in SEVERITIES):
        raise ConfigError(f"{path}: 'fail-on' must be one of {', '.join(SEVERITIES)}, got {fail_on!r}")
    size = settings.get("max-file-size")
    if size is not None:
        try:
            if isinstance(size, bool) or not isinstance(size, (str, int)):
                raise ValueError(f"got {type(size).__name__}")
            parse_size(str(size))
        except ValueError as exc:
            raise ConfigError(f"{path}: 'max-file-size' must be a size such as \"10MiB\" or bytes ({exc})") from None
    lists = {key: _strings(path, key, settings.get(key, [])) for key in
             ("enable", "disable", "rules", "exclude", "allow-values")}
    try:
        _spec(lists["exclude"])
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: 'exclude' has an invalid pattern: {exc}") from None
    rules = tuple((folder / Path(r).expanduser()).resolve() for r in lists["rules"])
    for rule_path in rules:
        if not rule_path.exists():
            raise ConfigError(f"{path}: 'rules' entry {str(rule_path)!r} does not exist")
    cache = settings.get("cache-dir")
    if cache is not None and not isinstance(cache, str):
        raise ConfigError(f"{path}: 'cache-dir' must be a string, got {type(cache).__name__}")
    return ProjectConfig(
        path=path.resolve(), fail_on=fail_on.lower() if fail_on else None, enable=lists["enable"],
        disable=lists["disable"], rules=rules, exclude=lists["exclude"], allow_values=lists["allow-values"],
        max_file_size=size, cache_dir=(folder / Path(cache).expanduser()).resolve() if cache else None,
        baseline=_baseline(path, folder, settings.get("baseline")),
    )


def _baseline(path: Path, folder: Path, value: object) -> Path | bool | None:
    """``baseline = "FILE"`` moves the baseline (relative to the configuration file), ``false`` turns
    the default one off; ``true`` is the default (the repository root's ``.trussguard-baseline.json``)."""
    if value is None or value is True:
        return None
    if value is False:
        return False
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{path}: 'baseline' must be a file name or false, got {value!r}")
    return (folder / Path(value).expanduser()).resolve()


def _strings(path: Path, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: {key!r} must be a list of strings, got {value!r}")
    return tuple(value)


def _matches_any(name: str, patterns: tuple[str, ...]) -> bool:
    """Shell globs, case-insensitive: rule ids are lowercase, check codes uppercase (``tg1*`` = ``TG1*``)."""
    return any(fnmatch.fnmatchcase(name.lower(), pattern.lower()) for pattern in patterns)


@functools.lru_cache(maxsize=64)
def _spec(patterns: tuple[str, ...]):
    import pathspec  # here: 12 ms of import that a run without `exclude` patterns (most) never needs

    return pathspec.GitIgnoreSpec.from_lines(patterns)
