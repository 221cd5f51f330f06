"""TG108 runtime-secret-read-at-build-time: a build command reads `/secrets/`, which exists only at run time
(TRUSS_SECRETS.md C4)."""

from __future__ import annotations

import posixpath
from typing import Iterator

from trussguard.policy.config_commands import RUNTIME_MOUNT
from trussguard.policy.config_facts import facts_of
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG108", "runtime-secret-read-at-build-time", Severity.MEDIUM, kind="policy", scope="config", spec="C4")
def runtime_secret_read_at_build_time(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A build command that reads the runtime secret mount (`cat /secrets/NAME`, `--token-file /secrets/NAME`)
    when no `build.secret_to_path_mapping` entry mounts a secret at that path.

    ## Why it matters
    `/secrets/` is mounted only when the model runs; during the image build the file does not exist, so
    the command reads nothing (the clone or download fails, or worse, proceeds anonymously). Build steps
    see only the secrets mapped in `build.secret_to_path_mapping`.

    ## Example
    ```yaml
    build_commands:
      - pip install --extra-index-url https://__token__:$(cat /secrets/pypi_token)@pypi.acme.dev/simple acme-kernels
    ```

    ## Use instead
    ```yaml
    build:
      secret_to_path_mapping:
        pypi_token: /run/secrets/pypi_token
    build_commands:
      - pip install --extra-index-url https://__token__:$(cat /run/secrets/pypi_token)@pypi.acme.dev/simple acme-kernels
    ```
    """
    facts = facts_of(ctx)
    if not facts.is_truss:
        return
    mapping = facts.build_mapping
    mounted = {posixpath.normpath(p) for p in mapping.values() if p}
    for label, node, command in facts.build_commands:
        for m in RUNTIME_MOUNT.finditer(command):
            path, name = m.group(0), m.group(1)
            if any(path == p or path.startswith(p.rstrip("/") + "/") for p in mounted):
                continue
            line, column = facts.place(node, path)
            if name in mapping and mapping[name]:
                fix = f"read `{mapping[name]}`, where `build.secret_to_path_mapping` mounts `{name}` during the build"
            else:
                fix = (f"add `build: secret_to_path_mapping: {{{name}: /run/secrets/{name}}}` (the workspace "
                       f"secret `{name}`) and read `/run/secrets/{name}` in the command")
            yield PolicyHit("TG108", ctx.path, line, column,
                            f"`{label}` reads `{path}`, the runtime secret mount, which does not exist at build time",
                            fix)
