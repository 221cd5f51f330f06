"""What the GitHub Action shows of its parts: the job summary, and which findings are annotated.

Kept apart from ``gha.py`` (inputs, scope, running the parts, files and outputs) because this is
presentation: one job summary with one verdict for the ``gate`` command's two parts, a finding both
parts report shown once, and what a pull request does to its own gate published once although each
part measures it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from trussguard.report.github import escape_data, escape_property

MAX_MARKER_ANNOTATIONS = 50  # per change; the JSON report lists every place


@dataclass(frozen=True)
class Part:
    """One part of the action's run (``audit`` or ``scan``): its scope, result, configuration and exit code."""

    command: str
    scope: object  # gha.Scope: its description is shown
    result: object  # results.ScanResult
    config: object  # config.ScanConfig
    code: int


TITLES = {"audit": "history audit", "scan": "Truss policy scan of the tree"}
VERDICTS = {0: "passes", 1: "fails", 2: "error"}


def shown_once(parts: list[Part]) -> list:
    """The results to annotate and summarise: a finding an earlier part reports (a key added by the pull
    request and still in its tree has one fingerprint in the audit and in the scan) is left out of the
    later ones, with the advisories only it needed. The reports and SARIF keep every part whole."""
    seen: set[str] = set()
    shown = []
    for part in parts:
        result = part.result
        findings = [f for f in result.findings if f.id not in seen]
        if len(findings) != len(result.findings):
            kept = {f.id for f in findings}
            advisories = [a for a in result.advisories if kept.intersection(a.finding_ids)]
            result = dataclasses.replace(result, findings=findings, advisories=advisories)
        seen.update(f.id for f in part.result.findings)
        shown.append(result)
    return shown


def job_summary(parts: list[Part], shown: list, code: int) -> str:
    """One part: its summary with the scope. Several: one heading with one verdict, a table of the parts,
    then each part's summary a level down (a finding shown by an earlier part is counted, not repeated)."""
    from trussguard.report import markdown

    if len(parts) == 1:
        head, _, rest = markdown.render_summary(shown[0]).partition("\n\n")
        return f"{head}\n\nScope: {parts[0].scope.description}.\n\n{rest}\n"
    total = sum(len(p.result.findings) for p in parts)
    why = ([f"{total} finding(s)"] if total else []) + (["an error"] if code == 2 else [])
    lines = [f"## trussguard gate: {VERDICTS[min(code, 1)]}" + (f" ({'; '.join(why)})" if why else ""), "",
             "| part | scope | findings | verdict |", "|---|---|---|---|"]
    for part in parts:
        lines.append(f"| {TITLES[part.command]} | {part.scope.description} | {len(part.result.findings)} "
                     f"| {VERDICTS[part.code]} |")
    lines.append("")
    for part, result in zip(parts, shown):
        body = markdown.render_summary(result)
        body = "\n".join("#" + line if line.startswith("#") else line for line in body.splitlines())
        if part.code == 2:
            from trussguard.redact import redact_text

            first = part.result.errors[0]
            body += (f"\n\n**Not everything was read**: {len(part.result.errors)} file(s) or blob(s) (first: "
                     f"`{redact_text(first.path)}`: {redact_text(' '.join(first.detail.split()))}); this part fails.")
        again = len(part.result.findings) - len(result.findings)
        if again:
            body += f"\n\n{again} finding(s) of this part are the same as the history audit's above: not repeated."
        lines += [body.rstrip("\n"), ""]
    return "\n".join(lines) + "\n"


def publish_gate_changes(changes: list, env: Mapping[str, str]) -> None:
    """What the pull request does to its own gate: one annotation per change (``::error`` when it fails
    the gate, else ``::warning``), one per added suppression marker on its line, and a job summary section.
    Several parts measure the same changes: each is published once."""
    changes = list({(c.kind, c.message): c for c in changes}.values())
    if not changes:
        return
    allowed = any(c.widens and not c.blocks for c in changes)
    applied = "allow-config-changes is true: the pull request's own" if allowed else "the base's"
    lines = ["### Changes to the gate", "",
             f"This pull request changes what trussguard checks; {applied} configuration and baseline were applied.",
             ""]
    for change in changes:
        text = change.message if change.message.startswith("this change") else f"this change {change.message}"
        if change.blocks:
            print(f"::error::trussguard: {escape_data(text)} (the gate fails: once reviewed, set the input "
                  "allow-config-changes: true)")
        elif change.kind != "markers":
            print(f"::warning::trussguard: {escape_data(text)}" + (" (allowed)" if change.widens else ""))
        for place in change.places[:MAX_MARKER_ANNOTATIONS] if change.kind == "markers" else ():
            path, _, line = place.rpartition(":")
            print(f"::warning file={escape_property(path)},line={line}::trussguard: this change adds a suppression "
                  "marker here: what it hides on this line is not reported")
        verdict = " (fails the gate: set `allow-config-changes: true` once reviewed)" if change.blocks else \
            " (allowed)" if change.widens else ""
        lines.append(f"- {' '.join(change.message.split())}{verdict}")
    _append(env.get("GITHUB_STEP_SUMMARY"), "\n".join(lines) + "\n\n")


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)
