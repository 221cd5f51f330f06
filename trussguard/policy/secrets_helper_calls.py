"""Reads made through a helper: ``def _secret(self, name): return self._secrets[name]`` turns each of its
calls (``self._secret("hf_access_token")``) into a read of the literal passed.

Why a module of its own: the helper's own read has no literal key, so without this pass every such file
would report one unnamed read and miss the names its call sites use. ``helper_calls`` finds the helpers
(to a fixed point: a helper passing its parameter on to another helper is one too) and turns each call
site into a ``SecretRead``; ``is_followed`` marks the helper's own read, whose call sites now carry the names.
"""

from __future__ import annotations

import ast

from trussguard.policy.secrets_holders import Holders
from trussguard.policy.secrets_reads import SecretRead, guard_of, literal_key
from trussguard.policy.secrets_scopes import SCOPE_NODES, Scope


def _function_of(node: ast.AST, parents: dict[int, ast.AST]) -> ast.AST | None:
    while id(node) in parents:
        node = parents[id(node)]
        if isinstance(node, SCOPE_NODES):
            return node
    return None


def _key_node(node: ast.AST, read: SecretRead) -> ast.AST | None:
    if read.how == "subscript":
        return node.slice
    if read.how == "get":
        return node.args[0] if node.args else None
    if read.how == "in":
        return node.left
    return None


def key_param(node: ast.AST, read: SecretRead, scope: Scope) -> str | None:
    """The parameter a helper reads the mapping with (``def _secret(self, name): return self._secrets[name]``)."""
    key = _key_node(node, read)
    if read.name is not None or not isinstance(key, ast.Name) or scope.parent is None:
        return None
    return key.id if key.id in {a.arg for a in scope.params} and not scope.reassigns(key.id) else None


def is_followed(read: SecretRead, parents: dict[int, ast.AST], keyed: dict[int, dict[str, tuple[str, str]]],
                called: set[int]) -> bool:
    """A helper's read with its key parameter, when the file calls that helper: the call sites are the reads."""
    key = _key_node(read.node, read) if read.name is None else None
    func = _function_of(read.node, parents)
    return isinstance(key, ast.Name) and id(func) in called and key.id in keyed.get(id(func), {})


def _argument(call: ast.Call, target: Scope, skip: int, param: str) -> tuple[bool, ast.AST | None]:
    """(found, node) of the argument a call passes for ``param`` (its default when the call omits it)."""
    names = [a.arg for a in target.func.args.posonlyargs + target.func.args.args][skip:]
    if param in names and names.index(param) < len(call.args):
        arg = call.args[names.index(param)]
        return (False, None) if isinstance(arg, ast.Starred) else (True, arg)
    for k in call.keywords:
        if k.arg == param:
            return True, k.value
        if k.arg is None:
            return False, None  # **options: cannot tell
    default = target.default(param)
    return (True, default) if default is not None else (False, None)


def helper_calls(scopes: list[Scope], holders: Holders, parents: dict[int, ast.AST],
                 keyed: dict[int, dict[str, tuple[str, str]]]) -> tuple[dict[int, tuple[SecretRead, Scope]],
                                                                         set[int]]:
    """The reads made by calling a helper with the key as an argument, one per call site: the literal
    argument is the name read. A helper that passes its own parameter on to another helper is a helper
    too (to a fixed point); a call passing anything else reads a key that is not a literal."""
    sites = [(s, n) for s in scopes for n in s.nodes if isinstance(n, ast.Call)]
    for _ in range(8):
        grew = False
        for scope, call in sites:
            target, skip, _ = holders.callee(call, scope)
            for param, (how, via) in keyed.get(id(target.func), {}).items() if target is not None else ():
                found, arg = _argument(call, target, skip, param)
                if found and isinstance(arg, ast.Name) and scope.parent is not None \
                        and arg.id in {a.arg for a in scope.params} and not scope.reassigns(arg.id) \
                        and arg.id not in keyed.get(id(scope.func), {}):
                    keyed.setdefault(id(scope.func), {})[arg.id] = (how, via)
                    grew = True
        if not grew:
            break
    out: dict[int, tuple[SecretRead, Scope]] = {}
    called: set[int] = set()
    for scope, call in sites:
        target, skip, _ = holders.callee(call, scope)
        for param, (how, via) in keyed.get(id(target.func), {}).items() if target is not None else ():
            called.add(id(target.func))
            found, arg = _argument(call, target, skip, param)
            if found and isinstance(arg, ast.Name) and arg.id in keyed.get(id(scope.func), {}):
                continue  # passed on from a helper's own parameter: that helper's call sites read the name
            name = literal_key(arg) if found else None
            read = SecretRead(name, call.lineno, call.col_offset + 1, how, via, scope.owner,
                              guard_of(call, parents, holders, scope, name), call, through=target.func.name)
            out.setdefault(id(call), (read, scope))
    return out, called
