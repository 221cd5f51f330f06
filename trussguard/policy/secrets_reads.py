"""Reads of the Truss secrets mapping (TRUSS_SECRETS.md 2.1, 2.2): ``SecretRead``, ``read_of`` and ``guard_of``.

A read is a subscript, a ``.get(...)`` or an ``in`` test on a holder of the mapping (``secrets_holders``);
iterating the mapping and touching its private ``_base_secrets`` are reads too (both misbehave on Baseten,
2.2). ``guard_of`` says whether a read is guarded (a truthiness test of the mapping, a test of the name on
the mapping or on ``_base_secrets``, an early exit), which decides whether TG209 reports it. Kept apart from
the holders because it is what one node does with them, not who they are.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from trussguard.policy.secrets_holders import Holders, is_mapping
from trussguard.policy.secrets_scopes import SCOPE_NODES, Scope

_ITERATING_CALLS = ("dict", "list", "tuple", "set", "sorted", "frozenset")
_ITERATING_METHODS = ("items", "keys", "values", "__iter__")


@dataclass(frozen=True)
class SecretRead:
    name: str | None  # None when the key is not a literal (self._secrets[name])
    line: int
    column: int  # 1-based
    how: str  # "subscript", "get", "in", "iterate", "private"
    via: str = "mapping"  # "mapping" (the constructor's secrets) or "context" (Chains context.secrets)
    owner: str | None = None  # the enclosing class
    # "truthy" (under `if self._secrets and ...`), "private" (under a _base_secrets test of the name) or
    # "tested" (under `if "x" in self._secrets` / `.get("x")`: the test itself is the read to report)
    guard: str | None = None
    node: ast.AST | None = field(default=None, compare=False, repr=False)
    # a call of a helper that reads the mapping with the key it is given (`self._secret("x")`): the helper's name
    through: str | None = None
    # the helper's own read with its key parameter (`self._secrets[name]`): its call sites carry the names
    followed: bool = False


def read_of(node: ast.AST, holders: Holders, scope: Scope) -> SecretRead | None:
    def mapping(n: ast.AST) -> str | None:
        return is_mapping(n, holders, scope)

    def read(key: ast.AST | None, how: str, holder: ast.AST) -> SecretRead:
        via = mapping(holder) or "mapping"
        return SecretRead(literal_key(key) if key is not None else None, node.lineno, node.col_offset + 1, how, via)

    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and mapping(node.value):
        return read(node.slice, "subscript", node.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and mapping(node.func.value):
        if node.func.attr == "get":
            return read(node.args[0] if node.args else None, "get", node.func.value)
        if node.func.attr in _ITERATING_METHODS:
            return read(None, "iterate", node.func.value)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)) \
            and mapping(without_keys(node.comparators[0])):  # "x" in m, "x" in m.keys()
        return read(node.left, "in", without_keys(node.comparators[0]))
    if isinstance(node, ast.Attribute) and node.attr == "_base_secrets":
        return read(None, "private", node)
    if isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)) and mapping(node.iter):
        return SecretRead(None, node.iter.lineno, node.iter.col_offset + 1, "iterate")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _ITERATING_CALLS \
            and node.args and mapping(node.args[0]):
        return read(None, "iterate", node.args[0])
    if isinstance(node, ast.Starred) and mapping(node.value):
        return read(None, "iterate", node.value)
    unpacked = [v for k, v in zip(node.keys, node.values) if k is None] if isinstance(node, ast.Dict) else []
    unpacked += [kw.value for kw in node.keywords if kw.arg is None] if isinstance(node, ast.Call) else []
    if any(mapping(v) for v in unpacked):
        return read(None, "iterate", next(v for v in unpacked if mapping(v)))
    return None


def guard_of(node: ast.AST, parents: dict[int, ast.AST], holders: Holders, scope: Scope,
             name: str | None) -> str | None:
    """How the read is guarded: under a truthiness test of the mapping ("truthy"), a ``_base_secrets`` test
    of its name ("private"), or a test of its name on the mapping itself ("tested": ``if "x" in secrets``,
    ``if secrets.get("x")``; that test is a read of its own, reported on its line, so the guarded read adds
    nothing). A test counts in an ``if``/``while``/``and``/conditional expression, in the ``else`` of its
    negation (``if "x" not in ...: ... else: read``), and as an early exit before the read in the same block
    (``if "x" not in ...: return``)."""
    child = node
    while id(child) in parents and not isinstance(child, SCOPE_NODES):
        parent = parents[id(child)]
        tests: list[ast.AST] = []
        negated: list[ast.AST] = []
        if isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.And):
            tests = parent.values[:parent.values.index(child)] if child in parent.values else []
        elif isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.Or):
            negated = parent.values[:parent.values.index(child)] if child in parent.values else []
        elif isinstance(parent, (ast.If, ast.While)) and child in parent.body:
            tests = [parent.test]
        elif isinstance(parent, ast.If) and child in parent.orelse:
            negated = [parent.test]
        elif isinstance(parent, ast.IfExp) and child is parent.body:
            tests = [parent.test]
        elif isinstance(parent, ast.IfExp) and child is parent.orelse:
            negated = [parent.test]
        negated += _early_exits(parent, child)
        tests += [t for n in negated for t in _negations(n)]
        for test in tests:
            for part in _conjuncts(test):
                found = _guard_kind(part, holders, scope, name)
                if found:
                    return found
        child = parent
    return None


def _early_exits(parent: ast.AST, child: ast.AST) -> list[ast.AST]:
    """The tests of ``if <test>: return/raise/continue/break`` statements before ``child`` in its block."""
    out: list[ast.AST] = []
    for body in ("body", "orelse", "finalbody"):
        block = getattr(parent, body, None)
        if not isinstance(block, list) or child not in block:
            continue
        for stmt in block[:block.index(child)]:
            if isinstance(stmt, ast.If) and stmt.body and not stmt.orelse \
                    and isinstance(stmt.body[-1], (ast.Return, ast.Raise, ast.Continue, ast.Break)):
                out.append(stmt.test)
    return out


def _negations(test: ast.AST) -> list[ast.AST]:
    """What holds when ``test`` is false, as positive tests: ``not x`` -> x, ``"a" not in m`` -> ``"a" in m``,
    ``m.get("a") is None`` -> ``m.get("a")``, and each part of an ``or``."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return [test.operand]
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        return [p for v in test.values for p in _negations(v)]
    if isinstance(test, ast.Compare) and len(test.ops) == 1:
        if isinstance(test.ops[0], ast.NotIn):
            return [ast.Compare(test.left, [ast.In()], test.comparators)]
        if isinstance(test.ops[0], ast.Is) and _is_none(test.comparators[0]):
            return [test.left]
    return []


def _is_none(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _guard_kind(part: ast.AST, holders: Holders, scope: Scope, name: str | None) -> str | None:
    def mapping(n: ast.AST) -> bool:
        return bool(is_mapping(n, holders, scope))

    if isinstance(part, ast.Compare) and len(part.ops) == 1 and isinstance(part.ops[0], ast.IsNot) \
            and _is_none(part.comparators[0]):
        part = part.left  # m.get("x") is not None
    if mapping(part) or (isinstance(part, ast.Call) and isinstance(part.func, ast.Name)
                         and part.func.id in ("len", "bool") and part.args and mapping(part.args[0])):
        return "truthy"
    if name is None:
        return None
    if _tests_base_secret(part, name):
        return "private"
    if isinstance(part, ast.Compare) and len(part.ops) == 1 and isinstance(part.ops[0], ast.In) \
            and mapping(without_keys(part.comparators[0])):
        return "tested" if literal_key(part.left) == name else None
    if isinstance(part, ast.Call) and isinstance(part.func, ast.Attribute) and part.func.attr == "get" \
            and mapping(part.func.value) and part.args:
        return "tested" if literal_key(part.args[0]) == name else None
    return None


def _conjuncts(test: ast.AST) -> list[ast.AST]:
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return [p for v in test.values for p in _conjuncts(v)]
    return [test]


def without_keys(node: ast.AST) -> ast.AST:
    """``m.keys()`` -> ``m``: a membership test of the keys is a membership test of the mapping."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "keys" \
            and not node.args:
        return node.func.value
    return node


def _tests_base_secret(test: ast.AST, name: str) -> bool:
    """``"x" in s._base_secrets`` (or its ``.keys()``), ``s._base_secrets.get("x")`` (``is not None``), or
    ``s._base_secrets["x"]``: a test of the config's own declarations, which never raises."""
    def private(n: ast.AST) -> bool:
        return isinstance(n, ast.Attribute) and n.attr == "_base_secrets"

    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.IsNot) \
            and _is_none(test.comparators[0]):
        test = test.left
    if isinstance(test, ast.Compare) and isinstance(test.ops[0], ast.In) \
            and private(without_keys(test.comparators[0])):
        return literal_key(test.left) == name
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr == "get" \
            and private(test.func.value) and test.args:
        return literal_key(test.args[0]) == name
    if isinstance(test, ast.Subscript) and private(test.value):
        return literal_key(test.slice) == name
    return False


def literal_key(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
