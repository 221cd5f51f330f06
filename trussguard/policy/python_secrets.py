"""Where Python code reads the Truss secrets mapping, and where the values go (TRUSS_SECRETS.md 2.1, 2.5).

The mapping arrives as the ``secrets`` constructor argument (``kwargs["secrets"]``,
``kwargs.get("secrets")`` or a ``secrets`` parameter), is usually kept as an attribute
(``self._secrets``), and in Chains is ``context.secrets``. A read is a subscript, a
``.get(...)`` or an ``in`` test on one of those; iterating the mapping and touching its private
``_base_secrets`` are reads too (both misbehave on Baseten, 2.2). ``secret_echoes`` follows the
values read (through assignments, ``self`` attributes, f-strings, concatenation, ``.format`` and
``str()``) to the places that would print, log, raise or return them.
"""

from __future__ import annotations

import ast
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


@dataclass
class _Scope:
    func: ast.AST  # a function, or the module
    owner: str | None  # enclosing class name
    names: set[str]  # local names bound to the mapping
    kwargs: set[str]  # the **kwargs parameter name
    parent: "_Scope | None" = None  # the enclosing function: its names are visible here
    nodes: list[ast.AST] = field(default_factory=list)  # its own nodes (not those of nested functions)


@dataclass
class SecretsUse:
    """The mapping's holders in one file and every read of it."""

    attrs: set[str]  # self.<attr> holding the mapping
    scopes: list[_Scope]
    reads: list[SecretRead]

    def read_at(self, node: ast.AST, scope: _Scope) -> SecretRead | None:
        return _read_of(node, self.attrs, scope)


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of one scope, not descending into nested functions (classes are transparent)."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))


def _is_kwargs_secrets(node: ast.AST, kwargs_names: set[str]) -> bool:
    """``kwargs["secrets"]`` or ``kwargs.get("secrets")``."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id in kwargs_names:
        return isinstance(node.slice, ast.Constant) and node.slice.value == "secrets"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
            and isinstance(node.func.value, ast.Name) and node.func.value.id in kwargs_names and node.args:
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


def is_mapping(node: ast.AST, attrs: set[str], names: set[str], kwargs_names: frozenset[str] | set[str] = frozenset(),
               depth: int = 0) -> bool:
    """``self._secrets``, a local bound to the mapping, ``kwargs["secrets"]`` or ``context.secrets``."""
    if isinstance(node, (ast.BoolOp, ast.IfExp)):  # kwargs.get("secrets") or {}
        parts = node.values if isinstance(node, ast.BoolOp) else [node.body, node.orelse]
        return depth < 8 and any(is_mapping(p, attrs, names, kwargs_names, depth + 1) for p in parts)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self" \
            and node.attr in attrs:
        return True
    if is_context_secrets(node) or _is_kwargs_secrets(node, set(kwargs_names)):
        return True
    return isinstance(node, ast.Name) and node.id in names


def _bind(scope: _Scope, attrs: set[str]) -> bool:
    """Adds the names and attributes this scope binds to the mapping; True when something was added."""
    before = (len(scope.names), len(attrs))
    for node in scope.nodes:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None \
                and is_mapping(node.value, attrs, scope.names, scope.kwargs):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                        and target.value.id == "self":
                    attrs.add(target.attr)
                elif isinstance(target, ast.Name):
                    scope.names.add(target.id)
    return (len(scope.names), len(attrs)) != before


def _scopes(tree: ast.Module) -> tuple[list[_Scope], dict[int, ast.AST]]:
    """The module and every function (enclosing ones first), each with its own nodes, and every node's parent.

    One iterative pass: expressions can nest deeper than the recursion limit.
    """
    module = _Scope(tree, None, set(), set())
    out, parents = [module], {}
    stack: list[tuple[ast.AST, str | None, _Scope]] = [(tree, None, module)]
    while stack:
        node, owner, scope = stack.pop()
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
            scope.nodes.append(child)
            if isinstance(child, ast.ClassDef):
                stack.append((child, child.name, scope))
            elif isinstance(child, _SCOPES):
                params = {a.arg for a in child.args.args + child.args.posonlyargs + child.args.kwonlyargs}
                inner = _Scope(child, owner, {"secrets"} if "secrets" in params else set(),
                               {child.args.kwarg.arg} if child.args.kwarg else set(), scope)
                out.append(inner)
                stack.append((child, owner, inner))
            else:
                stack.append((child, owner, scope))
    return out, parents


def analyse(tree: ast.Module) -> SecretsUse:
    """The holders of the mapping (to a fixed point: an attribute may feed a local elsewhere) and its reads."""
    attrs: set[str] = set()
    scopes, parents = _scopes(tree)
    for _ in range(8):
        for scope in scopes:  # pre-order: an enclosing function comes before its nested ones
            if scope.parent is not None:
                scope.names |= scope.parent.names
        if not any([_bind(s, attrs) for s in scopes]):
            break
    reads = []
    for scope in scopes:
        for node in scope.nodes:
            read = _read_of(node, attrs, scope)
            if read is not None:
                guard = _guard(node, parents, attrs, scope, read.name)
                reads.append(SecretRead(read.name, read.line, read.column, read.how, read.via, scope.owner, guard,
                                        node))
    return SecretsUse(attrs, scopes, sorted(reads, key=lambda r: (r.line, r.column)))


_ANALYSED: dict[int, tuple[ast.Module, SecretsUse]] = {}


def analysed(tree: ast.Module) -> SecretsUse:
    """``analyse``, once per parsed file: the code checks and the project checks share the result."""
    hit = _ANALYSED.get(id(tree))
    if hit is None or hit[0] is not tree:
        if len(_ANALYSED) >= 256:
            _ANALYSED.clear()
        hit = _ANALYSED[id(tree)] = (tree, analyse(tree))
    return hit[1]


def _read_of(node: ast.AST, attrs: set[str], scope: _Scope) -> SecretRead | None:
    def mapping(n: ast.AST) -> bool:
        return is_mapping(n, attrs, scope.names, scope.kwargs)

    def read(key: ast.AST | None, how: str, holder: ast.AST) -> SecretRead:
        via = "context" if is_context_secrets(holder) else "mapping"
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


def _guard(node: ast.AST, parents: dict[int, ast.AST], attrs: set[str], scope: _Scope,
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
                found = _guard_kind(part, attrs, scope, name)
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


def _guard_kind(part: ast.AST, attrs: set[str], scope: _Scope, name: str | None) -> str | None:
    def mapping(n: ast.AST) -> bool:
        return is_mapping(n, attrs, scope.names, scope.kwargs)

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
    by_class: dict[str | None, list[_Scope]] = {}
    for scope in use.scopes[1:]:
        by_class.setdefault(scope.owner, []).append(scope)
    echoes: list[Echo] = []
    for owner, scopes in by_class.items():
        tainted_attrs: dict[str, str] = {}
        for _ in range(8):  # self attributes set in one method and read in another
            before = dict(tainted_attrs)
            for scope in scopes:
                _Flow(use, scope, tainted_attrs, None).run(scope.func.body)
            if tainted_attrs == before:
                break
        for scope in scopes:
            _Flow(use, scope, tainted_attrs, echoes).run(scope.func.body)
    return sorted(set(echoes), key=lambda e: (e.node.lineno, e.node.col_offset))


_HEADERS = {ast.If: ("test",), ast.While: ("test",), ast.For: ("iter",), ast.AsyncFor: ("iter",),
            ast.With: ("items",), ast.AsyncWith: ("items",), ast.Match: ("subject",)}


class _Flow:
    """One pass over a function in statement order: which names hold a secret, and where they go."""

    def __init__(self, use: SecretsUse, scope: _Scope, attrs: dict[str, str], echoes: list[Echo] | None):
        self.use, self.scope, self.attrs, self.echoes = use, scope, attrs, echoes
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
            stack.extend(reversed(_carriers(node)))
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
        return []
    if isinstance(node, ast.IfExp):
        return [node.body, node.orelse]
    if isinstance(node, (ast.Subscript, ast.Starred, ast.Await, ast.NamedExpr, ast.FormattedValue)):
        return [node.value]
    if isinstance(node, ast.Dict):
        return [v for v in node.values if v is not None]
    if isinstance(node, (ast.JoinedStr, ast.List, ast.Tuple, ast.Set, ast.BoolOp, ast.BinOp)):
        return [c for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
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
    if isinstance(func, ast.Name) and func.id == "print":
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
