"""Checks on one Python file of a Truss or a Chains source (TRUSS_SECRETS.md 3.1, P1-P11)."""

from __future__ import annotations

import ast
from typing import Iterator

from trussguard.engine.heuristics import is_secret_name
from trussguard.policy.context import CodeContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


def _env_read(node: ast.AST) -> tuple[str, ast.AST] | None:
    """(variable name, node) for ``os.environ[NAME]``, ``os.environ.get(NAME)``, ``os.getenv(NAME)``."""
    if isinstance(node, ast.Subscript) and _is_environ(node.value) and isinstance(node.ctx, ast.Load):
        key = node.slice
    elif isinstance(node, ast.Call) and node.args and (
            isinstance(node.func, ast.Attribute) and node.func.attr == "get" and _is_environ(node.func.value)
            or _dotted(node.func) in ("os.getenv", "getenv")):
        key = node.args[0]
    else:
        return None
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value, node
    return None


def _is_environ(node: ast.AST) -> bool:
    return _dotted(node) in ("os.environ", "environ")


def _dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def _bridged(tree: ast.Module) -> set[str]:
    """Environment variables the code itself sets (``os.environ["HF_TOKEN"] = ...``): reading them is fine."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and _is_environ(target.value) \
                        and isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str):
                    out.add(target.slice.value)
    return out


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
    bridged = _bridged(ctx.tree)
    for node in ast.walk(ctx.tree):
        found = _env_read(node)
        if found is not None and is_secret_name(found[0]) and found[0] not in bridged:
            name = found[0].lower()
            yield PolicyHit(
                "TG205", ctx.path, node.lineno, node.col_offset + 1,
                f"reads the secret `{found[0]}` from the environment",
                f"declare `{name}: null` under `secrets:` in config.yaml and read `self._secrets[\"{name}\"]` "
                f"(with `self._secrets = kwargs[\"secrets\"]` in `__init__`)")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/secrets/"):
            name = node.value[len("/secrets/"):].strip("/")
            yield PolicyHit(
                "TG205", ctx.path, node.lineno, node.col_offset + 1,
                f"reads the secret file `{node.value}` directly",
                f"declare `{name}: null` under `secrets:` in config.yaml and read `self._secrets[\"{name}\"]`")
