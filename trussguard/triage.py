"""Triage: which findings a report shows, in which order, and where its commit links point.

Applied once to a command's result, after the configuration file and the baseline and before any
reporter runs, so every format (text, JSON, SARIF, Markdown, HTML, annotations) shows the same
findings in the same order and no reporter sorts or filters on its own:

* ``--rule ID`` / ``--check CODE`` (repeatable, shell globs such as ``'openai.*'``) narrow the run to
  those rules and checks: the others are neither shown nor counted for the exit code. A pattern that
  names no known rule or check is a usage error (exit 2): a typo must not turn into a clean run.
* ``--min-severity LEVEL`` hides what is below LEVEL from every format; the summary counts it
  ("3 below --min-severity high"). It is display only: ``--fail-on`` stays the exit threshold, so a
  hidden finding at or above ``--fail-on`` still fails the run (fail closed), and a stderr line says so.
* Order: worst severity first; at the same severity a provider-specific finding before a REVIEW one
  (a generic rule's or a plugin's guess, whose advisory urgency is ``review``); then path, line,
  column. Advisories ("What to do") follow their first finding in that order.

The narrowed, ordered result is a ``TriagedResult``: a ``ScanResult`` that also carries what was hidden
and the ``--commit-url`` template, so the reporters that count or link can (``hidden_parts``,
``commit_link``) without a second channel.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from dataclasses import dataclass, field
from urllib.parse import quote

from trussguard.results import ScanResult
from trussguard.types import Finding, Severity

REVIEW = "review"  # advise._urgency: a value no provider-specific rule recognised


class TriageError(ValueError):
    """A filter or template that cannot be right (exit 2, one line)."""


@dataclass(frozen=True)
class Filters:
    """What the user asked to see: ``--min-severity``, ``--rule``, ``--check``, ``--commit-url``."""

    min_severity: Severity | None = None
    rules: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()
    commit_url: str | None = None

    @classmethod
    def of(cls, min_severity: str | None = None, rules=(), checks=(), commit_url: str | None = None) -> "Filters":
        if commit_url is not None:
            check_commit_url(commit_url)
        return cls(Severity.parse(min_severity) if min_severity else None, tuple(rules), tuple(checks), commit_url)

    @property
    def narrows(self) -> bool:
        return bool(self.rules or self.checks)


@dataclass(frozen=True)
class Hidden:
    """What triage kept out of the reports, for the summary line and the exit note."""

    below_min_severity: int = 0
    min_severity: Severity | None = None
    failing_hidden: int = 0  # of those below --min-severity, how many are at or above --fail-on (they still fail)
    not_selected: int = 0  # findings of the rules and checks --rule/--check left out (counted nowhere else)


@dataclass
class TriagedResult(ScanResult):
    hidden: Hidden = field(default_factory=Hidden)
    commit_url: str | None = None


def check_commit_url(template: str) -> None:
    """``--commit-url`` must be an http(s) URL with a ``{commit}`` placeholder (``{path}``, ``{line}``
    optional); no other braces, so a typo like ``{sha}`` is caught instead of linking nowhere."""
    if not template.startswith(("https://", "http://")):
        raise TriageError(f"--commit-url must start with https:// or http://, got {template!r}")
    if "{commit}" not in template:
        raise TriageError("--commit-url needs a {commit} placeholder, e.g. https://github.com/OWNER/REPO/commit/{commit}")
    rest = template
    for known in ("{commit}", "{path}", "{line}"):
        rest = rest.replace(known, "")
    if "{" in rest or "}" in rest:
        raise TriageError(f"--commit-url knows only {{commit}}, {{path}} and {{line}}: {template!r}")


def check_patterns(filters: Filters, rule_ids, check_codes) -> None:
    """Every ``--rule`` pattern must name at least one rule, every ``--check`` one check."""
    rule_ids, check_codes = sorted(rule_ids), sorted(check_codes)
    for pattern in filters.rules:
        if not _matching(pattern, rule_ids):
            hint = " (a Truss check: use --check)" if _matching(pattern, check_codes) else \
                " (`trussguard rules list` lists them)"
            raise TriageError(f"--rule {pattern!r} matches no rule{hint}")
    for pattern in filters.checks:
        if not _matching(pattern, check_codes):
            hint = " (a credential rule: use --rule)" if _matching(pattern, rule_ids) else \
                " (`trussguard rules list` lists them)"
            raise TriageError(f"--check {pattern!r} matches no Truss check{hint}")


def _matching(pattern: str, names) -> list[str]:
    p = pattern.strip().lower()
    return [n for n in names if fnmatch.fnmatchcase(n.lower(), p)]


def selected(f: Finding, filters: Filters) -> bool:
    """Whether ``--rule``/``--check`` keep this finding: its rule matches a --rule pattern, or the Truss
    check it carries (its rule id for a check's own finding) matches a --check pattern."""
    if not filters.narrows:
        return True
    codes = [c for c in {f.check, f.rule_id} if c and c[:2].upper() == "TG"]
    return any(_matching(p, [f.rule_id]) for p in filters.rules) or \
        any(_matching(p, codes) for p in filters.checks)


def select(result: ScanResult, filters: Filters) -> ScanResult:
    """The result narrowed to the rules and checks asked for: what counts for the exit code."""
    if not filters.narrows:
        return result
    findings = [f for f in result.findings if selected(f, filters)]
    return dataclasses.replace(result, findings=findings, advisories=_advisories_of(result.advisories, findings))


def present(result: ScanResult, filters: Filters, fail_on: Severity, not_selected: int = 0) -> TriagedResult:
    """What the reports show: ``select``'s result without what is below ``--min-severity``, in triage order."""
    floor = filters.min_severity
    below = [f for f in result.findings if floor is not None and f.severity < floor]
    shown = [f for f in result.findings if floor is None or f.severity >= floor]
    urgency = {a.id: a.urgency for a in result.advisories}
    shown.sort(key=lambda f: sort_key(f, urgency))
    advisories = _advisories_of(result.advisories, shown) if below else list(result.advisories)
    rank = {}
    for i, f in enumerate(shown):
        if f.advisory_id is not None:
            rank.setdefault(f.advisory_id, i)
    advisories.sort(key=lambda a: rank.get(a.id, len(shown)))  # stable: an advisory with no finding keeps its place
    hidden = Hidden(len(below), floor, sum(1 for f in below if f.severity >= fail_on), not_selected)
    fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(ScanResult)}
    fields.update(findings=shown, advisories=advisories)
    return TriagedResult(**fields, hidden=hidden, commit_url=filters.commit_url)


def apply(result: ScanResult, filters: Filters, fail_on: Severity, rule_ids=None, check_codes=None):
    """(shown, gated): the result the reporters get, and the one whose findings decide the exit code
    (narrowed by --rule/--check, never by --min-severity). ``rule_ids``/``check_codes`` are the known
    names the patterns are checked against (needed only when --rule/--check are given)."""
    if filters.narrows:
        check_patterns(filters, rule_ids or (), check_codes or ())
    gated = select(result, filters)
    return present(gated, filters, fail_on, len(result.findings) - len(gated.findings)), gated


def sort_key(f: Finding, urgency: dict[str, str]) -> tuple:
    review = urgency.get(f.advisory_id or "") == REVIEW
    return (-int(f.severity), review, f.path, f.line, f.column or 0, f.rule_id, f.commit or "")


def _advisories_of(advisories, findings: list[Finding]) -> list:
    """The advisories of the secrets still shown; each keeps every place of its secret (rotating a key is
    the same work however many of its places a filter hides)."""
    ids = {f.advisory_id for f in findings if f.advisory_id}
    return [a for a in advisories if a.id in ids]


def hidden_parts(result: ScanResult) -> list[str]:
    """The summary line's words for what triage hid, e.g. ``["3 below --min-severity high"]``."""
    hidden = getattr(result, "hidden", None)
    if hidden is None:
        return []
    parts = []
    if hidden.below_min_severity:
        parts.append(f"{hidden.below_min_severity} below --min-severity {hidden.min_severity}")
    if hidden.not_selected:
        parts.append(f"{hidden.not_selected} not matching --rule/--check")
    return parts


def exit_note(result: ScanResult, fail_on: Severity) -> str | None:
    """The stderr line that says why a run fails when the findings that fail it are not shown."""
    hidden = getattr(result, "hidden", None)
    if hidden is None or not hidden.failing_hidden:
        return None
    return (f"trussguard: {hidden.failing_hidden} finding(s) at or above --fail-on {fail_on} are hidden by "
            f"--min-severity {hidden.min_severity} and still fail the run (lower --min-severity to see them)")


def commit_link(result: ScanResult, commit: str | None, path: str = "", line: int = 0) -> str | None:
    """The ``--commit-url`` template filled in for one commit (path percent-encoded), or None."""
    template = getattr(result, "commit_url", None)
    if not template or not commit:
        return None
    return (template.replace("{commit}", quote(commit, safe=""))
            .replace("{path}", quote(path, safe="/")).replace("{line}", str(max(line, 1))))


def filters_from_options(min_severity: str | None = None, only_rules=(), only_checks=(),
                         commit_url: str | None = None) -> Filters:
    """The command line's filters, checked before anything is scanned (a usage error, exit 2)."""
    import click

    try:
        return Filters.of(min_severity, only_rules, only_checks, commit_url)
    except TriageError as exc:
        raise click.UsageError(str(exc)) from None


def for_command(result: ScanResult, config, filters: Filters):
    """``apply`` with the names of the rules this run loaded (``config.rule_dirs``: built-in, ``--rules``
    and the configuration file's) and of every Truss check; a pattern naming none is a usage error."""
    import click

    rule_ids = check_codes = ()
    if filters.narrows:
        from trussguard.engine.loader import load_rules
        from trussguard.policy.registry import iter_checks

        rule_ids = load_rules(list(config.rule_dirs), cache_dir=config.cache_dir).by_id().keys()
        check_codes = [c.code for c in iter_checks()]
    try:
        return apply(result, filters, config.fail_on, rule_ids, check_codes)
    except TriageError as exc:
        raise click.UsageError(str(exc)) from None


def commit_url_from_ci(environ) -> str | None:
    """The ``--commit-url`` template a CI run implies: GitHub Actions (``GITHUB_SERVER_URL``/``GITHUB_REPOSITORY``)
    or GitLab CI (``CI_PROJECT_URL``); None elsewhere. For the Action, which fills it in from its context."""
    server, repository = environ.get("GITHUB_SERVER_URL"), environ.get("GITHUB_REPOSITORY")
    if server and repository:
        return f"{server.rstrip('/')}/{repository}/commit/{{commit}}"
    project = environ.get("CI_PROJECT_URL")
    return f"{project.rstrip('/')}/-/commit/{{commit}}" if project else None
