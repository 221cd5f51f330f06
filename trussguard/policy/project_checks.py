"""Checks over a whole Truss: its config.yaml, its code and its files together."""

from __future__ import annotations

from typing import Iterator

from trussguard.policy.context import ProjectContext
from trussguard.policy.python_secrets import secret_reads
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG207", "undeclared-secret-read", Severity.HIGH, kind="policy", scope="project", spec="P7")
def undeclared_secret_read(ctx: ProjectContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    Model code that reads a name from the secrets mapping (`self._secrets["hf_token"]`, `.get(...)`,
    `in`) that config.yaml does not declare under `secrets:`, or reads it with a key that is not a
    literal, so the name cannot be checked.

    ## Why it matters
    On Baseten the mapping raises `SecretNotFound` for any name that is not declared, usually in
    `load()`, so the deployment never becomes ready. Locally the mapping is a plain dict and the same
    code may seem to work, which hides the bug until deploy.

    ## Example
    ```yaml
    secrets:
      hf_token: null
    ```
    ```python
    self._secrets["hf_access_token"]   # declared as hf_token
    ```

    ## Use instead
    Declare every name the code reads, with the exact spelling:
    ```yaml
    secrets:
      hf_access_token: null
    ```
    """
    declared = ctx.truss.declared
    for path, tree in sorted(ctx.code.items()):
        for read in secret_reads(tree):
            if read.how in ("iterate", "private"):
                continue
            if read.name is None:
                yield PolicyHit("TG207", path, read.line, read.column,
                                "reads the secrets mapping with a key that is not a literal, so it cannot be checked",
                                "read each secret with a literal name declared under `secrets:` in config.yaml")
            elif read.name not in declared:
                yield PolicyHit("TG207", path, read.line, read.column,
                                f"reads the secret `{read.name}`, which config.yaml does not declare",
                                f"declare `{read.name}: null` under `secrets:` in {ctx.truss.config_path} and create "
                                f"the workspace secret `{read.name}` in Baseten")
