"""Former home of the config.yaml checks, kept for the names other modules still import from it.

The checks now live one per module in ``trussguard/policy/checks/tg1*.py`` (listed in
``registry.CHECK_MODULES``), the per-file facts they share in ``config_facts`` and their helpers in
``config_values``, ``config_fields`` and ``config_commands``. ``project_checks`` imports the two names
below from here; once it imports them from ``config_values``, this module can go.
"""

from trussguard.policy.config_values import CHAINS_DUMMY
from trussguard.policy.config_values import looks_random as _looks_random

__all__ = ["CHAINS_DUMMY", "_looks_random"]
