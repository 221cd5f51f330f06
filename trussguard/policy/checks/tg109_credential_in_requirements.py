"""TG109 credential-in-requirements: a credential in a Python requirement, in config.yaml or in the
`requirements_file` it names (TRUSS_SECRETS.md C5)."""

from __future__ import annotations

import re
from typing import Iterator

from trussguard.policy.config_commands import inline_credentials
from trussguard.policy.config_facts import facts_of
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


def _requirements_fix(name: str, requirement: str) -> str:
    """Move the private install to a build command that reads a build secret."""
    host = re.search(r"@([A-Za-z0-9][A-Za-z0-9.-]*)", requirement)
    host = host.group(1) if host else "<host>"
    if re.search(r"git\+|\.git\b", requirement):
        example = f"pip install git+https://x-access-token:$(cat /run/secrets/{name})@{host}/<org>/<repo>.git"
    else:
        example = f"pip install --extra-index-url https://__token__:$(cat /run/secrets/{name})@{host}/simple <package>"
    return (f"revoke it, store a new one as the Baseten workspace secret `{name}`, map it with "
            f"`build: secret_to_path_mapping: {{{name}: /run/secrets/{name}}}`, drop this requirement and install "
            f"the package in `build_commands` with the credential read from the file: `{example}`")


@check("TG109", "credential-in-requirements", Severity.HIGH, kind="leak", scope="config", spec="C5")
def credential_in_requirements(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A credential in a Python requirement: an index URL with a password
    (`--extra-index-url https://deploy:...@pypi.acme.dev/simple`), a token in a git URL
    (`git+https://ghp_...@github.com/acme/tools.git`), or any key a credential rule recognises. Checked in
    the `requirements:` list of config.yaml and in the file that `requirements_file` names
    (requirements.txt, pyproject.toml, uv.lock), which the runner hands to this check as a context of kind
    "requirements".

    ## Why it matters
    Requirements are installed with pip/uv while the image is built: the URL is uploaded with the Truss and
    appears in build logs, and whoever reads it can download (or publish) the private packages.

    ## Example
    ```yaml
    requirements:
      - git+https://ghp_...@github.com/acme/tools.git@v1
    ```

    ## Use instead
    Install private packages in `build_commands`, reading a build secret:
    ```yaml
    build:
      secret_to_path_mapping:
        github_token: /run/secrets/github_token
    build_commands:
      - pip install git+https://x-access-token:$(cat /run/secrets/github_token)@github.com/acme/tools.git@v1
    ```
    """
    facts = facts_of(ctx)
    if ctx.kind == "requirements":
        for n, text in enumerate(facts.lines, start=1):
            if not ("://" in text or "=" in text or ":" in text or ctx.index.on_lines(n, n)):
                continue
            for c in inline_credentials(ctx, text, line=n):
                yield PolicyHit("TG109", ctx.path, n, max(text.find(c.secret), 0) + 1,
                                f"{c.what} in the requirements file", _requirements_fix(c.name, text),
                                secret=c.secret, severity=c.severity)
        return
    for label, node, requirement in facts.requirements:
        for c in inline_credentials(ctx, requirement, node):
            line, column = facts.place(node, c.secret)
            yield PolicyHit("TG109", ctx.path, line, column, f"{c.what} in `{label}`",
                            _requirements_fix(c.name, requirement), secret=c.secret, severity=c.severity)
