"""Which Python files the code checks must parse at all, decided from their bytes.

Why: parsing is half the cost of the code checks, and most Python shipped with a Truss (vendored
libraries under `packages/`, helpers) can give no code check anything to report: on truss-examples
HEAD 532 of the 868 Python files hold neither a word the structural checks start from nor a literal
that could be a credential. Each check starts from something visible in the bytes:

- the secrets-mapping checks (TG206, TG209, the project checks TG207/TG208) from a read of the
  mapping, and every way in to it names `secrets` (``secrets_analysis.MAPPING_WORD``);
- TG205 from `environ`, `getenv` or a "/secrets/" path (``python_facts.ENVIRONMENT_WORDS``);
- the Chains checks (TG210, TG211) from an import of `truss_chains` (``python_facts.CHAINS_WORD``);
- the literal checks (TG201-TG204, TG210, TG212) from a string literal a credential rule matches or
  that passes ``is_literal_credential``: ``literal_screen.may_hold_literal_secret`` decides that
  conservatively, and a file with any rule match is always parsed.

A file screened out is known to have no secrets-mapping reads: the project checks count it as
parsed code that reads nothing (not as code that failed to parse, whose quoted names count as uses).
"""

from __future__ import annotations

from trussguard.engine.detector import Detector
from trussguard.policy.literal_screen import may_hold_literal_secret
from trussguard.policy.python_facts import CHAINS_WORD, ENVIRONMENT_WORDS
from trussguard.policy.python_leaks import COMMAND_SECRETS
from trussguard.policy.secrets_analysis import MAPPING_WORD

STRUCTURAL_WORDS = (MAPPING_WORD, CHAINS_WORD, *ENVIRONMENT_WORDS)


def needs_parse(data: bytes, any_match: bool, detector: Detector, leaks_only: bool = False) -> bool:
    """False only when no code check (only the value checks with ``leaks_only``) can fire on ``data``.

    ``any_match``: whether a credential rule matched anywhere in the file (such a file is parsed).
    """
    if any_match or not leaks_only and any(word in data for word in STRUCTURAL_WORDS):
        return True
    return may_hold_literal_secret(data, lambda text: bool(detector.matcher.scan(text.encode("utf-8", "replace"))),
                                   COMMAND_SECRETS if CHAINS_WORD in data else ())
