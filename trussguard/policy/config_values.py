"""Judging one value of a Truss config: could it grant access, which rule recognises it, what to report.

Shared by the config checks (TG101-TG115): each check decides *where* to look, these helpers decide
*what* a value there is, so every check calls a placeholder, a path or a `$VAR` the same way.
"""

from __future__ import annotations

import re

import yaml

from trussguard.engine.heuristics import is_code_like, is_placeholder, shannon_entropy
from trussguard.policy import yaml_nodes
from trussguard.policy.context import ConfigContext
from trussguard.types import Match, Severity

CHAINS_DUMMY = "***"  # Chains writes it for every declared secret: legitimate in generated configs
REGISTRY_PREFIX = "DOCKER_REGISTRY_"  # exempt from the name regex (constants.REGISTRY_BUILD_SECRET_PREFIX)

_ENV_STYLE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[_.-][A-Za-z][A-Za-z0-9]*)+$")  # BASETEN_API_KEY, hf_token
_SHORT_WORD = re.compile(r"^[A-Za-z]{1,8}$")  # foo, hunter
_ROOTED = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|~?/|\.\.?/)", re.IGNORECASE)
_PATH = re.compile(r"^[\w.~+-]*(?:/[\w.~+-]*)+$")  # no userinfo (`user:pass@`), query or spaces


def not_a_credential(ctx: ConfigContext, name: str, value: str) -> str | None:
    """Why a value under `secrets:` could not grant access, or None when it could (a leak, TG101).

    A placeholder, a short word, an identifier (a variable NAME such as `BASETEN_API_KEY`, pasted where the
    value was meant to be set in Baseten) or the key itself is not a credential: reporting it as a leak with a
    rotation advisory would be noise. It is still a runtime bug (the config value is the secret's runtime
    default), so TG102 reports it. Anything a specific credential rule recognises stays a leak."""
    v = value.strip().strip("'\"")
    if is_placeholder(v):
        return "placeholder"
    m = ctx.credential_in(v)
    if m is not None and not ctx.detector.rules[m.rule_id].generic:
        return None
    if re.sub(r"[^a-z0-9]", "", v.lower()) == re.sub(r"[^a-z0-9]", "", name.lower()):
        return "the secret's own name"
    if _ENV_STYLE.match(v) and not any(looks_random(part) for part in re.split(r"[_.-]", v)):
        return "an identifier (a variable or secret NAME), not a credential"
    if _SHORT_WORD.match(v):
        return "a short word, not a credential"
    return None


def rule_matches(ctx: ConfigContext, text: str, node: yaml.Node | None = None,
                 line: int | None = None) -> list[Match]:
    """Every credential-rule match inside one value (ctx.credential_in keeps only the best one), plus the
    file's own matches inside the node or on the line (rules that need the key as context, detect-secrets).
    For a line of a whole file (``line`` given) the file's matches are used as they are, without a rescan."""
    found = ctx.detector.matcher.scan(text.encode("utf-8", "replace")) if line is None else []
    secrets = {m.secret for m in found}
    if node is not None:  # only the matches of the node's lines can lie inside it
        nearby = ctx.index.on_lines(node.start_mark.line + 1, node.end_mark.line + 1)
    else:
        nearby = ctx.index.on_lines(line, line) if line is not None else []
    for m in nearby:
        inside = yaml_nodes.contains(node, m.line, m.column) if node is not None else m.line == line
        if inside and m.secret not in secrets and (m.secret in text or m.decoded):
            found.append(m)
            secrets.add(m.secret)
    return [m for m in found if not not_literal(ctx, m, text)]


def not_literal(ctx: ConfigContext, m: Match, text: str) -> bool:
    """A generic rule (or detect-secrets) firing on `$(cat ...)`, `$VAR`, a placeholder or an identifier
    (`runtime_secret_name: hf_access_token`): not a literal credential, so no check claims it."""
    if not ctx.detector.rules[m.rule_id].generic:
        return False
    secret = m.secret
    at = text.find(secret)
    before = text[:at].rstrip("\"'") if at >= 0 else ""
    return secret.lstrip("\"'")[:1] in ("$", "`", "(") or before.endswith(("`", "$(", "${", "$")) \
        or "/secrets/" in secret or is_placeholder(secret) or is_code_like(secret) or is_path(secret)


def is_path(value: str) -> bool:
    """A rooted path or URI (`/models/Qwen3-235B-A22B-Instruct`, `./data`, `gs://bucket/dir`) whose
    segments read as names: a location, not a credential, however mixed its case (detect-secrets' base64
    plugin sees one 40-character word). A segment with a random-looking run (a token in a path) keeps it
    a candidate, and so does an unrooted `a/b/c`, which is what a base64 key with slashes looks like."""
    v = value.strip().strip("'\"")
    if not _ROOTED.match(v) or not _PATH.match(v.split("://", 1)[-1]):
        return False
    return not any(looks_random(segment) for segment in v.split("/"))


def leak_of(ctx: ConfigContext, m: Match) -> tuple[str, Severity]:
    """``ctx.leak`` for one rule match inside a longer value: a specific rule's token is critical and is
    the secret; a generic rule's secret goes through ``ctx.leak`` (high, or critical if a specific rule
    recognises it)."""
    if not ctx.detector.rules[m.rule_id].generic:
        return m.secret, Severity.CRITICAL
    return ctx.leak(m.secret, Severity.HIGH)


def rule_label(ctx: ConfigContext, m: Match) -> str:
    """The rule's human name, as a message says what was found: "GitHub personal access token"."""
    return ctx.detector.rules[m.rule_id].name


def rule_secret_name(ctx: ConfigContext, m: Match, fallback: str) -> str:
    """The workspace secret the rule's rotation advice names for its credential, else ``fallback``."""
    rotation = ctx.detector.rules[m.rule_id].rotation
    return rotation.truss_secret_name if rotation and rotation.truss_secret_name else fallback


def literal(value: str, min_len: int = 6) -> str | None:
    """The value when it is a literal that can be a credential: not a placeholder, a variable, a command
    substitution, a path, an identifier, a number or a boolean."""
    v = value.strip().strip("'\"")
    if len(v) < min_len or v[0] in "$`%<{-" or v.isdigit() or is_placeholder(v) or is_code_like(v):
        return None
    return v


def looks_random(value: str) -> bool:
    """A run of 20+ letters and digits with both kinds and high entropy: a token, not an identifier."""
    run = max(re.findall(r"[A-Za-z0-9]+", value) or [""], key=len)
    return len(run) >= 20 and any(c.isdigit() for c in run) and any(c.isalpha() for c in run) \
        and shannon_entropy(run) >= 3.5


def env_name(name: str) -> str:
    """The workspace-secret name suggested for a variable or flag: ``HF_TOKEN`` -> ``hf_token``."""
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "api_key"
