"""The config checks' layout: one module per check, named after its code and name, and one set of facts per file.

Issue 13: a config.yaml is parsed once, its lines split once and its scalars indexed once, however many
config checks ask; each check lives in `trussguard/policy/checks/tg1NN_<name>.py` (ruff-style).
"""

from __future__ import annotations

import textwrap

import pytest

from trussguard.engine.detector import Detector
from trussguard.policy import registry, yaml_nodes
from trussguard.policy.config_facts import facts_of
from trussguard.policy.context import ConfigContext
from trussguard.policy.runner import check_config


def test_each_config_check_has_its_own_module_listed_in_the_registry():
    checks = registry.iter_checks("config")
    assert checks
    for c in checks:
        module = f"trussguard.policy.checks.{c.code.lower()}_{c.name.replace('-', '_')}"
        assert c.func.__module__ == module, c.code
        assert module in registry.CHECK_MODULES, c.code
    listed = [m for m in registry.CHECK_MODULES if m.startswith("trussguard.policy.checks.tg1")]
    assert len(listed) == len(set(listed)) == len(checks)


def test_project_checks_take_the_config_helpers_from_config_values():
    from trussguard.policy.config_values import CHAINS_DUMMY, looks_random

    assert CHAINS_DUMMY == "***" and looks_random("ab" * 5) is False


CONFIG = textwrap.dedent("""\
    model_name: facts-once
    environment_variables:
      HF_TOKEN: null
    docker_server:
      start_command: sh -c "HF_TOKEN=$(cat /secrets/hf_access_token) vllm serve x"
    build_commands:
      - pip install --index-url https://__token__:$(cat /secrets/pypi_token)@pypi.acme.dev/simple acme
    requirements:
      - torch
    """).encode()


def test_one_config_is_parsed_split_and_indexed_once(ruleset, monkeypatch: pytest.MonkeyPatch):
    calls = {"parse": 0, "source_lines": 0, "scalars_by_line": 0}

    def counting(name):
        original = getattr(yaml_nodes, name)

        def wrapper(*args, **kwargs):
            calls[name] += 1
            return original(*args, **kwargs)
        return wrapper

    for name in calls:
        monkeypatch.setattr(yaml_nodes, name, counting(name))
    detector = Detector(ruleset, cache_dir=None)
    hits, notes, truss = check_config("config.yaml", CONFIG, detector.detect("config.yaml", CONFIG), detector)
    assert sorted({h.code for h in hits}) == ["TG104", "TG106", "TG108"] and notes == []
    assert calls == {"parse": 1, "source_lines": 1, "scalars_by_line": 1}


def test_facts_are_kept_on_the_context(ruleset):
    detector = Detector(ruleset, cache_dir=None)
    first = ConfigContext("config.yaml", CONFIG, [], detector, doc=yaml_nodes.parse(CONFIG), truss=None)
    second = ConfigContext("config.yaml", CONFIG, [], detector, doc=yaml_nodes.parse(CONFIG), truss=None)
    assert facts_of(first) is facts_of(first)
    assert facts_of(first) is not facts_of(second)
    assert [v.key for v in facts_of(first).env_variables] == ["HF_TOKEN"]
    assert facts_of(first).start_command[1].startswith("sh -c")


def test_facts_do_not_keep_their_context_alive(ruleset):
    """No reference cycle: a checked config is freed at once, not when the garbage collector next runs (a
    cycle per config made the audit's collector walk every config checked so far)."""
    import gc
    import weakref

    detector = Detector(ruleset, cache_dir=None)
    ctx = ConfigContext("config.yaml", CONFIG, [], detector, doc=yaml_nodes.parse(CONFIG), truss=None)
    assert facts_of(ctx).lines[0] == "model_name: facts-once"
    gone = weakref.ref(ctx)
    gc.disable()
    try:
        del ctx
        assert gone() is None
    finally:
        gc.enable()
