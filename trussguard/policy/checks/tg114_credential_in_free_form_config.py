"""TG114 credential-in-free-form-config: any other rule match in a Truss config, comments included, so that
every match gets a check code and a Truss fix (TRUSS_SECRETS.md C9)."""

from __future__ import annotations

from typing import Iterator

from trussguard.engine.heuristics import is_secret_name
from trussguard.policy import yaml_nodes
from trussguard.policy.config_facts import facts_of
from trussguard.policy.config_fields import is_name_field, is_url_field
from trussguard.policy.config_values import env_name, leak_of, not_literal, rule_label, rule_secret_name
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.policy.yaml_nodes import NodeAt
from trussguard.types import Match, Severity


def _claimed(path: tuple[str, ...], is_key: bool, rule_id: str) -> bool:
    """True when another config check (TG101-TG111) reports rule matches at this key path."""
    if is_name_field(path, is_key):
        return True  # TG111
    if is_key:
        return False
    if len(path) == 2 and path[0] in ("secrets", "environment_variables"):
        return True  # TG101 / TG102, TG103
    if len(path) == 2 and path[0] in ("build_commands", "requirements") and path[1].startswith("["):
        return True  # TG107, TG109
    if path == ("docker_server", "start_command"):
        return True  # TG105
    return is_url_field(path) and rule_id.startswith("signed-url.")  # TG110


def _node_of(by_line: dict[int, list[NodeAt]], m: Match) -> NodeAt | None:
    """The scalar (key or value) a rule match lies in: the one at its place whose text holds the secret,
    else a value on its line that holds it (a plugin may report the first occurrence on the line), else
    whatever node spans the place. None for comments."""
    scalars = by_line.get(m.line, [])
    at = [s for s in scalars if yaml_nodes.contains(s[1], m.line, m.column)]
    holding = [s for s in at if m.secret in s[1].value or m.decoded]
    if holding:
        return holding[0]
    on_line = [s for s in scalars if not s[2] and s[1].start_mark.line + 1 <= m.line <= s[1].end_mark.line + 1
               and m.secret in s[1].value]
    return (on_line or at or [None])[0]


_FREE_FORM_FIX = {
    "base_image": "keep only the image reference in `base_image.image` and give the registry credentials as "
                  "`base_image.docker_auth` (`auth_method`, and `secret_name: {name}` naming the workspace secret)",
}


@check("TG114", "credential-in-free-form-config", Severity.HIGH, kind="leak", scope="config", spec="C9")
def credential_in_free_form_config(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A credential recognised by a rule anywhere else in a Truss config.yaml: `model_metadata`,
    `description`, `bis_llm.config`, `trt_llm.runtime.patch_kwargs`, `base_image.image`, URL fields holding
    a password rather than a signature, and comments. Together with TG101-TG111 this gives every rule match
    inside a Truss config a check code and a Truss fix.

    ## Why it matters
    Free-form fields are passed through as they are: shown in the Baseten UI, sent to the backend for
    validation and handed to the model as its `config`. Comments are uploaded with the file too.

    ## Example
    ```yaml
    model_metadata:
      example_request_headers:
        Authorization: Api-Key abcd1234....
    ```

    ## Use instead
    Keep only non-secret metadata in the config; store the value as a workspace secret, declare it and read
    it in the model code:
    ```yaml
    secrets:
      baseten_api_key: null
    ```
    """
    facts = facts_of(ctx)
    if not facts.is_truss:
        return
    by_line = facts.node_index
    for m in ctx.matches:
        where = _node_of(by_line, m)
        if where is not None and (_claimed(where[0], where[2], m.rule_id) or not_literal(ctx, m, where[1].value)):
            continue
        secret, severity = leak_of(ctx, m)
        name = facts.name_for(rule_secret_name(ctx, m, "api_key"))
        if where is not None and ctx.detector.rules[m.rule_id].generic:
            key = next((p for p in reversed(where[0]) if not p.startswith("[")), "")
            name = facts.name_for(env_name(key)) if key and is_secret_name(key) else name
        if where is None:
            place, fix = "a YAML comment", (f"revoke it and delete it from the comment (comments are uploaded with "
                                            f"config.yaml); keep the value only as the workspace secret `{name}`")
        else:
            label = yaml_nodes.dotted(where[0])
            place = f"`{label}`" + (" (a key)" if where[2] else "")
            fix = _FREE_FORM_FIX.get(where[0][0], "").format(name=name) or (
                f"revoke it, remove it from `{label}`, store a new one as the workspace secret `{name}`, declare "
                f"`{name}: null` under `secrets:` and read it with {facts.read_hint(name)}")
            if where[0][0] == "base_image":
                fix = "revoke it, " + fix
            elif is_url_field(where[0]):
                fix = (f"revoke it and download through a `weights:` entry instead of `{label}`, with "
                       f"`auth_secret_name: {name}` naming a workspace secret that holds the credentials "
                       f"(`external_data` has no authentication of its own)")
        yield PolicyHit("TG114", ctx.path, m.line, m.column, f"{rule_label(ctx, m)} in {place}", fix,
                        secret=secret, severity=severity)
