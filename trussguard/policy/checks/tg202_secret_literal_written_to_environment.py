"""TG202: A credential literal written into the process environment (P2).

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


@check("TG202", "secret-literal-written-to-environment", Severity.HIGH, kind="leak", scope="code", spec="P2")
def secret_literal_written_to_environment(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A literal credential written into the process environment: `os.environ["HF_TOKEN"] = "hf_..."`,
    `os.environ.setdefault("OPENAI_API_KEY", "sk-...")`, `os.putenv(...)`,
    `os.environ.update({"AWS_SECRET_ACCESS_KEY": "..."})`.

    ## Why it matters
    The value is in the source, so it ships with every `truss push` and lives in the git history; the
    environment variable only hides where the library gets it from.

    ## Example
    ```python
    os.environ["HF_TOKEN"] = "hf_..."
    ```

    ## Use instead
    Bridge the workspace secret into the environment for libraries that read it there:
    ```python
    os.environ["HF_TOKEN"] = self._secrets["hf_access_token"]
    ```
    with `hf_access_token: null` under `secrets:` in config.yaml.
    """
    for site in sites(ctx, ("env-write",)):
        if shaped(ctx, site.value) or (secret_key(site.name) and credential(ctx, site.value)):
            name = secret_name(ctx, site)
            var = site.name or name.upper()
            yield leak(ctx, "TG202", site,
                       f"writes {literal_description(ctx, site.value)} into the environment variable `{var}`",
                       revoke(ctx, name, f"bridge it for the library: `os.environ[\"{var}\"] = {{read}}`"))
