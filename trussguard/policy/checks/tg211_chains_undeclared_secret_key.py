"""TG211: A chainlet reading a secret its remote_config does not list in secret_keys (P10).

The check reads the facts ``python_facts`` gathered in one walk of the file; the wording of
its fixes is shared with the other code checks (``python_fixes``).
"""

from __future__ import annotations

import ast
from typing import Iterator

from trussguard.policy.context import CodeContext
from trussguard.policy.python_facts import facts_of
from trussguard.policy.python_literals import dotted
from trussguard.policy.secrets_holders import CHAIN_API_KEY
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity

CHAINLET_BASES = frozenset({"ChainletBase", "ModelBase", "EngineBuilderLLMChainlet", "TrussChainlet"})


def _secret_keys(cls: ast.ClassDef) -> set[str] | None:
    """The names in ``remote_config = RemoteConfig(assets=Assets(secret_keys=[...]))``; None when not literal."""
    for stmt in cls.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] \
            if isinstance(stmt, ast.AnnAssign) and stmt.value is not None else []
        if not any(isinstance(t, ast.Name) and t.id == "remote_config" for t in targets):
            continue
        if not isinstance(stmt.value, ast.Call):
            return None  # defined elsewhere
        for node in ast.walk(stmt.value):
            if isinstance(node, ast.Call) and dotted(node.func).rsplit(".", 1)[-1] == "Assets":
                keys = next((k.value for k in node.keywords if k.arg == "secret_keys"), None)
                if keys is None:
                    return set()
                if not isinstance(keys, (ast.List, ast.Tuple, ast.Set)):
                    return None
                names = [e.value for e in keys.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                return set(names) if len(names) == len(keys.elts) else None
        return set()
    return set()


def _is_chainlet(cls: ast.ClassDef) -> bool:
    return any(dotted(b).rsplit(".", 1)[-1] in CHAINLET_BASES for b in cls.bases)


@check("TG211", "chains-undeclared-secret-key", Severity.HIGH, kind="policy", scope="code", spec="P10")
def chains_undeclared_secret_key(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A chainlet that reads `context.secrets["x"]` while its
    `remote_config = chains.RemoteConfig(assets=chains.Assets(secret_keys=[...]))` does not list `x`
    (`baseten_chain_api_key` is always available), or reads it with a key that is not a literal.

    ## Why it matters
    `context.secrets` holds only the chainlet's own `secret_keys`: any other name raises
    `SecretNotFound` on Baseten, usually while the chainlet starts, so the chain never becomes ready.

    ## Example
    ```python
    class Generate(chains.ChainletBase):
        def __init__(self, context=chains.depends_context()):
            self._token = context.secrets["hf_access_token"]   # secret_keys not declared
    ```

    ## Use instead
    ```python
    class Generate(chains.ChainletBase):
        remote_config = chains.RemoteConfig(assets=chains.Assets(secret_keys=["hf_access_token"]))
    ```
    """
    if ctx.tree is None or not facts_of(ctx).chains:
        return
    reads = facts_of(ctx).use.reads
    for cls in (c for c in facts_of(ctx).classes if _is_chainlet(c)):
        keys = _secret_keys(cls)
        if keys is None:
            continue
        for read in reads:
            if read.owner != cls.name or read.via != "context" or read.how not in ("subscript", "get", "in") \
                    or read.name == CHAIN_API_KEY or read.name in keys or read.followed:  # a helper: its calls
                continue
            if read.name is None:
                yield PolicyHit("TG211", ctx.path, read.line, read.column,
                                f"`{cls.name}` reads `context.secrets` with a key that is not a literal, so it cannot "
                                f"be checked against `secret_keys`",
                                f"read each secret with a literal name listed in `chains.Assets(secret_keys=[...])` of "
                                f"`{cls.name}.remote_config`")
            else:
                yield PolicyHit("TG211", ctx.path, read.line, read.column,
                                f"`{cls.name}` reads the secret `{read.name}`, which its `remote_config` does not list "
                                f"in `secret_keys`",
                                f"add `\"{read.name}\"` to `chains.Assets(secret_keys=[...])` in "
                                f"`{cls.name}.remote_config` and create the workspace secret `{read.name}` in Baseten")
