"""What a check sees: one config, one Python file, or one whole Truss.

Value checks (those that find literal credentials) take only (path, bytes) and the parsed
content, never the disk, so the history audit and the staged scan can run them on any
version of a file. Project checks see the whole Truss of the working tree.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import yaml

from trussguard.engine.detector import Detector
from trussguard.engine.heuristics import is_placeholder
from trussguard.policy.truss_dirs import TrussDir
from trussguard.types import Match, Severity


@dataclass
class ValueContext:
    """Shared by config and code contexts: the file, its credential-rule matches, the engine."""

    path: str
    data: bytes
    matches: list[Match]  # what the credential rules found in this file (already filtered)
    detector: Detector

    def credential_in(self, text: str) -> Match | None:
        """The best credential-rule match inside ``text`` (a YAML value, a string literal), if any.

        Specific rules are preferred to generic ones; the match's offsets are relative to ``text``.
        """
        found = [m for m in self.detector.matcher.scan(text.encode("utf-8", "replace"))]
        if not found:
            return None
        rules = self.detector.rules
        return min(found, key=lambda m: (rules[m.rule_id].generic, -rules[m.rule_id].severity, m.start))

    def leak(self, value: str, default: Severity) -> tuple[str, Severity]:
        """(secret, severity) to report for a literal value found where no value may be.

        When a specific credential rule recognises a token inside the value, that token is the
        secret (so the finding merges with the rule's) and the severity is critical: a known
        credential shipped inside a Truss is uploaded with the model. Otherwise the whole value.
        """
        m = self.credential_in(value)
        if m is not None and not self.detector.rules[m.rule_id].generic:
            return m.secret, Severity.CRITICAL
        return value, default


@dataclass
class ConfigContext(ValueContext):
    doc: yaml.Node | None = None
    truss: TrussDir | None = None  # None for a committed local config (~/.truss/config.yaml)
    kind: str = "truss"  # or "local-config"


@dataclass
class CodeContext(ValueContext):
    tree: ast.Module | None = None
    truss: TrussDir | None = None  # None when the file is seen alone (history blobs, staged files)


@dataclass
class ProjectContext:
    """A whole Truss of the working tree: its config, its code and every path under its root."""

    truss: TrussDir
    paths: list[str]  # every scanned path under the Truss root (and skipped ones)
    code: dict[str, ast.Module] = field(default_factory=dict)  # parsed Python shipped with the Truss
    texts: dict[str, bytes] = field(default_factory=dict)  # bytes of config, code, shell and ignore files


__all__ = ["CodeContext", "ConfigContext", "ProjectContext", "ValueContext", "is_placeholder"]
