"""A Python file cut into scopes for the secrets-mapping analysis: the module and each function with its
own nodes, the file's classes (bases, methods, fields), and every node's parent.

Why a module of its own: every later pass (``secrets_holders``, ``secrets_reads``, ``secrets_flow``) reads a
scope's own nodes instead of walking the tree again, and asks which class a method belongs to and which
function a name is defined in. The cut is one iterative walk (expressions can nest deeper than the
recursion limit) over the child fields the analysis looks at (``children``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Iterator

SCOPE_NODES = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass
class Scope:
    func: ast.AST  # a function, or the module
    owner: str | None  # enclosing class name
    names: dict[str, str]  # local names bound to the mapping -> "mapping" or "context"
    kwargs: set[str]  # the **kwargs parameter name (and locals bound to it)
    parent: "Scope | None" = None  # the enclosing function: its names are visible here
    nodes: list[ast.AST] = field(default_factory=list)  # its own nodes (not those of nested functions)
    instances: dict[str, set[str]] = field(default_factory=dict)  # local names holding an object of a file's class
    functions: dict[str, "Scope"] = field(default_factory=dict)  # functions defined directly in it, by name

    @property
    def params(self) -> list[ast.arg]:
        """Positional parameters in order, then keyword-only ones."""
        args = getattr(self.func, "args", None)
        return [] if args is None else args.posonlyargs + args.args + args.kwonlyargs

    def default(self, param: str) -> ast.AST | None:
        args = self.func.args
        positional = args.posonlyargs + args.args
        pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
        pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
        return next((d for a, d in pairs if a.arg == param), None)

    def decorators(self) -> set[str]:
        return {(d.attr if isinstance(d, ast.Attribute) else d.id if isinstance(d, ast.Name) else "")
                for d in getattr(self.func, "decorator_list", [])}

    def reassigns(self, name: str) -> bool:
        """The function rebinds ``name`` (then a parameter no longer holds the caller's argument)."""
        return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for n in self.nodes)


@dataclass
class Class:
    bases: list[str]  # the names of its bases
    methods: dict[str, Scope] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)  # annotated class-level names: dataclass / pydantic fields


# Fields whose nodes no analysis here looks at: expression contexts (one shared Load() per file), operators,
# type-ignore comments. Leaving them out of ``children`` keeps them out of every scope's node list and of the
# stacks of ``scopes_of`` and ``own_nodes``: a third of what ``ast.iter_child_nodes`` yields, in the same order.
_SKIPPED_FIELDS = frozenset({"ctx", "op", "ops", "type_ignores"})


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


_CHILD_FIELDS = {cls: tuple(f for f in cls._fields if f not in _SKIPPED_FIELDS) for cls in _subclasses(ast.AST)}


def children(node: ast.AST) -> list[ast.AST]:
    """``ast.iter_child_nodes`` without contexts and operators, as a list (one field table lookup per node)."""
    fields = _CHILD_FIELDS.get(type(node))
    if fields is None:
        return list(ast.iter_child_nodes(node))
    out: list[ast.AST] = []
    for name in fields:
        value = getattr(node, name, None)
        if type(value) is list:
            out.extend(v for v in value if isinstance(v, ast.AST))
        elif isinstance(value, ast.AST):
            out.append(value)
    return out


def own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of one scope, not descending into nested functions (classes are transparent)."""
    stack = children(scope)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, SCOPE_NODES):
            stack.extend(children(node))


def scopes_of(tree: ast.Module) -> tuple[list[Scope], dict[int, ast.AST], dict[str, Class]]:
    """The module and every function (enclosing ones first), each with its own nodes, every node's parent,
    and the file's classes.

    One iterative pass: expressions can nest deeper than the recursion limit.
    """
    module = Scope(tree, None, {}, set())
    out, parents, classes = [module], {}, {}
    stack: list[tuple[ast.AST, str | None, Scope]] = [(tree, None, module)]
    while stack:
        node, owner, scope = stack.pop()
        for child in children(node):
            parents[id(child)] = node
            scope.nodes.append(child)
            if isinstance(child, ast.ClassDef):
                classes.setdefault(child.name, Class([b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                                                      for b in child.bases]))
                classes[child.name].fields += [s.target.id for s in child.body if isinstance(s, ast.AnnAssign)
                                               and isinstance(s.target, ast.Name)]
                stack.append((child, child.name, scope))
            elif isinstance(child, SCOPE_NODES):
                params = {a.arg for a in child.args.args + child.args.posonlyargs + child.args.kwonlyargs}
                inner = Scope(child, owner, {"secrets": "mapping"} if "secrets" in params else {},
                              {child.args.kwarg.arg} if child.args.kwarg else set(), scope)
                if isinstance(node, ast.ClassDef) and node.name in classes:
                    classes[node.name].methods.setdefault(child.name, inner)
                else:
                    scope.functions.setdefault(child.name, inner)
                out.append(inner)
                stack.append((child, owner, inner))
            else:
                stack.append((child, owner, scope))
    return out, parents, classes
