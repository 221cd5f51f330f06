"""The rule-file schema: parse a rules/*.yaml document into frozen ``Rule``s and list problems.

Parsing never raises on bad content: it returns the rules it could build and a list of
``Problem``s, so ``trussguard rules check`` can report every mistake in a rule pack at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from trussguard.engine import checksums, rotation_templates
from trussguard.engine import tokens as token_templates
from trussguard.engine.regex import compile_pattern
from trussguard.engine.regex import error as regex_error
from trussguard.engine.validator_schema import Validator, parse_validator, validator_from_dict
from trussguard.types import Severity

RULE_ID = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")
SECRET_NAME = re.compile(r"^[-._a-zA-Z0-9]+$")
DETECTORS = ("regex", "detect-secrets")
FILTERS = ("secret-name", "not-code", "literal-value", "value-shape")

_RULE_KEYS = {
    "id", "name", "description", "severity", "keywords", "pattern", "min_entropy", "placeholders",
    "filters", "window", "generic", "detector", "plugin", "tokens", "examples", "negative_examples",
    "rotation", "references", "checksum", "claims", "public_values", "validator",
}
_REQUIRED = ("id", "name", "description", "severity", "examples", "negative_examples", "rotation",
             "references")
_FILE_KEYS = {"schema_version", "provider", "rules"}
_ROTATION_KEYS = {"revoke_url", "steps", "truss_secret_name", "grants", "template"}
_WINDOW_KEYS = {"before", "after", "multiline"}


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a rule file; ``where`` is ``file`` or ``file:rule-id``."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass(frozen=True)
class Example:
    text: str
    secret: str | None = None  # expected secret (may reference tokens); default: the first token
    path: str = "example.txt"
    why: str = ""


@dataclass(frozen=True)
class Rotation:
    revoke_url: str
    steps: tuple[str, ...]
    truss_secret_name: str
    grants: str = ""


@dataclass(frozen=True)
class Window:
    """How far around a keyword hit the rule's regex looks (bytes), and whether it crosses lines."""

    before: int = 256
    after: int = 1024
    multiline: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    name: str
    description: str
    severity: Severity
    keywords: tuple[str, ...]
    pattern: str | None
    provider: str
    source: str  # the file it came from
    min_entropy: float | None = None
    placeholders: tuple[str, ...] = ()
    # Values of this provider's format family (RE2, searched in the value): a generic rule does not report
    # one, because this rule, which knows the exact format, already judged it (a malformed token is a sample).
    claims: tuple[str, ...] = ()
    # SHA-256 of values published on purpose (a search-only key in a tool's source): never reported. Hashes,
    # so the rule files hold no credential-shaped text; each comes with a `why` in the rule file.
    public_values: frozenset[str] = frozenset()
    filters: tuple[str, ...] = ()
    window: Window = Window()
    generic: bool = False  # yields to a specific rule that matched the same secret
    detector: str = "regex"
    plugin: str | None = None
    checksum: str | None = None  # an offline format check (``checksums.KINDS``): raises confidence, never drops
    tokens: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    examples: tuple[Example, ...] = ()
    negative_examples: tuple[Example, ...] = ()
    rotation: Rotation | None = None
    references: tuple[str, ...] = ()
    validator: Validator | None = None

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain data (used by ``rules list --format json`` and the rule cache)."""
        return {
            "id": self.id, "name": self.name, "description": self.description,
            "severity": str(self.severity), "keywords": list(self.keywords), "pattern": self.pattern,
            "provider": self.provider, "source": self.source, "min_entropy": self.min_entropy,
            "placeholders": list(self.placeholders), "claims": list(self.claims),
            "public_values": sorted(self.public_values), "filters": list(self.filters),
            "window": {"before": self.window.before, "after": self.window.after,
                       "multiline": self.window.multiline},
            "generic": self.generic, "detector": self.detector, "plugin": self.plugin,
            "checksum": self.checksum, "tokens": dict(self.tokens),
            "examples": [_example_dict(e) for e in self.examples],
            "negative_examples": [_example_dict(e) for e in self.negative_examples],
            "rotation": None if self.rotation is None else {
                "revoke_url": self.rotation.revoke_url, "steps": list(self.rotation.steps),
                "truss_secret_name": self.rotation.truss_secret_name, "grants": self.rotation.grants},
            "references": list(self.references),
            "validator": None if self.validator is None else self.validator.to_dict(),
        }


def _example_dict(e: Example) -> dict[str, Any]:
    return {"text": e.text, "secret": e.secret, "path": e.path, "why": e.why}


def rule_from_dict(d: dict[str, Any]) -> Rule:
    """Rebuilds a rule from ``Rule.to_dict`` output (trusted: the rule cache)."""
    rot = d["rotation"]
    return Rule(
        id=d["id"], name=d["name"], description=d["description"],
        severity=Severity.parse(d["severity"]), keywords=tuple(d["keywords"]), pattern=d["pattern"],
        provider=d["provider"], source=d["source"], min_entropy=d["min_entropy"],
        placeholders=tuple(d["placeholders"]), claims=tuple(d["claims"]),
        public_values=frozenset(d["public_values"]), filters=tuple(d["filters"]), window=Window(**d["window"]),
        generic=d["generic"], detector=d["detector"], plugin=d["plugin"], checksum=d["checksum"],
        tokens=dict(d["tokens"]),
        examples=tuple(Example(**e) for e in d["examples"]),
        negative_examples=tuple(Example(**e) for e in d["negative_examples"]),
        rotation=None if rot is None else Rotation(
            rot["revoke_url"], tuple(rot["steps"]), rot["truss_secret_name"], rot.get("grants", "")),
        references=tuple(d["references"]),
        validator=None if d.get("validator") is None else validator_from_dict(d["validator"]),
    )


def parse_rule_file(doc: Any, source: str) -> tuple[list[Rule], list[Problem]]:
    """Turns one parsed YAML document into rules, collecting every problem found."""
    problems: list[Problem] = []
    if not isinstance(doc, dict):
        return [], [Problem(source, "a rule file must be a mapping with `rules:`")]
    for key in sorted(set(doc) - _FILE_KEYS):
        problems.append(Problem(source, f"unknown top-level key `{key}`"))
    if doc.get("schema_version") != 1:
        problems.append(Problem(source, "`schema_version: 1` is required"))
    provider = doc.get("provider")
    if not isinstance(provider, str) or not RULE_ID.match(provider):
        problems.append(Problem(source, "`provider` must be a lowercase identifier"))
        provider = "unknown"
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        return [], problems + [Problem(source, "`rules` must be a non-empty list")]
    rules = []
    for index, raw in enumerate(raw_rules):
        rule, rule_problems = _parse_rule(raw, provider, source, index)
        problems.extend(rule_problems)
        if rule is not None:
            rules.append(rule)
    return rules, problems


def _parse_rule(raw: Any, provider: str, source: str, index: int) -> tuple[Rule | None, list[Problem]]:
    if not isinstance(raw, dict):
        return None, [Problem(f"{source}:#{index + 1}", "a rule must be a mapping")]
    rid = raw.get("id")
    where = f"{source}:{rid if isinstance(rid, str) else '#' + str(index + 1)}"
    problems: list[Problem] = []

    def bad(message: str) -> None:
        problems.append(Problem(where, message))

    for key in sorted(set(raw) - _RULE_KEYS):
        bad(f"unknown key `{key}`")
    missing = [key for key in _REQUIRED if key not in raw]
    for key in missing:
        bad(f"missing `{key}`")
    if missing:
        return None, problems
    if not isinstance(rid, str) or not RULE_ID.match(rid) or len(rid) > 64:
        bad("`id` must match [a-z0-9]+([.-][a-z0-9]+)* and be at most 64 characters")
    for key in ("name", "description"):
        if not isinstance(raw[key], str) or not raw[key].strip():
            bad(f"`{key}` must be a non-empty string")
    try:
        severity = Severity.parse(str(raw["severity"]))
    except ValueError as exc:
        bad(str(exc))
        severity = Severity.HIGH
    matching = _parse_matching(raw, bad)
    toks = _parse_tokens(raw.get("tokens", {}), bad)
    examples = _parse_examples(raw["examples"], "examples", toks, bad, need_why=False)
    negatives = _parse_examples(raw["negative_examples"], "negative_examples", toks, bad, need_why=True)
    rotation = _parse_rotation(raw["rotation"], bad, str(raw["name"]).strip())
    references = _string_list(raw["references"], "references", bad)
    if not references:
        bad("`references` must list at least one URL")
    for ref in references:
        if not ref.startswith("https://"):
            bad(f"reference {ref!r} must be an https URL")
    validator = parse_validator(raw["validator"], bad) if "validator" in raw else None
    if problems:
        return None, problems
    return Rule(
        id=rid, name=raw["name"].strip(), description=" ".join(raw["description"].split()),
        severity=severity, provider=provider, source=source, tokens=toks, examples=tuple(examples),
        negative_examples=tuple(negatives), rotation=rotation, references=tuple(references),
        validator=validator, **matching,
    ), []


def _parse_matching(raw: dict[str, Any], bad) -> dict[str, Any]:
    """The fields that decide what matches: detector, keywords, pattern and its filters."""
    detector = raw.get("detector", "regex")
    if detector not in DETECTORS:
        bad(f"`detector` must be one of {', '.join(DETECTORS)}")
    keywords = raw.get("keywords", [] if detector == "detect-secrets" else None)
    if not isinstance(keywords, list) or not all(isinstance(k, str) and k for k in keywords) \
            or (detector == "regex" and not keywords):
        bad("`keywords` must be a non-empty list of strings")
        keywords = []
    pattern = raw.get("pattern")
    if detector == "regex":
        _check_pattern(pattern, bad)
    elif not isinstance(raw.get("plugin"), str):
        bad("a detect-secrets rule needs `plugin` (a detect-secrets plugin class name)")
    min_entropy = raw.get("min_entropy")
    if min_entropy is not None and not (isinstance(min_entropy, (int, float)) and 0 <= min_entropy <= 8):
        bad("`min_entropy` must be a number between 0 and 8 (bits per character)")
    placeholders = _patterns(raw, "placeholders", "placeholder", bad)
    claims = _patterns(raw, "claims", "claims", bad)
    if claims and raw.get("generic"):
        bad("a generic rule cannot have `claims` (claims keep generic rules off a provider's values)")
    public_values = _public_values(raw.get("public_values", []), bad)
    filters = _string_list(raw.get("filters", []), "filters", bad)
    for f in filters:
        if f not in FILTERS:
            bad(f"unknown filter `{f}` (known: {', '.join(FILTERS)})")
    if "secret-name" in filters and isinstance(pattern, str) and "(?P<name>" not in pattern:
        bad("the `secret-name` filter needs a `name` group in the pattern")
    checksum = raw.get("checksum")
    if checksum is not None and checksum not in checksums.KINDS:
        bad(f"unknown `checksum` {checksum!r} (known: {', '.join(sorted(checksums.KINDS))})")
    return {
        "detector": detector, "keywords": tuple(k.lower() for k in keywords), "pattern": pattern,
        "min_entropy": None if min_entropy is None else float(min_entropy), "placeholders": tuple(placeholders),
        "claims": tuple(claims), "public_values": public_values, "filters": tuple(filters), "window": _parse_window(raw.get("window", {}), bad),
        "generic": bool(raw.get("generic", False)), "plugin": raw.get("plugin"),
        "checksum": checksum if checksum in checksums.KINDS else None,
    }


def _check_pattern(pattern: Any, bad) -> None:
    if not isinstance(pattern, str) or not pattern:
        bad("`pattern` must be a non-empty RE2 regular expression")
        return
    if pattern.count("(?P<secret>") != 1:
        bad("`pattern` must have exactly one named group `secret`")
    try:
        compiled = compile_pattern(pattern)
    except regex_error as exc:
        bad(f"`pattern` does not compile under RE2 (linear-time engine): {exc}")
        return
    unknown = {n.decode() if isinstance(n, bytes) else n for n in compiled.groupindex} - {"secret", "name"}
    if unknown:
        bad(f"`pattern` may only name the groups `secret` and `name`, not {sorted(unknown)}")


def _patterns(raw: dict, key: str, label: str, bad) -> list[str]:
    """A list of RE2 patterns (``placeholders``, ``claims``), each compiled once to report the ones RE2 rejects."""
    patterns = _string_list(raw.get(key, []), key, bad)
    for p in patterns:
        try:
            compile_pattern(p)
        except regex_error as exc:
            bad(f"{label} pattern {p!r} does not compile under RE2: {exc}")
    return patterns


_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _public_values(value: Any, bad) -> frozenset[str]:
    """``public_values``: a list of ``{sha256: <64 lowercase hex>, why: <where it is published>}``."""
    if not isinstance(value, list) or not all(
            isinstance(v, dict) and set(v) == {"sha256", "why"} and isinstance(v["why"], str) and v["why"].strip()
            and isinstance(v["sha256"], str) and _SHA256.match(v["sha256"]) for v in value):
        bad("`public_values` must be a list of {sha256: <64 lowercase hex digits>, why: <where it is published>}")
        return frozenset()
    return frozenset(v["sha256"] for v in value)


def _string_list(value: Any, key: str, bad) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        bad(f"`{key}` must be a list of strings")
        return []
    return value


def _parse_window(value: Any, bad) -> Window:
    if not isinstance(value, dict) or set(value) - _WINDOW_KEYS:
        bad("`window` takes `before`, `after` (bytes) and `multiline` (bool)")
        return Window()
    before, after = value.get("before", 256), value.get("after", 1024)
    if not all(isinstance(v, int) and 0 <= v <= 65536 for v in (before, after)):
        bad("`window.before` and `window.after` must be integers from 0 to 65536")
        return Window()
    return Window(before, after, bool(value.get("multiline", False)))


def _parse_tokens(value: Any, bad) -> dict[str, str]:
    if not isinstance(value, dict):
        bad("`tokens` must map names to templates such as 'hf_{34:A-Za-z}'")
        return {}
    out = {}
    for name, template in value.items():
        if not isinstance(name, str) or not re.match(r"^[a-z_][a-z0-9_]*$", name) or not isinstance(template, str):
            bad(f"token `{name}` must be a lowercase name mapped to a template string")
            continue
        try:
            token_templates.validate_template(template)
        except token_templates.TemplateError as exc:
            bad(str(exc))
            continue
        out[name] = template
    return out


def _parse_examples(value: Any, key: str, toks: dict[str, str], bad, need_why: bool) -> list[Example]:
    if not isinstance(value, list) or not value:
        bad(f"`{key}` must be a non-empty list")
        return []
    out = []
    for item in value:
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) \
                or set(item) - {"text", "secret", "path", "why"}:
            bad(f"each of `{key}` is a string or a mapping with `text` (and `secret`, `path`, `why`)")
            continue
        if need_why and not str(item.get("why", "")).strip():
            bad(f"negative example {item['text'][:40]!r} needs a `why`")
        for ref in token_templates.references(item["text"] + str(item.get("secret") or "")):
            if ref not in toks:
                bad(f"example refers to undefined token {{{{{ref}}}}}")
        if not need_why and item.get("secret") is None and not token_templates.references(item["text"]):
            bad(f"positive example {item['text'][:40]!r} needs a {{{{token}}}} or an explicit `secret`")
        out.append(Example(item["text"], item.get("secret"), item.get("path", "example.txt"),
                           str(item.get("why", ""))))
    return out


def _parse_rotation(value: Any, bad, rule_name: str) -> Rotation | None:
    """The rotation block; ``template`` (``rotation_templates``) supplies shared steps, before the rule's own."""
    if not isinstance(value, dict):
        bad("`rotation` must be a mapping with `revoke_url`, `steps` (or `template`), `truss_secret_name`")
        return None
    for key in sorted(set(value) - _ROTATION_KEYS):
        bad(f"unknown rotation key `{key}`")
    url, steps, name = value.get("revoke_url"), value.get("steps", []), value.get("truss_secret_name")
    template = value.get("template")
    if not isinstance(url, str) or not url.startswith("https://"):
        bad("`rotation.revoke_url` must be an https URL")
    if template is not None and template not in rotation_templates.TEMPLATES:
        bad(f"unknown rotation template {template!r} (one of {', '.join(sorted(rotation_templates.TEMPLATES))})")
    if not isinstance(steps, list) or not all(isinstance(s, str) and s.strip() for s in steps) \
            or not (steps or template):
        bad("`rotation.steps` must be a non-empty list of strings (or `rotation.template` must name shared steps)")
    if not isinstance(name, str) or not SECRET_NAME.match(name):
        bad("`rotation.truss_secret_name` must be a Baseten secret name matching ^[-._a-zA-Z0-9]+$")
    if not (isinstance(url, str) and isinstance(steps, list) and isinstance(name, str)) \
            or (template is not None and template not in rotation_templates.TEMPLATES):
        return None
    shared = rotation_templates.expand(template, rule_name, url, name) if template else ()
    return Rotation(url, shared + tuple(" ".join(str(s).split()) for s in steps), name, str(value.get("grants", "")))
