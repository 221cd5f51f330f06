"""TG115 local-truss-config-committed: a committed `~/.truss/config.yaml`, which holds real secret values
(TRUSS_SECRETS.md 5.1)."""

from __future__ import annotations

from typing import Iterator

from trussguard.engine.heuristics import is_placeholder
from trussguard.policy import yaml_nodes
from trussguard.policy.config_facts import facts_of
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG115", "local-truss-config-committed", Severity.CRITICAL, kind="leak", scope="config", spec="5.1")
def local_truss_config_committed(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A committed copy of the Truss CLI's local settings file, `~/.truss/config.yaml` (keys `secrets` and
    `use_sudo`), with values under `secrets:`.

    ## Why it matters
    Unlike a Truss config, this file holds the real secret values: `truss` writes them to
    `~/.truss/secrets/<NAME>` and mounts them at `/secrets` for local Docker runs. Committed, every value
    in it is exposed to anyone with the repository, including its history.

    ## Example
    ```yaml
    # .truss/config.yaml committed from a home directory
    use_sudo: false
    secrets:
      hf_access_token: hf_...
    ```

    ## Use instead
    Delete the file from the repository and its history, revoke and rotate every value it held, and keep
    `~/.truss/config.yaml` only in your home directory; deployments read the workspace secrets of the same
    names.
    """
    facts = facts_of(ctx)
    if ctx.kind != "local-config":
        return
    for name, _, node in yaml_nodes.items(yaml_nodes.get(ctx.doc, "secrets")):
        sc = yaml_nodes.scalar(node)
        if sc is None or sc.is_null or is_placeholder(sc.value) or yaml_nodes.is_bool_or_number(node):
            continue
        secret, severity = ctx.leak(sc.value, Severity.CRITICAL)
        line, column = facts.place(node, secret)
        yield PolicyHit("TG115", ctx.path, line, column,
                        f"the local Truss settings file holds the value of the secret `{name}`",
                        f"revoke and rotate `{name}`, delete {ctx.path} from the repository (`git rm --cached "
                        f"{ctx.path}`) and from its history, and keep it only as ~/.truss/config.yaml; deployments "
                        f"read the workspace secret `{name}`",
                        secret=secret, severity=severity)
