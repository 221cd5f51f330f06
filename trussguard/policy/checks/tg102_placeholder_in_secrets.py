"""TG102 placeholder-in-secrets: a value under `secrets:` that cannot grant access, yet is the runtime
default of the secret (TRUSS_SECRETS.md C1)."""

from __future__ import annotations

from typing import Iterator

from trussguard.policy.config_facts import facts_of
from trussguard.policy.config_values import CHAINS_DUMMY
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity, secret_sha256


@check("TG102", "placeholder-in-secrets", Severity.MEDIUM, kind="policy", scope="config", spec="C1")
def placeholder_in_secrets(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A placeholder string under `secrets:` instead of `null`: `"ENTER HF ACCESS TOKEN HERE"`,
    `"set token in baseten workspace"`, `""`, or the strings `"null"` / `"None"`; likewise any value that
    could not grant access: a short word (`foo: "foo"`), an identifier such as a variable name
    (`baseten_api_key: BASETEN_API_KEY`) or the key itself. A credential-looking value is TG101.

    ## Why it matters
    The config value is the runtime default of the secret. When the workspace secret is missing, the
    model receives the placeholder text as its token (a string "null" is not null), and fails later with
    a confusing authentication error instead of a clear "secret not found".

    ## Example
    ```yaml
    secrets:
      hf_access_token: "ENTER HF ACCESS TOKEN HERE"
    ```

    ## Use instead
    ```yaml
    secrets:
      hf_access_token: null
    ```
    and create the workspace secret `hf_access_token` in the Baseten settings.
    """
    facts = facts_of(ctx)
    for d in facts.declarations:
        reason = facts.not_a_credential(d.name, d.value.value)
        if reason is None or d.value.value == CHAINS_DUMMY:
            continue
        what = f"the placeholder {d.value.value!r}" if reason == "placeholder" else f"a value that is {reason}"
        yield PolicyHit(
            "TG102", ctx.path, d.value.line, d.value.column,
            f"`secrets.{d.name}` holds {what} instead of null (the model would receive it as the secret)",
            f"write `{d.name}: null` under `secrets:` and create the workspace secret `{d.name}` in Baseten",
            not_secret_sha256=secret_sha256(d.value.value))
