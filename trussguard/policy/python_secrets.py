"""Where Python code reads the Truss secrets mapping, and where the values go (TRUSS_SECRETS.md 2.1, 2.5).

The mapping arrives as the ``secrets`` constructor argument (``kwargs["secrets"]``,
``kwargs.get("secrets")`` or a ``secrets`` parameter), is usually kept as an attribute
(``self._secrets``), and in Chains is ``context.secrets``. A read is a subscript, a
``.get(...)`` or an ``in`` test on one of those; iterating the mapping and touching its private
``_base_secrets`` are reads too (both misbehave on Baseten, 2.2).

Engineers hand the mapping on, so within a file it is followed (``_Holders``) through locals,
attributes, ``getattr``, objects of the file's classes it is given (constructor parameters,
dataclass and pydantic-style fields), properties and functions returning it, and ``**kwargs``. A
helper that reads it with its own parameter (``def _secret(self, name): return self._secrets[name]``)
makes each of its calls a read of the literal passed (``_helper_calls``). ``secret_echoes`` follows the
values read (through assignments, ``self`` attributes, f-strings, concatenation, ``.format``,
``str()``, and out of helpers and properties) to the places that would print, log, raise or return
them; the whole mapping shown is an echo too.
"""

from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field
from typing import Iterator

_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef)
_CONTEXT_OBJECTS = ("context", "ctx", "_context", "_ctx")  # Chains: context.secrets, self._context.secrets
CHAIN_API_KEY = "baseten_chain_api_key"  # added by Chains to every chainlet; context.get_baseten_api_key() reads it
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


@dataclass
class _Scope:
    func: ast.AST  # a function, or the module
    owner: str | None  # enclosing class name
    names: dict[str, str]  # local names bound to the mapping -> "mapping" or "context"
    kwargs: set[str]  # the **kwargs parameter name (and locals bound to it)
    parent: "_Scope | None" = None  # the enclosing function: its names are visible here
    nodes: list[ast.AST] = field(default_factory=list)  # its own nodes (not those of nested functions)
    instances: dict[str, set[str]] = field(default_factory=dict)  # local names holding an object of a file's class
    functions: dict[str, "_Scope"] = field(default_factory=dict)  # functions defined directly in it, by name

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
class _Class:
    bases: list[str]  # the names of its bases
    methods: dict[str, _Scope] = field(default_factory=dict)
    fields: list[str] = field(default_factory=list)  # annotated class-level names: dataclass / pydantic fields


class _Holders:
    """Who holds the mapping in one file, followed through assignments, attributes, constructor and call
    arguments (dataclass and pydantic fields included), properties, and functions that return it.

    An attribute belongs to a class and its in-file relatives (bases and subclasses), so a settings
    object's `config` field holding the mapping does not make every `self.config` of the file a holder.
    """

    def __init__(self, classes: dict[str, _Class]):
        self.classes = classes
        # what holds the mapping, by family (None: code outside any class, seen from everywhere)
        self.attrs: dict[int | None, dict[str, str]] = {}  # attribute -> via
        self.instances: dict[int | None, dict[str, set[str]]] = {}  # attribute -> classes of the object it holds
        self.kwargs_attrs: dict[int | None, set[str]] = {}  # attributes holding **kwargs
        self.returns: dict[int, str] = {}  # id(function) -> via, for functions returning the mapping
        self._family = _families(classes)
        self._methods: dict[int, dict[str, _Scope]] = {}  # a family's methods, the first class by name winning
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

    def method(self, owners: set[str | None], name: str) -> _Scope | None:
        """The class's own method, else one of its family's."""
        own = next((self.classes[o].methods[name] for o in sorted(owners, key=str)
                    if o in self.classes and name in self.classes[o].methods), None)
        return own or next((self._methods[k][name] for k in sorted({self.family(o) for o in owners} - {None})
                            if name in self._methods.get(k, {})), None)

    def classes_of(self, node: ast.AST, scope: _Scope, depth: int = 0) -> set[str | None]:
        """The in-file classes an expression is an object of: `self`, an attribute or a local holding one
        (attribute chains are followed 8 deep: `self.a.b.c`, not a hostile `x.a.a.a...` of thousands)."""
        if isinstance(node, ast.Name) and node.id in ("self", "cls"):
            return {scope.owner}
        if isinstance(node, ast.Name):
            s: _Scope | None = scope
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

    def callee(self, call: ast.Call, scope: _Scope) -> tuple[_Scope | None, int, str | None]:
        """(function scope, parameters to skip, class constructed) of a call to a function or class of this file."""
        func = call.func
        if isinstance(func, ast.Name):
            s: _Scope | None = scope
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


def _families(classes: dict[str, _Class]) -> dict[str, int]:
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


# Fields whose nodes no analysis here looks at: expression contexts (one shared Load() per file), operators,
# type-ignore comments. Leaving them out of ``_children`` keeps them out of every scope's node list and of the
# stacks of ``_scopes`` and ``_own_nodes``: a third of what ``ast.iter_child_nodes`` yields, in the same order.
_SKIPPED_FIELDS = frozenset({"ctx", "op", "ops", "type_ignores"})


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


_CHILD_FIELDS = {cls: tuple(f for f in cls._fields if f not in _SKIPPED_FIELDS) for cls in _subclasses(ast.AST)}


def _children(node: ast.AST) -> list[ast.AST]:
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


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of one scope, not descending into nested functions (classes are transparent)."""
    stack = _children(scope)
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(_children(node))


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


def is_mapping(node: ast.AST, holders: _Holders, scope: _Scope, depth: int = 0) -> str | None:
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


def _bind_target(holders: _Holders, scope: _Scope, target: ast.AST, via: str | None, classes: set[str | None],
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


def _pass_arguments(holders: _Holders, scope: _Scope, call: ast.Call) -> None:
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


def _bind_field(holders: _Holders, cls: str, name: str, via: str | None, classes: set[str | None]) -> None:
    if via:
        holders.attrs.setdefault(holders.family(cls), {}).setdefault(name, via)
    if classes:
        holders.instances.setdefault(holders.family(cls), {}).setdefault(name, set()).update(classes)


def _bind(holders: _Holders, scope: _Scope) -> None:
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


def _scopes(tree: ast.Module) -> tuple[list[_Scope], dict[int, ast.AST], dict[str, _Class]]:
    """The module and every function (enclosing ones first), each with its own nodes, every node's parent,
    and the file's classes.

    One iterative pass: expressions can nest deeper than the recursion limit.
    """
    module = _Scope(tree, None, {}, set())
    out, parents, classes = [module], {}, {}
    stack: list[tuple[ast.AST, str | None, _Scope]] = [(tree, None, module)]
    while stack:
        node, owner, scope = stack.pop()
        for child in _children(node):
            parents[id(child)] = node
            scope.nodes.append(child)
            if isinstance(child, ast.ClassDef):
                classes.setdefault(child.name, _Class([b.id if isinstance(b, ast.Name) else getattr(b, "attr", "")
                                                       for b in child.bases]))
                classes[child.name].fields += [s.target.id for s in child.body if isinstance(s, ast.AnnAssign)
                                               and isinstance(s.target, ast.Name)]
                stack.append((child, child.name, scope))
            elif isinstance(child, _SCOPES):
                params = {a.arg for a in child.args.args + child.args.posonlyargs + child.args.kwonlyargs}
                inner = _Scope(child, owner, {"secrets": "mapping"} if "secrets" in params else {},
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


@dataclass
class SecretsUse:
    """The mapping's holders in one file and every read of it."""

    holders: _Holders
    scopes: list[_Scope]
    reads: list[SecretRead]
    calls: dict[int, SecretRead] = field(default_factory=dict)  # helper calls that read a name, by id(call)

    @property
    def attrs(self) -> set[str]:
        """Every attribute holding the mapping, in any class."""
        return {a for attrs in self.holders.attrs.values() for a in attrs}

    def read_at(self, node: ast.AST, scope: _Scope) -> SecretRead | None:
        return self.calls.get(id(node)) or _read_of(node, self.holders, scope)


def analyse(tree: ast.Module) -> SecretsUse:
    """The holders of the mapping (to a fixed point: an attribute may feed a local elsewhere) and its reads."""
    scopes, parents, classes = _scopes(tree)
    holders = _Holders(classes)
    for _ in range(8):
        before = (holders.size(), sum(len(s.names) + len(s.kwargs) + sum(map(len, s.instances.values()))
                                      for s in scopes))
        for scope in scopes:  # pre-order: an enclosing function comes before its nested ones
            if scope.parent is not None:
                for name, via in scope.parent.names.items():
                    scope.names.setdefault(name, via)
            _bind(holders, scope)
        if before == (holders.size(), sum(len(s.names) + len(s.kwargs) + sum(map(len, s.instances.values()))
                                          for s in scopes)):
            break
    reads, keyed = [], {}
    for scope in scopes:
        for node in scope.nodes:
            read = _read_of(node, holders, scope)
            if read is not None:
                guard = _guard(node, parents, holders, scope, read.name)
                reads.append(SecretRead(read.name, read.line, read.column, read.how, read.via, scope.owner, guard,
                                        node))
                key = _key_param(node, read, scope)
                if key is not None:
                    keyed.setdefault(id(scope.func), {}).setdefault(key, (read.how, read.via))
    calls, called = _helper_calls(scopes, holders, parents, keyed)
    reads = [SecretRead(r.name, r.line, r.column, r.how, r.via, r.owner, r.guard, r.node, followed=True)
             if _followed(r, parents, keyed, called) else r for r in reads]
    reads += [r for r, _ in calls.values()]
    return SecretsUse(holders, scopes, sorted(reads, key=lambda r: (r.line, r.column)),
                      {k: r for k, (r, _) in calls.items()})


def _function_of(node: ast.AST, parents: dict[int, ast.AST]) -> ast.AST | None:
    while id(node) in parents:
        node = parents[id(node)]
        if isinstance(node, _SCOPES):
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


def _key_param(node: ast.AST, read: SecretRead, scope: _Scope) -> str | None:
    """The parameter a helper reads the mapping with (``def _secret(self, name): return self._secrets[name]``)."""
    key = _key_node(node, read)
    if read.name is not None or not isinstance(key, ast.Name) or scope.parent is None:
        return None
    return key.id if key.id in {a.arg for a in scope.params} and not scope.reassigns(key.id) else None


def _followed(read: SecretRead, parents: dict[int, ast.AST], keyed: dict[int, dict[str, tuple[str, str]]],
              called: set[int]) -> bool:
    """A helper's read with its key parameter, when the file calls that helper: the call sites are the reads."""
    key = _key_node(read.node, read) if read.name is None else None
    func = _function_of(read.node, parents)
    return isinstance(key, ast.Name) and id(func) in called and key.id in keyed.get(id(func), {})


def _argument(call: ast.Call, target: _Scope, skip: int, param: str) -> tuple[bool, ast.AST | None]:
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


def _helper_calls(scopes: list[_Scope], holders: _Holders, parents: dict[int, ast.AST],
                  keyed: dict[int, dict[str, tuple[str, str]]]) -> tuple[dict[int, tuple[SecretRead, _Scope]],
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
    out: dict[int, tuple[SecretRead, _Scope]] = {}
    called: set[int] = set()
    for scope, call in sites:
        target, skip, _ = holders.callee(call, scope)
        for param, (how, via) in keyed.get(id(target.func), {}).items() if target is not None else ():
            called.add(id(target.func))
            found, arg = _argument(call, target, skip, param)
            if found and isinstance(arg, ast.Name) and arg.id in keyed.get(id(scope.func), {}):
                continue  # passed on from a helper's own parameter: that helper's call sites read the name
            name = _literal(arg) if found else None
            read = SecretRead(name, call.lineno, call.col_offset + 1, how, via, scope.owner,
                              _guard(call, parents, holders, scope, name), call, through=target.func.name)
            out.setdefault(id(call), (read, scope))
    return out, called


_ANALYSED: dict[int, tuple[ast.Module, SecretsUse]] = {}
MAPPING_WORD = b"secrets"  # in the source of every file that can reach the secrets mapping


def analysed(tree: ast.Module, data: bytes | None = None) -> SecretsUse:
    """``analyse``, once per parsed file: the code checks and the project checks share the result.

    With the file's bytes, a file that never writes `secrets` gets no analysis: every way in to the
    mapping (`kwargs["secrets"]`, a `secrets` parameter, `context.secrets`) names it, and most Python
    of a Truss (vendored packages, helpers) never does: on truss-examples HEAD 826 Python files lie in
    Truss folders and 65 of the repository's 868 hold the word."""
    if data is not None and MAPPING_WORD not in data:
        return SecretsUse(_Holders({}), [], [])
    hit = _ANALYSED.get(id(tree))
    if hit is None or hit[0] is not tree:
        if len(_ANALYSED) >= 256:
            _ANALYSED.clear()
        hit = _ANALYSED[id(tree)] = (tree, analyse(tree))
    return hit[1]


def _read_of(node: ast.AST, holders: _Holders, scope: _Scope) -> SecretRead | None:
    def mapping(n: ast.AST) -> str | None:
        return is_mapping(n, holders, scope)

    def read(key: ast.AST | None, how: str, holder: ast.AST) -> SecretRead:
        via = mapping(holder) or "mapping"
        return SecretRead(_literal(key) if key is not None else None, node.lineno, node.col_offset + 1, how, via)

    if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and mapping(node.value):
        return read(node.slice, "subscript", node.value)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and mapping(node.func.value):
        if node.func.attr == "get":
            return read(node.args[0] if node.args else None, "get", node.func.value)
        if node.func.attr in _ITERATING_METHODS:
            return read(None, "iterate", node.func.value)
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn)) \
            and mapping(_without_keys(node.comparators[0])):  # "x" in m, "x" in m.keys()
        return read(node.left, "in", _without_keys(node.comparators[0]))
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


def _guard(node: ast.AST, parents: dict[int, ast.AST], holders: _Holders, scope: _Scope,
           name: str | None) -> str | None:
    """How the read is guarded: under a truthiness test of the mapping ("truthy"), a ``_base_secrets`` test
    of its name ("private"), or a test of its name on the mapping itself ("tested": ``if "x" in secrets``,
    ``if secrets.get("x")``; that test is a read of its own, reported on its line, so the guarded read adds
    nothing). A test counts in an ``if``/``while``/``and``/conditional expression, in the ``else`` of its
    negation (``if "x" not in ...: ... else: read``), and as an early exit before the read in the same block
    (``if "x" not in ...: return``)."""
    child = node
    while id(child) in parents and not isinstance(child, _SCOPES):
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


def _guard_kind(part: ast.AST, holders: _Holders, scope: _Scope, name: str | None) -> str | None:
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
            and mapping(_without_keys(part.comparators[0])):
        return "tested" if _literal(part.left) == name else None
    if isinstance(part, ast.Call) and isinstance(part.func, ast.Attribute) and part.func.attr == "get" \
            and mapping(part.func.value) and part.args:
        return "tested" if _literal(part.args[0]) == name else None
    return None


def _conjuncts(test: ast.AST) -> list[ast.AST]:
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return [p for v in test.values for p in _conjuncts(v)]
    return [test]


def _without_keys(node: ast.AST) -> ast.AST:
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
            and private(_without_keys(test.comparators[0])):
        return _literal(test.left) == name
    if isinstance(test, ast.Call) and isinstance(test.func, ast.Attribute) and test.func.attr == "get" \
            and private(test.func.value) and test.args:
        return _literal(test.args[0]) == name
    if isinstance(test, ast.Subscript) and private(test.value):
        return _literal(test.slice) == name
    return False


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def imports_chains(tree: ast.Module) -> bool:
    """The file imports ``truss_chains`` (a Chains / Python-DX source, TRUSS_SECRETS.md 5.2)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "truss_chains" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "truss_chains":
            return True
    return False


# ----------------------------------------------------------------------------- where values go (P6)

PREDICT_LIKE = frozenset({"predict", "preprocess", "postprocess", "run_remote", "chat_completions", "completions",
                          "__call__"})
_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"})
_LOGGERS = frozenset({"logging", "logger", "log", "_logger", "_log", "LOGGER", "LOG"})
_STRING_CALLS = frozenset({"str", "repr", "format", "bytes"})
_DUMPS = frozenset({"dumps", "pformat"})  # json.dumps(...), pprint.pformat(...): a string of their argument
WHOLE_MAPPING = "the secrets mapping"  # Echo.secret when the whole mapping (every value) is shown
_STRING_METHODS = frozenset({"strip", "lstrip", "rstrip", "upper", "lower", "encode", "decode", "replace", "join",
                             "format", "format_map", "removeprefix", "removesuffix", "casefold", "title"})


@dataclass(frozen=True)
class Echo:
    """A secret value reaching a place that shows it."""

    node: ast.AST  # the print/log/response call, the return/yield or the raise
    secret: str  # the name it was read with ("a secret" when the key is not a literal)
    sink: str  # "printed", "logged", "returned from predict()", ...


def secret_echoes(tree: ast.Module, use: SecretsUse | None = None) -> list[Echo]:
    """Every place a value read from the mapping is printed, logged, raised, put in a response or returned."""
    use = use or analysed(tree)
    tainted: dict[str | None, dict[str, str]] = {scope.owner: {} for scope in use.scopes[1:]}
    returns: dict[int, str] = {}  # functions (properties, helpers) whose return value carries a secret
    for _ in range(8):  # self attributes set in one method and read in another; values returned by helpers
        before = ({o: dict(a) for o, a in tainted.items()}, dict(returns))
        for scope in use.scopes[1:]:
            _Flow(use, scope, tainted[scope.owner], None, returns).run(scope.func.body)
        if before == (tainted, returns):
            break
    echoes: list[Echo] = []
    for scope in use.scopes[1:]:
        _Flow(use, scope, tainted[scope.owner], echoes, returns).run(scope.func.body)
    return sorted(set(echoes), key=lambda e: (e.node.lineno, e.node.col_offset))


_HEADERS = {ast.If: ("test",), ast.While: ("test",), ast.For: ("iter",), ast.AsyncFor: ("iter",),
            ast.With: ("items",), ast.AsyncWith: ("items",), ast.Match: ("subject",)}


class _Flow:
    """One pass over a function in statement order: which names hold a secret, and where they go."""

    def __init__(self, use: SecretsUse, scope: _Scope, attrs: dict[str, str], echoes: list[Echo] | None,
                 returns: dict[int, str] | None = None):
        self.use, self.scope, self.attrs, self.echoes = use, scope, attrs, echoes
        self.returns = returns if returns is not None else {}
        self.env: dict[str, str] = {}
        self.predict = getattr(scope.func, "name", "") in PREDICT_LIKE

    def run(self, body: list[ast.stmt]) -> None:
        for stmt in body:
            self.statement(stmt)

    def statement(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return
        if not hasattr(stmt, "body") and not hasattr(stmt, "cases"):
            self.sinks(stmt)
            self.assign(stmt)
            if isinstance(stmt, ast.Return) and self.echoes is None and self.taint(stmt.value):
                self.returns.setdefault(id(self.scope.func), self.taint(stmt.value))
            return
        for name in _HEADERS.get(type(stmt), ()):  # the expressions of a compound statement, then its blocks
            value = getattr(stmt, name)
            for part in value if isinstance(value, list) else [value]:
                self.sinks(part)
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            self.bind(stmt.target, self.taint(stmt.iter))
        for name in ("body", "handlers", "orelse", "finalbody", "cases"):
            for child in getattr(stmt, name, []):
                if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                    self.run(child.body)
                else:
                    self.statement(child)

    def assign(self, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Assign):
            secret = self.taint(stmt.value)
            for target in stmt.targets:
                if isinstance(target, (ast.Tuple, ast.List)) and isinstance(stmt.value, (ast.Tuple, ast.List)) \
                        and len(target.elts) == len(stmt.value.elts):
                    for t, v in zip(target.elts, stmt.value.elts):
                        self.bind(t, self.taint(v))
                else:
                    self.bind(target, secret)
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            self.bind(stmt.target, self.taint(stmt.value))
        elif isinstance(stmt, ast.AugAssign):
            secret = self.taint(stmt.value)
            if secret:
                self.bind(stmt.target, secret)

    def bind(self, target: ast.AST, secret: str | None) -> None:
        if isinstance(target, ast.Name):
            if secret:
                self.env[target.id] = secret
            else:
                self.env.pop(target.id, None)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
            if secret:
                self.attrs.setdefault(target.attr, secret)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                self.bind(element, secret)

    def taint(self, node: ast.AST | None) -> str | None:
        """The secret name an expression carries, if it carries one (iterative: chains of `+` can be long)."""
        stack = [node] if node is not None else []
        while stack:
            node = stack.pop()
            read = self.use.read_at(node, self.scope)
            if read is not None and read.how in ("subscript", "get"):
                return read.name or "a secret"
            if self._whole(node, read):
                return WHOLE_MAPPING
            returned = self._returned(node)
            if returned:
                return returned
            direct = _base_secret_read(node) or (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                                                 and node.func.attr == "get_baseten_api_key"
                                                 and CHAIN_API_KEY)
            if direct:
                return direct
            if isinstance(node, ast.Name) and node.id in self.env:
                return self.env[node.id]
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" \
                    and node.attr in self.attrs:
                return self.attrs[node.attr]
            carriers = _carriers(node)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join":
                # ", ".join(secrets) joins the names, not the values
                carriers = [c for c in carriers if c is node.func.value
                            or not is_mapping(_without_keys(c), self.use.holders, self.scope)]
            stack.extend(reversed(carriers))
        return None

    def _whole(self, node: ast.AST, read: SecretRead | None) -> bool:
        """The mapping itself, or a copy of its values: ``self._secrets``, ``dict(...)``, ``.items()``,
        ``.values()``, ``.copy()``, ``{**secrets}`` (its names alone, ``list(...)``/``.keys()``, are no echo)."""
        holders = self.use.holders
        if is_mapping(node, holders, self.scope):
            return True
        if read is None or read.how != "iterate":
            return False
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return node.func.id == "dict"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            return node.func.attr in ("items", "values", "copy")
        return isinstance(node, ast.Dict)

    def _returned(self, node: ast.AST) -> str | None:
        """What a call of a helper, or a property read, returns (``self._token()``, ``self.token``)."""
        holders = self.use.holders
        if isinstance(node, ast.Call):
            target = holders.callee(node, self.scope)[0]
            return self.returns.get(id(target.func)) if target is not None else None
        if isinstance(node, ast.Attribute):
            owners = holders.classes_of(node.value, self.scope)
            target = holders.method(owners, node.attr) if owners else None
            if target is not None and target.decorators() & {"property", "cached_property"}:
                return self.returns.get(id(target.func))
        return None

    def _first(self, nodes: list[ast.AST]) -> str | None:
        return next((s for s in (self.taint(n) for n in nodes) if s), None)

    def sinks(self, root: ast.AST) -> None:
        if self.echoes is None:
            return
        if isinstance(root, ast.Return) and self.predict and self.taint(root.value):
            self.echoes.append(Echo(root, self.taint(root.value), f"returned from `{self.scope.func.name}()`"))
        if isinstance(root, ast.Raise) and isinstance(root.exc, ast.Call):
            secret = self._first(list(root.exc.args) + [k.value for k in root.exc.keywords])
            if secret:
                self.echoes.append(Echo(root, secret, "put in an exception message"))
        for node in _own_nodes(root) if not isinstance(root, ast.expr) else [root, *_own_nodes(root)]:
            if isinstance(node, (ast.Yield, ast.YieldFrom)) and self.predict and self.taint(node.value):
                self.echoes.append(Echo(node, self.taint(node.value), f"yielded from `{self.scope.func.name}()`"))
            elif isinstance(node, ast.Call):
                sink = _sink_call(node)
                secret = self._first(list(node.args) + [k.value for k in node.keywords]) if sink else None
                if secret:
                    self.echoes.append(Echo(node, secret, sink))


def _carriers(node: ast.AST) -> list[ast.AST]:
    """The sub-expressions whose secret an expression passes on: string building, containers, conditionals.

    A call passes on its arguments only when it formats them (``str()``, ``.format``, ``.join``, ...);
    a client call returns a client, not the token it was given.
    """
    if isinstance(node, ast.Call):
        func, args = node.func, list(node.args) + [k.value for k in node.keywords]
        if isinstance(func, ast.Name) and func.id in _STRING_CALLS:
            return args
        if isinstance(func, ast.Attribute) and func.attr in _STRING_METHODS:
            return [func.value] + (args if func.attr in ("format", "join", "format_map") else [])
        if isinstance(func, ast.Attribute) and func.attr in _DUMPS:
            return args
        return []
    if isinstance(node, ast.IfExp):
        return [node.body, node.orelse]
    if isinstance(node, (ast.Subscript, ast.Starred, ast.Await, ast.NamedExpr, ast.FormattedValue)):
        return [node.value]
    if isinstance(node, ast.Dict):
        return [v for v in node.values if v is not None]
    if isinstance(node, (ast.JoinedStr, ast.List, ast.Tuple, ast.Set, ast.BoolOp, ast.BinOp)):
        return [c for c in _children(node) if isinstance(c, ast.expr)]
    return []


def _base_secret_read(node: ast.AST) -> str | None:
    """``s._base_secrets["x"]`` / ``s._base_secrets.get("x")``: the config default of x."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
            and node.value.attr == "_base_secrets":
        return _literal(node.slice) or "a secret"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
            and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "_base_secrets":
        return (_literal(node.args[0]) if node.args else None) or "a secret"
    return None


def _sink_call(node: ast.Call) -> str | None:
    """"printed", "logged" or "put in a response" for calls that show their arguments."""
    func = node.func
    if isinstance(func, ast.Name) and func.id in ("print", "pprint") or isinstance(func, ast.Attribute) \
            and func.attr == "pprint":
        return "printed"
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name.endswith("Response") and name[:1].isupper():
        return f"put in a `{name}`"
    if isinstance(func, ast.Attribute) and func.attr in _LOG_METHODS:
        holder = func.value
        if isinstance(holder, ast.Attribute) and isinstance(holder.value, ast.Name) and holder.value.id == "self":
            holder = ast.Name(holder.attr)
        if isinstance(holder, ast.Call) and isinstance(holder.func, ast.Attribute) \
                and holder.func.attr == "getLogger":
            return "logged"
        if isinstance(holder, ast.Name) and holder.id in _LOGGERS:
            return "logged"
    return None
