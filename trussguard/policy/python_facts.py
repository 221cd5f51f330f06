"""What the code checks (TG201-TG212) need to know about one parsed Python file, gathered in one walk.

Why: every check used to walk the AST itself (TG205 twice, TG211 and the Chains test once more, the
literal collection once), so each node was visited three times or more. ``CodeFacts`` walks the
tree once (``python_literals.nodes_of``: breadth first, leaves kept out of the queue) and keeps the
few node kinds the checks look at, in ``ast.walk`` order, so each check reads the same nodes in the
same order as its own walk did. The secrets-mapping analysis (``secrets_analysis.analysed``) stays on
demand: the value checks, all the history audit runs, need it only to word a fix.
"""

from __future__ import annotations

import ast
import functools

from trussguard.policy.python_literals import BINDERS, Site, dotted, is_environ, literal_sites, nodes_of
from trussguard.policy.secrets_analysis import SecretsUse, analysed
from trussguard.types import Match

CHAINS_WORD = b"truss_chains"  # in the bytes of every file that imports truss_chains
SECRET_FILES = "/secrets/"  # a path a secret file is read from (TG205)
# Words every environment read TG205 reports writes: `os.environ[...]`, `environ.get`, `os.getenv`, a
# "/secrets/..." path; a file without them needs no environment facts (most vendored packages of a Truss).
ENVIRONMENT_WORDS = (b"environ", b"getenv", SECRET_FILES.encode())
# Non-binder nodes the checks read: environment subscripts (TG205) and classes (TG211).
_KEPT = frozenset(BINDERS) | {ast.Subscript, ast.ClassDef}
_IMPORTS = frozenset({ast.Import, ast.ImportFrom})


class CodeFacts:
    """One file's facts: its binders and literal sites, environment reads, classes, whether it is a Chains
    source, and (on demand) its secrets-mapping reads; plus per-literal caches the checks share."""

    def __init__(self, tree: ast.Module, data: bytes):
        self.tree, self.data = tree, data
        leaves = set()
        if CHAINS_WORD in data:
            leaves |= _IMPORTS  # an import has no walked field: a leaf, kept only when it can matter
        if SECRET_FILES.encode() in data:
            leaves.add(ast.Constant)
        self.nodes = nodes_of(tree, _KEPT | leaves, frozenset(leaves))  # ast.walk order
        self.chains = CHAINS_WORD in data and any(_imports_chains(n) for n in self.nodes if type(n) in _IMPORTS)
        self.sites: list[Site] = literal_sites(tree, self.chains, [n for n in self.nodes if type(n) in BINDERS])
        self.credentials: dict[str, Match | None] = {}  # credential_in, per literal value
        self.baseten: dict[int, str | None] = {}  # the Baseten key inside a site, per id(site)

    @functools.cached_property
    def use(self) -> SecretsUse:
        """The secrets-mapping analysis, on demand: the literal checks (all the history audit runs)
        need it only to word a fix, and it is the expensive part of a file's facts."""
        return analysed(self.tree, self.data)

    @functools.cached_property
    def classes(self) -> list[ast.ClassDef]:
        return [n for n in self.nodes if type(n) is ast.ClassDef]

    @functools.cached_property
    def environment_reads(self) -> list[tuple[str, str, ast.AST]]:
        """("env", variable name, node) of each ``os.environ[NAME]``, ``os.environ.get(NAME)``,
        ``os.getenv(NAME)`` and ("file", path, node) of each ``"/secrets/..."`` string, in ``ast.walk`` order."""
        if not any(word in self.data for word in ENVIRONMENT_WORDS):
            return []
        out = []
        for node in self.nodes:
            found = env_read(node)
            if found is not None:
                out.append(("env", *found))
            elif type(node) is ast.Constant and isinstance(node.value, str) and node.value.startswith(SECRET_FILES):
                out.append(("file", node.value, node))
        return out

    @functools.cached_property
    def bridged(self) -> set[str]:
        """Environment variables the code itself sets (``os.environ["HF_TOKEN"] = ...``): reading them is fine."""
        out = set()
        for node in self.nodes:
            if type(node) is ast.Assign:
                for target in node.targets:
                    if isinstance(target, ast.Subscript) and is_environ(target.value) \
                            and isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str):
                        out.add(target.slice.value)
        return out


def env_read(node: ast.AST) -> tuple[str, ast.AST] | None:
    """(variable name, node) for ``os.environ[NAME]``, ``os.environ.get(NAME)``, ``os.getenv(NAME)``."""
    if isinstance(node, ast.Subscript) and is_environ(node.value) and isinstance(node.ctx, ast.Load):
        key = node.slice
    elif isinstance(node, ast.Call) and node.args and (
            isinstance(node.func, ast.Attribute) and node.func.attr == "get" and is_environ(node.func.value)
            or dotted(node.func) in ("os.getenv", "getenv")):
        key = node.args[0]
    else:
        return None
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value, node
    return None


def _imports_chains(node: ast.AST) -> bool:
    if isinstance(node, ast.Import):
        return any(a.name.split(".")[0] == "truss_chains" for a in node.names)
    return isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "truss_chains"


def imports_chains(tree: ast.Module) -> bool:
    """The file imports ``truss_chains`` (a Chains / Python-DX source, TRUSS_SECRETS.md 5.2)."""
    return any(_imports_chains(node) for node in ast.walk(tree))


def facts_of(ctx) -> CodeFacts:
    """The facts of a ``CodeContext``'s file, built on first use and kept on the context (one per file)."""
    found = ctx.__dict__.get("_code_facts")
    if found is None or found.tree is not ctx.tree:
        found = ctx.__dict__["_code_facts"] = CodeFacts(ctx.tree, ctx.data)
    return found
