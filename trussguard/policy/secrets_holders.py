"""Who holds the Truss secrets mapping in one Python file (TRUSS_SECRETS.md 2.1): ``Holders`` and ``is_mapping``.

The mapping arrives as the ``secrets`` constructor argument (``kwargs["secrets"]``, ``kwargs.get("secrets")``
or a ``secrets`` parameter), is usually kept as an attribute (``self._secrets``), and in Chains is
``context.secrets``. Engineers hand it on, so within a file it is followed through locals, attributes,
``getattr``, objects of the file's classes it is given (constructor parameters, dataclass and
pydantic-style fields), properties and functions returning it, and ``**kwargs``. ``bind_scope`` adds what one
scope binds; ``secrets_analysis.analyse`` repeats it to a fixed point. Kept apart from the reads
(``secrets_reads``) because both the reads and the value flow (``secrets_flow``) ask it what an
expression holds.
"""

from __future__ import annotations

import ast
import itertools

from trussguard.policy.secrets_scopes import Class, Scope

_CONTEXT_OBJECTS = ("context", "ctx", "_context", "_ctx")  # Chains: context.secrets, self._context.secrets
CHAIN_API_KEY = "baseten_chain_api_key"  # added by Chains to every chainlet; context.get_baseten_api_key() reads it


class Holders:
    """Who holds the mapping in one file, followed through assignments, attributes, constructor and call
    arguments (dataclass and pydantic fields included), properties, and functions that return it.

    An attribute belongs to a class and its in-file relatives (bases and subclasses), so a settings
    object's `config` field holding the mapping does not make every `self.config` of the file a holder.
    """

    def __init__(self, classes: dict[str, Class]):
        self.classes = classes
        # what holds the mapping, by family (None: code outside any class, seen from everywhere)
        self.attrs: dict[int | None, dict[str, str]] = {}  # attribute -> via
        self.instances: dict[int | None, dict[str, set[str]]] = {}  # attribute -> classes of the object it holds
        self.kwargs_attrs: dict[int | None, set[str]] = {}  # attributes holding **kwargs
        self.returns: dict[int, str] = {}  # id(function) -> via, for functions returning the mapping
        self._family = _families(classes)
        self._methods: dict[int, dict[str, Scope]] = {}  # a family's methods, the first class by name winning
        for name in sorted(classes):
            for method, scope in classes[name].methods.items():
                self._methods.setdefault(self._family[name], {}).setdefault(method, scope)

    def size(self) -> int:
        return sum(len(a) for a in self.attrs.values()) + sum(len(c) for i in self.instances.values()
                                                             for c in i.values()) \
            + sum(len(k) for k in self.kwargs_attrs.values()) + len(self.returns)

    def family(self, owner: str | None) -> int | None:
        """The family of a class: it, its in-file bases and subclasses, theirs, and so on."""
        return self._family.get(owner) if owner is not None else None

    def _families_of(self, owners: set[str | None], store: dict) -> list[int | None]:
        """Where to look a name up: the owners' families and code outside any class, or everywhere for code
        outside a class (legacy: any `self`)."""
        keys = {self.family(o) for o in owners}
        return list(store) if None in keys else sorted(keys) + [None]

    def attr(self, owners: set[str | None], name: str) -> str | None:
        return next((self.attrs[k][name] for k in self._families_of(owners, self.attrs)
                     if name in self.attrs.get(k, {})), None)

    def instance(self, owners: set[str | None], name: str) -> set[str | None]:
        return {c for k in self._families_of(owners, self.instances) for c in self.instances.get(k, {}).get(name, ())}

    def kwargs_attr(self, owner: str | None) -> set[str]:
        return {a for k in self._families_of({owner}, self.kwargs_attrs) for a in self.kwargs_attrs.get(k, ())}

    def method(self, owners: set[str | None], name: str) -> Scope | None:
        """The class's own method, else one of its family's."""
        own = next((self.classes[o].methods[name] for o in sorted(owners, key=str)
                    if o in self.classes and name in self.classes[o].methods), None)
        return own or next((self._methods[k][name] for k in sorted({self.family(o) for o in owners} - {None})
                            if name in self._methods.get(k, {})), None)

    def classes_of(self, node: ast.AST, scope: Scope, depth: int = 0) -> set[str | None]:
        """The in-file classes an expression is an object of: `self`, an attribute or a local holding one
        (attribute chains are followed 8 deep: `self.a.b.c`, not a hostile `x.a.a.a...` of thousands)."""
        if isinstance(node, ast.Name) and node.id in ("self", "cls"):
            return {scope.owner}
        if isinstance(node, ast.Name):
            s: Scope | None = scope
            while s is not None:
                if node.id in s.instances:
                    return s.instances[node.id]
                s = s.parent
            return set()
        if isinstance(node, ast.Attribute) and depth < 8:
            owners = self.classes_of(node.value, scope, depth + 1)
            return self.instance(owners, node.attr) if owners else set()
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.classes:
            return {node.func.id}
        return set()

    def callee(self, call: ast.Call, scope: Scope) -> tuple[Scope | None, int, str | None]:
        """(function scope, parameters to skip, class constructed) of a call to a function or class of this file."""
        func = call.func
        if isinstance(func, ast.Name):
            s: Scope | None = scope
            while s is not None:
                if func.id in s.functions:
                    return s.functions[func.id], 0, None
                s = s.parent
            name = scope.owner if func.id == "cls" else func.id
            if name in self.classes:
                init = self.method({name}, "__init__")
                return init, 1, name
            return None, 0, None
        if isinstance(func, ast.Attribute):
            owners = {func.value.id} if isinstance(func.value, ast.Name) and func.value.id in self.classes \
                else self.classes_of(func.value, scope)
            target = self.method(owners, func.attr) if owners else None
            if target is not None:
                return target, 0 if "staticmethod" in target.decorators() else 1, None
        return None, 0, None


def _families(classes: dict[str, Class]) -> dict[str, int]:
    """Each class's family number: classes related by in-file inheritance, in any direction, share one
    (one pass over the classes, so a file of thousands of classes stays linear)."""
    related: dict[str, set[str]] = {name: set() for name in classes}
    for name, c in classes.items():
        for base in c.bases:
            if base in classes and base != name:
                related[name].add(base)
                related[base].add(name)
    family: dict[str, int] = {}
    numbers = itertools.count()
    for name in sorted(classes):
        if name in family:
            continue
        number, todo = next(numbers), [name]
        while todo:
            c = todo.pop()
            if c not in family:
                family[c] = number
                todo += related[c] - family.keys()
    return family


def _is_kwargs_secrets(node: ast.AST, kwargs_names: set[str], kwargs_attrs: set[str] = frozenset()) -> bool:
    """``kwargs["secrets"]`` or ``kwargs.get("secrets")`` (also through ``self._kwargs = kwargs``)."""
    def holder(n: ast.AST) -> bool:
        n = _plain(n)
        return isinstance(n, ast.Name) and n.id in kwargs_names or isinstance(n, ast.Attribute) \
            and isinstance(n.value, ast.Name) and n.value.id == "self" and n.attr in kwargs_attrs

    if isinstance(node, ast.Subscript) and holder(node.value):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "secrets"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
            and holder(node.func.value) and node.args:
        return isinstance(node.args[0], ast.Constant) and node.args[0].value == "secrets"
    return False


def is_context_secrets(node: ast.AST) -> bool:
    """``context.secrets`` / ``self._context.secrets`` (Chains)."""
    if not (isinstance(node, ast.Attribute) and node.attr == "secrets"):
        return False
    holder = node.value
    if isinstance(holder, ast.Attribute) and isinstance(holder.value, ast.Name) and holder.value.id == "self":
        return holder.attr in _CONTEXT_OBJECTS
    return isinstance(holder, ast.Name) and holder.id in _CONTEXT_OBJECTS


def is_mapping(node: ast.AST, holders: Holders, scope: Scope, depth: int = 0) -> str | None:
    """How ``node`` holds the mapping ("mapping", or "context" for Chains' ``context.secrets``), or None:
    ``self._secrets``, a local bound to it, ``kwargs["secrets"]``, ``context.secrets``, an attribute of an
    object of this file that holds it (``self.settings.secrets``, ``getattr(self, "_secrets")``, a
    property returning it) or a call of a function returning it."""
    if isinstance(node, (ast.BoolOp, ast.IfExp)):  # kwargs.get("secrets") or {}
        parts = node.values if isinstance(node, ast.BoolOp) else [node.body, node.orelse]
        return next((v for v in (is_mapping(p, holders, scope, depth + 1) for p in parts) if v), None) \
            if depth < 8 else None
    node = _plain(node)
    if is_context_secrets(node):
        return "context"
    if isinstance(node, ast.Attribute):
        owners = holders.classes_of(node.value, scope)
        return holders.attr(owners, node.attr) if owners else None
    kwargs_attrs = holders.kwargs_attr(scope.owner)
    if _is_kwargs_secrets(node, scope.kwargs, kwargs_attrs):
        return "mapping"
    if isinstance(node, ast.Name):
        return scope.names.get(node.id)
    if isinstance(node, ast.Call):
        target = holders.callee(node, scope)[0]
        return holders.returns.get(id(target.func)) if target is not None else None
    return None


def _plain(node: ast.AST) -> ast.AST:
    """``getattr(x, "name")`` (with or without a default) -> ``x.name``."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
            and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str):
        return ast.Attribute(node.args[0], node.args[1].value, ast.Load())
    return node


def _targets(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, ast.Assign):
        return [t for target in node.targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
    return [node.target] if isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None else []


def _bind_target(holders: Holders, scope: Scope, target: ast.AST, via: str | None, classes: set[str | None],
                 kwargs: bool) -> None:
    if isinstance(target, ast.Name):
        if via:
            scope.names[target.id] = via
        if classes:
            scope.instances.setdefault(target.id, set()).update(classes)
        if kwargs:
            scope.kwargs.add(target.id)
    elif isinstance(target, ast.Attribute):
        owners = holders.classes_of(target.value, scope)
        for owner in owners:
            if via:
                holders.attrs.setdefault(holders.family(owner), {}).setdefault(target.attr, via)
            if classes:
                holders.instances.setdefault(holders.family(owner), {}).setdefault(target.attr, set()).update(classes)
            if kwargs and isinstance(target.value, ast.Name) and target.value.id == "self":
                holders.kwargs_attrs.setdefault(holders.family(owner), set()).add(target.attr)


def _pass_arguments(holders: Holders, scope: Scope, call: ast.Call) -> None:
    """Arguments that hold the mapping (or an object of this file) bind the callee's parameters, or the
    fields of a dataclass / pydantic-style class without ``__init__``; ``**kwargs`` carries ``secrets``."""
    target, skip, cls = holders.callee(call, scope)
    if target is None and cls is None:
        return
    fields = holders.classes[cls].fields if target is None else []
    params = [a.arg for a in target.params][skip:] if target is not None else fields
    positional = params[:len(target.func.args.posonlyargs + target.func.args.args) - skip] \
        if target is not None else fields
    passed: list[tuple[str, ast.AST]] = list(zip(positional, call.args))
    passed += [(k.arg, k.value) for k in call.keywords if k.arg is not None]
    for k in call.keywords:  # Client(**kwargs): the constructor's kwargs arrive, `secrets` among them
        if k.arg is None and isinstance(k.value, ast.Name) and k.value.id in scope.kwargs and "secrets" in params:
            passed.append(("secrets", ast.Subscript(k.value, ast.Constant("secrets"), ast.Load())))
    for param, arg in passed:
        if param not in params:
            continue
        via, classes = is_mapping(arg, holders, scope), holders.classes_of(arg, scope)
        if not via and not classes:
            continue
        if target is not None:
            _bind_target(holders, target, ast.Name(param, ast.Store()), via, classes, False)
        else:
            _bind_field(holders, cls, param, via, classes)


def _bind_field(holders: Holders, cls: str, name: str, via: str | None, classes: set[str | None]) -> None:
    if via:
        holders.attrs.setdefault(holders.family(cls), {}).setdefault(name, via)
    if classes:
        holders.instances.setdefault(holders.family(cls), {}).setdefault(name, set()).update(classes)


def bind_scope(holders: Holders, scope: Scope) -> None:
    """Adds what this scope binds to the mapping (or to objects of the file's classes)."""
    for node in scope.nodes:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            value = node.value
            via, classes = is_mapping(value, holders, scope), holders.classes_of(value, scope)
            kwargs = isinstance(value, ast.Name) and value.id in scope.kwargs
            if via or classes or kwargs:
                for target in _targets(node):
                    _bind_target(holders, scope, target, via, classes, kwargs)
        elif isinstance(node, ast.Call):
            _pass_arguments(holders, scope, node)
        elif isinstance(node, ast.Return) and node.value is not None and scope.parent is not None:
            via = is_mapping(node.value, holders, scope)
            if via:
                holders.returns.setdefault(id(scope.func), via)
                if scope.decorators() & {"property", "cached_property"}:  # self.secrets -> the mapping
                    holders.attrs.setdefault(holders.family(scope.owner), {}).setdefault(scope.func.name, via)
