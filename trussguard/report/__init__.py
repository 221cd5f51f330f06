"""Reporters: pure functions from a ScanResult to text. ``render`` picks one by name."""

from __future__ import annotations

from trussguard.results import ScanResult
from trussguard.report import github, gitlab, json_report, junit, markdown, sarif, text

REPORTERS = {"text": text.render, "json": json_report.render, "sarif": sarif.render, "github": github.render,
             "markdown": markdown.render_summary, "junit": junit.render, "gitlab": gitlab.render}


def render(fmt: str, result: ScanResult, color: bool = False, verbose: bool = False) -> str:
    if fmt == "text":
        return text.render(result, color=color, verbose=verbose)
    return REPORTERS[fmt](result)
