"""String literals of a Python file, each with the one place that binds it (TRUSS_SECRETS.md P1-P4, P10).

Every literal gets exactly one ``kind``, from the most specific context around it, so a
literal is reported by exactly one check: a dict entry passed to ``os.environ.update`` is an
environment write (P2), not a dict entry (P1); one under ``headers=`` is a client header (P4);
one under ``chains.run_local(secrets=...)`` is a Chains literal (P10).

Kinds: ``assign`` (module constant, attribute, annotated assignment), ``default`` (parameter
default), ``dict`` (entry of another dict literal), ``env-write`` (``os.environ[K] = v``,
``setdefault``, ``putenv``, ``update``), ``env-default`` (``os.environ.get(K, v)``,
``os.getenv(K, v)``), ``keyword`` (``f(api_key=v)``), ``argument`` (positional), ``header``
(``headers={"Authorization": v}``), and for Chains sources ``run-local``, ``env-variables``,
``pip-requirements``, ``build-commands``, ``stub-api-key``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Callable, Iterator

CHAINS_KINDS = frozenset({"run-local", "env-variables", "pip-requirements", "build-commands", "stub-api-key"})
_ENV_READS = frozenset({"get", "pop"})
_STUB_CALLS = frozenset({"from_url", "http_call_args"})


@dataclass(frozen=True)
class Site:
    node: ast.expr  # the literal
    value: str
    name: str | None  # the identifier, key or keyword it is bound to
    kind: str
    call: str = ""  # dotted name of the call it is passed to, if any


def dotted(node: ast.AST) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def is_environ(node: ast.AST) -> bool:
    return dotted(node) in ("os.environ", "environ")


def string_value(node: ast.AST | None) -> str | None:
    """The text of a string literal: a constant, an f-string without fields, or literals joined with ``+``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and all(isinstance(v, ast.Constant) for v in node.values):
        return "".join(str(v.value) for v in node.values)
    parts: list[str] = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # "a" + "b" + ...: left-nested, iterate
        right = string_value(node.right) if not isinstance(node.right, ast.BinOp) else None
        if right is None:
            return None
        parts.append(right)
        node = node.left
    if parts:
        left = string_value(node)
        return None if left is None else left + "".join(reversed(parts))
    return None


def target_name(node: ast.AST) -> str | None:
    """``X`` for ``X = ...``, ``self.x = ...`` and ``d["x"] = ...``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Subscript):
        return string_value(node.slice)
    return None


def literal_sites(tree: ast.Module, chains: bool = False, binders: list[ast.AST] | None = None) -> list[Site]:
    """Every string literal bound somewhere, with its kind; ``chains`` turns on the Chains kinds.

    ``binders`` is ``_binders(tree)`` when the caller already has it (``python_facts`` walks once)."""
    found = _Sites(chains).collect(tree if binders is None else None, binders)
    return sorted(found, key=lambda s: (s.node.lineno, s.node.col_offset))


def _subclasses(cls: type) -> Iterator[type]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


# Fields that never hold a node with a binding below it: expression contexts, operators, type-ignore
# comments, identifiers and flags. ``name`` is a Name node in ``type X = ...`` (3.12+), and ``names`` holds
# ``alias`` nodes in imports: both are leaves.
_NO_BINDINGS = frozenset({"ctx", "op", "ops", "type_ignores", "id", "arg", "attr", "name", "asname", "names",
                          "module", "level", "conversion", "is_async", "simple", "kind", "type_comment",
                          "kwd_attrs", "rest", "tag", "lineno"})


def _walked_fields() -> dict[type, tuple[str, ...]]:
    """Node class -> the fields to walk, for every class of this Python's ``ast`` that has any.

    A leaf (Name, Constant, alias, operator, context, ...) has no entry, so one lookup both tells
    a node from a str or None and keeps the leaves out of the queue.
    """
    walked = {}
    for cls in _subclasses(ast.AST):
        fields = tuple(f for f in cls._fields if f not in _NO_BINDINGS)
        if fields and not issubclass(cls, ast.Constant):  # a constant's value is never a node
            walked[cls] = fields
    return walked


_WALKED_FIELDS = _walked_fields()
# The nodes that bind a literal, each with the _Sites method that reads it.
BINDERS = _BINDERS = {ast.Assign: "assignment", ast.AnnAssign: "assignment", ast.FunctionDef: "function",
            ast.AsyncFunctionDef: "function", ast.Lambda: "function", ast.Call: "call", ast.Dict: "plain_dict"}


def _binders(tree: ast.AST) -> list[ast.AST]:
    """The assignments, functions, lambdas, calls and dicts of ``tree`` in ``ast.walk`` order."""
    return nodes_of(tree, frozenset(_BINDERS))


def nodes_of(tree: ast.AST, kinds: frozenset[type], leaves: frozenset[type] = frozenset()) -> list[ast.AST]:
    """The nodes of ``tree`` whose class is in ``kinds``, in ``ast.walk`` order.

    Breadth first like ``ast.walk``, so a call comes before the dict passed to it, but the leaves
    (two nodes in three: names, constants, contexts) never enter the queue unless their class is in
    ``leaves`` (``ast.Constant``, ``ast.Import``): a history audit runs this on every version of every
    model.py, and the tree scan builds all of a file's facts from this one pass.
    """
    try:
        return _breadth_first(tree, getattr, kinds, leaves)
    except AttributeError:  # a hand-built node without one of its fields, which ast.walk skips
        return _breadth_first(tree, _field_or_none, kinds, leaves)


def _field_or_none(node: ast.AST, field: str) -> object:
    return getattr(node, field, None)


def _breadth_first(tree: ast.AST, read: Callable[[ast.AST, str], object], kinds: frozenset[type],
                   leaves: frozenset[type]) -> list[ast.AST]:
    walked = _WALKED_FIELDS
    found = []
    queue = [tree] if type(tree) in walked or type(tree) in leaves else []
    enqueue = queue.append
    for node in queue:  # the list grows while it is read: a FIFO queue with no popleft
        cls = type(node)
        if cls in kinds:
            found.append(node)
        for field in walked.get(cls, ()):
            value = read(node, field)
            if type(value) is list:
                for item in value:
                    if type(item) in walked or type(item) in leaves:
                        enqueue(item)
            elif type(value) in walked or type(value) in leaves:
                enqueue(value)
    return found


class _Sites:
    def __init__(self, chains: bool):
        self.chains = chains
        self.claimed: set[int] = set()  # dicts already given a kind by their context
        self.found: list[Site] = []
        self.visit = {cls: getattr(self, method) for cls, method in _BINDERS.items()}

    def collect(self, tree: ast.Module | None, binders: list[ast.AST] | None = None) -> list[Site]:
        visit = self.visit
        for node in _binders(tree) if binders is None else binders:  # breadth first: a call is seen before the dict passed to it
            visit[type(node)](node)
        return self.found

    def site(self, node: ast.AST | None, name: str | None, kind: str, call: str = "") -> None:
        value = string_value(node)
        if value is not None:
            self.found.append(Site(node, value, name, kind, call))

    def plain_dict(self, node: ast.Dict) -> None:
        if id(node) not in self.claimed:
            self.entries(node, "dict")

    def entries(self, node: ast.AST | None, kind: str, call: str = "") -> None:
        if isinstance(node, ast.Dict):
            self.claimed.add(id(node))
            for key, value in zip(node.keys, node.values):
                if key is not None:
                    self.site(value, string_value(key), kind, call)

    def elements(self, node: ast.AST | None, kind: str, call: str) -> None:
        if isinstance(node, (ast.List, ast.Tuple)):
            for element in node.elts:
                self.site(element, None, kind, call)

    def assignment(self, node: ast.Assign | ast.AnnAssign) -> None:
        if node.value is None:
            return
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            pairs = [(target, node.value)]
            if isinstance(target, (ast.Tuple, ast.List)) and isinstance(node.value, (ast.Tuple, ast.List)) \
                    and len(target.elts) == len(node.value.elts):
                pairs = list(zip(target.elts, node.value.elts))
            for t, value in pairs:
                env = isinstance(t, ast.Subscript) and is_environ(t.value)
                if isinstance(value, (ast.List, ast.Tuple)) and not env:
                    for element in value.elts:
                        self.site(element, target_name(t), "assign")
                    continue
                self.site(value, target_name(t), "env-write" if env else "assign")

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> None:
        args = node.args
        positional = args.posonlyargs + args.args
        for arg, default in zip(positional[len(positional) - len(args.defaults):], args.defaults):
            self.site(default, arg.arg, "default")
        for arg, default in zip(args.kwonlyargs, args.kw_defaults):
            self.site(default, arg.arg, "default")

    def call(self, node: ast.Call) -> None:
        name = dotted(node.func)
        last = name.rsplit(".", 1)[-1]
        func = node.func
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if isinstance(func, ast.Attribute) and is_environ(func.value) or name in ("os.putenv", "putenv", "getenv",
                                                                                   "os.getenv"):
            self.environment(node, last, keywords)
            return
        if self.chains and self.chains_call(node, last, keywords):
            return
        for arg in node.args:
            self.site(arg, None, "argument", name)
        for key, value in keywords.items():
            if key == "headers" and isinstance(value, ast.Dict):
                self.entries(value, "header", name)
            else:
                self.site(value, key, "keyword", name)

    def environment(self, node: ast.Call, method: str, keywords: dict[str, ast.expr]) -> None:
        key = string_value(node.args[0]) if node.args else None
        if method in ("setdefault", "putenv") and len(node.args) > 1:
            self.site(node.args[1], key, "env-write", method)
        elif method == "update":
            for arg in node.args:
                self.entries(arg, "env-write", method)
            for k, value in keywords.items():
                self.site(value, k, "env-write", method)
        elif method in _ENV_READS or method == "getenv":
            default = node.args[1] if len(node.args) > 1 else keywords.get("default")
            self.site(default, key, "env-default", method)

    def chains_call(self, node: ast.Call, last: str, keywords: dict[str, ast.expr]) -> bool:
        """Sites of the Chains calls (P10); returns True when the call was one of them."""
        if last == "run_local" and isinstance(keywords.get("secrets"), ast.Dict):
            self.entries(keywords["secrets"], "run-local", last)
        elif last == "ChainletOptions" and isinstance(keywords.get("env_variables"), ast.Dict):
            self.entries(keywords["env_variables"], "env-variables", last)
        elif last in ("DockerImage", "RemoteConfig") and ("pip_requirements" in keywords
                                                          or "build_commands" in keywords):
            self.elements(keywords.get("pip_requirements"), "pip-requirements", last)
            self.elements(keywords.get("build_commands"), "build-commands", last)
        elif last in _STUB_CALLS:
            for key in ("api_key", "context_or_api_key"):
                self.site(keywords.get(key), key, "stub-api-key", last)
            if last == "from_url" and len(node.args) > 1:
                self.site(node.args[1], "api_key", "stub-api-key", last)
        else:
            return False
        return True
