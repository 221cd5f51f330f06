"""``--advisories FILE.md``: every advisory in full, as a Markdown document to hand to whoever rotates.

The text report shows one line per step; this shows every detail, every place and the references.
Secrets appear only redacted (or in full with ``--show-secrets``, like every other report).
"""

from __future__ import annotations

import re

from trussguard import __version__
from trussguard.advise import rotation_label, urgency_label, validation_line
from trussguard.results import ScanResult
from trussguard.triage import commit_link, hidden_parts

SUPPRESSED_SHOWN = 200  # rows of the suppressed table; a job summary is limited to 1 MiB


def render_advisories(result: ScanResult) -> str:
    findings = {f.id: f for f in result.findings}
    what = "history audit" if result.mode == "history" else "scan"
    lines = [f"# What to do about the leaked secrets in {result.target}", "",
             f"trussguard {__version__} {what}: {len(result.advisories)} secret(s) to rotate. Values are shown "
             "redacted (a short prefix, the length and a hash); rotate first, then clean up.", ""]
    if not result.advisories:
        lines.append("No leaked secret was found: nothing to rotate.")
    for n, a in enumerate(result.advisories, start=1):
        places = [findings[i] for i in a.finding_ids if i in findings]
        value = next((f.secret or f.redacted for f in places if f.secret or f.redacted), "")
        state = f", {rotation_label(a)}" if a.rotation else ""
        revoke = f" · [revoke it]({_url(a.revoke_url)})" if a.revoke_url else ""
        lines += [f"## {n}. {a.title} ({urgency_label(a)}{state})", "",
                  f"Advisory `{a.id}` · rule `{a.rule_id}` · value {_code(value)}{revoke} · {len(places)} place(s):",
                  ""]
        for f in places:
            commit = f" (introduced in {_commit(result, f)})" if f.commit else ""
            lines.append(f"- {_code(f'{f.path}:{f.line}')}{commit}")
        lines.append("")
        if a.validation:
            lines += [f"Validation: {validation_line(a.validation)}.", ""]
        for action in a.actions:
            lines.append(f"### Step {action.step}. {action.title}")
            lines.append("")
            lines += [f"- {detail}" for detail in action.details]
            lines.append("")
        if a.references:
            lines += ["References: " + ", ".join(f"<{r}>" for r in a.references), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def render_summary(result: ScanResult) -> str:
    """``--format markdown``: the job summary (``$GITHUB_STEP_SUMMARY``): findings, then what to do."""
    s = result.stats
    what = "history audit" if result.mode == "history" else "scan"
    head = f"## trussguard {what}: {len(result.findings)} finding(s)" if result.findings else \
        f"## trussguard {what}: no secrets found"
    hidden = "".join(f"; {part}" for part in hidden_parts(result))
    lines = [head, "", f"{s.files_scanned} {'unique blobs' if result.mode == 'history' else 'files'} scanned "
             f"in {s.duration_seconds:.2f} s; values are shown redacted{hidden}.", ""]
    if result.findings:  # in triage order (trussguard.triage): worst first, specific before review
        validated = any(f.validation for f in result.findings)  # --validate: one more column
        lines += ["| severity | rule | where | value | fix |" + (" validation |" if validated else ""),
                  "|---|---|---|---|---|" + ("---|" if validated else "")]
        for f in result.findings:
            where = _code(f"{f.path}:{f.line}") + (f" @ {_commit(result, f)}" if f.commit else "")
            checked = f" {_cell(validation_line(f.validation))} |" if validated else ""
            lines.append(f"| {f.severity} | `{f.rule_id}` | {_cell(where)} | {_cell(_code(f.redacted) if f.redacted else '')} "
                         f"| {_cell(f.fix or '')} |{checked}")
        lines.append("")
    if result.suppressed:
        lines += [f"### Suppressed ({len(result.suppressed)})", "",
                  "Not reported because a marker, the configuration file or the baseline says so:", "",
                  "| rule | where | kind | by | value |", "|---|---|---|---|---|"]
        for x in result.suppressed[:SUPPRESSED_SHOWN]:
            lines.append(f"| `{x.rule_id}` | {_cell(_code(f'{x.path}:{x.line}'))} | {x.kind} | {_cell(_code(x.by))} "
                         f"| {_cell(_code(x.redacted) if x.redacted else '')} |")
        if len(result.suppressed) > SUPPRESSED_SHOWN:
            lines.append(f"\n... and {len(result.suppressed) - SUPPRESSED_SHOWN} more: the JSON and SARIF reports "
                         "list every one.")
        lines.append("")
    if result.advisories:
        lines += ["### What to do", ""]
        for a in result.advisories:
            state = f", {rotation_label(a)}" if a.rotation else ""
            revoke = f" [Revoke it]({_url(a.revoke_url)})." if a.revoke_url else ""
            checked = f" Validation: {validation_line(a.validation)}." if a.validation else ""
            lines.append(f"- **{a.title}** ({urgency_label(a)}{state}, `{a.id}`):{revoke}{checked} "
                         + "; ".join(f"{x.step}. {x.title}" for x in a.actions))
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    """``text`` as one code span, whatever backticks it holds (a path or value is untrusted): the fence
    is one backtick longer than its longest run, padded when the text starts or ends with one."""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _commit(result: ScanResult, f) -> str:
    """The short commit id, linked through ``--commit-url`` when given."""
    short = f"`{f.commit[:12]}`"
    link = commit_link(result, f.commit, f.path, f.line)
    return f"[{short}]({_url(link)})" if link else short


def _url(url: str) -> str:
    """A URL safe inside Markdown's ``(...)``: no space, bracket, quote or backtick left to end it early."""
    return "".join(f"%{ord(c):02X}" if c in _URL_UNSAFE else c for c in url)


_URL_UNSAFE = frozenset(' ()<>[]`|\\"')
