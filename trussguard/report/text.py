"""The human report: findings grouped by file, then what to do, then what was not scanned."""

from __future__ import annotations

from collections import Counter

import click

from trussguard import __version__
from trussguard.advise import rotation_label
from trussguard.results import ScanResult
from trussguard.types import Severity

_COLORS = {Severity.CRITICAL: "magenta", Severity.HIGH: "red", Severity.MEDIUM: "yellow", Severity.LOW: "cyan"}


def render(result: ScanResult, color: bool = False) -> str:
    def style(text: str, **kw) -> str:
        return click.style(text, **kw) if color else text

    s = result.stats
    lines = [style(f"trussguard {__version__}", bold=True)
             + f" · {result.mode} scan of {result.target}: {s.files_scanned} "
             f"{'unique blobs' if result.mode == 'history' else 'files'}, "
             f"{_size(s.bytes_scanned)} in {s.duration_seconds:.2f}s", ""]
    by_path: dict[str, list] = {}
    for f in result.findings:
        by_path.setdefault(f.path, []).append(f)
    if result.mode == "history":
        lines += _history_items(result, style)
        by_path = {}
    for path, findings in by_path.items():
        lines.append(style(path, bold=True, underline=True))
        for f in findings:
            where = f"{f.line}:{f.column}" if f.column else str(f.line)
            sev = style(f"{str(f.severity).upper():<8}", fg=_COLORS[f.severity], bold=True)
            codes = f.rule_id if f.check in (None, f.rule_id) else f"{f.rule_id} · {f.check}"
            lines.append(f"  {where:<8} {sev} {f.title}  [{codes}]" + (f"  ({f.cell})" if f.cell else ""))
            if f.kind == "policy":
                lines.append(f"           {f.message}")
            value = f.secret if f.secret is not None else f.redacted
            if value:
                how = "  (unescaped)" if f.decoded == "escape" else f"  (decoded from {f.decoded})" if f.decoded else ""
                lines.append(f"           {value}{how}" + (f"  (checksum {f.checksum})" if f.checksum else ""))
            if f.fix:
                lines.append(f"           fix: {f.fix}")
        lines.append("")
    if result.advisories:
        done = sum(1 for a in result.advisories if a.rotation)
        rotated = f", {done} rotated" if done else ""
        lines.append(style(f"What to do ({len(result.advisories) - done} secret(s) to rotate{rotated})", bold=True))
        for a in result.advisories:
            places = f" ({len(a.finding_ids)} places)" if len(a.finding_ids) > 1 else ""
            state = f" · {rotation_label(a)}" if a.rotation else ""
            lines.append(f"  [{a.urgency}{state}] {a.title}{places}  {a.id}")
            lines += [f"    {line}" for line in compact_steps(a)]
        lines.append("  Deleting the line is not enough: the value stays in git history, so rotate first. "
                     "`--advisories FILE.md` writes every step in full.")
        lines.append("")
    lines += _suppressed(result, style)
    for note in result.stats.notes:
        lines.append(style(f"note: {note}", fg="yellow"))
    lines += _gate_changes(result, style)
    lines.append(_summary(result))
    for skipped in result.errors:
        lines.append(style(f"error: could not read {skipped.path}: {skipped.detail}", fg="red"))
    return "\n".join(lines) + "\n"


def _history_items(result: ScanResult, style) -> list[str]:
    """History mode: one item per secret (a key committed in 12 commits is one key to rotate),
    listing every place (path @ commit) it was committed."""
    by_secret: dict[str, list] = {}
    for f in result.findings:
        by_secret.setdefault(f.secret_sha256 or f.id, []).append(f)
    lines = []
    for group in by_secret.values():
        lead = max(group, key=lambda f: f.severity)
        sev = style(f"{str(lead.severity).upper():<8}", fg=_COLORS[lead.severity], bold=True)
        value = lead.secret if lead.secret is not None else lead.redacted
        places = [(f, o) for f in group for o in (f.history or {}).get("occurrences", [])]
        count = sum((f.history or {}).get("occurrence_count", 0) for f in group)
        lines.append(f"{sev} {lead.title}  [{lead.rule_id}]  {value}  ({count} place(s))")
        for f in group:
            h = f.history or {}
            intro = h.get("introduced") or {}
            state = "still present" if h.get("still_present") else f"removed {h.get('last_seen') or ''}".rstrip()
            if not intro:
                lines.append(f"  {f.path}:{f.line}  in no commit (staged, then discarded): still in the object store")
            else:
                lines.append(f"  {f.path}:{f.line}  introduced {str(intro.get('commit', ''))[:12]} by "
                             f"{intro.get('author_name', '?')} <{intro.get('author_email', '?')}> "
                             f"on {intro.get('author_date', '?')}: {intro.get('subject', '')!r}; {state}")
            if f.fix:
                lines.append(f"           fix: {f.fix}")
        for f, o in places:
            lines.append(f"    {o['path']} @ {o['commit'][:12]}")
        refs = sorted({r for f in group for r in (f.history or {}).get("refs", [])})
        if refs:
            total = max((f.history or {}).get("refs_count", 0) for f in group)  # lists stop at 50 names
            more = f" ({total} refs in all)" if total > len(refs) else ""
            lines.append(f"    reachable from: {', '.join(refs)}{more}")
        lines.append("")
    return lines


def _gate_changes(result: ScanResult, style) -> list[str]:
    """Pull-request mode: what the change does to its own gate's settings (gate_changes.py)."""
    lines = []
    for change in result.gate_changes:
        verdict = " (fails the gate: --allow-config-changes accepts it)" if change.blocks else \
            " (accepted)" if change.widens else ""
        lines.append(style(f"gate: {change.message}{verdict}", fg="red" if change.blocks else "yellow"))
    return lines


SUPPRESSED_SHOWN = 20  # the text report stays short; every other format lists them all


def _suppressed(result: ScanResult, style) -> list[str]:
    """What was not reported because a marker, the configuration file or the baseline said so:
    a reviewer must see every suppression, so each is listed (the first ``SUPPRESSED_SHOWN``)."""
    if not result.suppressed:
        return []
    lines = [style(f"Suppressed ({len(result.suppressed)})", bold=True)]
    for x in result.suppressed[:SUPPRESSED_SHOWN]:
        value = f"  {x.redacted}" if x.redacted else ""
        lines.append(f"  {x.path}:{x.line}  [{x.rule_id}]  {x.kind}: {x.by}{value}")
    if len(result.suppressed) > SUPPRESSED_SHOWN:
        lines.append(f"  ... and {len(result.suppressed) - SUPPRESSED_SHOWN} more (--format json lists every one)")
    return lines + [""]


def _summary(result: ScanResult) -> str:
    counts = Counter(f.severity for f in result.findings)
    parts = [f"{counts[sev]} {sev}" for sev in sorted(counts, reverse=True)]
    files = len({f.path for f in result.findings})
    head = (f"{len(result.findings)} finding(s) ({', '.join(parts)}) in {files} file(s)"
            if result.findings else "No secrets found")
    extra = []
    if result.suppressed:
        extra.append(f"{len(result.suppressed)} suppressed")
    skipped = Counter(k.reason for k in result.stats.skipped)
    if skipped:
        extra.append("skipped: " + ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items())))
    h = result.stats.history
    if h is not None:
        extra.insert(0, f"{h['refs']} ref(s), {h['commits']} commit(s), {h['unique_blobs']} unique blob(s)"
                        + (", shallow clone" if h.get("shallow") else ""))
    return head + (" · " + " · ".join(extra) if extra else "")


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


def compact_steps(a) -> list[str]:
    """One line per step: the title, and for the change step each place's first fix."""
    out = []
    for action in a.actions:
        if action.step == 1 and a.revoke_url and "at the provider" in action.title:
            out.append(f"{action.step}. {action.title}: {a.revoke_url}")
        elif action.step == 3:
            out.append(f"{action.step}. {action.title}:")
            out += [f"   {d}" for d in action.details[:3]]
        else:
            out.append(f"{action.step}. {action.title}")
    return out
