"""TG104 secret-declared-in-environment-variables: a secret "declared" as a null or placeholder environment
variable, which declares nothing (TRUSS_SECRETS.md C2)."""

from __future__ import annotations

import re
from typing import Iterator

from trussguard.engine.heuristics import is_placeholder, is_secret_name
from trussguard.policy import yaml_nodes
from trussguard.policy.config_facts import facts_of
from trussguard.policy.config_values import env_name
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


def _declaration_like(value: str) -> bool:
    """An empty value, the strings "None"/"null", or a fill-in-here text: a declaration, not a setting.
    (`OPENAI_API_KEY: EMPTY` for a local OpenAI-compatible server is a deliberate setting.)"""
    v = value.strip()
    return v.lower() in ("", "none", "null", "~") or (
        is_placeholder(v) and bool(re.search(r"\s|here|your|enter|insert|<", v, re.IGNORECASE)))


@check("TG104", "secret-declared-in-environment-variables", Severity.MEDIUM, kind="policy", scope="config",
       spec="C2")
def secret_declared_in_environment_variables(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A secret-looking variable under `environment_variables:` with a null, empty or placeholder value
    (`hf_access_token: null`, `HF_TOKEN: ""`): an attempt to declare a secret in the wrong place.

    ## Why it matters
    `environment_variables` declares nothing: Truss coerces the value with `str()`, so `null` becomes
    the string `"None"` and the variable is set to it at runtime. The secret the model needs is never
    declared, so the secrets mapping raises `SecretNotFound` and libraries that read the variable send
    `"None"` as their token.

    ## Example
    ```yaml
    environment_variables:
      hf_access_token: null
    ```

    ## Use instead
    ```yaml
    secrets:
      hf_access_token: null
    ```
    and read it with `self._secrets["hf_access_token"]`, or with
    `HF_TOKEN=$(cat /secrets/hf_access_token)` in a `docker_server.start_command`.
    """
    facts = facts_of(ctx)
    for key, key_node, node, sc in facts.env_variables:
        if not is_secret_name(key) or yaml_nodes.is_bool_or_number(node):
            continue
        if not (sc.is_null or _declaration_like(sc.value)):
            continue
        name = facts.name_for(env_name(key))
        shown = "null" if sc.is_null else repr(sc.value)
        sets = 'the string "None"' if sc.is_null else "an empty string" if not sc.value else f"the text {sc.value!r}"
        mark = key_node.start_mark
        if facts.declared(name) or facts.declared(key):
            declared = name if facts.declared(name) else key
            fix = (f"delete `{key}` from `environment_variables:` (`{declared}` is already declared under "
                   f"`secrets:`) and read it with {facts.read_hint(declared, key)}")
        else:
            fix = (f"delete `{key}` from `environment_variables:`, declare `{name}: null` under `secrets:` and "
                   f"create the workspace secret `{name}` in Baseten; read it with {facts.read_hint(name, key)}")
        yield PolicyHit("TG104", ctx.path, mark.line + 1, mark.column + 1,
                        f"`environment_variables.{key}` is {shown}: this declares no secret, Truss sets the "
                        f"variable to {sets}", fix)
