"""TG103 secret-in-environment-variables: a literal secret under `environment_variables:` (TRUSS_SECRETS.md C2)."""

from __future__ import annotations

from typing import Iterator

from trussguard.engine.heuristics import is_secret_name
from trussguard.policy import yaml_nodes
from trussguard.policy.config_facts import facts_of
from trussguard.policy.config_values import env_name, leak_of, literal, rule_label, rule_matches
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG103", "secret-in-environment-variables", Severity.HIGH, kind="leak", scope="config", spec="C2")
def secret_in_environment_variables(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A literal secret under `environment_variables:` in config.yaml: a secret-looking variable
    (`HF_TOKEN`, `OPENAI_API_KEY`, `AWS_SECRET_ACCESS_KEY`) set to a value that is not a placeholder, or
    a credential recognised by a rule (an API key, a URL with a password) under any variable.

    ## Why it matters
    Environment variables are plain configuration: Truss uploads them with the config, stores and shows
    them in plaintext on the deployment, and the field's own description says not to store secret values
    there. Unlike `secrets:`, nothing resolves them from the workspace secret store.

    ## Example
    ```yaml
    environment_variables:
      OPENAI_API_KEY: sk-proj-...
    ```

    ## Use instead
    Create the workspace secret `openai_api_key` in Baseten, declare it and read it through the secrets
    mapping (or in a start command with `$(cat /secrets/openai_api_key)`):
    ```yaml
    secrets:
      openai_api_key: null
    ```
    """
    facts = facts_of(ctx)
    for key, key_node, node, sc in facts.env_variables:
        if sc.is_null:
            continue
        name = facts.name_for(env_name(key))
        declare = "" if facts.declared(name) else f"declare `{name}: null` under `secrets:` and "
        fix = (f"revoke this value, store a new one as the Baseten workspace secret `{name}`, remove `{key}` "
               f"from `environment_variables:`, {declare}read it with {facts.read_hint(name, key)}")
        matches = rule_matches(ctx, sc.value, node)
        if matches:
            for m in matches:
                secret, severity = leak_of(ctx, m)
                line, column = facts.place(node, secret)
                yield PolicyHit("TG103", ctx.path, line, column,
                                f"{rule_label(ctx, m)} in `environment_variables.{key}`", fix,
                                secret=secret, severity=severity)
        elif is_secret_name(key) and not yaml_nodes.is_bool_or_number(node) and literal(sc.value, 4) is not None:
            secret, severity = ctx.leak(sc.value, Severity.HIGH)
            line, column = facts.place(node, secret)
            yield PolicyHit("TG103", ctx.path, line, column,
                            f"`environment_variables.{key}` holds a literal secret value", fix,
                            secret=secret, severity=severity)
