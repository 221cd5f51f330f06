"""Credentials in file and folder names: ``tokens/hf_AbC….txt`` is a leak even if the file is empty.

The rules run over the listing's paths, one per line, in one pass; a name that holds a credential
becomes a finding at line 1 of that file, unless its content already holds the same secret (one
finding per secret and place). Its path is then masked in every report (``redact.redact_result``).
"""

from __future__ import annotations

import dataclasses

from trussguard.engine.detector import Detector
from trussguard.findings import to_finding
from trussguard.types import Finding


def name_findings(paths: list[str], detector: Detector, rules: dict, known: list[Finding],
                  keep_secret: bool = False) -> list[Finding]:
    if not paths:
        return []
    seen = {(f.path, f.secret_sha256) for f in known}
    out: list[Finding] = []
    text = "\n".join(paths).encode("utf-8", "surrogateescape")
    for m in detector.matcher.scan(text):
        if m.decoded or not 1 <= m.line <= len(paths) or m.rule_id not in rules:
            continue
        path = paths[m.line - 1]
        finding = to_finding(m, rules[m.rule_id], path, keep_secret=keep_secret)
        if (path, finding.secret_sha256) in seen:
            continue
        seen.add((path, finding.secret_sha256))
        out.append(dataclasses.replace(finding, line=1, column=None,
                                       message=f"{rules[m.rule_id].name} found in the file's name; rename the "
                                               "file and rotate the credential."))
    return out
