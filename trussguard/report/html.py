"""``trussguard audit --html FILE.html``: the audit for people who would rather look than read.

One self-contained file (inline CSS and SVG, no script, no network resource; a Content Security
Policy forbids loading any): a summary (secrets found, still present, rotated), a timeline with
one row per secret over the commit dates (introduced, copied, removed, still at HEAD), the
advisories with their five steps, and the scope of the audit. Values appear only redacted, every
text is HTML-escaped.
"""

from __future__ import annotations

import datetime
from html import escape

from trussguard import __version__
from trussguard.advise import rotation_label
from trussguard.results import ScanResult

WIDTH, LEFT, RIGHT, ROW = 960, 260, 56, 28  # timeline geometry (px)
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#1d232a;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em} h2{border-bottom:1px solid #dde;padding-bottom:.2em;margin-top:2em}
.meta{color:#5a6470} .cards{display:flex;gap:1em;margin:1em 0}
.card{flex:1;border:1px solid #dde;border-radius:8px;padding:.8em 1em} .card b{display:block;font-size:2em}
.open b{color:#b3261e} .rotated b{color:#1b6e3a} code{background:#f2f4f7;padding:0 .25em;border-radius:3px}
.adv{border:1px solid #dde;border-radius:8px;padding:.6em 1em;margin:1em 0}
.urgency{font-weight:600;text-transform:uppercase;font-size:.8em;padding:.1em .5em;border-radius:4px}
.immediate{background:#fde7e5;color:#b3261e} .review{background:#fff4d6;color:#7a5b00}
.done{background:#e3f4e8;color:#1b6e3a} table{border-collapse:collapse} td,th{padding:.2em .8em;text-align:left}
svg text{font:12px system-ui,sans-serif}
"""


def render_html(result: ScanResult) -> str:
    groups = _by_secret(result)
    still = sum(1 for g in groups.values() if any((f.history or {}).get("still_present") for f in g))
    rotated = sum(1 for a in result.advisories if a.rotation)
    title = f"Secret audit of {result.target}"
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">trussguard {escape(__version__)} · {escape(result.mode)} audit · '
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC · values are shown redacted</p>",
        '<section id="summary"><div class="cards">',
        f'<div class="card"><b id="secrets-found">{len(groups)}</b>secrets found</div>',
        f'<div class="card open"><b id="still-present">{still}</b>still present at a branch tip</div>',
        f'<div class="card rotated"><b id="rotated">{rotated}</b>rotated</div></div></section>',
        '<section id="timeline"><h2>Timeline</h2>', _timeline(result, groups), "</section>",
        '<section id="advisories"><h2>What to do</h2>', *(_advisory(a, groups) for a in result.advisories),
        "</section>", '<section id="scope"><h2>Scope of the audit</h2>', _scope(result), "</section>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _by_secret(result: ScanResult) -> dict[str, list]:
    groups: dict[str, list] = {}
    for f in result.findings:
        if f.advisory_id is not None:
            groups.setdefault(f.advisory_id, []).append(f)
    return groups


def _when(iso: str | None) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(iso) if iso else None


def _timeline(result: ScanResult, groups: dict[str, list]) -> str:
    """One row per secret: a bar from first seen to removal (or to the end when still present),
    a dot per commit that holds it (the first filled: introduced), a cross where it was removed."""
    if not groups:
        return "<p>No secret was found in the audited history.</p>"
    rows = []
    for adv, group in groups.items():
        records = [f.history or {} for f in group]
        dates = [_when(o.get("date")) for h in records for o in h.get("occurrences", []) if o.get("date")]
        removed = [_when(h.get("last_seen")) for h in records if h.get("last_seen")]
        still = any(h.get("still_present") for h in records)
        rows.append((adv, group[0], sorted(d for d in dates if d), sorted(d for d in removed if d), still))
    span = (result.stats.history or {}).get("date_range") or {}
    moments = [d for _, _, dates, removed, _ in rows for d in dates + removed]
    start = min(moments + [d for d in [_when(span.get("first"))] if d]) if moments else None
    end = max(moments + [d for d in [_when(span.get("last"))] if d]) if moments else None
    if start is None:
        return "<p>The secrets were found in no dated commit (unreachable blobs).</p>"
    total = max((end - start).total_seconds(), 1.0)

    def x(moment: datetime.datetime) -> float:
        return LEFT + (moment - start).total_seconds() / total * (WIDTH - LEFT - RIGHT)

    height = ROW * len(rows) + 40
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" role="img" '
           f'aria-label="When each secret was committed and removed">',
           f'<text x="{LEFT}" y="{height - 8}">{start:%Y-%m-%d}</text>',
           f'<text x="{WIDTH - RIGHT}" y="{height - 8}" text-anchor="end">{end:%Y-%m-%d}</text>']
    for n, (adv, lead, dates, removed, still) in enumerate(rows):
        y = 20 + n * ROW
        first = dates[0] if dates else (removed[0] if removed else start)
        last = x(end) if still else x(removed[-1]) if removed else x(dates[-1] if dates else first)
        color = "#b3261e" if still else "#7a8591"
        svg.append(f'<text x="4" y="{y + 4}">{escape(_short(lead.title, 34))}</text>')
        svg.append(f'<line x1="{x(first):.1f}" y1="{y}" x2="{last:.1f}" y2="{y}" stroke="{color}" stroke-width="4">'
                   f"<title>{escape(lead.redacted or '')}</title></line>")
        for i, d in enumerate(dates):
            fill = color if i == 0 else "#fff"
            svg.append(f'<circle cx="{x(d):.1f}" cy="{y}" r="5" fill="{fill}" stroke="{color}" stroke-width="2">'
                       f"<title>{'introduced' if i == 0 else 'copied'} {d:%Y-%m-%d}</title></circle>")
        for d in removed:
            svg.append(f'<text x="{x(d):.1f}" y="{y + 5}" text-anchor="middle" fill="{color}">✕'
                       f"<title>removed {d:%Y-%m-%d}</title></text>")
        if still:
            svg.append(f'<text x="{x(end) + 4:.1f}" y="{y + 4}" fill="{color}">HEAD</text>')
    svg.append("</svg>")
    return "\n".join(svg) + ('<p class="meta">● introduced · ○ copied to another commit or path · ✕ removed · '
                             'a red bar reaching HEAD is still present at a branch tip.</p>')


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def _advisory(a, groups: dict[str, list]) -> str:
    places = groups.get(a.id, [])
    value = next((f.secret or f.redacted for f in places if f.secret or f.redacted), "")
    state = f' <span class="urgency done">{escape(rotation_label(a))}</span>' if a.rotation else ""
    out = [f'<div class="adv" id="{escape(a.id)}"><h3>{escape(a.title)} '
           f'<span class="urgency {escape(a.urgency)}">{escape(a.urgency)}</span>{state}</h3>',
           f"<p>Advisory <code>{escape(a.id)}</code> · rule <code>{escape(a.rule_id)}</code> · value "
           f"<code>{escape(value)}</code> · {len(places)} place(s): "
           + ", ".join(f"<code>{escape(f.path)}:{f.line}</code>" for f in places) + "</p><ol>"]
    for action in a.actions:
        details = "".join(f"<li>{escape(d)}</li>" for d in action.details)
        out.append(f"<li><b>{escape(action.title)}</b><ul>{details}</ul></li>")
    out.append("</ol></div>")
    return "\n".join(out)


def _scope(result: ScanResult) -> str:
    s, h = result.stats, result.stats.history or {}
    span = h.get("date_range") or {}
    rows = [("Repository", result.target), ("Refs", str(h.get("refs", ""))), ("Commits", str(h.get("commits", ""))),
            ("Unique blobs", str(h.get("unique_blobs", ""))), ("Bytes scanned", str(s.bytes_scanned)),
            ("Commit dates", f"{span.get('first') or '?'} to {span.get('last') or '?'}"),
            ("Range", h.get("range") or "every ref"), ("Shallow clone", "yes" if h.get("shallow") else "no"),
            ("Skipped", ", ".join(f"{n} {r}" for r, n in _counts(s.skipped)) or "nothing")]
    table = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
    notes = "".join(f"<li>{escape(n)}</li>" for n in s.notes)
    return f"<table>{table}</table>" + _suppressed(result) + (f"<h3>Notes</h3><ul>{notes}</ul>" if notes else "")


def _suppressed(result: ScanResult) -> str:
    """Every finding a marker, the configuration file or the baseline hid, and what hid it."""
    if not result.suppressed:
        return ""
    rows = "".join(f"<tr><td><code>{escape(x.path)}:{x.line}</code></td><td><code>{escape(x.rule_id)}</code></td>"
                   f"<td>{escape(x.kind)}</td><td><code>{escape(x.by)}</code></td>"
                   f"<td><code>{escape(x.redacted or '')}</code></td></tr>" for x in result.suppressed)
    return (f'<h3 id="suppressed">Suppressed ({len(result.suppressed)})</h3><table><tr><th>where</th><th>rule</th>'
            f"<th>kind</th><th>by</th><th>value</th></tr>{rows}</table>")


def _counts(skipped) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for k in skipped:
        counts[k.reason] = counts.get(k.reason, 0) + 1
    return sorted(counts.items())
