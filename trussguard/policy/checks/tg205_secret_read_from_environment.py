"""TG205: Model code reading a secret from the environment or a /secrets/ file instead of the mapping (P5).

The check reads the facts ``python_facts`` gathered in one walk of the file; the wording of
its fixes is shared with the other code checks (``python_fixes``).
"""

from __future__ import annotations

from typing import Iterator

from trussguard.engine.heuristics import is_secret_name
from trussguard.policy.context import CodeContext
from trussguard.policy.python_facts import facts_of
from trussguard.policy.python_fixes import config_path, init_clause
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


@check("TG205", "secret-read-from-environment", Severity.MEDIUM, kind="policy", scope="code", spec="P5")
def secret_read_from_environment(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    Model code that reads a secret from the environment (`os.environ["HF_TOKEN"]`,
    `os.getenv("OPENAI_API_KEY")`) or from a `/secrets/NAME` file, instead of the secrets mapping
    the model receives.

    ## Why it matters
    These reads bypass the declaration in config.yaml: an undeclared or misspelled name goes unnoticed
    until the deployment runs, the `TRUSS_SECRET_<name>` fallback is skipped, and nothing in the
    repository says which workspace secrets the model needs.

    ## Example
    ```python
    token = os.environ["HF_TOKEN"]
    ```

    ## Use instead
    ```python
    def __init__(self, **kwargs):
        self._secrets = kwargs["secrets"]

    def load(self):
        token = self._secrets["hf_access_token"]
    ```
    with `hf_access_token: null` under `secrets:` in config.yaml.
    """
    if ctx.tree is None or ctx.truss is None:
        return  # only model code is held to the mapping; client scripts may use the environment
    facts = facts_of(ctx)
    reads = facts.environment_reads  # empty unless the file writes environ, getenv or /secrets/
    bridged = facts.bridged if reads else set()
    for how, found, node in reads:
        if how == "env" and is_secret_name(found) and found not in bridged:
            name = found.lower()
            yield PolicyHit(
                "TG205", ctx.path, node.lineno, node.col_offset + 1,
                f"reads the secret `{found}` from the environment",
                f"declare `{name}: null` under `secrets:` in {config_path(ctx)} and read `self._secrets[\"{name}\"]`"
                f"{init_clause(ctx)}")
        elif how == "file":
            name = found[len("/secrets/"):].strip("/")
            yield PolicyHit(
                "TG205", ctx.path, node.lineno, node.col_offset + 1,
                f"reads the secret file `{found}` directly",
                f"declare `{name}: null` under `secrets:` in {config_path(ctx)} and read `self._secrets[\"{name}\"]`"
                f"{init_clause(ctx)}")
