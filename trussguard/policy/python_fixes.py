"""The wording of the code checks' fixes: where a new value goes and how the code reads it.

Why one module: a Truss model reads ``self._secrets["x"]`` declared under ``secrets:`` in its config,
a chainlet reads ``context.secrets["x"]`` listed in ``chains.Assets(secret_keys=[...])``; every check
that tells the user to move a value says it the same way, so the wording lives here once.
"""

from __future__ import annotations

from trussguard.policy.context import CodeContext
from trussguard.policy.python_facts import facts_of


def config_path(ctx: CodeContext) -> str:
    return ctx.truss.config_path if ctx.truss is not None else "config.yaml"


def init_clause(ctx: CodeContext) -> str:
    return "" if facts_of(ctx).use.attrs else ' (with `self._secrets = kwargs["secrets"]` in `__init__`)'


def store(ctx: CodeContext, name: str, use: str = "") -> str:
    """Where a new value goes and how the code gets it, for a Truss model or a chainlet.

    ``use`` says what the code does with the read (``{read}`` stands for the read expression);
    by default it reads it in ``load()`` (a Truss) or where the chainlet needs it.
    """
    read = read_expr(ctx, name)
    if facts_of(ctx).chains:
        return (f"store a new one as the Baseten workspace secret `{name}`, list `\"{name}\"` in "
                f"`chains.Assets(secret_keys=[...])` of the chainlet's `remote_config` and "
                + (use or "read `{read}`").replace("{read}", read))
    return (f"store a new one as the Baseten workspace secret `{name}`, declare `{name}: null` under `secrets:` "
            f"in {config_path(ctx)} and " + (use or "read `{read}` in `load()`").replace("{read}", read)
            + init_clause(ctx))


def revoke(ctx: CodeContext, name: str, use: str = "") -> str:
    return (f"revoke the key now, {store(ctx, name, use)}, and treat the git history as compromised: deleting "
            f"the line does not remove the key from earlier commits (run `trussguard audit` to see every commit "
            f"and ref that holds it)")


def read_expr(ctx: CodeContext, name: str) -> str:
    return f'context.secrets["{name}"]' if facts_of(ctx).chains else f'self._secrets["{name}"]'
