"""Where Python code reads the Truss secrets mapping (TRUSS_SECRETS.md 2.1, 2.5).

The mapping arrives as the ``secrets`` constructor argument (``kwargs["secrets"]``,
``kwargs.get("secrets")`` or a ``secrets`` parameter), is usually kept as an attribute
(``self._secrets``), and in Chains is ``context.secrets``. A read is a subscript, a
``.get(...)`` or an ``in`` test on one of those.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class SecretRead:
    name: str | None  # None when the key is not a literal (self._secrets[name])
    line: int
    column: int  # 1-based
    how: str  # "subscript", "get", "in", "iterate", "private"


def _is_kwargs_secrets(node: ast.AST, kwargs_names: set[str]) -> bool:
    """``kwargs["secrets"]`` or ``kwargs.get("secrets")``."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in kwargs_names:
        return isinstance(node.slice, ast.Constant) and node.slice.value == "secrets"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
            and isinstance(node.func.value, ast.Name) and node.func.value.id in kwargs_names and node.args:
        return isinstance(node.args[0], ast.Constant) and node.args[0].value == "secrets"
    return False


def mapping_names(tree: ast.Module) -> tuple[set[str], set[str]]:
    """(attribute names on self, local names) that hold the secrets mapping anywhere in the file."""
    attrs: set[str] = set()
    names: set[str] = {"secrets"}
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        kwargs_names = {func.args.kwarg.arg} if func.args.kwarg else set()
        for node in ast.walk(func):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                value, target = node.value, node.targets[0]
                if _is_kwargs_secrets(value, kwargs_names) or (isinstance(value, ast.Name) and value.id in names):
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                            and target.value.id == "self":
                        attrs.add(target.attr)
                    elif isinstance(target, ast.Name):
                        names.add(target.id)
    return attrs, names


def is_mapping(node: ast.AST, attrs: set[str], names: set[str]) -> bool:
    """``self._secrets``, a local bound to the mapping, or ``context.secrets`` (Chains)."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        if node.value.id == "self" and node.attr in attrs:
            return True
        return node.attr == "secrets" and node.value.id in ("context", "ctx")
    return isinstance(node, ast.Name) and node.id in names


def secret_reads(tree: ast.Module) -> list[SecretRead]:
    """Every read of the secrets mapping in the file."""
    attrs, names = mapping_names(tree)
    out: list[SecretRead] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and is_mapping(node.value, attrs, names) \
                and isinstance(node.ctx, ast.Load):
            out.append(SecretRead(_literal(node.slice), node.lineno, node.col_offset + 1, "subscript"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and is_mapping(node.func.value, attrs, names):
            key = _literal(node.args[0]) if node.args else None
            out.append(SecretRead(key, node.lineno, node.col_offset + 1, "get"))
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)) \
                and is_mapping(node.comparators[0], attrs, names):
            out.append(SecretRead(_literal(node.left), node.lineno, node.col_offset + 1, "in"))
        elif isinstance(node, ast.Attribute) and node.attr == "_base_secrets":
            out.append(SecretRead(None, node.lineno, node.col_offset + 1, "private"))
        elif isinstance(node, (ast.For, ast.comprehension)) and is_mapping(node.iter, attrs, names):
            line = getattr(node, "lineno", getattr(node.iter, "lineno", 1))
            out.append(SecretRead(None, line, node.iter.col_offset + 1, "iterate"))
    return sorted(out, key=lambda r: (r.line, r.column))


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
