"""TG212: A Baseten API key in a Python file of a Truss or a Chains source (P11).

The check reads the facts ``python_facts`` gathered in one walk of the file; the wording of
its fixes is shared with the other code checks (``python_fixes``).
"""

from __future__ import annotations

from typing import Iterator

from trussguard.policy.context import CodeContext
from trussguard.policy.python_facts import facts_of
from trussguard.policy.python_fixes import config_path
from trussguard.policy.python_leaks import baseten_secret, place
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG212", "baseten-api-key-in-truss", Severity.CRITICAL, kind="leak", scope="code", spec="P11")
def baseten_api_key_in_truss(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A Baseten API key in a Python file of a Truss or a Chains source: `BASETEN_API_KEY = "..."`,
    `headers={"Authorization": "Api-Key ..."}`, `api_key="..."` for a Baseten client.

    ## Why it matters
    A Baseten API key can push code to, invoke and delete every model and chain of the workspace and list
    its secret names. Shipped inside a Truss it is uploaded with the model and readable by anyone who can
    download the deployment or clone the repository.

    ## Example
    ```python
    headers = {"Authorization": "Api-Key abcd1234.XXXXXXXX..."}
    ```

    ## Use instead
    Client scripts read the key from the environment (`os.environ["BASETEN_API_KEY"]`); a chainlet calling
    other deployments uses `context.get_baseten_api_key()`; model code reads the workspace secret
    `self._secrets["baseten_api_key"]`.
    """
    fix = ("revoke this key now at https://app.baseten.co/settings/api_keys and treat the git history as "
           "compromised; client scripts read a replacement from the `BASETEN_API_KEY` environment variable, "
           "chainlets use `context.get_baseten_api_key()`, model code reads `self._secrets[\"baseten_api_key\"]` "
           f"(declared `baseten_api_key: null` under `secrets:` in {config_path(ctx)})")
    seen: set[tuple[int, str]] = set()
    for m in ctx.matches:
        if m.rule_id.startswith("baseten.") and (m.line, m.secret) not in seen:
            seen.add((m.line, m.secret))
            secret, severity = ctx.leak(m.secret, Severity.CRITICAL)
            yield PolicyHit("TG212", ctx.path, m.line, m.column, "a Baseten API key is written into the code", fix,
                            secret=secret, severity=severity)
    for site in facts_of(ctx).sites if ctx.tree is not None else []:
        found = baseten_secret(ctx, site)
        if found is not None:
            secret, severity = ctx.leak(found, Severity.CRITICAL)
            line, column = place(ctx, site.node, secret)
            if (line, secret) not in seen:
                seen.add((line, secret))
                yield PolicyHit("TG212", ctx.path, line, column,
                                f"a Baseten API key is written into `{site.name or 'a literal'}`", fix,
                                secret=secret, severity=severity)
