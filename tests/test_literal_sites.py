"""``literal_sites`` gives exactly what the plain ``ast.walk`` version gave, site for site.

The fast traversal prunes leaves and dispatches on the node class; the sites, their order
(sorted by position, ties in ``ast.walk`` order) and the claimed-dict logic must not change.
``_WalkedSites`` below is the ``ast.walk`` implementation the module had before, kept as the
oracle. It is compared with the module on every Python file of the fixtures, on the package's
own sources and on hand-written snippets, with and without the Chains kinds.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

import trussguard
from trussguard.policy import python_literals
from trussguard.policy.python_literals import (
    _ENV_READS,
    _STUB_CALLS,
    Site,
    dotted,
    is_environ,
    literal_sites,
    string_value,
    target_name,
)

FIXTURES = Path(__file__).parent / "fixtures"
PACKAGE = Path(trussguard.__file__).parent
_PLACEHOLDER = re.compile(r"\{\{[^}]*\}\}")


# --------------------------------------------------------------------------- the oracle


def walked_sites(tree: ast.Module, chains: bool = False) -> list[Site]:
    return sorted(_WalkedSites(chains).collect(tree), key=lambda s: (s.node.lineno, s.node.col_offset))


class _WalkedSites:
    """``python_literals._Sites`` as it was before the fast traversal, unchanged."""

    def __init__(self, chains: bool):
        self.chains = chains
        self.claimed: set[int] = set()

    def collect(self, tree: ast.Module) -> Iterator[Site]:
        for node in ast.walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                yield from self.assignment(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                yield from self.defaults(node.args)
            elif isinstance(node, ast.Call):
                yield from self.call(node)
            elif isinstance(node, ast.Dict) and id(node) not in self.claimed:
                yield from self.entries(node, "dict")

    def site(self, node, name, kind, call=""):
        value = string_value(node)
        if value is not None:
            yield Site(node, value, name, kind, call)

    def entries(self, node, kind, call=""):
        if isinstance(node, ast.Dict):
            self.claimed.add(id(node))
            for key, value in zip(node.keys, node.values):
                if key is not None:
                    yield from self.site(value, string_value(key), kind, call)

    def elements(self, node, kind, call):
        if isinstance(node, (ast.List, ast.Tuple)):
            for element in node.elts:
                yield from self.site(element, None, kind, call)

    def assignment(self, node):
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
                        yield from self.site(element, target_name(t), "assign")
                    continue
                yield from self.site(value, target_name(t), "env-write" if env else "assign")

    def defaults(self, args):
        positional = args.posonlyargs + args.args
        for arg, default in zip(positional[len(positional) - len(args.defaults):], args.defaults):
            yield from self.site(default, arg.arg, "default")
        for arg, default in zip(args.kwonlyargs, args.kw_defaults):
            yield from self.site(default, arg.arg, "default")

    def call(self, node):
        name = dotted(node.func)
        last = name.rsplit(".", 1)[-1]
        func = node.func
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        if isinstance(func, ast.Attribute) and is_environ(func.value) or name in ("os.putenv", "putenv", "getenv",
                                                                                   "os.getenv"):
            yield from self.environment(node, last, keywords)
            return
        if self.chains and (yield from self.chains_call(node, last, keywords)):
            return
        for arg in node.args:
            yield from self.site(arg, None, "argument", name)
        for key, value in keywords.items():
            if key == "headers" and isinstance(value, ast.Dict):
                yield from self.entries(value, "header", name)
            else:
                yield from self.site(value, key, "keyword", name)

    def environment(self, node, method, keywords):
        key = string_value(node.args[0]) if node.args else None
        if method in ("setdefault", "putenv") and len(node.args) > 1:
            yield from self.site(node.args[1], key, "env-write", method)
        elif method == "update":
            for arg in node.args:
                yield from self.entries(arg, "env-write", method)
            for k, value in keywords.items():
                yield from self.site(value, k, "env-write", method)
        elif method in _ENV_READS or method == "getenv":
            default = node.args[1] if len(node.args) > 1 else keywords.get("default")
            yield from self.site(default, key, "env-default", method)

    def chains_call(self, node, last, keywords):
        if last == "run_local" and isinstance(keywords.get("secrets"), ast.Dict):
            yield from self.entries(keywords["secrets"], "run-local", last)
        elif last == "ChainletOptions" and isinstance(keywords.get("env_variables"), ast.Dict):
            yield from self.entries(keywords["env_variables"], "env-variables", last)
        elif last in ("DockerImage", "RemoteConfig") and ("pip_requirements" in keywords
                                                          or "build_commands" in keywords):
            yield from self.elements(keywords.get("pip_requirements"), "pip-requirements", last)
            yield from self.elements(keywords.get("build_commands"), "build-commands", last)
        elif last in _STUB_CALLS:
            for key in ("api_key", "context_or_api_key"):
                yield from self.site(keywords.get(key), key, "stub-api-key", last)
            if last == "from_url" and len(node.args) > 1:
                yield from self.site(node.args[1], "api_key", "stub-api-key", last)
        else:
            return False
        return True


# --------------------------------------------------------------------------- the comparison


def described(sites: list[Site]) -> list[tuple]:
    """Node identity first, then what a reader needs to see which site differs."""
    return [(id(s.node), type(s.node).__name__, s.node.lineno, s.node.col_offset, s.node.end_lineno,
             s.node.end_col_offset, s.value, s.name, s.kind, s.call) for s in sites]


def assert_same_sites(tree: ast.Module) -> int:
    """Both implementations on the same tree, with and without Chains; returns the number of sites."""
    for chains in (False, True):
        assert described(literal_sites(tree, chains)) == described(walked_sites(tree, chains)), f"chains={chains}"
    binders = tuple(python_literals._BINDERS)
    assert python_literals._binders(tree) == [n for n in ast.walk(tree) if type(n) in binders]
    return len(walked_sites(tree, True))


def python_files() -> list[Path]:
    fixtures = [p for p in sorted(FIXTURES.rglob("*")) if p.name.endswith((".py", ".py.tmpl"))]
    return fixtures + sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", python_files(), ids=lambda p: p.relative_to(PACKAGE.parent).as_posix())
def test_same_sites_on_fixture_and_package_sources(path: Path):
    source = path.read_text(encoding="utf-8")
    if path.name.endswith(".tmpl"):  # {{fake:...}} / {{random:N}} placeholders, expanded by test_policy
        source = _PLACEHOLDER.sub("placeholder-value", source)
    try:
        tree = ast.parse(source)
    except SyntaxError:
        pytest.skip("not Python this interpreter parses")
    assert_same_sites(tree)


def test_the_corpus_has_python_fixtures_and_chains_sources():
    names = {p.name for p in python_files()}
    assert "model.py" in names and "chain.py.tmpl" in names and "python_literals.py" in names


SNIPPETS = {
    "nested calls with dict args": """
        client = Client(config={"api_key": "k1", "nested": {"token": "k2"}}, headers={"Authorization": "k3"})
        requests.post(url, headers={"X-Api-Key": "k4"}, json={"a": "b"}, data=dict(token="k5"))
        f(g(h({"a": "b"}), key="v"), {"c": "d"}, *["e"], **{"f": "g"})
        session.headers.update({"Authorization": "Bearer " + "k6"})
        call(headers=build(headers={"x": "y"}))["k"] = {"z": "w"}
        """,
    "environment": """
        import os
        from os import environ, getenv, putenv
        os.environ["HF_TOKEN"] = "hf_x"
        os.environ.update({"A": "1", "B": "2"}, C="3")
        os.environ.update(dict(D="4"))
        os.environ.setdefault("E", "5")
        os.putenv("F", "6"); putenv("G", "7")
        os.environ.get("H", "8"); os.getenv("I", "9"); os.environ.pop("J", "10"); getenv("K", default="11")
        environ["L"] = "12"
        os.environ["M"], x = "13", "14"
        """,
    "assignments": """
        a = b = "1"
        a, b = "2", ["3", "4"]
        [c, d] = ("5", "6")
        e, f = g = "7", "8"
        self.token: str = "9"
        annotated: str
        d["key"] = "10"
        d[k] = "11"
        x.y.z = f"12"
        s = "a" "b"
        t = "c" + "d" + "e"
        u = "f" + name + "g"
        n += "13"
        """,
    "lambdas and defaults": """
        f = lambda x, y="a", *, z="b": (lambda w="c": w)
        def g(p, /, q="d", *args, r="e", s, **kw): pass
        async def h(t="f" "g", u=f"h", v="i" + "j" + "k", w: Annotated[str, Field(default="l")] = "m"):
            return await call(key="n")
        sorted(items, key=lambda item, default="o": item.get("p", default))
        """,
    "walrus and comprehensions": """
        if (token := get("a", "b")) and [f(k="c") for k in {"d": "e"} if g({"f": "g"})]:
            pass
        x = {k: call(v, key="h") for k, v in items if check(opt="i")}
        y = (lambda: {"j": "k"})()
        z = {n: {"l": "m"} for n in range(3)}
        w = [q async for q in agen(token="n")]
        """,
    "decorators and class keywords": """
        @app.route("/x", methods=["GET"], auth={"user": "u"})
        @retry(token="a")
        class Model(Base, metaclass=Meta, secret="b"):
            key: str = "c"
            other = "d"

            @property
            def prop(self, value="e"):
                return {"f": self.g(h="i")}

            @staticmethod
            @cache(ttl=f"j")
            async def run(self, prompt: str = "k") -> dict[str, str]:
                async with client(api_key="l") as c, other(token="m"):
                    yield {"n": await c.send(data={"o": "p"})}
        """,
    "f-strings": """
        a = f"plain"
        b = f"{x}"
        c = f"a{f(k='v', d={'x': 'y'})}b"
        d = f'''multi
        {g(token="z")}
        '''
        e = f"{value!r:>{width}}" + "w"
        """,
    "control flow": """
        try:
            connect(token="a")
        except (KeyError, ValueError) as err:
            raise Failure(message="b") from wrap(code="c")
        else:
            pass
        finally:
            close(reason="d")
        for k, v in items(token="e"):
            while check(v, key="f"):
                del cache[key(name="g")]
                assert ok(x="h"), message(y="i")
        global state
        data = value if test(key="j") else fallback(key="k")
        sliced = seq[start(a="l"):stop(b="m"):step(c="n")]
        with open("o") as fh:
            print(*args, sep="p", file=fh)
        """,
    "chains": """
        import truss_chains as chains

        class Chainlet(chains.ChainletBase):
            remote_config = chains.RemoteConfig(
                docker_image=chains.DockerImage(pip_requirements=["a", "b"], build_commands=("c",)),
                options=chains.ChainletOptions(env_variables={"K": "v"}),
            )

        with chains.run_local(secrets={"hf": "x"}, other={"y": "z"}):
            s = chains.StubBase.from_url("url", "key1", api_key="k2")
            t = Stub.http_call_args(context_or_api_key="k3")
            u = chains.DockerImage(base_image="img")
            w = chains.run_local(secrets=make(secrets={"q": "r"}))
            r = RemoteConfig(pip_requirements=requirements, build_commands=["s"])
        """,
    "ties on one position": """
        x = y = z = "a"; f("b", k="c")
        (a, b), c = ("d", "e"), "f"
        g(h="i")(j="k")
        m = {"n": "o"}["p"]
        """,
}
SNIPPETS_FROM = {
    "match statements": ((3, 10), """
        match command:
            case {"token": "abc", **rest}:
                connect(token="m")
            case Point(x="n", y=0) | [1, "o", *_]:
                pass
            case str() as s if check(s, key={"p": "q"}):
                pass
            case None | True:
                handle(default="r")
        """),
    "except star": ((3, 11), """
        try:
            f(k="a")
        except* ValueError as group:
            g({"b": "c"})
        """),
    "type parameters and aliases": ((3, 12), """
        type Alias[T: f(k="a")] = dict[str, g(x="b")]

        class Box[T: h(y="c"), *Ts, **P]:
            def get[U](self, default: U = "d") -> U:
                return lookup(key="e")

        def fn[T](a: T = "f"): pass
        """),
    "type parameter defaults": ((3, 13), """
        def fn[T = h(y="a"), *Ts = g(z="b"), **P = [f(k="c")]](x={"d": "e"}): pass
        """),
}


@pytest.mark.parametrize("source", SNIPPETS.values(), ids=SNIPPETS.keys())
def test_same_sites_on_tricky_snippets(source: str):
    assert assert_same_sites(ast.parse(textwrap.dedent(source))) > 0


@pytest.mark.parametrize("version, source", SNIPPETS_FROM.values(), ids=SNIPPETS_FROM.keys())
def test_same_sites_on_newer_syntax(version: tuple[int, int], source: str):
    if sys.version_info < version:
        pytest.skip(f"needs Python {version[0]}.{version[1]}")
    assert assert_same_sites(ast.parse(textwrap.dedent(source))) > 0


def test_same_sites_on_a_hand_built_tree_missing_fields():
    call = ast.Call(func=ast.Name(id="connect", ctx=ast.Load()), args=[ast.Constant(value="a")], keywords=[])
    branch = ast.If(test=ast.Name(id="ok", ctx=ast.Load()), body=[ast.Expr(value=call)])  # no orelse
    tree = ast.fix_missing_locations(ast.Module(body=[branch]))  # no type_ignores
    assert described(literal_sites(tree)) == described(walked_sites(tree))
    assert [(s.value, s.kind, s.call) for s in literal_sites(tree)] == [("a", "argument", "connect")]


def test_a_dict_passed_to_a_call_gets_one_kind_only():
    tree = ast.parse('requests.get(url, headers={"Authorization": "a"})\nx = {"k": "b"}\n')
    assert [(s.value, s.name, s.kind) for s in literal_sites(tree)] == [("a", "Authorization", "header"),
                                                                         ("b", "k", "dict")]
