"""gitleaks' suppressions read as trussguard's: ``.gitleaksignore`` and the ``.gitleaks.toml`` allowlists.

Why: a team moving from gitleaks has already triaged its findings there. Without this, the first
trussguard run reports again every secret the team ignored by fingerprint or allowlisted, and the
migration stalls on re-triage. Both files are read at the scanned root, as gitleaks reads them.

- ``.gitleaksignore``: one fingerprint a line, ``commit:path:rule-id:line`` (history findings) or
  ``path:rule-id:line`` (tree findings, and in gitleaks any commit); ``#`` starts a comment. gitleaks'
  rule ids are mapped to trussguard's by provider (``GITLEAKS_PROVIDERS``, else the id's first words
  when they name a trussguard provider); an id that names no provider matches on path and line (and
  commit) alone, which is what the fingerprint pins anyway.
- ``.gitleaks.toml``: the global ``[allowlist]`` and the newer ``[[allowlists]]`` tables (``paths``,
  ``regexes`` with ``regexTarget`` secret/match/line, ``stopwords``, ``commits``, ``condition``
  OR/AND, ``targetRules``). Patterns are Go regular expressions, compiled with RE2 as gitleaks does.

Only credential findings (``kind == "leak"``) can be suppressed this way: gitleaks never reported a
Truss policy finding, so none of its entries can have been meant for one. A matched finding is never
dropped silently: it is listed in ``result.suppressed`` with kind ``gitleaksignore`` or
``gitleaks-allowlist`` and the entry that hid it, like every other suppression. When the secret is
not in the line as written (found inside a base64 run, say), a ``secret``/``match`` regex or a
stopword cannot be checked and does not suppress (fail closed); ``match`` is read as the secret.

In pull-request mode both files come from the trusted revision (``at_revision``) and every entry the
change adds is a gate change that widens (``compare``): the change being gated must not silence itself.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import re2

IGNORE_NAME = ".gitleaksignore"
TOML_NAME = ".gitleaks.toml"
KIND_IGNORE, KIND_ALLOWLIST = "gitleaksignore", "gitleaks-allowlist"
# gitleaks rule-id prefixes whose provider trussguard spells differently; every other gitleaks id maps
# to the trussguard provider its first words name (``github-pat`` -> ``github.*``)
GITLEAKS_PROVIDERS = {
    "gcp-api-key": ("google",), "cisco-meraki": ("meraki",), "defined-networking": ("definednetworking",),
    "hashicorp-tf": ("terraform",), "new-relic": ("newrelic",), "octopus-deploy": ("octopusdeploy",),
    "generic-api-key": ("generic",), "jwt-base64": ("jwt",),
}
_COMMIT = re.compile(r"^[0-9a-fA-F]{7,64}$")
_SEARCH_ALL_STARTS = 400  # longest line searched at every start for the secret when its column misses


class GitleaksError(Exception):
    """A gitleaks file that cannot be read as such (bad TOML, a pattern RE2 rejects): exit 2."""


@dataclass(frozen=True)
class Fingerprint:
    text: str
    number: int  # its line in .gitleaksignore
    commit: str | None
    path: str
    rule: str
    line: int


@dataclass(frozen=True)
class Allowlist:
    name: str  # description, else allowlist's place in the file
    paths: tuple[str, ...] = ()
    regexes: tuple[str, ...] = ()
    regex_target: str = "secret"
    stopwords: tuple[str, ...] = ()
    commits: tuple[str, ...] = ()
    condition: str = "OR"
    target_rules: tuple[str, ...] = ()

    def entries(self) -> set[str]:
        """Each thing this allowlist lets through, named for a gate-change listing."""
        out = {f"{self.name}: {key} {value!r}" for key, values in
               (("paths", self.paths), ("regexes", self.regexes), ("commits", self.commits)) for value in values}
        out |= {f"{self.name}: stopword {_digest(word)}" for word in self.stopwords}  # a word could be a value
        out.add(f"{self.name}: condition {self.condition}, regexTarget {self.regex_target}, "
                f"targetRules {list(self.target_rules) or 'all'}")  # changing these widens too
        return out


@dataclass(frozen=True)
class GitleaksSuppressions:
    fingerprints: tuple[Fingerprint, ...] = ()
    allowlists: tuple[Allowlist, ...] = ()
    _compiled: dict = field(default_factory=dict, compare=False, repr=False)

    def entries(self) -> set[str]:
        return ({f"{IGNORE_NAME}: {f.text}" for f in self.fingerprints}
                | {f"{TOML_NAME}: {e}" for a in self.allowlists for e in a.entries()})

    def regex(self, pattern: str):
        if pattern not in self._compiled:
            try:
                self._compiled[pattern] = re2.compile(pattern)
            except Exception as exc:  # re2.error, or TypeError for a non-string
                raise GitleaksError(f"{TOML_NAME}: pattern {pattern!r} does not compile: {exc}") from None
        return self._compiled[pattern]


# ----------------------------------------------------------------------------- reading


def parse_ignore(text: str) -> tuple[Fingerprint, ...]:
    """The fingerprints of a ``.gitleaksignore``; a line that is not one (no rule or line) is an error:
    an entry silently read as nothing would leave its finding failing with no word why."""
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head, _, last = line.rpartition(":")
        rest, _, rule = head.rpartition(":")
        if not rest or not rule or not last.isdigit():
            raise GitleaksError(f"{IGNORE_NAME}:{number}: not a gitleaks fingerprint "
                                "(commit:path:rule-id:line or path:rule-id:line)")
        commit, sep, path = rest.partition(":")
        if not sep or not _COMMIT.match(commit):
            commit, path = None, rest
        out.append(Fingerprint(line, number, commit.lower() if commit else None, _norm(path), rule, int(last)))
    return tuple(out)


def parse_toml(data: bytes) -> tuple[Allowlist, ...]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GitleaksError(f"{TOML_NAME}: not valid TOML: {exc}") from None
    tables = []
    if isinstance(doc.get("allowlist"), dict):
        tables.append(("[allowlist]", doc["allowlist"]))
    for i, table in enumerate(doc.get("allowlists") or []):
        tables.append((f"[[allowlists]] #{i + 1}", table))
    return tuple(_allowlist(name, table) for name, table in tables if isinstance(table, dict))


def _allowlist(place: str, table: dict) -> Allowlist:
    def strings(key: str) -> tuple[str, ...]:
        value = table.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise GitleaksError(f"{TOML_NAME}: {place} {key} must be a list of strings")
        return tuple(value)

    target = str(table.get("regexTarget") or "secret").lower()
    condition = str(table.get("condition") or "OR").upper()
    if target not in ("secret", "match", "line") or condition not in ("OR", "AND"):
        raise GitleaksError(f"{TOML_NAME}: {place}: regexTarget must be secret/match/line, condition OR/AND")
    description = table.get("description")
    return Allowlist(f"{place} ({description})" if description else place, strings("paths"), strings("regexes"),
                     target, tuple(s.lower() for s in strings("stopwords")),
                     tuple(c.lower() for c in strings("commits")), condition, strings("targetRules"))


def load(root: Path) -> GitleaksSuppressions:
    """The gitleaks files at ``root`` (a folder; a file's folder), from disk."""
    folder = root if root.is_dir() else root.parent
    return _build(_read(folder / IGNORE_NAME), _read(folder / TOML_NAME))


def at_revision(repo_root: Path, commit: str, folder: str) -> GitleaksSuppressions:
    """The gitleaks files of ``folder`` (relative to the repository) as ``commit`` holds them."""
    from trussguard.sources.at_revision import read_file

    prefix = f"{folder}/" if folder else ""
    return _build(read_file(repo_root, commit, prefix + IGNORE_NAME), read_file(repo_root, commit, prefix + TOML_NAME))


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes() if path.is_file() else None
    except OSError as exc:
        raise GitleaksError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _build(ignore: bytes | None, toml: bytes | None) -> GitleaksSuppressions:
    sup = GitleaksSuppressions(parse_ignore(ignore.decode("utf-8", "replace")) if ignore else (),
                               parse_toml(toml) if toml else ())
    for a in sup.allowlists:  # compile now: a bad pattern fails before the scan, not after
        for pattern in a.paths + a.regexes:
            sup.regex(pattern)
    return sup


# ----------------------------------------------------------------------------- matching


def rule_matches(gitleaks_id: str, rule_id: str) -> bool:
    """Whether a gitleaks rule id can name trussguard's ``rule_id``: the same id, or the same provider.
    An id that names no trussguard provider matches every rule (the fingerprint's place decides)."""
    if gitleaks_id == rule_id:
        return True
    providers = _providers(gitleaks_id)
    return providers is None or rule_id.partition(".")[0] in providers


def _providers(gitleaks_id: str) -> tuple[str, ...] | None:
    for prefix, providers in GITLEAKS_PROVIDERS.items():
        if gitleaks_id == prefix or gitleaks_id.startswith(prefix + "-"):
            return providers
    known = _known_providers()
    words = gitleaks_id.split("-")
    for n in range(len(words), 0, -1):
        if (candidate := "-".join(words[:n])) in known:
            return (candidate,)
    return None


@functools.lru_cache(maxsize=1)
def _known_providers() -> frozenset[str]:
    from trussguard.engine.loader import builtin_rules_dir

    return frozenset(p.stem for p in builtin_rules_dir().glob("*.yaml"))


def fingerprint_for(sup: GitleaksSuppressions, finding) -> Fingerprint | None:
    if finding.kind != "leak":
        return None
    path, commit = _norm(finding.path), (finding.commit or "").lower()
    for fp in sup.fingerprints:
        if fp.path == path and fp.line == finding.line and rule_matches(fp.rule, finding.rule_id) \
                and (fp.commit is None or (commit and commit.startswith(fp.commit))):
            return fp
    return None


def allowlist_for(sup: GitleaksSuppressions, finding, context) -> str | None:
    """The allowlist criterion that lets ``finding`` through, or None. ``context()`` gives the finding's
    (line text, secret), either None when unknown; it is called only when a regex or stopword is asked."""
    if finding.kind != "leak":
        return None
    for a in sup.allowlists:
        if a.target_rules and not any(rule_matches(r, finding.rule_id) for r in a.target_rules):
            continue
        checks = []  # (criterion name, matched)
        if a.commits:
            commit = (finding.commit or "").lower()
            checks.append(("commits", bool(commit) and any(commit.startswith(c) for c in a.commits)))
        if a.paths:
            checks.append(("paths", any(sup.regex(p).search(_norm(finding.path)) for p in a.paths)))
        if a.regexes:
            line, secret = context()
            target = line if a.regex_target == "line" else secret
            checks.append((f"regexes ({a.regex_target})",
                           target is not None and any(sup.regex(r).search(target) for r in a.regexes)))
        if a.stopwords:
            secret = context()[1]
            checks.append(("stopwords", secret is not None and any(w in secret.lower() for w in a.stopwords)))
        hits = [name for name, ok in checks if ok]
        if checks and (len(hits) == len(checks) if a.condition == "AND" else hits):
            return f"{TOML_NAME}: {a.name} {'+'.join(hits)}"
    return None


def apply(result, sup: GitleaksSuppressions):
    """``result`` with the findings the gitleaks files suppress moved to ``result.suppressed``."""
    if not sup.fingerprints and not sup.allowlists:
        return result
    from trussguard.suppress.project import _content, _hide

    contents: dict = {}

    def context_of(f):
        def context():
            key = (f.commit, f.path)
            if key not in contents:
                contents[key] = _content(result, f)
            return line_and_secret(contents[key], f)
        return context

    result = _hide(result, lambda f: (fp := fingerprint_for(sup, f)) and f"{IGNORE_NAME}:{fp.number}: {fp.text}", KIND_IGNORE)
    return _hide(result, lambda f: allowlist_for(sup, f, context_of(f)), KIND_ALLOWLIST)


def line_and_secret(data: bytes | None, f) -> tuple[str | None, str | None]:
    """The finding's line as written, and its secret: kept with --show-secrets, else found in the line
    by its SHA-256 (from its column first). None where the file or the value cannot be had."""
    if data is None or f.line < 1:
        return None, f.secret
    lines = data.decode("utf-8", "replace").splitlines()
    if f.line > len(lines):
        return None, f.secret
    line = lines[f.line - 1]
    if f.secret is not None or f.secret_sha256 is None:
        return line, f.secret
    col = max((f.column or 1) - 1, 0)
    starts = [col] + ([s for s in range(len(line)) if s != col] if len(line) <= _SEARCH_ALL_STARTS else [])
    for start in starts:
        for end in range(start + 1, len(line) + 1):
            if hashlib.sha256(line[start:end].encode("utf-8")).hexdigest() == f.secret_sha256:
                return line, line[start:end]
    return line, None


# ----------------------------------------------------------------------------- pull-request mode


def gate(start: Path, trusted_rev: str | None, head_rev: str | None = None, allow: bool = False):
    """(the suppressions to apply, the gate changes). Without ``trusted_rev``: the files at ``start``.
    With it: the trusted revision's files (the head's when ``allow``), and what the change did to them
    since the merge base (None head: the working tree), as ``gate_changes.resolve_gate`` does."""
    if trusted_rev is None:
        return load(start), []
    from trussguard.gate_changes import GateChange
    from trussguard.sources.at_revision import merge_base, relative
    from trussguard.sources.history_git import repository_root, resolve

    root = repository_root(start)
    folder = relative(root, start if start.is_dir() else start.parent) or ""
    trusted = resolve(root, trusted_rev)
    head = resolve(root, head_rev) if head_rev else None
    since = merge_base(root, trusted, head or "HEAD") or trusted
    base = at_revision(root, trusted, folder)
    try:
        since_sup = base if since == trusted else at_revision(root, since, folder)
    except GitleaksError:  # only the reference the changes are measured from
        since_sup = base
    try:
        head_sup = at_revision(root, head, folder) if head else load(start)
    except GitleaksError as exc:
        if allow:
            raise
        return base, [GateChange("gitleaks", f"the changed gitleaks files do not load ({exc}); fix them",
                                 widens=True, blocks=True)]
    changes = [replace(c, blocks=c.widens and not allow) for c in compare(since_sup, head_sup)]
    return (head_sup if allow else base), changes


def compare(old: GitleaksSuppressions, new: GitleaksSuppressions) -> list:
    """The gate changes from ``old`` to ``new``: added entries widen, removed ones are listed."""
    from trussguard.gate_changes import GateChange

    before, after = old.entries(), new.entries()
    added, removed = sorted(after - before), sorted(before - after)
    changes = []
    if added:
        changes.append(GateChange("gitleaks", f"adds {len(added)} gitleaks suppression(s) "
                                  f"({IGNORE_NAME} / {TOML_NAME} allowlist)", widens=True, places=tuple(added)))
    if removed:
        changes.append(GateChange("gitleaks", f"removes {len(removed)} gitleaks suppression(s)",
                                  places=tuple(removed)))
    return changes


def _norm(path: str) -> str:
    path = path.replace("\\", "/")
    return path[2:] if path.startswith("./") else path


def _digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]
