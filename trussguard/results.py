"""What a scan produced, and the exit code it earns: the record every stage after the scan reads.

Why its own module: the reporters, suppression and the baseline all read a ``ScanResult``; when
it lived in ``pipeline.py`` they imported the orchestrator, so the layers pointed back up. Every
orchestrator (tree, staged, history) builds one of these; nothing here knows how.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trussguard.config import ScanConfig
from trussguard.types import Advisory, Finding, Skipped, Suppressed

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
ERROR_REASONS = ("unreadable", "missing")  # missing: a blob absent from a git clone


@dataclass
class ScanStats:
    files_scanned: int = 0
    bytes_scanned: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    suppressed: int = 0  # findings hidden inline, by the configuration file or the baseline: len(result.suppressed)
    notes: list[str] = field(default_factory=list)  # e.g. a config.yaml that did not parse
    trusses: int = 0
    duration_seconds: float = 0.0
    rules: int = 0
    checks: int = 0
    workers: int = 1
    history: dict | None = None  # history audit: refs, commits, unique blobs, shallow


@dataclass
class ScanResult:
    mode: str
    target: str
    findings: list[Finding]
    advisories: list[Advisory]
    stats: ScanStats
    rotated: frozenset[str] = frozenset()  # advisory ids the baseline says were rotated: reported, never failing
    catalogue: dict[str, dict] = field(default_factory=dict)  # rule/check id -> description (findings.describe_rules)
    suppressed: list[Suppressed] = field(default_factory=list)  # every hidden finding, listed in every report
    gate_changes: tuple = ()  # gate_changes.GateChange: what the change did to its own gate's settings

    @property
    def errors(self) -> list[Skipped]:
        return [s for s in self.stats.skipped if s.reason in ERROR_REASONS]

    def exit_code(self, config: ScanConfig) -> int:
        """0 clean, 1 findings at or above the threshold, 2 when something could not be scanned."""
        if self.errors and not config.allow_unreadable:
            return EXIT_ERROR
        if any(change.blocks for change in self.gate_changes):  # the change widened its own gate
            return EXIT_FINDINGS
        return EXIT_FINDINGS if any(f.severity >= config.fail_on and f.advisory_id not in self.rotated
                                    for f in self.findings) else EXIT_CLEAN

    def exit_reasons(self, code: int, what: str, flag: str) -> list[str]:
        """The lines that say why ``code`` is not 0 when the findings alone do not: what could not
        be scanned (``what``, accepted with ``flag``), or the change that widened its own gate."""
        lines = []
        if code == EXIT_ERROR:
            first = self.errors[0]
            lines.append(f"trussguard: error: {len(self.errors)} {what} (first: {first.path}: {first.detail}); "
                         f"use {flag} to accept")
        blocking = [c.message for c in self.gate_changes if c.blocks]
        if code == EXIT_FINDINGS and blocking:
            lines.append(" ".join(f"trussguard: error: this change widens its own gate: {'; '.join(blocking)}. "
                                  "The trusted revision's configuration and baseline were applied; once reviewed, "
                                  "accept it with --allow-config-changes (Action input allow-config-changes: true)"
                                  .split()))
        return lines
