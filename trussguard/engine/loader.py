"""Find, parse and validate rule files; cache the parsed rule set on disk.

The built-in rules are the top-level ``rules/`` folder of the source tree, shipped in the
wheel as ``trussguard/rules``. Start-up time matters (a pre-commit hook runs on every
commit), so the parsed rules are cached as JSON keyed by a hash of every rule file's bytes;
a broken or unwritable cache is ignored, never fatal.

A cache must never change a result: a file replaced by ``[]`` once made every scan run zero
rules, silently, with exit 0. So the cached document carries the rule files' digest, its rule
count and a SHA-256 of its rules, and is used only if all three agree and every cached rule id
appears in the rule files; anything else is discarded, the files are parsed again and the
rule set says so in ``notes`` (shown with the report). The checksum catches corruption and
tools that rewrite files; someone who can write the cache folder can also recompute it, so it
is no defence against a local attacker (who could as well edit the installed rules).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from trussguard import __version__
from trussguard.engine.schema import Problem, Rule, parse_rule_file, rule_from_dict

try:
    _YAML_LOADER = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _YAML_LOADER = yaml.SafeLoader


class RuleLoadError(Exception):
    """The rule set has problems; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in rule files, first: {problems[0]}")


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    digest: str  # hash of the rule files' bytes and the tool version: keys every cache
    notes: tuple[str, ...] = ()  # e.g. a rule cache that failed its checks and was rebuilt

    def by_id(self) -> dict[str, Rule]:
        return {r.id: r for r in self.rules}


def builtin_rules_dir() -> Path:
    """The packaged rules (wheel install) or the checkout's top-level ``rules/`` (editable)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "rules", here.parent / "rules"):
        if candidate.is_dir():
            return candidate
    raise RuleLoadError([Problem(str(here / "rules"), "built-in rules not found; reinstall trussguard")])


def rule_files(dirs: list[Path]) -> list[Path]:
    """Every ``*.yaml``/``*.yml`` in the given folders (or the files themselves), sorted."""
    files: list[Path] = []
    for d in dirs:
        if d.is_file():
            files.append(d)
        elif d.is_dir():
            files.extend(sorted(p for p in d.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file()))
        else:
            raise RuleLoadError([Problem(str(d), "no such rule file or folder")])
    return files


def parse_files(files: list[Path]) -> tuple[list[Rule], list[Problem]]:
    """Parses and validates the files, including the cross-file unique-ID check."""
    rules: list[Rule] = []
    problems: list[Problem] = []
    for path in files:
        try:
            doc = yaml.load(path.read_bytes(), Loader=_YAML_LOADER)
        except (OSError, yaml.YAMLError) as exc:
            problems.append(Problem(str(path), f"cannot read YAML: {' '.join(str(exc).split())}"))
            continue
        file_rules, file_problems = parse_rule_file(doc, path.name)
        rules.extend(file_rules)
        problems.extend(file_problems)
    seen: dict[str, str] = {}
    for rule in rules:
        if rule.id in seen:
            problems.append(Problem(f"{rule.source}:{rule.id}", f"duplicate rule id (also in {seen[rule.id]})"))
        seen.setdefault(rule.id, rule.source)
    return rules, problems


# The built-in rules as the loader parses them, shipped beside them (``python -m trussguard.docs_gen --write``
# writes it; a test fails when it is stale): a cold start (a CI runner, `--no-cache`) reads one JSON file
# instead of parsing 185 YAML files and compiling 324 patterns to validate them (0.17 s). It passes the
# same checks as the rule cache, against the rule files' bytes, or it is not used.
SHIPPED = "parsed-rules.json"


def rules_digest(files: list[Path]) -> tuple[str, bytes]:
    """(the digest that keys every cache, the files' bytes joined for the id checks)."""
    hasher = hashlib.sha256(__version__.encode())
    contents = []
    for path in files:
        data = path.read_bytes()
        contents.append(data)
        hasher.update(path.name.encode() + b"\0" + data + b"\0")
    return hasher.hexdigest(), b"\0".join(contents)


def load_rules(extra_dirs: list[Path] | None = None, include_builtin: bool = True,
               cache_dir: Path | None = None) -> RuleSet:
    """Loads the rule set; raises RuleLoadError listing every problem if any file is invalid."""
    dirs = ([builtin_rules_dir()] if include_builtin else []) + list(extra_dirs or [])
    files = rule_files(dirs)
    digest, sources = rules_digest(files)
    if include_builtin and not extra_dirs:
        shipped = _read_shipped(str(builtin_rules_dir() / SHIPPED), digest, sources)
        if shipped is not None:
            return RuleSet(shipped, digest)  # a stale or damaged copy is simply not used
    cached, problem = _read_cache(cache_dir, digest, sources)
    if cached is not None:
        return RuleSet(cached, digest)
    rules, problems = parse_files(files)
    if problems:
        raise RuleLoadError(problems)
    _write_cache(cache_dir, digest, rules)
    notes = (f"rule cache {problem}; discarded, the rule files were parsed again",) if problem else ()
    return RuleSet(tuple(rules), digest, notes)


def default_cache_dir() -> Path | None:
    """The user cache folder, or None when caching is off (``TRUSSGUARD_NO_CACHE=1``)."""
    if os.environ.get("TRUSSGUARD_NO_CACHE"):
        return None
    explicit = os.environ.get("TRUSSGUARD_CACHE_DIR")
    if explicit:
        return Path(explicit)
    import platformdirs

    return Path(platformdirs.user_cache_dir("trussguard"))


CACHE_VERSION = 3  # the name of a cache file says its layout: an older layout is never read


def _cache_path(cache_dir: Path, digest: str) -> Path:
    return cache_dir / f"rules-v{CACHE_VERSION}-{digest[:32]}.json"


def _rules_sha256(rules: list) -> str:
    return hashlib.sha256(json.dumps(rules, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


# Rule ids as rule files declare them. ``- id: NAME`` opens a list item: surely a rule (the built-in
# files all open their rules so). ``id: NAME`` anywhere may be a rule's id (a file written with
# sorted keys) or something else (a token template's part). The cached rules must include every
# sure id and hold no id the files do not mention: a forged cache that keeps a consistent subset of
# the built-in rules (its own count and checksum agreeing) is refused. For a custom file whose items
# open with another key, only an empty cache is refused.
_SURE_ID = re.compile(rb"^[ \t]*-[ \t]+id:[ \t]*['\"]?([^\s'\"#]+)", re.M)
_ANY_ID = re.compile(rb"^[ \t]*(?:-[ \t]+)?id:[ \t]*['\"]?([^\s'\"#]+)", re.M)


def _read_cache(cache_dir: Path | None, digest: str, sources: bytes) -> tuple[tuple[Rule, ...] | None, str | None]:
    """(rules, None) from a cache that passes every check; (None, why) for one that does not;
    (None, None) when there is no cache to read."""
    if cache_dir is None:
        return None, None
    return _read_doc(_cache_path(cache_dir, digest), digest, sources)


@functools.lru_cache(maxsize=4)
def _read_shipped(path: str, digest: str, sources: bytes) -> tuple[Rule, ...] | None:
    """The shipped parse, read once per process for the same rule files (the scan and the redaction of
    its notes both load the rule set: 0.05 s of a 0.3 s warm re-scan went to reading it twice)."""
    return _read_doc(Path(path), digest, sources)[0]


def _read_doc(path: Path, digest: str, sources: bytes) -> tuple[tuple[Rule, ...] | None, str | None]:
    """``_read_cache`` for one file: the user's rule cache or the shipped parse."""
    try:
        text = path.read_bytes()
    except OSError:
        return None, None  # no cache yet (or unreadable): nothing to report
    try:
        doc = json.loads(text.decode("utf-8"))
        if type(doc) is not dict or set(doc) != {"digest", "count", "sha256", "rules"}:
            return None, f"{path.name} is not a rule cache"
        rules = doc["rules"]
        if doc["digest"] != digest:
            return None, f"{path.name} was made for other rule files"
        if type(rules) is not list or doc["count"] != len(rules) or doc["sha256"] != _rules_sha256(rules):
            return None, f"{path.name} failed its checksum (corrupt or edited)"
        parsed = tuple(rule_from_dict(d) for d in rules)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None, f"{path.name} could not be read back"
    ids = {r.id.encode() for r in parsed}
    if len(ids) != len(parsed) or (not parsed and b"id:" in sources) \
            or not set(_SURE_ID.findall(sources)) <= ids <= set(_ANY_ID.findall(sources)):
        return None, f"{path.name} does not hold the rules of the rule files"
    return parsed, None


def parsed_document(digest: str, rules: list[Rule]) -> dict:
    """The rule cache's document (also the shipped parse's): the rules and what proves them."""
    data = [r.to_dict() for r in rules]
    return {"digest": digest, "count": len(data), "sha256": _rules_sha256(data), "rules": data}


def _write_cache(cache_dir: Path | None, digest: str, rules: list[Rule]) -> None:
    if cache_dir is None:
        return
    doc = parsed_document(digest, rules)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".rules-{digest[:32]}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(doc), "utf-8")
        os.replace(tmp, _cache_path(cache_dir, digest))
    except OSError:
        pass  # a cache that cannot be written only costs start-up time
