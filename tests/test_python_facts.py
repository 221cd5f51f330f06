"""One walk's facts answer what each check's own ``ast.walk`` answered, and each code check has its module."""

from __future__ import annotations

import ast
import importlib

from trussguard.policy.python_facts import CodeFacts, env_read, imports_chains
from trussguard.policy.registry import CHECK_MODULES, iter_checks
from trussguard.policy.secrets_scopes import children

SOURCE = b'''
import os
from truss_chains import ChainletBase
TOKEN_PATH = "/secrets/hf_access_token"
os.environ["HF_TOKEN"] = "x"

class Model(ChainletBase):
    def load(self, **kwargs):
        self._secrets = kwargs["secrets"]
        a = os.environ["HF_TOKEN"] + os.getenv("OPENAI_API_KEY", "")
        b = os.environ.get("AWS_SECRET_ACCESS_KEY")
        print(f"{self._secrets['hf_access_token']}")

    class Inner:
        pass
'''


def test_facts_keep_the_walk_order():
    tree = ast.parse(SOURCE)
    facts = CodeFacts(tree, SOURCE)
    walked = list(ast.walk(tree))
    expected = []
    for node in walked:
        found = env_read(node)
        if found is not None:
            expected.append(("env", *found))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/secrets/"):
            expected.append(("file", node.value, node))
    assert facts.environment_reads == expected
    assert sorted(name for _, name, _ in facts.environment_reads) == [
        "/secrets/hf_access_token", "AWS_SECRET_ACCESS_KEY", "HF_TOKEN", "OPENAI_API_KEY"]
    assert facts.bridged == {"HF_TOKEN"}
    assert facts.classes == [n for n in walked if isinstance(n, ast.ClassDef)]
    assert facts.chains is imports_chains(tree) is True


def test_facts_skip_what_the_bytes_rule_out():
    source = SOURCE.replace(b"truss_chains", b"other_lib").replace(b"/secrets/", b"/data/")
    facts = CodeFacts(ast.parse(source), source)
    assert not facts.chains
    assert sorted(name for _, name, _ in facts.environment_reads) == [
        "AWS_SECRET_ACCESS_KEY", "HF_TOKEN", "OPENAI_API_KEY"]


def test_children_are_iter_child_nodes_without_contexts_and_operators():
    skipped = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop, ast.type_ignore)
    tree = ast.parse(SOURCE + b"\nx = not (a < b) or -c ** 2\n")
    for node in ast.walk(tree):
        assert children(node) == [c for c in ast.iter_child_nodes(node) if not isinstance(c, skipped)]


def test_every_code_check_has_its_own_listed_module():
    for check in iter_checks("code"):
        module = check.func.__module__
        assert module.startswith(f"trussguard.policy.checks.{check.code.lower()}_"), module
        assert module in CHECK_MODULES
        assert getattr(importlib.import_module(module), check.func.__name__) is check.func
