"""The catalogue of Truss policy checks: one registered function per check, with a stable code.

Each check's docstring is its explanation, in fixed sections (What it finds / Why it matters /
Example / Use instead), so ``trussguard explain TG101`` and the docs never drift from the
code (ruff's lesson). Checks report ``PolicyHit``s; the pipeline turns them into findings.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Callable

from trussguard.types import CellPlace, Severity

SECTIONS = ("What it finds", "Why it matters", "Example", "Use instead")
SCOPES = ("config", "code", "project")
KINDS = ("leak", "policy")
_CODE = re.compile(r"^TG\d{3}$")
# Modules holding checks, imported on first use of the registry (explicit, no scanning).
CHECK_MODULES = ("trussguard.policy.checks.tg101_secret_value_in_config",
                 "trussguard.policy.checks.tg102_placeholder_in_secrets",
                 "trussguard.policy.checks.tg103_secret_in_environment_variables",
                 "trussguard.policy.checks.tg104_secret_declared_in_environment_variables",
                 "trussguard.policy.checks.tg105_credential_in_start_command",
                 "trussguard.policy.checks.tg106_undeclared_secret_in_start_command",
                 "trussguard.policy.checks.tg107_credential_in_build_commands",
                 "trussguard.policy.checks.tg108_runtime_secret_read_at_build_time",
                 "trussguard.policy.checks.tg109_credential_in_requirements",
                 "trussguard.policy.checks.tg110_signed_url_in_config",
                 "trussguard.policy.checks.tg111_secret_value_in_name_field",
                 "trussguard.policy.checks.tg114_credential_in_free_form_config",
                 "trussguard.policy.checks.tg115_local_truss_config_committed",
                 "trussguard.policy.checks.tg201_hardcoded_secret_literal",
                 "trussguard.policy.checks.tg202_secret_literal_written_to_environment",
                 "trussguard.policy.checks.tg203_secret_literal_as_env_default",
                 "trussguard.policy.checks.tg204_secret_literal_passed_to_client",
                 "trussguard.policy.checks.tg205_secret_read_from_environment",
                 "trussguard.policy.checks.tg206_secret_echoed",
                 "trussguard.policy.checks.tg209_unsafe_secrets_access",
                 "trussguard.policy.checks.tg210_chains_literal_secret",
                 "trussguard.policy.checks.tg211_chains_undeclared_secret_key",
                 "trussguard.policy.checks.tg212_baseten_api_key_in_truss",
                 "trussguard.policy.project_checks", "trussguard.policy.file_checks")


@dataclass(frozen=True)
class PolicyHit:
    """One place where a check fires. ``secret`` is set for literal credentials (kind leak)."""

    code: str
    path: str
    line: int
    column: int | None
    message: str  # what is wrong at this spot
    fix: str  # the exact Truss remedy for this spot
    secret: str | None = None
    severity: Severity | None = None  # overrides the check's default (e.g. a shaped credential)
    # the SHA-256 of a value this check judged unable to grant access (`foo: "foo"` under `secrets:`): a
    # generic rule's or plugin's leak finding of exactly that value at this place is dropped (no advisory)
    not_secret_sha256: str | None = field(default=None, repr=False, compare=False)
    cell: CellPlace | None = None  # a hit in a notebook's code cell: the cell and line within it (``line`` is the file's)


@dataclass(frozen=True)
class Check:
    code: str  # stable, e.g. TG101; used by inline allows and baselines
    name: str  # kebab-case, names the bad pattern: "secret-value-in-config"
    severity: Severity
    kind: str  # "leak" (carries a value) or "policy" (structure, no value)
    scope: str  # "config" (one config.yaml), "code" (one Python file), "project" (a whole Truss)
    func: Callable
    spec: str  # the TRUSS_SECRETS.md catalogue entry it implements, e.g. "C1"

    @property
    def summary(self) -> str:
        return explanation_sections(self)["What it finds"].split("\n\n")[0]

    @property
    def explanation(self) -> str:
        return inspect.cleandoc(self.func.__doc__ or "")


_REGISTRY: dict[str, Check] = {}


def check(code: str, name: str, severity: Severity, kind: str, scope: str, spec: str):
    """Registers the decorated function as a check."""

    def register(func: Callable) -> Callable:
        if not _CODE.match(code) or code in _REGISTRY:
            raise ValueError(f"bad or duplicate check code {code}")
        if kind not in KINDS or scope not in SCOPES:
            raise ValueError(f"{code}: kind must be one of {KINDS}, scope one of {SCOPES}")
        registered = Check(code, name, severity, kind, scope, func, spec)
        missing = [s for s in SECTIONS if s not in explanation_sections(registered)]
        if missing:
            raise ValueError(f"{code}: docstring lacks the sections {missing}")
        _REGISTRY[code] = registered
        return func

    return register


def explanation_sections(c: Check) -> dict[str, str]:
    """The docstring split into its ``## Section`` parts."""
    out: dict[str, str] = {}
    current = None
    for line in c.explanation.splitlines():
        heading = line.strip().lstrip("#").strip()
        if line.lstrip().startswith("##") and heading in SECTIONS:
            current = heading
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return {k: v.strip() for k, v in out.items()}


@functools.lru_cache(maxsize=None)
def _checks(scope: str | None) -> tuple[Check, ...]:
    for module in CHECK_MODULES:
        importlib.import_module(module)
    return tuple(sorted((c for c in _REGISTRY.values() if scope is None or c.scope == scope), key=lambda c: c.code))


def iter_checks(scope: str | None = None) -> list[Check]:
    """The registered checks (of one scope), by code. Cached: the audit asks once per blob path,
    and after the check modules are imported the registry no longer changes."""
    return list(_checks(scope))


def get_check(code: str) -> Check | None:
    iter_checks()
    return _REGISTRY.get(code.upper())
