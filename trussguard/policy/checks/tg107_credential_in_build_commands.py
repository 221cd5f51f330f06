"""TG107 credential-in-build-commands: a literal credential in `build_commands` (TRUSS_SECRETS.md C4)."""

from __future__ import annotations

from typing import Iterator

from trussguard.policy.config_commands import inline_credentials, read_from_file
from trussguard.policy.config_facts import facts_of
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG107", "credential-in-build-commands", Severity.HIGH, kind="leak", scope="config", spec="C4")
def credential_in_build_commands(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A literal credential in `build_commands`: a token in a git URL (`https://x-access-token:ghp_...@`),
    `huggingface-cli login --token hf_...`, an `Authorization:` header, `TOKEN=<literal>`, or any key a
    credential rule recognises.

    ## Why it matters
    Each build command becomes a `RUN` line of the generated Dockerfile: the value lands in the
    repository, the uploaded Truss, the build logs and the image history of every deployment.

    ## Example
    ```yaml
    build_commands:
      - git clone https://x-access-token:ghp_...@github.com/acme/private-lib /opt/lib
    ```

    ## Use instead
    Mount a workspace secret into the build and read it inside the command:
    ```yaml
    build:
      secret_to_path_mapping:
        gh_token: /run/secrets/gh_token
    build_commands:
      - git clone https://x-access-token:$(cat /run/secrets/gh_token)@github.com/acme/private-lib /opt/lib
    ```
    """
    facts = facts_of(ctx)
    mapping = facts.build_mapping
    for label, node, command in facts.build_commands:
        for c in inline_credentials(ctx, command, node):
            line, column = facts.place(node, c.secret)
            path = mapping.get(c.name) or f"/run/secrets/{c.name}"
            mount = "" if c.name in mapping else \
                f"map it with `build: secret_to_path_mapping: {{{c.name}: {path}}}` and "
            written = read_from_file(c.variable, path)
            yield PolicyHit(
                "TG107", ctx.path, line, column, f"{c.what} in `{label}`",
                f"revoke it, store a new one as the Baseten workspace secret `{c.name}`, {mount}write "
                f"`{written}` in place of the literal",
                secret=c.secret, severity=c.severity)
