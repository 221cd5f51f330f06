"""Literal credentials inside the shell text of a Truss config: start commands, build commands, requirements.

A command line mixes what a rule recognises (a token in a git URL) with what only its shape gives away
(`HF_TOKEN=...`, `--api-key ...`, an `Authorization:` header); TG105, TG107 and TG109 report both the
same way, so they share this one reading. TG105 and TG106 both start from `docker_server.start_command`
(``start_command``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from trussguard.engine.heuristics import is_secret_name
from trussguard.policy.config_facts import ConfigFacts, facts_of
from trussguard.policy.config_values import env_name, leak_of, literal, rule_label, rule_matches, rule_secret_name
from trussguard.policy.context import ConfigContext
from trussguard.types import Severity

# /secrets/NAME: where Baseten mounts a declared secret at run time (TG106, TG108)
RUNTIME_MOUNT = re.compile(r"(?<![\w./-])/secrets/([-_a-zA-Z0-9]+(?:\.[-_a-zA-Z0-9]+)*)")
_VALUE = r"""("[^"\n]*"|'[^'\n]*'|[^\s"';&|)]+)"""
# NAME=value (shell assignment or env prefix); a preceding `-`, `.` or `/` makes it a flag or a path.
_ASSIGN = re.compile(r"(?<![\w$./-])([A-Za-z_][A-Za-z0-9_]*)=" + _VALUE)
# --token VALUE, --api-key=VALUE, -p VALUE
_FLAG = re.compile(r"(?<![\w-])--?([A-Za-z][\w-]*)(?:=|[ \t]+)" + _VALUE)
# Authorization: Bearer VALUE (also x-api-key / Api-Key / Private-Token headers)
_HEADER = re.compile(r"(?i)(?<![\w-])(authorization|x-api-key|api-key|private-token)\s*:\s*"
                     r"(?:(?:bearer|basic|token|api-key|apikey|bot)\s+)?([^\s\"'\\;]+)")


@dataclass(frozen=True)
class StartCommand:
    """`docker_server.start_command` of one config.yaml: its node, its text and the file's facts (TG105, TG106)."""

    facts: ConfigFacts
    node: yaml.Node
    text: str

    def place(self, needle: str) -> tuple[int, int]:
        """1-based (line, column) of ``needle`` inside the command, else the command's start."""
        return self.facts.place(self.node, needle)


def start_command(ctx: ConfigContext) -> StartCommand | None:
    """The config's start command, when it is a non-empty string of a Truss config."""
    facts = facts_of(ctx)
    found = facts.start_command
    return StartCommand(facts, *found) if found is not None else None


@dataclass(frozen=True)
class InlineCredential:
    secret: str
    severity: Severity
    what: str  # "GitHub personal access token", "the literal value of `HF_TOKEN=`"
    name: str  # the workspace secret to create for it
    variable: str | None = None  # NAME of `NAME=literal`, to show the compliant assignment


def inline_credentials(ctx: ConfigContext, text: str, node: yaml.Node | None = None,
                       line: int | None = None) -> list[InlineCredential]:
    """Literal credentials inside a shell command or a requirement line: every credential-rule match
    (URL userinfo included), then `NAME=literal` with a secret-looking NAME, `--token literal` style
    flags and `Authorization:` header literals."""
    name_for = facts_of(ctx).name_for
    found: list[InlineCredential] = []
    assigned = {m.group(2).strip("'\""): m.group(1) for m in _ASSIGN.finditer(text)}
    for m in rule_matches(ctx, text, node, line):
        secret, severity = leak_of(ctx, m)
        variable = next((var for value, var in assigned.items() if secret in value), None)
        name = rule_secret_name(ctx, m, "api_key")
        if variable and ctx.detector.rules[m.rule_id].generic:
            name = env_name(variable)  # NPM_TOKEN=... is better named npm_token than service_api_key
        found.append(InlineCredential(secret, severity, rule_label(ctx, m), name_for(name), variable))
    candidates: list[tuple[str, str, str, str | None]] = []
    for m in _ASSIGN.finditer(text):
        if is_secret_name(m.group(1)):
            candidates.append((m.group(2), f"the literal value of `{m.group(1)}=`", env_name(m.group(1)),
                               m.group(1)))
    for m in _FLAG.finditer(text):
        if is_secret_name(m.group(1)):
            name = "hf_access_token" if re.search(r"huggingface|\bhf\b", text, re.I) else env_name(m.group(1))
            candidates.append((m.group(2), f"the literal argument of `--{m.group(1).lstrip('-')}`", name, None))
    for m in _HEADER.finditer(text):
        candidates.append((m.group(2), f"the literal `{m.group(1)}:` header", "api_key", None))
    for raw, what, name, variable in candidates:
        value = literal(raw)
        if value is None or any(value in f.secret or f.secret in value for f in found):
            continue
        secret, severity = ctx.leak(value, Severity.HIGH)
        found.append(InlineCredential(secret, severity, what, name_for(name), variable))
    return found


def read_from_file(variable: str | None, path: str) -> str:
    """The shell text that replaces an inline credential: `VAR=$(cat PATH)`, or `$(cat PATH)` alone."""
    return f"{variable}=$(cat {path})" if variable else f"$(cat {path})"
