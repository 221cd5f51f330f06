"""TG209: Reads of the secrets mapping that misbehave on Baseten: .get, in, iteration, _base_secrets (P9).

The check reads the facts ``python_facts`` gathered in one walk of the file; the wording of
its fixes is shared with the other code checks (``python_fixes``).
"""

from __future__ import annotations

from typing import Iterator

from trussguard.policy.context import CodeContext
from trussguard.policy.python_facts import facts_of
from trussguard.policy.python_fixes import config_path, read_expr
from trussguard.policy.secrets_reads import SecretRead
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


def _unsafe_read(ctx: CodeContext, read: SecretRead) -> tuple[str, str]:
    """(message, fix) for a ``.get``/``in``/iteration/``_base_secrets`` read of the mapping."""
    name = read.name or "NAME"
    where = "in `chains.Assets(secret_keys=[...])`" if read.via == "context" or facts_of(ctx).chains else \
        f"under `secrets:` in {config_path(ctx)}"
    declared = f"`{name}: null`" if "secrets:" in where else f"`\"{name}\"`"
    declare = f"declare {declared} {where}, read" if read.name else \
        f"read each secret by a literal name declared {where},"
    safe = (f"{declare} `{read_expr(ctx, name)}` and, if the secret may be missing, wrap that read in "
            f"`try`/`except Exception` (`SecretNotFound` is not a `KeyError`)")
    if read.how == "get":
        return (f"`.get({read.name!r})` on the secrets mapping returns no default on Baseten: it raises "
                f"`SecretNotFound` when the secret is not declared or has no value" if read.name else
                "`.get(...)` on the secrets mapping returns no default on Baseten: it raises `SecretNotFound`", safe)
    if read.how == "in":
        return (f"`{read.name!r} in secrets` is no safe test on Baseten: it raises `SecretNotFound` instead of "
                f"returning False", safe)
    if read.how == "iterate":
        return ("iterates over the secrets mapping, which raises `NotImplementedError` on Baseten",
                f"read each secret by its literal name, e.g. `{read_expr(ctx, 'hf_access_token')}`")
    return ("touches the private `_base_secrets`, which holds only config.yaml's placeholder values, not the "
            "workspace secrets", safe)


@check("TG209", "unsafe-secrets-access", Severity.MEDIUM, kind="policy", scope="code", spec="P9")
def unsafe_secrets_access(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    Reads of the secrets mapping that behave differently on Baseten than locally: `.get(name, default)`
    or `.get(name)`, `name in secrets` used as an optional check, iterating the mapping (`for`, `dict(...)`,
    `.items()`), and touching the private `_base_secrets`. A truthiness test (`if self._secrets and ...`)
    is fine. A helper that reads with the name it is given (`def _secret(self, name): return
    self._secrets.get(name)`) is reported once, in the helper, not at each call.

    ## Why it matters
    On Baseten the mapping is a `Secrets` resolver, not a dict: `.get()` and `in` raise `SecretNotFound`
    for a name that is not declared or has no value (they never return the default or False), and
    iteration raises `NotImplementedError`. Locally it is a plain dict, so the code seems to work until it
    is deployed. `_base_secrets` holds only config.yaml's values (`null` or placeholders).

    ## Example
    ```python
    token = self._secrets.get("hf_access_token", None)
    ```

    ## Use instead
    ```python
    token = self._secrets["hf_access_token"]
    ```
    with `hf_access_token: null` under `secrets:` in config.yaml; for a secret that may be missing, wrap the
    read in `try`/`except Exception`.
    """
    if ctx.tree is None or (ctx.truss is None and not facts_of(ctx).chains):
        return  # a client script or a lone file may use a plain dict named `secrets`
    for read in facts_of(ctx).use.reads:
        if read.how in ("get", "in", "iterate", "private") and read.through is None:  # a helper's: reported in it
            message, fix = _unsafe_read(ctx, read)
            yield PolicyHit("TG209", ctx.path, read.line, read.column, message, fix)
