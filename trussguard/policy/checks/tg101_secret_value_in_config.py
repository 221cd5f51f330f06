"""TG101 secret-value-in-config: a credential, rather than null, under `secrets:` (TRUSS_SECRETS.md C1)."""

from __future__ import annotations

from typing import Iterator

from trussguard.policy.config_facts import facts_of
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG101", "secret-value-in-config", Severity.HIGH, kind="leak", scope="config", spec="C1")
def secret_value_in_config(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A value, rather than `null`, under `secrets:` in config.yaml: `hf_access_token: hf_...`.

    ## Why it matters
    Truss never inspects secret values. The whole config.yaml is uploaded on `truss push` and stays
    downloadable; the value becomes the lowest-priority runtime default of the secret (so it "works"
    whenever the workspace secret is missing), and for `hf_access_token` with a legacy model cache it is
    written into the generated Dockerfile. Anyone with the repository or the deployment has the key.

    ## Example
    ```yaml
    secrets:
      hf_access_token: hf_...   # the real token
    ```

    ## Use instead
    Store the value as a Baseten workspace secret with the same name and declare only the name:
    ```yaml
    secrets:
      hf_access_token: null
    ```
    """
    facts = facts_of(ctx)
    for d in facts.declarations:
        if facts.not_a_credential(d.name, d.value.value) is not None:
            continue  # TG102: a runtime bug, not a leak
        secret, severity = ctx.leak(d.value.value, Severity.HIGH)
        yield PolicyHit(
            "TG101", ctx.path, d.value.line, d.value.column,
            f"`secrets.{d.name}` holds a value in config.yaml",
            f"revoke this value, store a new one as the Baseten workspace secret `{d.name}` and declare "
            f"`{d.name}: null` under `secrets:` in config.yaml",
            secret=secret, severity=severity)
