"""Where the values read from the Truss secrets mapping go (TRUSS_SECRETS.md 2.5, P6): ``secret_echoes``.

The values read (``secrets_analysis``) are followed through assignments, ``self`` attributes, f-strings,
concatenation, ``.format``, ``str()``, and out of helpers and properties, to the places that would print,
log, raise or return them; the whole mapping shown is an echo too. ``_Flow`` is one pass over a function
in statement order; ``secret_echoes`` repeats it to a fixed point across methods, then once more to
collect the echoes. TG206 reports them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from trussguard.policy.secrets_analysis import SecretsUse, analysed
from trussguard.policy.secrets_holders import CHAIN_API_KEY, is_mapping
from trussguard.policy.secrets_reads import SecretRead, literal_key, without_keys
from trussguard.policy.secrets_scopes import Scope, children, own_nodes

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

    def __init__(self, use: SecretsUse, scope: Scope, attrs: dict[str, str], echoes: list[Echo] | None,
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
                            or not is_mapping(without_keys(c), self.use.holders, self.scope)]
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
        for node in own_nodes(root) if not isinstance(root, ast.expr) else [root, *own_nodes(root)]:
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
        return [c for c in children(node) if isinstance(c, ast.expr)]
    return []


def _base_secret_read(node: ast.AST) -> str | None:
    """``s._base_secrets["x"]`` / ``s._base_secrets.get("x")``: the config default of x."""
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) \
            and node.value.attr == "_base_secrets":
        return literal_key(node.slice) or "a secret"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
            and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "_base_secrets":
        return (literal_key(node.args[0]) if node.args else None) or "a secret"
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
