"""``--format github``: workflow commands that GitHub Actions turns into annotations on the diff.

One ``::error``/``::warning``/``::notice`` line per finding, with file, line, column and title,
then one ``::notice`` per suppressed finding (what hid it), so a reviewer sees each suppression
on the diff (the first ``SUPPRESSED_SHOWN``, then one notice counting the rest: GitHub shows only
so many annotations, and a vendored folder of test keys excluded by the configuration file would
bury the findings).
Messages carry the redacted value at most; workflow-command escaping (``%``, CR, LF, and in the
properties ``:`` and ``,``) keeps a crafted path or message from injecting another command.
"""

from __future__ import annotations

from trussguard.advise import validation_line
from trussguard.results import ScanResult

LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "notice"}
SUPPRESSED_SHOWN = 50


def render(result: ScanResult) -> str:
    """In triage order (trussguard.triage); a leak's message ends with where to revoke it."""
    lines = []
    revoke = {a.id: a.revoke_url for a in result.advisories if a.revoke_url}
    for f in result.findings:
        where = f"file={escape_property(f.path)},line={max(f.line, 1)}" + (f",col={f.column}" if f.column else "")
        value = f" ({f.redacted})" if f.redacted else ""
        commit = f" Introduced in commit {f.commit[:12]}." if f.commit else ""
        fix = f" Fix: {f.fix}" if f.fix else ""
        fix += f" Revoke it at {revoke[f.advisory_id]}" if f.advisory_id in revoke else ""
        fix += f" Validated {validation_line(f.validation)}." if f.validation else ""
        title = f"{f.title} [{f.rule_id}]"
        lines.append(f"::{LEVELS.get(str(f.severity), 'error')} {where},title={escape_property(title)}::"
                     f"{escape_data(f.message + value + commit + fix)}")
    for x in result.suppressed[:SUPPRESSED_SHOWN]:
        where = f"file={escape_property(x.path)},line={max(x.line, 1)}"
        value = f" ({x.redacted})" if x.redacted else ""
        title = f"Suppressed: {x.title or x.rule_id} [{x.rule_id}]"
        lines.append(f"::notice {where},title={escape_property(title)}::"
                     f"{escape_data(f'suppressed {x.rule_id}{value} by {x.kind} ({x.by})')}")
    if len(result.suppressed) > SUPPRESSED_SHOWN:
        lines.append(f"::notice title=Suppressed::{len(result.suppressed) - SUPPRESSED_SHOWN} more suppressed "
                     "finding(s); the JSON and SARIF reports list every one")
    return "".join(line + "\n" for line in lines)


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
