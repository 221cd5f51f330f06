"""What a string literal of a Python file is, for the value checks (TG201-TG204, TG210, TG212).

Why one module: each literal is bound by exactly one context (``python_literals.Site.kind``), so
exactly one check reports it, and all of them judge it the same way (a shaped credential, a secret
name with a high-entropy value, a Baseten API key that only TG212 reports) and place the hit where the
credential rule's match is, so the findings merge. Judgements are cached per file in ``CodeFacts``.
"""

from __future__ import annotations

import ast
import re
from typing import Iterator

from trussguard.engine.heuristics import AUTH_SCHEME
from trussguard.engine.heuristics import identifier_words, is_literal_credential, is_secret_name
from trussguard.policy.context import CodeContext
from trussguard.policy.python_facts import facts_of
from trussguard.policy.python_literals import Site
from trussguard.policy.registry import PolicyHit
from trussguard.types import Match, Severity

HF_SECRET = "hf_access_token"  # the usual workspace secret of a Hugging Face token
_HF_KEYWORDS = frozenset({"token", "use_auth_token", "auth_token", "hf_token"})
_AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})
_BASETEN_SHAPE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}(?![A-Za-z0-9])")
COMMAND_SECRETS = (  # where a command line or requirement carries a credential (C4, C5)
    re.compile(r"://(?:[^/\s:@]*:)?(?P<secret>[^/\s:@]+)@"),
    re.compile(r"--(?:token|password|api[-_]key)[= ]+(?P<secret>[^\s'\"]+)"),
    re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<secret>[^\s;&|'\"]+)"),
    re.compile(r"authorization:\s*(?:bearer|token|api-key|basic)\s+(?P<secret>[^\s'\"]+)", re.IGNORECASE),
)


def match(ctx: CodeContext, value: str) -> Match | None:
    """``ctx.credential_in``, once per distinct literal of the file."""
    cache = facts_of(ctx).credentials if ctx.tree is not None else {}
    if value not in cache:
        cache[value] = ctx.credential_in(value)
    return cache[value]


def shaped(ctx: CodeContext, value: str) -> bool:
    """A specific credential rule recognises a token inside the value."""
    m = match(ctx, value)
    return m is not None and not ctx.detector.rules[m.rule_id].generic


def credential(ctx: CodeContext, value: str) -> bool:
    """Shaped, or one high-entropy token that is no placeholder, label, path or identifier."""
    return shaped(ctx, value) or is_literal_credential(value)


def secret_key(name: str | None) -> bool:
    return name is not None and (is_secret_name(name) or name.lower() in _AUTH_HEADERS)


def literal_description(ctx: CodeContext, value: str) -> str:
    m = match(ctx, value)
    return f"a literal {ctx.detector.rules[m.rule_id].name}" if shaped(ctx, value) else "a literal secret"


def secret_name(ctx: CodeContext, site: Site) -> str:
    """The workspace secret the value should live in: the rule's usual name, else the identifier's; the name
    the Truss already declares for the same credential wins over both (no second `hf_token`)."""
    return declared_name(ctx, _suggested_name(ctx, site))


def _suggested_name(ctx: CodeContext, site: Site) -> str:
    m = match(ctx, site.value)
    rotation = ctx.detector.rules[m.rule_id].rotation if m is not None and shaped(ctx, site.value) else None
    if rotation is not None and rotation.truss_secret_name:
        return rotation.truss_secret_name
    if site.name and is_secret_name(site.name):
        return "_".join(identifier_words(site.name)).lower()
    return "api_key"


def declared_name(ctx: CodeContext, name: str) -> str:
    return ctx.truss.secret_name(name) if ctx.truss is not None else name


def client_secret_name(ctx: CodeContext, site: Site) -> str:
    """As ``secret_name``; the Hugging Face keywords (``token=``, ``use_auth_token=``) mean ``hf_access_token``."""
    if site.name in _HF_KEYWORDS and not shaped(ctx, site.value):
        return declared_name(ctx, HF_SECRET)
    return secret_name(ctx, site)


def place(ctx: CodeContext, node: ast.AST, secret: str) -> tuple[int, int]:
    """The rule match's place for this secret inside the literal (so the findings merge), else the literal's."""
    last = getattr(node, "end_lineno", None) or node.lineno
    m = ctx.index.first_of(secret, node.lineno, last)
    if m is not None:
        return m.line, m.column
    return node.lineno, node.col_offset + 1


def baseten_secret(ctx: CodeContext, site: Site) -> str | None:
    """The Baseten API key inside a literal (P11), if any: those all go to TG212."""
    cache = facts_of(ctx).baseten
    if id(site) not in cache:
        cache[id(site)] = _find_baseten_secret(ctx, site)
    return cache[id(site)]


def _find_baseten_secret(ctx: CodeContext, site: Site) -> str | None:
    last = getattr(site.node, "end_lineno", None) or site.node.lineno
    m = ctx.index.of_rules("baseten.").first_inside(site.value, site.node.lineno, last)
    if m is not None:
        return m.secret
    m = match(ctx, site.value)
    if m is not None and m.rule_id.startswith("baseten."):
        return m.secret
    value = AUTH_SCHEME.sub("", site.value.strip())
    if secret_key(site.name) and _BASETEN_SHAPE.fullmatch(value) and credential(ctx, value):
        return value  # api_key="abcd1234.…" with no Baseten word around: the shape of a Baseten key
    if site.name and "BASETEN" in identifier_words(site.name) and is_secret_name(site.name) \
            and credential(ctx, site.value):
        shape = _BASETEN_SHAPE.search(site.value)
        return shape.group(0) if shape else value
    return None


def command_secret(ctx: CodeContext, text: str) -> str | None:
    """A credential inside a command line or a requirement: URL userinfo, ``--token X``, ``TOKEN=X``, a header."""
    m = match(ctx, text)
    if m is not None and not ctx.detector.rules[m.rule_id].generic:
        return m.secret
    for pattern in COMMAND_SECRETS:
        for found in pattern.finditer(text):
            name = found.groupdict().get("name")
            secret = found.group("secret")
            if (name is None or is_secret_name(name)) and "$" not in secret and credential(ctx, secret):
                return secret
    return None


def leak(ctx: CodeContext, code: str, site: Site, message: str, fix: str, secret: str | None = None,
         severity: Severity = Severity.HIGH) -> PolicyHit:
    """A leak hit on a literal: the credential-rule token as the secret (critical) when one is recognised."""
    found, level = ctx.leak(secret or AUTH_SCHEME.sub("", site.value.strip()), severity)
    line, column = place(ctx, site.node, found)
    return PolicyHit(code, ctx.path, line, column, message, fix, secret=found, severity=max(level, severity))


def sites(ctx: CodeContext, kinds: frozenset[str] | tuple[str, ...]) -> Iterator[Site]:
    """The literals of these kinds that are not Baseten API keys (TG212 reports those)."""
    if ctx.tree is None:
        return
    for site in facts_of(ctx).sites:
        if site.kind in kinds and baseten_secret(ctx, site) is None:
            yield site

