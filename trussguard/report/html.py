"""``trussguard audit --html FILE.html``: the audit for people who would rather look than read.

One self-contained file that works offline (inline CSS and SVG, one inline script; a Content Security
Policy forbids loading anything and allows only that script, by its hash): a summary (secrets found,
still present, rotated), a findings table sortable by clicking its headers (severity, rule, path:line,
commit, first seen, still at a branch tip), a timeline with one row per secret over the commit dates (labelled with
its path and line), the advisories with their five steps, and the scope of the audit.

Rows follow the triage order (``trussguard.triage``: worst first). Rules link to their revoke pages,
commits to ``--commit-url`` when given. Every text is HTML-escaped (a path, a message or a commit
subject is untrusted input) and Markdown code spans become ``<code>``; values appear only redacted.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
from html import escape

from trussguard import __version__
from trussguard.advise import rotation_label, urgency_label, validation_line
from trussguard.ref_names import ref_summary
from trussguard.results import ScanResult
from trussguard.triage import commit_link, hidden_parts

WIDTH, LEFT, RIGHT, ROW = 960, 300, 56, 36  # timeline geometry (px)
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
#findings table{width:100%} #findings td{border-top:1px solid #eef;vertical-align:top}
#findings td.where{word-break:break-all} #findings th button{font:inherit;font-weight:600;border:0;
background:none;padding:0;cursor:pointer;color:inherit} #findings th button::after{content:" \\2195";color:#99a}
#findings th[aria-sort=ascending] button::after{content:" \\2191"} #findings th[aria-sort=descending] button::after{content:" \\2193"}
.sev{font-weight:600;font-size:.8em;text-transform:uppercase} .sev-critical{color:#8e1b6f} .sev-high{color:#b3261e}
.sev-medium{color:#7a5b00} .sev-low{color:#2a6f8f} a{color:#1858a8}
.validation.live{color:#b3261e;font-weight:600} .validation.revoked{color:#1b6e3a}
svg text{font:12px system-ui,sans-serif} svg text.path{fill:#5a6470;font:11px ui-monospace,monospace}
"""
# Sorts the findings table by the clicked column (each cell's data-key, numbers as numbers), toggling the order.
_SCRIPT = """
document.querySelectorAll("#findings th button").forEach(function (button) {
  button.addEventListener("click", function () {
    var th = button.parentNode, table = th.closest("table"), body = table.tBodies[0];
    var column = Array.prototype.indexOf.call(th.parentNode.children, th);
    var order = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", order);
    var key = function (row) { var v = row.children[column].getAttribute("data-key"); return isNaN(v) ? v : +v; };
    var rows = Array.prototype.slice.call(body.rows).map(function (row, i) { return [key(row), i, row]; });
    rows.sort(function (a, b) {
      var c = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1];
      return order === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r[2]); });
  });
});
"""
_SCRIPT_HASH = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
_CSP = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{_SCRIPT_HASH}'"


def render_html(result: ScanResult) -> str:
    groups = _by_secret(result)
    still = sum(1 for g in groups.values() if any((f.history or {}).get("still_present") for f in g))
    rotated = sum(1 for a in result.advisories if a.rotation)
    title = f"Secret audit of {result.target}"
    hidden = "".join(f" · {escape(part)}" for part in hidden_parts(result))
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        f'<p class="meta">trussguard {escape(__version__)} · {escape(result.mode)} audit · '
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC · values are shown redacted{hidden}</p>",
        '<section id="summary"><div class="cards">',
        f'<div class="card"><b id="secrets-found">{len(groups)}</b>secrets found</div>',
        f'<div class="card open"><b id="still-present">{still}</b>still present at a branch tip</div>',
        f'<div class="card rotated"><b id="rotated">{rotated}</b>rotated</div></div></section>',
        '<section id="findings"><h2>Findings</h2>', _findings(result), "</section>",
        '<section id="timeline"><h2>Timeline</h2>', _timeline(result, groups), "</section>",
        '<section id="advisories"><h2>What to do</h2>', *(_advisory(result, a, groups) for a in result.advisories),
        "</section>", '<section id="scope"><h2>Scope of the audit</h2>', _scope(result), "</section>",
        f"<script>{_SCRIPT}</script>", "</body></html>",
    ]
    return "\n".join(parts) + "\n"


_SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1}


def _findings(result: ScanResult) -> str:
    """The findings table, one row per finding in triage order; the headers sort it (inline script)."""
    if not result.findings:
        return "<p>No finding.</p>"
    advisories = {a.id: a for a in result.advisories}
    validated = any(f.validation for f in result.findings)  # --validate: one more column
    rows = []
    for n, f in enumerate(result.findings):
        h = f.history or {}
        sev = str(f.severity)
        advisory = advisories.get(f.advisory_id or "")
        rule = f"<code>{escape(f.rule_id)}</code>"
        if advisory is not None and _linkable(advisory.revoke_url):
            rule = f'{_link(advisory.revoke_url, rule, f"Revoke it: {advisory.revoke_url}")}'
        where = f"{f.path}:{f.line}"
        commit = escape(f.commit[:12]) if f.commit else ""
        link = commit_link(result, f.commit, f.path, f.line)
        if link and _linkable(link):
            commit = _link(link, f"<code>{commit}</code>", f.commit)
        elif commit:
            commit = f'<code title="{escape(f.commit)}">{commit}</code>'
        first = h.get("first_seen") or ""
        # HEAD's branch, another branch tip, or gone from every tip (the timeline's red bar: still present)
        at_head = ("HEAD" if h.get("at_head") else "other branch" if h.get("still_present") else "no") \
            if f.history is not None else ""
        rows.append(
            f'<tr><td data-key="{(5 - _SEVERITY_RANK.get(sev, 0)) * 1_000_000 + n}"><span class="sev sev-{escape(sev)}">'
            f"{escape(sev)}</span></td>"
            f'<td data-key="{escape(f.rule_id)}">{rule}</td>'
            f'<td class="where" data-key="{escape(f.path)}:{f.line:09d}"><code>{escape(where)}</code></td>'
            f'<td data-key="{escape(f.commit or "")}">{commit}</td>'
            f'<td data-key="{escape(first)}">{escape(first[:10])}</td>'
            f'<td data-key="{escape(at_head)}">{at_head}</td>' + (_validation_cell(f.validation) if validated else "")
            + "</tr>")
    header = "".join(f'<th scope="col"{sort}><button type="button">{name}</button></th>' for name, sort in (
        ("severity", ' aria-sort="ascending"'), ("rule", ""), ("path:line", ""), ("commit", ""), ("first seen", ""),
        ("still at a tip?", ""), *((("validation", ""),) if validated else ())))
    # ascending severity is the triage order: worst first, then path and line
    return (f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
            '<p class="meta">Worst first; click a header to sort by it. A rule links to where its keys are '
            "revoked" + (", a commit to the commit." if getattr(result, "commit_url", None) else ".") + "</p>")


def _validation_cell(v: dict | None) -> str:
    """The provider's answer (``--validate``): the outcome, its detail, host and time in the tooltip."""
    if not v:
        return '<td data-key=""></td>'
    outcome = str(v.get("outcome"))
    return (f'<td data-key="{escape(outcome)}"><span class="validation {escape(outcome)}" '
            f'title="{escape(validation_line(v))}">{escape(outcome)}</span></td>')


def _linkable(url: str | None) -> bool:
    return bool(url) and url.startswith(("https://", "http://"))


def _link(url: str, inner_html: str, title: str = "") -> str:
    tip = f' title="{escape(title)}"' if title else ""
    return f'<a href="{escape(url)}" rel="noopener noreferrer"{tip}>{inner_html}</a>'


_CODE_OR_URL = re.compile(r"(`+)(.+?)\1|(https?://[^\s<>`\"')]+[^\s<>`\"').,;:])")


def _inline(text: str) -> str:
    """Text as HTML: Markdown code spans become ``<code>``, URLs become links, everything else escaped."""
    out, last = [], 0
    for m in _CODE_OR_URL.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(f"<code>{escape(m.group(2).strip())}</code>" if m.group(1) else _link(m.group(3), escape(m.group(3))))
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)


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
    records_by_adv: dict = {}
    for adv, group in groups.items():
        records = [f.history or {} for f in group]
        dates = [_when(o.get("date")) for h in records for o in h.get("occurrences", []) if o.get("date")]
        removed = [_when(h.get("last_seen")) for h in records if h.get("last_seen")]
        still = any(h.get("still_present") for h in records)
        rows.append((adv, group[0], sorted(d for d in dates if d), sorted(d for d in removed if d), still))
        records_by_adv[adv] = records
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
        paths = sorted({f"{f.path}:{f.line}" for f in groups[adv]})
        where = _middle(paths[0], 44) + (f" (+{len(paths) - 1} more)" if len(paths) > 1 else "")
        svg.append(f'<text x="4" y="{y - 3}">{escape(_short(lead.title, 44))}<title>{escape(lead.title)}</title></text>')
        svg.append(f'<text class="path" x="4" y="{y + 11}">{escape(where)}<title>{escape(", ".join(paths))}'
                   "</title></text>")
        svg.append(f'<line x1="{x(first):.1f}" y1="{y}" x2="{last:.1f}" y2="{y}" stroke="{color}" stroke-width="4">'
                   f"<title>{escape(lead.redacted or '')}</title></line>")
        for i, d in reversed(list(enumerate(dates))):  # the introduction last: on top of a copy made the same day
            fill = color if i == 0 else "#fff"
            svg.append(f'<circle cx="{x(d):.1f}" cy="{y}" r="5" fill="{fill}" stroke="{color}" stroke-width="2">'
                       f"<title>{'introduced' if i == 0 else 'copied'} {d:%Y-%m-%d}</title></circle>")
        for d in removed:
            svg.append(f'<text x="{x(d):.1f}" y="{y + 5}" text-anchor="middle" fill="{color}" font-size="15" '
                       f'stroke="#fff" stroke-width="3" paint-order="stroke">✕'
                       f"<title>removed {d:%Y-%m-%d}</title></text>")
        if still:
            head = any(h.get("at_head") for h in records_by_adv[adv])
            svg.append(f'<text x="{x(end) + 4:.1f}" y="{y + 4}" fill="{color}">{"HEAD" if head else "tip"}'
                       f"<title>{'still at HEAD' if head else 'still at another branch tip'}</title></text>")
    svg.append("</svg>")
    return "\n".join(svg) + ('<p class="meta">● introduced · ○ copied to another commit or path · ✕ removed · '
                             'a red bar reaching the end is still present at a branch tip (HEAD, or another branch: tip).</p>')


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def _middle(text: str, n: int) -> str:
    """A path shortened in the middle: its start and its file name stay readable (the tooltip has it all)."""
    if len(text) <= n:
        return text
    tail = max(n * 3 // 5, n - 1 - text.find("/", 1) if "/" in text else 0)
    tail = min(tail, n - 2)
    return text[:n - 1 - tail] + "…" + text[-tail:]


def _advisory(result: ScanResult, a, groups: dict[str, list]) -> str:
    places = groups.get(a.id, [])
    value = next((f.secret or f.redacted for f in places if f.secret or f.redacted), "")
    state = f' <span class="urgency done">{escape(rotation_label(a))}</span>' if a.rotation else ""
    revoke = f" · {_link(a.revoke_url, 'revoke it')}" if _linkable(a.revoke_url) else ""
    where = []
    for f in places:
        link = commit_link(result, f.commit, f.path, f.line)
        commit = f" @ {_link(link, f'<code>{escape(f.commit[:12])}</code>')}" if link and _linkable(link) else \
            f" @ <code>{escape(f.commit[:12])}</code>" if f.commit else ""
        where.append(f"<code>{escape(f.path)}:{f.line}</code>{commit}")
    refs = sorted({r for f in places for r in (f.history or {}).get("refs", [])})
    total = max([(f.history or {}).get("refs_count", 0) for f in places] + [0])
    reach = f"<p>Reachable from {escape(ref_summary(refs, total))}.</p>" if refs else ""
    out = [f'<div class="adv" id="{escape(a.id)}"><h3>{escape(a.title)} '
           f'<span class="urgency {escape(a.urgency)}">{escape(urgency_label(a))}</span>{state}</h3>',
           *([f"<p>Validation: {escape(validation_line(a.validation))}.</p>"] if a.validation else []),
           f"<p>Advisory <code>{escape(a.id)}</code> · rule <code>{escape(a.rule_id)}</code>{revoke} · value "
           f"<code>{escape(value)}</code> · {len(places)} place(s): " + ", ".join(where) + f"</p>{reach}<ol>"]
    for action in a.actions:
        details = "".join(f"<li>{_inline(d)}</li>" for d in action.details)
        out.append(f"<li><b>{_inline(action.title)}</b><ul>{details}</ul></li>")
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
