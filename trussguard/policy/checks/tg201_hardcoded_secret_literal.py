"""TG201: A credential literal bound to a secret-looking name, or one a credential rule recognises (P1).

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


@check("TG201", "hardcoded-secret-literal", Severity.HIGH, kind="leak", scope="code", spec="P1")
def hardcoded_secret_literal(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A credential written into the code: a string literal bound to a secret-looking name (a module
    constant `OPENAI_API_KEY = "sk-proj-..."`, an attribute `self.api_key = "..."`, a parameter default
    `def __init__(self, token="hf_...")`, a dict entry `{"api_key": "..."}`), or a literal that a
    credential rule recognises, whatever it is assigned to.

    ## Why it matters
    Everything in the Truss directory is uploaded on `truss push` and stays downloadable, and the key is
    in the git history of every clone. A recognised key is reported as critical: revoke it, removing
    the line is not enough.

    ## Example
    ```python
    OPENAI_API_KEY = "sk-proj-..."
    ```

    ## Use instead
    Store the key as a Baseten workspace secret and read it through the secrets mapping:
    ```python
    def __init__(self, **kwargs):
        self._secrets = kwargs["secrets"]

    def load(self):
        self.client = OpenAI(api_key=self._secrets["openai_api_key"])
    ```
    with `openai_api_key: null` under `secrets:` in config.yaml.
    """
    for site in sites(ctx, ("assign", "default", "dict")):
        if shaped(ctx, site.value) or (secret_key(site.name) and credential(ctx, site.value)):
            where = f"`{site.name}`" if site.name else "an assignment"
            bound = {"default": "as the default of", "dict": "under the key"}.get(site.kind, "in")
            yield leak(ctx, "TG201", site,
                       f"hard-codes {literal_description(ctx, site.value)} {bound} {where}",
                       revoke(ctx, secret_name(ctx, site)))
