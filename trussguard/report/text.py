"""The human report: findings grouped by file, then what to do, then what was not scanned.

Short by default, like the tools it sits next to in a pre-commit run or a CI log: a finding is its
place, severity, rule and redacted value, and each secret gets one sentence of what to do plus the
advisory id that names it. ``--verbose`` adds each finding's Truss fix and every numbered step (as
``--advisories FILE.md`` writes them); a history audit's commit and ref lists are summarised unless
verbose. Every line is wrapped at ``WIDTH`` columns between words, so a path, a URL or a redacted
value is never cut in the middle (a longer one stands on its own line).
"""

from __future__ import annotations

import textwrap
from collections import Counter

import click

from trussguard import __version__
from trussguard.advise import is_before_commit, rotation_label, urgency_label, validation_line, what_to_do
from trussguard.ref_names import ref_summary
from trussguard.baseline import NOTE_PREFIX as BASELINE_NOTE
from trussguard.results import ScanResult
from trussguard.triage import hidden_parts
from trussguard.types import Severity

WIDTH = 100
INDENT = " " * 11  # under the finding's title
SHOWN = 5  # commits, places and refs a history item lists without --verbose
_COLORS = {Severity.CRITICAL: "magenta", Severity.HIGH: "red", Severity.MEDIUM: "yellow", Severity.LOW: "cyan"}


def wrap(text: str, indent: str = "", first: str | None = None, keep: tuple[str | None, ...] = ()) -> list[str]:
    """``text`` in lines of at most ``WIDTH`` columns, broken only between words (a word longer than
    the line is kept whole) and never inside one of the ``keep`` strings (a redacted value reads
    ``hf_AbC…(37 chars, sha256:…)``: one unit)."""
    first = indent if first is None else first
    for unit in filter(None, keep):
        text = text.replace(unit, unit.replace(" ", "\0"))
    lines = textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=indent, break_long_words=False,
                          break_on_hyphens=False) or [first.rstrip()]
    return [line.replace("\0", " ") for line in lines]


def render(result: ScanResult, color: bool = False, verbose: bool = False) -> str:
    def style(text: str, **kw) -> str:
        return click.style(text, **kw) if color else text

    s = result.stats
    lines = [style(f"trussguard {__version__}", bold=True)  # one line: the target is a path, never cut
             + f" · {result.mode} scan of {_shown(result.target)}: {s.files_scanned} "
             f"{'unique blobs' if result.mode == 'history' else 'files'}, "
             f"{_size(s.bytes_scanned)} in {s.duration_seconds:.2f}s", ""]
    if result.mode == "history":
        lines += _history_items(result, style, verbose)
    else:
        lines += _by_path(result, style, verbose)
    lines += _advice(result, style, verbose)
    lines += _suppressed(result, style)
    baseline = [n for n in result.stats.notes if n.startswith(BASELINE_NOTE)]  # said in the summary
    for note in result.stats.notes:
        if note not in baseline:
            lines += [style(x, fg="yellow") for x in wrap(f"note: {note}", "      ", "")]
    lines += _gate_changes(result, style)
    lines += wrap(" · ".join([_summary(result)] + baseline), "  ", "", keep=tuple(baseline))
    for skipped in result.errors:
        lines += [style(x, fg="red") for x in wrap(f"error: could not read {skipped.path}: {skipped.detail}", "  ", "")]
    return "\n".join(lines) + "\n"


def _by_path(result: ScanResult, style, verbose: bool) -> list[str]:
    by_path: dict[str, list] = {}
    for f in result.findings:
        by_path.setdefault(f.path, []).append(f)
    advised = {fid for a in result.advisories for fid in a.finding_ids}
    lines = []
    for path, findings in by_path.items():
        lines.append(style(path, bold=True, underline=True))
        for f in findings:
            where = f"{f.line}:{f.column}" if f.column else str(f.line)
            codes = f.rule_id if f.check in (None, f.rule_id) else f"{f.rule_id} · {f.check}"
            cell = f"  ({f.cell})" if f.cell else ""
            head = wrap(f"{where:<8} {_sev(f.severity, None)} {f.title}  [{codes}]{cell}", INDENT, "  ")
            head[0] = head[0].replace(_sev(f.severity, None), _sev(f.severity, style), 1)
            lines += head
            if f.kind == "policy":
                lines += wrap(f.message, INDENT)
            value = f.secret if f.secret is not None else f.redacted
            if value:
                how = "  (unescaped)" if f.decoded == "escape" else f"  (decoded from {f.decoded})" if f.decoded else ""
                pointer = f"  {f.advisory_id}" if f.advisory_id and f.id in advised else ""
                lines += wrap(f"{value}{how}" + (f"  (checksum {f.checksum})" if f.checksum else "") + pointer, INDENT,
                              keep=(value,))
            if f.validation:
                lines += wrap(validation_line(f.validation), INDENT)
            if f.fix and (verbose or f.id not in advised):  # a secret's fix is in its advisory's steps
                lines += wrap(f"fix: {f.fix}", INDENT + "     ", INDENT)
        lines.append("")
    return lines


def _sev(severity: Severity, style) -> str:
    text = f"{str(severity).upper():<8}"
    return style(text, fg=_COLORS[severity], bold=True) if style else text


def _advice(result: ScanResult, style, verbose: bool) -> list[str]:
    """One sentence per secret (every step with ``verbose``)."""
    if not result.advisories:
        return []
    done = sum(1 for a in result.advisories if a.rotation)
    fresh = sum(1 for a in result.advisories if is_before_commit(a) and not a.rotation)
    rotate = len(result.advisories) - done - fresh
    counts = ([f"{rotate} secret(s) to rotate"] if rotate or not fresh else []) \
        + ([f"{fresh} secret(s) to remove before committing"] if fresh else []) + ([f"{done} rotated"] if done else [])
    more = "" if verbose else " · every step: --verbose"
    lines = [style(x, bold=True) for x in wrap(f"What to do ({', '.join(counts)}){more}", "  ", "")]
    for a in result.advisories:
        places = f" ({len(a.finding_ids)} places)" if len(a.finding_ids) > 1 else ""
        label = "not committed yet" if is_before_commit(a) else urgency_label(a)
        state = f" · {rotation_label(a)}" if a.rotation else ""
        lines += wrap(f"[{label}{state}] {a.title}{places}  {a.id}", "    ", "  ", keep=(state.strip(" ·"),))
        if not verbose:
            lines += wrap(what_to_do(a), "    ")
            continue
        for action in a.actions:
            lines += wrap(f"{action.step}. {action.title}", "       ", "    ")
            for detail in action.details:
                lines += wrap(detail, "         ", "       - ")
    if verbose and not all(is_before_commit(a) for a in result.advisories):
        lines += wrap("Deleting the line is not enough: the value stays in git history, so rotate first.", "  ", "  ")
    return lines + [""]


def _history_items(result: ScanResult, style, verbose: bool) -> list[str]:
    """History mode: one item per secret (a key committed in 12 commits is one key to rotate),
    listing where (path @ commit) it was committed: the first ``SHOWN`` places and refs, every one
    with ``verbose``."""
    by_secret: dict[str, list] = {}
    for f in result.findings:
        by_secret.setdefault(f.secret_sha256 or f.id, []).append(f)
    advised = {fid for a in result.advisories for fid in a.finding_ids}
    lines = []
    for group in by_secret.values():
        lead = max(group, key=lambda f: f.severity)
        value = lead.secret if lead.secret is not None else lead.redacted
        places = [(f, o) for f in group for o in (f.history or {}).get("occurrences", [])]
        count = sum((f.history or {}).get("occurrence_count", 0) for f in group)
        pointer = f"  {lead.advisory_id}" if lead.advisory_id and lead.id in advised else ""
        head = wrap(f"{_sev(lead.severity, None)} {lead.title}  [{lead.rule_id}]  {value}  ({count} place(s)){pointer}",
                    "  ", "", keep=(value, f"({count} place(s))"))
        head[0] = head[0].replace(_sev(lead.severity, None), _sev(lead.severity, style), 1)
        lines += head
        if lead.validation:
            lines += wrap(validation_line(lead.validation), "    ", "  ")
        for f in group:
            h = f.history or {}
            intro = h.get("introduced") or {}
            state = "still present" if h.get("still_present") else f"removed {h.get('last_seen') or ''}".rstrip()
            if not intro:
                lines += wrap(f"{f.path}:{f.line}  in no commit (staged, then discarded): still in the object store",
                              "    ", "  ", keep=("in no commit (staged, then discarded)",))
            else:
                lines += wrap(f"{f.path}:{f.line}  introduced {str(intro.get('commit', ''))[:12]} by "
                              f"{intro.get('author_name', '?')} <{intro.get('author_email', '?')}> "
                              f"on {intro.get('author_date', '?')}: {intro.get('subject', '')!r}; {state}",
                              "    ", "  ")
            if f.fix and (verbose or f.id not in advised):
                lines += wrap(f"fix: {f.fix}", INDENT + "     ", INDENT)
        shown = places if verbose else places[:SHOWN]
        lines += [f"    {o['path']} @ {o['commit'][:12]}" for _, o in shown]
        if len(places) > len(shown):
            lines.append(f"    ... and {len(places) - len(shown)} more commit(s) (--verbose lists them)")
        refs = sorted({r for f in group for r in (f.history or {}).get("refs", [])})
        if refs:
            total = max(max((f.history or {}).get("refs_count", 0) for f in group), len(refs))  # lists stop at 50
            if verbose:
                more = f" ({total} refs in all)" if total > len(refs) else ""
                lines += wrap(f"reachable from: {', '.join(refs)}{more}", "      ", "    ")
            else:
                lines += wrap(f"reachable from: {ref_summary(refs, total)}", "      ", "    ")
        lines.append("")
    return lines


def _gate_changes(result: ScanResult, style) -> list[str]:
    """Pull-request mode: what the change does to its own gate's settings (gate_changes.py)."""
    lines = []
    for change in result.gate_changes:
        verdict = " (fails the gate: --allow-config-changes accepts it)" if change.blocks else \
            " (accepted)" if change.widens else ""
        lines += [style(x, fg="red" if change.blocks else "yellow")
                  for x in wrap(f"gate: {change.message}{verdict}", "      ", "")]
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
        lines += wrap(f"{x.path}:{x.line}  [{x.rule_id}]  {x.kind}: {x.by}{value}", "      ", "  ", keep=(x.redacted,))
    if len(result.suppressed) > SUPPRESSED_SHOWN:
        lines.append(f"  ... and {len(result.suppressed) - SUPPRESSED_SHOWN} more (--format json lists every one)")
    return lines + [""]


def _summary(result: ScanResult) -> str:
    counts = Counter(f.severity for f in result.findings)
    parts = [f"{counts[sev]} {sev}" for sev in sorted(counts, reverse=True)]
    files = len({f.path for f in result.findings})
    head = (f"{len(result.findings)} finding(s) ({', '.join(parts)}) in {files} file(s)"
            if result.findings else "No secrets found")
    extra = hidden_parts(result)  # what --min-severity / --rule / --check left out (triage.py)
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


def _shown(target: str) -> str:
    """The scanned folder as the user would type it: relative to the working directory when inside it
    (``.`` for a pre-commit run), else as given."""
    from pathlib import Path

    try:
        rel = Path(target).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return target
    return rel or "."


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"

