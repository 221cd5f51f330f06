"""The facts of one config.yaml, worked out once and shared by every config check (TG101-TG115).

The runner parses the file once (``ConfigContext.doc``); the checks then asked the same questions of it
again and again: nine of them split the source into lines to place a finding, three walked
`environment_variables:`, two looked up `docker_server.start_command` and `build.secret_to_path_mapping`,
and TG101 and TG102 both judged every value under `secrets:`. ``facts_of(ctx)`` answers each question on
first use and keeps the answer for the next check, so a file costs one walk per question, whatever the
number of checks. Checks keep their ``func(ctx)`` signature: the runner, the audit and the staged scan
build contexts as before.
"""

from __future__ import annotations

import functools
import weakref
from typing import NamedTuple

import yaml

from trussguard.policy import config_fields, yaml_nodes
from trussguard.policy.config_values import not_a_credential
from trussguard.policy.context import ConfigContext
from trussguard.policy.truss_dirs import Declaration
from trussguard.policy.yaml_nodes import NodeAt, Scalar


class EnvVariable(NamedTuple):
    """One entry of `environment_variables:` whose value is a scalar."""

    key: str
    key_node: yaml.Node
    node: yaml.Node
    scalar: Scalar


class ConfigFacts:
    """What the config checks read from one config.yaml: each property is computed on first use, once."""

    def __init__(self, ctx: ConfigContext):
        # weak: the context keeps its facts, and a cycle would keep every parsed config alive until the
        # garbage collector ran (and make it walk them all: the audit checks thousands of configs)
        self._ctx = weakref.ref(ctx)
        self.doc = ctx.doc
        # a Truss config that parsed (not a committed local config, not a requirements file)
        self.is_truss = ctx.kind == "truss" and ctx.doc is not None
        self._verdicts: dict[tuple[str, str], str | None] = {}

    @property
    def ctx(self) -> ConfigContext:
        return self._ctx()

    @functools.cached_property
    def lines(self) -> list[str]:
        """The file's lines, numbered like the YAML marks (to place a finding inside a value)."""
        return yaml_nodes.source_lines(self.ctx.data)

    def place(self, node: yaml.Node, needle: str) -> tuple[int, int]:
        """1-based (line, column) of ``needle`` inside the node's source text, else the node's start."""
        return yaml_nodes.locate(self.lines, node, needle)

    @functools.cached_property
    def node_index(self) -> dict[int, list[NodeAt]]:
        """Every scalar node (keys included) with its key path, by the lines it spans."""
        return yaml_nodes.scalars_by_line(list(yaml_nodes.walk_nodes(self.doc)))

    # --- secrets: -------------------------------------------------------------------------------------

    @functools.cached_property
    def declarations(self) -> list[Declaration]:
        """The names under `secrets:` that hold a value rather than null (TG101, TG102)."""
        ctx = self.ctx
        if ctx.kind != "truss" or ctx.truss is None:
            return []
        return [d for d in ctx.truss.declared.values() if d.value is not None and not d.value.is_null]

    def not_a_credential(self, name: str, value: str) -> str | None:
        """``config_values.not_a_credential`` of one declared value, judged once for TG101 and TG102."""
        key = (name, value)
        if key not in self._verdicts:
            self._verdicts[key] = not_a_credential(self.ctx, name, value)
        return self._verdicts[key]

    def declared(self, name: str) -> bool:
        return self.ctx.truss is not None and name in self.ctx.truss.declared

    def name_for(self, suggested: str) -> str:
        """The workspace secret a fix names: the one this Truss already declares for the same credential."""
        truss = self.ctx.truss
        return truss.secret_name(suggested) if truss is not None else suggested

    def read_hint(self, name: str, variable: str | None = None) -> str:
        """How the Truss reads the secret: `self._secrets[...]` in model code, `$(cat /secrets/NAME)` for a
        `docker_server:` Truss (it has no model class)."""
        if self.ctx.truss is None:
            return f"`self._secrets[\"{name}\"]`"
        return self.ctx.truss.read_hint(name, variable)

    # --- sections of a Truss config -------------------------------------------------------------------

    @functools.cached_property
    def env_variables(self) -> list[EnvVariable]:
        """The scalar entries of `environment_variables:` (TG103, TG104, TG106)."""
        if not self.is_truss:
            return []
        return [EnvVariable(key, key_node, value, sc)
                for key, key_node, value in yaml_nodes.items(yaml_nodes.get(self.doc, "environment_variables"))
                if (sc := yaml_nodes.scalar(value)) is not None]

    @functools.cached_property
    def env_keys(self) -> frozenset[str]:
        return frozenset(v.key for v in self.env_variables)

    @functools.cached_property
    def start_command(self) -> tuple[yaml.Node, str] | None:
        """`docker_server.start_command` and its text, when it is a non-empty string (TG105, TG106)."""
        if not self.is_truss:
            return None
        node = yaml_nodes.get(self.doc, "docker_server", "start_command")
        sc = yaml_nodes.scalar(node)
        return (node, sc.value) if sc is not None and sc.value else None

    @functools.cached_property
    def build_mapping(self) -> dict[str, str]:
        """``build.secret_to_path_mapping``: name -> mounted path (TG107, TG108)."""
        out: dict[str, str] = {}
        if not self.is_truss:
            return out
        for name, _, value in yaml_nodes.items(yaml_nodes.get(self.doc, "build", "secret_to_path_mapping")):
            sc = yaml_nodes.scalar(value)
            out[name] = sc.value if sc is not None and sc.value else ""
        return out

    @functools.cached_property
    def build_commands(self) -> list[tuple[str, yaml.ScalarNode, str]]:
        """(label, node, command) of the string items of `build_commands` (TG107, TG108)."""
        if not self.is_truss:
            return []
        return list(config_fields.string_items(yaml_nodes.get(self.doc, "build_commands"), "build_commands"))

    @functools.cached_property
    def requirements(self) -> list[tuple[str, yaml.ScalarNode, str]]:
        """(label, node, requirement) of the string items of `requirements:` (TG109)."""
        if not self.is_truss:
            return []
        return list(config_fields.string_items(yaml_nodes.get(self.doc, "requirements"), "requirements"))

    @functools.cached_property
    def url_fields(self) -> list[tuple[str, yaml.Node]]:
        """(label, node) of the fields Truss downloads from (TG110)."""
        return list(config_fields.url_fields(self.doc)) if self.is_truss else []

    @functools.cached_property
    def name_fields(self) -> list[tuple[str, yaml.Node, str]]:
        """(label, node, suggested name) of the fields that hold a secret NAME (TG111)."""
        return list(config_fields.name_fields(self.doc)) if self.is_truss else []


def facts_of(ctx: ConfigContext) -> ConfigFacts:
    """The facts of the context's file: built by the first config check that asks, kept on the context
    for the others (a context is one file; the runner makes a new one per file)."""
    facts = ctx.__dict__.get("_config_facts")
    if facts is None:
        facts = ctx.__dict__["_config_facts"] = ConfigFacts(ctx)
    return facts
