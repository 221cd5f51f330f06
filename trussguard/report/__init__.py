"""Reporters: pure functions from a ScanResult to text. ``render`` picks one by name.

Each reporter module is imported when its format is asked for: a pre-commit run prints text and needs
none of the XML, SARIF or GitLab code (a few milliseconds of start-up on every commit).
"""

from __future__ import annotations

import importlib

from trussguard.results import ScanResult

# format -> (module under trussguard.report, function)
REPORTERS = {"text": ("text", "render"), "json": ("json_report", "render"), "sarif": ("sarif", "render"),
             "github": ("github", "render"), "markdown": ("markdown", "render_summary"),
             "junit": ("junit", "render"), "gitlab": ("gitlab", "render")}


def render(fmt: str, result: ScanResult, color: bool = False, verbose: bool = False) -> str:
    module, function = REPORTERS[fmt]
    reporter = getattr(importlib.import_module(f"trussguard.report.{module}"), function)
    if fmt == "text":
        return reporter(result, color=color, verbose=verbose)
    return reporter(result)
