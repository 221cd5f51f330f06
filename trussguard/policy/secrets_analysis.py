"""One file's secrets-mapping analysis, run once per parsed file: ``analyse`` / ``analysed`` -> ``SecretsUse``.

``analyse`` cuts the file into scopes (``secrets_scopes``), follows the mapping's holders to a fixed point
(``secrets_holders``), collects every read with its guard (``secrets_reads``) and the reads made through
helpers (``secrets_helper_calls``). ``analysed`` caches the result per tree, so the code checks, the
project checks and the value flow (``secrets_flow``) share one analysis, and skips files that never
write `secrets`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from trussguard.policy.secrets_helper_calls import helper_calls, is_followed, key_param
from trussguard.policy.secrets_holders import Holders, bind_scope
from trussguard.policy.secrets_reads import SecretRead, guard_of, read_of
from trussguard.policy.secrets_scopes import Scope, scopes_of


@dataclass
class SecretsUse:
    """The mapping's holders in one file and every read of it."""

    holders: Holders
    scopes: list[Scope]
    reads: list[SecretRead]
    calls: dict[int, SecretRead] = field(default_factory=dict)  # helper calls that read a name, by id(call)

    @property
    def attrs(self) -> set[str]:
        """Every attribute holding the mapping, in any class."""
        return {a for attrs in self.holders.attrs.values() for a in attrs}

    def read_at(self, node: ast.AST, scope: Scope) -> SecretRead | None:
        return self.calls.get(id(node)) or read_of(node, self.holders, scope)


def analyse(tree: ast.Module) -> SecretsUse:
    """The holders of the mapping (to a fixed point: an attribute may feed a local elsewhere) and its reads."""
    scopes, parents, classes = scopes_of(tree)
    holders = Holders(classes)
    for _ in range(8):
        before = (holders.size(), sum(len(s.names) + len(s.kwargs) + sum(map(len, s.instances.values()))
                                      for s in scopes))
        for scope in scopes:  # pre-order: an enclosing function comes before its nested ones
            if scope.parent is not None:
                for name, via in scope.parent.names.items():
                    scope.names.setdefault(name, via)
            bind_scope(holders, scope)
        if before == (holders.size(), sum(len(s.names) + len(s.kwargs) + sum(map(len, s.instances.values()))
                                          for s in scopes)):
            break
    reads, keyed = [], {}
    for scope in scopes:
        for node in scope.nodes:
            read = read_of(node, holders, scope)
            if read is not None:
                guard = guard_of(node, parents, holders, scope, read.name)
                reads.append(SecretRead(read.name, read.line, read.column, read.how, read.via, scope.owner, guard,
                                        node))
                key = key_param(node, read, scope)
                if key is not None:
                    keyed.setdefault(id(scope.func), {}).setdefault(key, (read.how, read.via))
    calls, called = helper_calls(scopes, holders, parents, keyed)
    reads = [SecretRead(r.name, r.line, r.column, r.how, r.via, r.owner, r.guard, r.node, followed=True)
             if is_followed(r, parents, keyed, called) else r for r in reads]
    reads += [r for r, _ in calls.values()]
    return SecretsUse(holders, scopes, sorted(reads, key=lambda r: (r.line, r.column)),
                      {k: r for k, (r, _) in calls.items()})


_ANALYSED: dict[int, tuple[ast.Module, SecretsUse]] = {}
MAPPING_WORD = b"secrets"  # in the source of every file that can reach the secrets mapping


def analysed(tree: ast.Module, data: bytes | None = None) -> SecretsUse:
    """``analyse``, once per parsed file: the code checks and the project checks share the result.

    With the file's bytes, a file that never writes `secrets` gets no analysis: every way in to the
    mapping (`kwargs["secrets"]`, a `secrets` parameter, `context.secrets`) names it, and most Python
    of a Truss (vendored packages, helpers) never does: on truss-examples HEAD 826 Python files lie in
    Truss folders and 65 of the repository's 868 hold the word."""
    if data is not None and MAPPING_WORD not in data:
        return SecretsUse(Holders({}), [], [])
    hit = _ANALYSED.get(id(tree))
    if hit is None or hit[0] is not tree:
        if len(_ANALYSED) >= 256:
            _ANALYSED.clear()
        hit = _ANALYSED[id(tree)] = (tree, analyse(tree))
    return hit[1]
