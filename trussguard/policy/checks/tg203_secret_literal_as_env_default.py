"""TG203: A credential literal used as the fallback of an environment read (P3).

The check reads the facts ``python_facts`` gathered in one walk of the file; the wording of
its fixes is shared with the other code checks (``python_fixes``).
"""

from __future__ import annotations

from typing import Iterator

from trussguard.policy.context import CodeContext
from trussguard.policy.python_fixes import revoke
from trussguard.policy.python_leaks import credential, leak, literal_description, secret_key, secret_name, shaped, sites
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG203", "secret-literal-as-env-default", Severity.HIGH, kind="leak", scope="code", spec="P3")
def secret_literal_as_env_default(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A literal credential used as the fallback of an environment read: `os.environ.get("HF_TOKEN", "hf_...")`,
    `os.getenv("OPENAI_API_KEY", "sk-...")`. An empty string or `None` default is not reported here.

    ## Why it matters
    The fallback is the key itself, committed and uploaded with the Truss; it is also silently used
    whenever the variable is missing, so nobody notices the workspace secret was never set.

    ## Example
    ```python
    token = os.getenv("HF_TOKEN", "hf_...")
    ```

    ## Use instead
    ```python
    token = self._secrets["hf_access_token"]
    ```
    with `hf_access_token: null` under `secrets:` in config.yaml.
    """
    for site in sites(ctx, ("env-default",)):
        if shaped(ctx, site.value) or (secret_key(site.name) and credential(ctx, site.value)):
            yield leak(ctx, "TG203", site,
                       f"uses {literal_description(ctx, site.value)} as the default of the environment variable "
                       f"`{site.name}`",
                       revoke(ctx, secret_name(ctx, site), "read `{read}` instead of the environment variable"))
