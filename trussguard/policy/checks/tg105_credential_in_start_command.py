"""TG105 credential-in-start-command: a literal credential in `docker_server.start_command` (TRUSS_SECRETS.md C3)."""

from __future__ import annotations

from typing import Iterator

from trussguard.policy.config_commands import inline_credentials, read_from_file, start_command
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG105", "credential-in-start-command", Severity.HIGH, kind="leak", scope="config", spec="C3")
def credential_in_start_command(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A literal credential in `docker_server.start_command`: a recognised key, `HF_TOKEN=<literal>`,
    `--api-key <literal>` or an `Authorization:` header with a literal value.

    ## Why it matters
    The start command is part of config.yaml: it is uploaded with the Truss, stored with the deployment
    and runs as the container command, where it shows up in process listings. The approved way to pass a
    secret to a custom server is to read the file Baseten mounts for each declared secret.

    ## Example
    ```yaml
    docker_server:
      start_command: sh -c "HF_TOKEN=hf_... vllm serve meta-llama/Llama-3.1-8B-Instruct"
    ```

    ## Use instead
    ```yaml
    secrets:
      hf_access_token: null
    docker_server:
      start_command: sh -c "HF_TOKEN=$(cat /secrets/hf_access_token) vllm serve meta-llama/Llama-3.1-8B-Instruct"
    ```
    """
    command = start_command(ctx)
    if command is None:
        return
    for c in inline_credentials(ctx, command.text, command.node):
        line, column = command.place(c.secret)
        written = read_from_file(c.variable, f"/secrets/{c.name}")
        yield PolicyHit(
            "TG105", ctx.path, line, column, f"{c.what} in `docker_server.start_command`",
            f"revoke it, store a new one as the Baseten workspace secret `{c.name}`, declare `{c.name}: null` "
            f"under `secrets:` and write `{written}` in place of the literal",
            secret=c.secret, severity=c.severity)
