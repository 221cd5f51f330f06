"""TG111 secret-value-in-name-field: a credential where Truss expects the NAME of a workspace secret
(TRUSS_SECRETS.md C7)."""

from __future__ import annotations

import re
from typing import Iterator

import yaml

from trussguard.engine.heuristics import is_placeholder
from trussguard.engine.schema import SECRET_NAME
from trussguard.policy import yaml_nodes
from trussguard.policy.config_facts import facts_of
from trussguard.policy.config_values import REGISTRY_PREFIX, leak_of, looks_random, rule_label, rule_matches, \
    rule_secret_name
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Match, Severity


def _name_problem(ctx: ConfigContext, value: str, node: yaml.Node) -> tuple[str, Match | None] | None:
    """Why a NAME field's value is a pasted VALUE, and the rule match if a rule recognises it."""
    if is_placeholder(value):
        return None
    matches = rule_matches(ctx, value, node)
    specific = [m for m in matches if not ctx.detector.rules[m.rule_id].generic]
    if specific:
        return f"holds a {rule_label(ctx, specific[0])}, not a secret name", specific[0]
    # Generic rules (detect-secrets' keyword plugin sees `secret_name: x`) count only when the value is
    # not a plausible name; their match is then the secret, so the findings merge.
    generic = matches[0] if matches else None
    if not value.startswith(REGISTRY_PREFIX) and not SECRET_NAME.match(value):
        return "is not a valid secret name (`^[-._a-zA-Z0-9]+$`): it looks like a pasted value", generic
    if looks_random(value):
        return "holds a random token, not a secret name", generic
    return None


@check("TG111", "secret-value-in-name-field", Severity.HIGH, kind="leak", scope="config", spec="C7")
def secret_value_in_name_field(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A credential pasted where Truss expects the NAME of a workspace secret:
    `model_cache[].runtime_secret_name`, `weights[].auth_secret_name` (also under `auth:`),
    `base_image.docker_auth.secret_name` / `aws_access_key_id_secret_name` /
    `aws_secret_access_key_secret_name`, `trt_llm.build.checkpoint_repository.runtime_secret_name`, the
    keys of `build.secret_to_path_mapping` and of `secrets:`. A value is reported when a credential rule
    recognises it, when it looks like a random token, or when it fails Truss's secret-name pattern
    `^[-._a-zA-Z0-9]+$` (names starting with `DOCKER_REGISTRY_` are exempt, as in Truss).

    `model_cache[].use_secret` is not a Truss key (`truss push` rejects it); it is read as a typo of
    `runtime_secret_name`: a credential there is reported as a leak like above, and a plain name there
    is reported as a policy hit (no secret, medium) asking to rename the key.

    ## Why it matters
    Name fields are plain configuration: the value is uploaded, stored and shown like any other field.
    A token pasted there is leaked, and the deployment fails to find a secret of that "name".

    ## Example
    ```yaml
    model_cache:
      - repo_id: meta-llama/Llama-3.1-8B-Instruct
        use_volume: true
        volume_folder: llama
        runtime_secret_name: hf_...   # the token itself
    ```

    ## Use instead
    ```yaml
    model_cache:
      - repo_id: meta-llama/Llama-3.1-8B-Instruct
        use_volume: true
        volume_folder: llama
        runtime_secret_name: hf_access_token
    ```
    with the token stored as the workspace secret `hf_access_token`.
    """
    facts = facts_of(ctx)
    if not facts.is_truss:
        return
    for label, node, suggested in facts.name_fields:
        sc = yaml_nodes.scalar(node)
        if sc is None or sc.is_null:
            continue
        field = label.split(".")[-1] if "`" not in label else label
        problem = _name_problem(ctx, sc.value, node)
        if problem is not None:
            reason, m = problem
            secret, severity = leak_of(ctx, m) if m is not None else ctx.leak(sc.value, Severity.HIGH)
            specific = m is not None and not ctx.detector.rules[m.rule_id].generic
            name = rule_secret_name(ctx, m, suggested) if specific else suggested
            line, column = facts.place(node, secret)
            if label.startswith("secrets key"):
                fix = (f"revoke it, store it as the workspace secret `{name}` and declare `{name}: null` under "
                       f"`secrets:`")
            elif "secret_to_path_mapping" in label:
                fix = (f"revoke it, store it as the workspace secret `{name}` and map `{name}: /run/secrets/{name}` "
                       f"under `build.secret_to_path_mapping`")
            elif label.endswith("use_secret"):
                fix = (f"revoke it, store it as the workspace secret `{name}` and replace `use_secret` (not a Truss "
                       f"key) with `runtime_secret_name: {name}`")
            else:
                fix = f"revoke it, store it as the workspace secret `{name}` and write `{field}: {name}`"
            yield PolicyHit("TG111", ctx.path, line, column, f"`{label}` {reason}", fix,
                            secret=secret, severity=severity)
        elif label.endswith("use_secret"):
            key = next((kn for _, kn, v in yaml_nodes.items(_parent(ctx.doc, label)) if v is node), None)
            mark = key.start_mark if key is not None else node.start_mark
            target = sc.value if SECRET_NAME.match(sc.value) and not yaml_nodes.is_bool_or_number(node) else suggested
            yield PolicyHit("TG111", ctx.path, mark.line + 1, mark.column + 1,
                            f"`{label}` is not a Truss key (`truss push` rejects it); the entry still uses "
                            f"`runtime_secret_name`, default `hf_access_token`",
                            f"rename `use_secret` to `runtime_secret_name: {target}`", severity=Severity.MEDIUM)


def _parent(doc: yaml.Node | None, label: str) -> yaml.Node | None:
    """The model_cache / hf_cache entry of a `cache[i].use_secret` label."""
    m = re.match(r"^(\w+)\[(\d+)\]\.", label)
    items = yaml_nodes.elements(yaml_nodes.get(doc, m.group(1))) if m else []
    return items[int(m.group(2))] if m and int(m.group(2)) < len(items) else None
