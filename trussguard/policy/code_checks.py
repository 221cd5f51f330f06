"""Checks on one Python file of a Truss or a Chains source (TRUSS_SECRETS.md 3.1, P1-P11): the catalogue.

Each check lives in its own module of ``policy/checks/`` (``tg201_hardcoded_secret_literal`` ...) and
reads the facts one walk of the file gathered (``python_facts``). This module keeps the names others
import from here (the check functions, ``COMMAND_SECRETS``, ``CLIENT_KEYWORDS``, ...), so importing it
registers the code checks as it always did.

Value checks (TG201-TG204, TG210, TG212) look at string literals only, so they run on any
version of a file, with or without its Truss. Each literal is bound by exactly one context
(``python_literals.Site.kind``), so exactly one check reports it; a Baseten API key always goes
to TG212. Idiom checks (TG205, TG206, TG209, TG211) follow the secrets mapping
(``secrets_analysis``, ``secrets_flow``).
"""

from __future__ import annotations

from trussguard.policy.checks.tg201_hardcoded_secret_literal import hardcoded_secret_literal
from trussguard.policy.checks.tg202_secret_literal_written_to_environment import \
    secret_literal_written_to_environment
from trussguard.policy.checks.tg203_secret_literal_as_env_default import secret_literal_as_env_default
from trussguard.policy.checks.tg204_secret_literal_passed_to_client import CLIENT_KEYWORDS, \
    secret_literal_passed_to_client
from trussguard.policy.checks.tg205_secret_read_from_environment import secret_read_from_environment
from trussguard.policy.checks.tg206_secret_echoed import secret_echoed
from trussguard.policy.checks.tg209_unsafe_secrets_access import unsafe_secrets_access
from trussguard.policy.checks.tg210_chains_literal_secret import chains_literal_secret
from trussguard.policy.checks.tg211_chains_undeclared_secret_key import CHAINLET_BASES, chains_undeclared_secret_key
from trussguard.policy.checks.tg212_baseten_api_key_in_truss import baseten_api_key_in_truss
from trussguard.policy.python_leaks import COMMAND_SECRETS, HF_SECRET

__all__ = ["CHAINLET_BASES", "CLIENT_KEYWORDS", "COMMAND_SECRETS", "HF_SECRET",
           "baseten_api_key_in_truss", "chains_literal_secret", "chains_undeclared_secret_key",
           "hardcoded_secret_literal", "secret_echoed", "secret_literal_as_env_default",
           "secret_literal_passed_to_client", "secret_literal_written_to_environment",
           "secret_read_from_environment", "unsafe_secrets_access"]
