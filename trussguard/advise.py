"""One advisory per distinct leaked secret: what to do about it, in five numbered steps.

A secret committed in three files is one key to rotate, so advisories are keyed by the secret's
hash and list every finding that carries it. The steps are always the same five, in this order
(deleting the line first would leave a live key in the history): revoke at the provider (the
rule's own advice), store the replacement as a Baseten workspace secret, change this repository
(each finding's Truss fix), purge the history (optional: rotation is what protects), verify.
Nothing here ever holds the secret itself: the purge step says where to take it from instead.

A secret ``scan --staged`` blocked before any commit held it gets two steps instead: remove it
before committing, and rotate it if it was ever shared (a chat, a notebook output, another
repository). Purging a history that never held it, or force-pushing, would be wrong advice.
"""

from __future__ import annotations

import posixpath
import re

from dataclasses import replace

from trussguard.engine.schema import Rule
from trussguard.findings import advisory_id
from trussguard.ref_names import REFS_NAMED, ref_summary
from trussguard.types import Action, Advisory, Finding

BASETEN_SECRETS_URL = "https://app.baseten.co/settings/secrets"
MAX_LISTED = 10  # commits, refs and places listed in one step; the JSON findings have them all
_NAMED_SECRET = re.compile(r"workspace secret `([A-Za-z0-9_.-]+)`")
_MESSAGE_SECRET = re.compile(r"workspace secret \(`([A-Za-z0-9_.-]+)`\)\.$")  # findings.to_finding's message
_FRESH = re.compile(r"^revoke (?:the key now|it|this value), store a new one as ")  # no new one needed unless shared
BEFORE_COMMIT = "Remove it before committing"  # the first step's title for a secret no commit holds
# the policy fixes' history clause (policy/python_fixes.revoke, TG210, TG212): not true of a staged-only key
_HISTORY_CLAUSE = re.compile(r"(?:,? and |; )treat the git history as compromised(?:: deleting the line does not "
                             r"remove the key from earlier commits \(run `trussguard audit` to see every commit and "
                             r"ref that holds it\))?")


def build_advisories(findings: list[Finding], rules: dict[str, Rule],
                     uncommitted: frozenset[str] = frozenset()) -> list[Advisory]:
    """One advisory per secret; ``uncommitted``: the SHA-256s of secrets no commit holds yet (a staged
    scan's), which get ``_before_commit``'s two steps instead of the five."""
    by_secret: dict[str, list[Finding]] = {}
    for f in findings:
        if f.secret_sha256 is not None:
            by_secret.setdefault(f.secret_sha256, []).append(f)
    out = []
    for digest, group in by_secret.items():
        lead = max(group, key=lambda f: (f.severity, not rules[f.rule_id].generic if f.rule_id in rules else 0))
        rule = rules.get(lead.rule_id)
        rotation = rule.rotation if rule else None
        name = _secret_name(rule, group)
        out.append(Advisory(
            id=advisory_id(digest),
            secret_sha256=digest,
            rule_id=lead.rule_id,
            title=lead.title,
            urgency=_urgency(rule),
            revoke_url=rotation.revoke_url if rotation else None,
            steps=rotation.steps if rotation else (),
            truss_secret_name=name,
            references=rule.references if rule else (),
            finding_ids=tuple(f.id for f in group),
            actions=_before_commit(rule, group, name) if digest in uncommitted else
            (_revoke(rule), _store(name, _custom_server(group)), _change(group, name), _purge(group),
             _verify(rule, digest)),
        ))
    return out  # in the order the secrets first appear in the (sorted) findings


def _urgency(rule: Rule | None) -> str:
    """``immediate`` for a value a provider-specific rule recognised; ``review`` for weaker signals
    (a generic high-entropy assignment, a detect-secrets plugin, a literal only a policy check saw)."""
    if rule is None or rule.generic or rule.detector != "regex":
        return "review"
    return "immediate"


def _secret_name(rule: Rule | None, group: list[Finding]) -> str:
    """The workspace secret to use. A provider-specific rule knows its usual name (`hf_access_token`), unless
    a policy fix names the one the Truss already declares for it. A generic rule or plugin knows no provider:
    the name a policy fix derived from the variable, key or keyword (`OPENAI_API_KEY = "..."` ->
    `openai_api_key`) says more than the rule's catch-all `service_api_key`."""
    usual = rule.rotation.truss_secret_name if rule is not None and rule.rotation is not None else None
    named = [m.group(1) for f in sorted(group, key=lambda f: (f.path, f.line)) for m in [_NAMED_SECRET.search(f.fix or "")]
             if m]
    specific = rule is not None and not rule.generic and rule.detector == "regex"
    if specific and usual:
        return usual if usual in named or not named else named[0]
    bound = [m.group(1) for f in group for m in [_MESSAGE_SECRET.search(f.message or "")] if m]
    return (named or bound or [usual or "api_key"])[0]


def _custom_server(group: list[Finding]) -> bool:
    """The fixes read the secret as `$(cat /secrets/NAME)` only: a `docker_server:` Truss."""
    fixes = [f.fix for f in group if f.fix]
    return bool(fixes) and all("/secrets/" in x and "_secrets[" not in x for x in fixes)


def _revoke(rule: Rule | None) -> Action:
    """The rule's provider steps; a generic rule knows no provider, only how to find it."""
    rotation = rule.rotation if rule else None
    if rotation is None or rule.generic or rule.detector != "regex":
        return Action(1, "Revoke or rotate it where it was issued", (rotation.steps if rotation else (
            "No provider is known for this value: find the service that issued it (the name and the code around "
            "it usually say), revoke it there and issue a replacement with the narrowest scope the model needs.",
        )) + ("If it is not a credential at all, say so on its line with `# trussguard: allow` (it shows in "
              "code review).",))
    details = ([f"It grants: {rotation.grants}."] if rotation.grants else []) + [f"Revoke it at {rotation.revoke_url}."]
    return Action(1, f"Revoke or rotate it at the provider ({rule.name})", tuple(details) + rotation.steps)


def _store(name: str, custom_server: bool = False) -> Action:
    """Where the value goes, and how the Truss names and reads it (the same in a history audit: the fix of a
    removed line is still this)."""
    read = (f"`$(cat /secrets/{name})` in `docker_server.start_command` (e.g. `{name.upper()}=$(cat "
            f"/secrets/{name})`)" if custom_server else
            f"`self._secrets[\"{name}\"]` in the model code (a `docker_server:` Truss: `$(cat /secrets/{name})` in "
            f"`start_command`)")
    return Action(2, f"Store the replacement as the Baseten workspace secret `{name}`", (
        f"In Baseten, Settings > Secrets ({BASETEN_SECRETS_URL}), or with the REST API (`POST "
        f"https://api.baseten.co/v1/secrets`): add `{name}` with the new value. It lives there only, never in a "
        "file of the repository.",
        f"The Truss declares it by name, `{name}: null` under `secrets:` in config.yaml, and reads it with {read}.",
    ))


def _change(group: list[Finding], name: str) -> Action:
    """The exact change per place, from the Truss policy's fix where a check had one."""
    places, seen = [], set()
    for f in sorted(group, key=lambda f: (f.path, f.line)):
        if f.path in seen:
            continue
        seen.add(f.path)
        if f.history is not None and not f.history.get("still_present", True):
            places.append(f"{f.path}: no longer in any branch tip; nothing to change in the files (see step 4)")
        else:
            places.append(f"{f.path}:{f.line}: {f.fix or _default_fix(f.path, name)}")
    listed = places[:MAX_LISTED] + ([f"... and {len(places) - MAX_LISTED} more places (see the findings)"]
                                    if len(places) > MAX_LISTED else [])
    return Action(3, "Change this repository", tuple(listed) + (
        "Redeploy (`truss push`) so the model reads the new value.",))


def _default_fix(path: str, name: str) -> str:
    """Where no policy check gave a fix: by the kind of file (Truss model code lives under ``model/``)."""
    base = posixpath.basename(path)
    declare = f"declare `{name}: null` under `secrets:` in the Truss's config.yaml"
    if base == "config.yaml":
        return f"delete the value; {declare} (a name, never a value) and read it in the model"
    if base.endswith(".py") and (path.startswith("model/") or "/model/" in path):
        return (f"delete the literal and read the key at run time with `self._secrets[\"{name}\"]` (with "
                f"`self._secrets = kwargs[\"secrets\"]` in `__init__` if the class lacks it); {declare}")
    return (f"delete the value and read it at run time from the environment (`os.environ[\"{name.upper()}\"]`) "
            f"or a secret manager; in a Truss's model code, from `self._secrets[\"{name}\"]` ({declare})")


def _purge(group: list[Finding]) -> Action:
    details = [
        "Optional, and never instead of step 1: a purge cannot recall the copies already cloned, forked, cached "
        "or scanned.",
        "In a fresh `git clone --mirror`, write the old value into a file outside the repository as one line "
        "`OLD_VALUE==>***REMOVED***` (take it from the provider or your password manager: trussguard never prints "
        "it), then run `git filter-repo --replace-text FILE`.",
        "Force-push every rewritten branch and tag (`git push --force --mirror`), and have every collaborator "
        "re-clone: old clones still hold the value.",
        "Ask the hosting provider to purge cached views and pull-request refs (on GitHub, `refs/pull/*` and "
        "cached commits only go through GitHub Support).",
    ]
    histories = [f for f in group if f.history is not None]
    if histories:
        commits = sorted({o["commit"] for f in histories for o in f.history.get("occurrences", [])})
        refs = sorted({r for f in histories for r in f.history.get("refs", [])})
        total = max([f.history.get("refs_count", 0) for f in histories] + [len(refs)])
        details.append(f"Commits that hold it: {_listed([c[:12] for c in commits])}; refs that reach them: "
                       f"{ref_summary(refs, total) if refs else 'none (unreachable objects: `git gc --prune=now` drops them)'}"
                       + (" (the JSON report lists them all)." if total > REFS_NAMED else "."))
    else:
        details.append("`trussguard audit` lists every commit and ref that holds it.")
    return Action(4, "Purge it from the git history", tuple(details))


def _verify(rule: Rule | None, digest: str) -> Action:
    details = [f"Re-run `trussguard audit --include-unreachable` and check that advisory `{advisory_id(digest)}` is "
               "gone from every ref."]
    if rule is not None and rule.rotation is not None:
        details.append(f"Check at {rule.rotation.revoke_url} that the old key is shown as revoked or deleted.")
    return Action(5, "Verify", tuple(details))


def _before_commit(rule: Rule | None, group: list[Finding], name: str) -> tuple[Action, Action]:
    """A secret no commit holds: take it out of what is staged, keep it where the Truss reads it from,
    and rotate it only if it was shared elsewhere."""
    places, seen = [], set()
    for f in sorted(group, key=lambda f: (f.path, f.line)):
        if f.path not in seen:
            seen.add(f.path)
            places.append(f"{f.path}:{f.line}: {f.fix or _default_fix(f.path, name)}")
    listed = places[:MAX_LISTED] + ([f"... and {len(places) - MAX_LISTED} more places (see the findings)"]
                                    if len(places) > MAX_LISTED else [])
    remove = Action(1, BEFORE_COMMIT, (
        "No commit holds it yet (HEAD does not), so nothing needs purging: change the staged files, then "
        "`git add` them again (`git restore --staged PATH` unstages a file and keeps your working copy).",
        *listed,
    ) + _store(name, _custom_server(group)).details)
    rotation = rule.rotation if rule is not None else None
    where = f" at {rotation.revoke_url}" if rotation and rotation.revoke_url and not rule.generic else ""
    rotate = Action(2, "Rotate it if it was ever shared", (
        "If the value was ever pasted anywhere else (a chat, a ticket, a notebook output, another repository), "
        f"it is exposed there: revoke it{where} and store the replacement as the workspace secret `{name}`.",
    ))
    return remove, rotate


def before_commit_fix(fix: str | None) -> str | None:
    """A policy fix without its history clause, for a secret no commit holds (the clause would send
    someone to purge a history that never had it)."""
    return _FRESH.sub("store it as ", _HISTORY_CLAUSE.sub("", fix)) if fix else fix


def is_before_commit(a: Advisory) -> bool:
    """The advisory of a secret ``scan --staged`` found in no commit (``_before_commit``'s steps)."""
    return bool(a.actions) and a.actions[0].title == BEFORE_COMMIT


def what_to_do(a: Advisory) -> str:
    """The advisory in one sentence, for the compact text report (every step: ``--verbose``)."""
    if is_before_commit(a):
        return ("remove it before committing (no commit holds it yet); if it was ever shared (a chat, a notebook "
                "output, another repository), rotate it")
    if a.rotation:
        return "rotated: the git history still holds the old value; purge it when you can (step 4 of --verbose)"
    revoke = f"revoke it at {a.revoke_url}" if a.revoke_url and a.urgency == "immediate" else \
        "revoke it where it was issued"
    return (f"{revoke}; store the new one as the workspace secret `{a.truss_secret_name}`; then change the code "
            "(git history keeps the old value)")


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


def mark_rotated(advisories: list[Advisory], rotations: dict[str, dict]) -> list[Advisory]:
    """Advisories of secrets the baseline says were rotated: still listed (the history keeps the
    value), step 1 marked done, the purge still pending."""
    out = []
    for a in advisories:
        record = rotations.get(a.id)
        if record is None:
            out.append(a)
            continue
        by = f" by {record['rotated_by']}" if record.get("rotated_by") else ""
        ref = f" ({record['reference']})" if record.get("reference") else ""
        i = 1 if is_before_commit(a) else 0  # the rotate step
        done = Action(i + 1, f"Done: rotated on {record['rotated_at']}{by}{ref}", a.actions[i].details)
        out.append(replace(a, rotation=record, actions=a.actions[:i] + (done,) + a.actions[i + 1:]))
    return out


def rotation_label(a: Advisory) -> str:
    """``rotated on 2026-11-20, history purge pending`` for an acknowledged secret, else empty."""
    return f"rotated on {a.rotation['rotated_at']}, history purge pending" if a.rotation else ""


LIVE_LABEL = "immediate, confirmed live"


def urgency_label(a: Advisory) -> str:
    """The urgency as reports show it: ``immediate, confirmed live`` when ``--validate`` found the secret
    still accepted by its provider (the JSON ``urgency`` field stays the rule's; ``validation.outcome``
    says live), else the rule's urgency."""
    return LIVE_LABEL if (a.validation or {}).get("outcome") == "live" else a.urgency


def validation_line(v: dict | None) -> str:
    """``live: HTTP 200 from api.openai.com at 2026-12-07T01:45:00Z`` (``, cached`` when reused from the
    validation cache); empty when the secret was not validated. Never holds the secret: only the outcome,
    the provider's status line, the host asked and the time."""
    if not v:
        return ""
    cached = " (cached)" if v.get("cached") else ""
    return f"{v.get('outcome')}: {v.get('detail')} from {v.get('host')} at {v.get('checked_at')}{cached}"
