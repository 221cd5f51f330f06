"""TG106 undeclared-secret-in-start-command: the start command reads a secret config.yaml does not declare,
or a secret-looking variable nothing sets (TRUSS_SECRETS.md C3)."""

from __future__ import annotations

import re
from typing import Iterator

from trussguard.engine.heuristics import identifier_words, is_secret_name
from trussguard.policy.config_commands import RUNTIME_MOUNT, StartCommand, start_command
from trussguard.policy.config_values import env_name
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG106", "undeclared-secret-in-start-command", Severity.MEDIUM, kind="policy", scope="config", spec="C3")
def undeclared_secret_in_start_command(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    `docker_server.start_command` reads `/secrets/<NAME>` but config.yaml does not declare `NAME` under
    `secrets:`, or uses a secret-looking environment variable (`$HF_TOKEN`, `${OPENAI_API_KEY}`) that
    nothing sets: not `environment_variables:`, not an assignment earlier in the command
    (`HF_TOKEN=$(cat /secrets/hf_access_token)`, `export ...=`, `read`), not a sourced file.

    ## Why it matters
    Baseten mounts declared secrets at `/secrets/<NAME>`; whether an undeclared one is mounted is
    platform behaviour nothing in the Truss guarantees. If it is not, `$(cat ...)` silently yields an empty
    token and the server fails later with an authentication error. The declaration is also the only record
    of which workspace secrets the deployment needs. Baseten sets no environment variable from a secret: a
    `$HF_TOKEN` that nothing assigns expands to an empty string.

    ## Example
    ```yaml
    docker_server:
      start_command: sh -c "HF_TOKEN=$(cat /secrets/hf_access_token) vllm serve ..."
    # no secrets: section
    ```

    ## Use instead
    ```yaml
    secrets:
      hf_access_token: null
    docker_server:
      start_command: sh -c "HF_TOKEN=$(cat /secrets/hf_access_token) vllm serve ..."
    ```
    """
    command = start_command(ctx)
    if command is None:
        return
    yield from _unset_variables(ctx, command)
    seen = set()
    for m in RUNTIME_MOUNT.finditer(command.text):
        name = m.group(1)
        if command.facts.declared(name) or name in seen:
            continue
        seen.add(name)
        line, column = command.place(m.group(0))
        yield PolicyHit("TG106", ctx.path, line, column,
                        f"`docker_server.start_command` reads `/secrets/{name}`, which config.yaml does not declare",
                        f"declare `{name}: null` under `secrets:` in config.yaml and create the workspace secret "
                        f"`{name}` in Baseten")


# NAME= / export NAME= / NAME+= (group 1), or `read [-r] NAME...` (group 2)
_VARIABLE_SET = re.compile(r"(?<![\w$./-])([A-Za-z_]\w*)\+?="
                           r"|\bread\s+(?:-\w+\s+)*([A-Za-z_]\w*(?:[ \t]+[A-Za-z_]\w*)*)")
# $NAME / ${NAME} / ${NAME:-default} (a `$$` is an escaped dollar)
_VARIABLE_USE = re.compile(r"(?<!\$)\$(?:\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-=?+])|\})|(?P<bare>[A-Za-z_]\w*))")
_SOURCES = re.compile(r"(?:^|[\s;&|('\"])(?:source|\.)[ \t]+[^\s;&|]")
_HF_WORDS = frozenset({"HF", "HUGGING", "HUGGINGFACE"})


def _unset_variables(ctx: ConfigContext, start: StartCommand) -> Iterator[PolicyHit]:
    """Secret-looking `$VARS` of the start command that nothing sets before their use (TG106)."""
    facts, command = start.facts, start.text
    if _SOURCES.search(command):
        return  # `source .env`, `. ./env.sh`: the file may set anything
    configured = facts.env_keys
    set_at: dict[str, int] = {}
    for m in _VARIABLE_SET.finditer(command):
        for name in (m.group(1) or m.group(2)).split():
            set_at.setdefault(name, m.start())
    seen = set()
    for m in _VARIABLE_USE.finditer(command):
        name = m.group("braced") or m.group("bare")
        if m.group("op") and m.group("op")[-1] in "-=+":
            continue  # ${HF_TOKEN:-...}: a default, or nothing when unset
        if name in seen or name in configured or set_at.get(name, len(command)) < m.start() \
                or not is_secret_name(name):
            continue
        seen.add(name)
        suggested = "hf_access_token" if _HF_WORDS & set(identifier_words(name)) else env_name(name)
        secret = facts.name_for(suggested)
        declare = "" if facts.declared(secret) else f" and declare `{secret}: null` under `secrets:`"
        line, column = start.place(m.group(0))
        yield PolicyHit("TG106", ctx.path, line, column,
                        f"`docker_server.start_command` uses `{m.group(0)}`, which nothing sets (neither "
                        f"`environment_variables:` nor the command): it expands to an empty string",
                        f"set it from the mounted secret before its use, `{name}=$(cat /secrets/{secret})`{declare}")
