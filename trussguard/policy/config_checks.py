"""Checks on one config.yaml (TRUSS_SECRETS.md 3.1, C1-C9): values that must never be literal."""

from __future__ import annotations

from typing import Iterator

from trussguard.engine.heuristics import is_placeholder
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


CHAINS_DUMMY = "***"  # Chains writes it for every declared secret: legitimate in generated configs


def _declarations(ctx: ConfigContext):
    if ctx.kind != "truss" or ctx.truss is None:
        return []
    return [d for d in ctx.truss.declared.values() if d.value is not None and not d.value.is_null]


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
    for d in _declarations(ctx):
        if is_placeholder(d.value.value):
            continue
        secret, severity = ctx.leak(d.value.value, Severity.HIGH)
        yield PolicyHit(
            "TG101", ctx.path, d.value.line, d.value.column,
            f"`secrets.{d.name}` holds a value in config.yaml",
            f"revoke this value, store a new one as the Baseten workspace secret `{d.name}` and declare "
            f"`{d.name}: null` under `secrets:` in config.yaml",
            secret=secret, severity=severity)


@check("TG102", "placeholder-in-secrets", Severity.MEDIUM, kind="policy", scope="config", spec="C1")
def placeholder_in_secrets(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A placeholder string under `secrets:` instead of `null`: `"ENTER HF ACCESS TOKEN HERE"`,
    `"set token in baseten workspace"`, `""`, or the strings `"null"` / `"None"`.

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
    for d in _declarations(ctx):
        if is_placeholder(d.value.value) and d.value.value != CHAINS_DUMMY:
            yield PolicyHit(
                "TG102", ctx.path, d.value.line, d.value.column,
                f"`secrets.{d.name}` holds the placeholder {d.value.value!r} instead of null",
                f"write `{d.name}: null` under `secrets:` and create the workspace secret `{d.name}` in Baseten")

