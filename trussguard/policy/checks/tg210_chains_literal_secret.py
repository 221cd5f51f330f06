"""TG210: Credentials written into a Chains source: run_local secrets, env_variables, URLs, stubs (P10).

The check reads the facts ``python_facts`` gathered in one walk of the file; the wording of
its fixes is shared with the other code checks (``python_fixes``).
"""

from __future__ import annotations

from typing import Iterator

from trussguard.policy.context import CodeContext
from trussguard.policy.python_fixes import read_expr, store
from trussguard.policy.python_leaks import (
    command_secret, credential, leak, literal_description, secret_key, secret_name, shaped, sites,
)
from trussguard.policy.python_literals import CHAINS_KINDS
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG210", "chains-literal-secret", Severity.HIGH, kind="leak", scope="code", spec="P10")
def chains_literal_secret(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    Credentials written into a Chains source: values of `chains.run_local(secrets={...})`,
    secret-looking keys of `ChainletOptions(env_variables={...})`, tokens in the URLs of
    `DockerImage(pip_requirements=[...])` or in `build_commands=[...]`, and `api_key="..."` passed to a
    stub (`from_url`) or to `http_call_args`.

    ## Why it matters
    Chains code is uploaded and turned into Truss configs: `env_variables` become plain-text
    `environment_variables`, build commands end up in the image history, and the source stays in the git
    history. `run_local` secrets are meant to come from the developer's environment.

    ## Example
    ```python
    with chains.run_local(secrets={"hf_access_token": "hf_..."}):
        ...
    ```

    ## Use instead
    ```python
    with chains.run_local(secrets={"hf_access_token": os.environ["HF_TOKEN"]}):
        ...
    ```
    and, in the chainlet, `assets=chains.Assets(secret_keys=["hf_access_token"])` with
    `context.secrets["hf_access_token"]`.
    """
    for site in sites(ctx, CHAINS_KINDS):
        secret = None
        if site.kind in ("pip-requirements", "build-commands"):
            secret = command_secret(ctx, site.value)
        elif site.kind in ("run-local", "stub-api-key") or secret_key(site.name):
            secret = site.value if credential(ctx, site.value) else None
        elif shaped(ctx, site.value):
            secret = site.value
        if secret is None:
            continue
        name = secret_name(ctx, site)
        key = site.name or name
        fix = {
            "run-local": f"revoke the key now and fill the entry from your environment: "
                         f"`secrets={{\"{key}\": os.environ[\"{key.upper()}\"]}}`",
            "stub-api-key": "revoke the key now and pass the chainlet's `context` instead of a key (the platform "
                            "provides `baseten_chain_api_key`); client code reads the key from the environment",
            "env-variables": f"revoke the key now, {store(ctx, name)} instead of an environment variable",
            "pip-requirements": "revoke the token now and keep credentials out of `pip_requirements`: vendor the "
                                "private package (`DockerImage(external_package_dirs=[...])`) or install it from an "
                                "index that needs no credential in the URL",
            "build-commands": f"revoke the token now; build commands are kept in the image history, so fetch what "
                              f"needs the credential at run time with `{read_expr(ctx, name)}` (listed in "
                              f"`chains.Assets(secret_keys=[...])`) or vendor it",
        }[site.kind]
        where = {"run-local": f"`run_local(secrets=...)` entry `{site.name}`", "stub-api-key": f"`{site.call}(...)`",
                 "env-variables": f"`ChainletOptions(env_variables=...)` entry `{site.name}`",
                 "pip-requirements": "`pip_requirements`", "build-commands": "`build_commands`"}[site.kind]
        yield leak(ctx, "TG210", site, f"writes {literal_description(ctx, site.value)} into {where}",
                   f"{fix}; treat the git history as compromised", secret=secret)
