"""Both engines behind one call: the rule matcher everywhere, detect-secrets on Truss files.

``rules check`` and the scanner both go through ``Detector.detect``, so a rule's examples
are tested by exactly the code that scans repositories.
"""

from __future__ import annotations

from pathlib import Path

from trussguard.engine import detect_secrets_adapter
from trussguard.engine.loader import RuleSet
from trussguard.engine.matcher import Matcher, prefer_specific
from trussguard.types import Match


class Detector:
    def __init__(self, ruleset: RuleSet, cache_dir: Path | None = None, use_detect_secrets: bool = True,
                 decode_depth: int = 1):
        self.ruleset = ruleset
        self.rules = ruleset.by_id()
        self.matcher = Matcher(ruleset, cache_dir, decode_depth)
        ds_rules = [r for r in ruleset.rules if r.detector == "detect-secrets"] if use_detect_secrets else []
        self.extra = detect_secrets_adapter.DetectSecretsAdapter(ds_rules) if ds_rules else None

    def warm_up(self) -> None:
        """Compiles the rules most files reach and imports detect-secrets now, before worker processes
        fork: they inherit both instead of each paying for them (0.2 s of imports); the other rules are
        compiled by the workers that meet them (``Matcher.compile_all``)."""
        self.matcher.compile_all(common_only=True)
        if self.extra is not None:
            self.extra.warm_up()

    def detect(self, path: str, data: bytes, truss_file: bool | None = None) -> list[Match]:
        """Every match in one file's bytes, deduplicated across the two engines.

        detect-secrets runs only on Truss files; ``truss_file`` says whether this is one (the
        pipeline knows from the whole listing), else it is guessed from the file name.
        """
        matches = self.matcher.scan(data, path)
        if truss_file is None:
            truss_file = detect_secrets_adapter.applies_to(path)
        if self.extra is not None and truss_file:
            matches = prefer_specific(matches + self.extra.scan(path, data), self.rules)
        return matches
