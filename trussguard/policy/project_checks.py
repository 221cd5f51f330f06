"""Checks over a whole Truss: its config.yaml, its code and its files together."""

from __future__ import annotations

import posixpath
import re
from typing import Iterator

from trussguard.engine.schema import SECRET_NAME
from trussguard.policy import yaml_nodes
from trussguard.policy.config_values import CHAINS_DUMMY, looks_random
from trussguard.policy.context import ProjectContext
from trussguard.policy.python_facts import imports_chains
from trussguard.policy.registry import PolicyHit, check
from trussguard.policy.secrets_analysis import analysed
from trussguard.policy.secrets_holders import CHAIN_API_KEY
from trussguard.types import Severity

HF_DEFAULT = "hf_access_token"  # default runtime_secret_name of model_cache and trt_llm checkpoints
REGISTRY_PREFIX = "DOCKER_REGISTRY_"  # registry access-token secrets, used by the platform at build time
AWS_IAM_DEFAULTS = {"aws_access_key_id_secret_name": "aws_access_key_id",
                    "aws_secret_access_key_secret_name": "aws_secret_access_key"}


@check("TG207", "undeclared-secret-read", Severity.HIGH, kind="policy", scope="project", spec="P7")
def undeclared_secret_read(ctx: ProjectContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    Model code that reads a name from the secrets mapping (`self._secrets["hf_token"]`, `.get(...)`,
    `in`) that config.yaml does not declare under `secrets:`, or reads it with a key that is not a
    literal, so the name cannot be checked. Reads guarded by `if self._secrets and ...` in a Truss that
    declares no secret, or by a `_base_secrets` test of that name (`"x" in s._base_secrets`, its `.keys()`,
    `s._base_secrets.get("x")`, also as `not in` with an early `return`), are skipped (they never run
    undeclared); a read guarded by a test of the same name on the mapping (`if "x" in self._secrets`,
    `if self._secrets.get("x")`) is reported once, on the test (which raises first on Baseten); Chains reads
    of `context.secrets` are skipped too (TG211 checks those against `secret_keys`). The mapping is followed
    within a file: locals and attributes holding it, objects it is handed to (a settings dataclass or
    pydantic-style class, a client wrapper), properties and functions returning it, `getattr(self, "_secrets")`
    and `**kwargs`; a helper that reads it with its parameter (`def _secret(self, name): return
    self._secrets[name]`) is reported at each call, by the literal name passed (`self._secret("openai_api_key")`).

    Also, at medium severity, a `runtime_secret_name` that config.yaml sets explicitly (`model_cache`,
    `trt_llm.build.checkpoint_repository`) to a name it does not declare. An entry without the key (a public
    repository, or one relying on the `hf_access_token` default) is not reported.

    ## Why it matters
    On Baseten the mapping raises `SecretNotFound` for any name that is not declared, usually in
    `load()`, so the deployment never becomes ready. Locally the mapping is a plain dict and the same
    code may seem to work, which hides the bug until deploy. The weights of a `model_cache` entry are
    downloaded with the file `/secrets/<runtime_secret_name>`; nothing guarantees the platform mounts it
    for a name `secrets:` does not declare, and without it a gated repository fails to download.

    ## Example
    ```yaml
    secrets:
      hf_token: null
    ```
    ```python
    self._secrets["hf_access_token"]   # declared as hf_token
    ```

    ## Use instead
    Declare every name the code reads, with the exact spelling:
    ```yaml
    secrets:
      hf_access_token: null
    ```
    """
    declared = ctx.truss.declared
    for path, tree in sorted(ctx.code.items()):
        chains = b"truss_chains" in ctx.texts.get(path, b"truss_chains") and imports_chains(tree)
        seen = set()
        for read in analysed(tree, ctx.texts.get(path)).reads:
            if read.how in ("iterate", "private") or read.followed \
                    or (chains and (read.via == "context" or read.name == CHAIN_API_KEY)):
                continue
            if (read.line, read.column, read.name) in seen:
                continue
            seen.add((read.line, read.column, read.name))
            if read.guard in ("private", "tested") or (read.guard == "truthy" and not declared):
                continue
            through = f" through `{read.through}()`" if read.through else ""
            if read.name is None:
                yield PolicyHit("TG207", path, read.line, read.column,
                                f"reads the secrets mapping{through} with a key that is not a literal, so it cannot be "
                                f"checked",
                                "read each secret with a literal name declared under `secrets:` in config.yaml")
            elif read.name not in declared:
                near = ctx.truss.secret_name(read.name)  # `hf_token` declared, `hf_access_token` read: a misspelling
                fix = (f"rename `{near}` to `{read.name}` under `secrets:` in {ctx.truss.config_path} (the code reads "
                       f"`{read.name}`), or read `{near}` here; the workspace secret must be named the same"
                       if near != read.name else
                       f"declare `{read.name}: null` under `secrets:` in {ctx.truss.config_path} and create "
                       f"the workspace secret `{read.name}` in Baseten")
                yield PolicyHit("TG207", path, read.line, read.column,
                                f"reads the secret `{read.name}`{through}, which config.yaml does not declare", fix)
    yield from _undeclared_runtime_secret_names(ctx)


def _runtime_secret_names(doc) -> Iterator[tuple[str, yaml_nodes.Scalar]]:
    """(field, value) of every `runtime_secret_name` config.yaml sets explicitly (an absent key is not listed)."""
    get = yaml_nodes.get
    for key in ("model_cache", "hf_cache"):
        for i, entry in enumerate(yaml_nodes.elements(get(doc, key))):
            yield f"{key}[{i}].runtime_secret_name", yaml_nodes.scalar(get(entry, "runtime_secret_name"))
    build = get(doc, "trt_llm", "build")
    for label in (("checkpoint_repository",), ("speculator", "checkpoint_repository")):
        yield (f"trt_llm.build.{'.'.join(label)}.runtime_secret_name",
               yaml_nodes.scalar(get(build, *label, "runtime_secret_name")))


def _undeclared_runtime_secret_names(ctx: ProjectContext) -> Iterator[PolicyHit]:
    """Explicit `runtime_secret_name`s that `secrets:` does not declare. Medium: truss-transfer also falls back
    to `HF_TOKEN`, and a public repository downloads without any token."""
    for label, value in _runtime_secret_names(ctx.truss.doc):
        name = value.value if value is not None else None
        if not name or name in ctx.truss.declared or not SECRET_NAME.match(name) or looks_random(name):
            continue  # absent, declared, or a credential pasted into the NAME field (TG111)
        near = ctx.truss.secret_name(name)
        fix = (f"set `runtime_secret_name: {near}` (the name declared under `secrets:`), or declare `{name}: null`"
               if near != name else
               f"declare `{name}: null` under `secrets:` in {posixpath.basename(ctx.truss.config_path)} and create the "
               f"workspace secret `{name}` in Baseten, or drop `runtime_secret_name` if the repository is public")
        yield PolicyHit("TG207", ctx.truss.config_path, value.line, value.column,
                        f"`{label}` names the secret `{name}`, which config.yaml does not declare", fix,
                        severity=Severity.MEDIUM)


def _read_hint(ctx: ProjectContext, name: str) -> str:
    """`self._secrets["NAME"]` in `load()`; `$(cat /secrets/NAME)` in the start command of a `docker_server:`
    Truss without a model class (its server never sees the secrets mapping)."""
    model = ctx.truss.join(ctx.truss.model_module_dir, ctx.truss.model_class_filename)
    if ctx.truss.custom_server and model not in ctx.code:
        return ctx.truss.read_hint(name)
    return f"`self._secrets[\"{name}\"]` in `load()`"


def _text(node) -> str | None:
    found = yaml_nodes.scalar(node)
    return found.value if found is not None else None


def _platform_names(doc) -> set[str]:
    """Names config.yaml itself makes the platform use (TRUSS_SECRETS.md 1.2): NAME fields and their defaults."""
    get = yaml_nodes.get
    names = {CHAIN_API_KEY}
    for key in ("model_cache", "hf_cache"):
        for entry in yaml_nodes.elements(get(doc, key)):
            names.add(_text(get(entry, "runtime_secret_name")) or HF_DEFAULT)
    build = get(doc, "trt_llm", "build")
    for repo in (get(build, "checkpoint_repository"), get(build, "speculator", "checkpoint_repository")):
        if repo is not None:
            names.add(_text(get(repo, "runtime_secret_name")) or HF_DEFAULT)
    for entry in yaml_nodes.elements(get(doc, "weights")):
        names.update(n for n in (_text(get(entry, "auth_secret_name")), _text(get(entry, "auth", "auth_secret_name")))
                     if n)
    auth = get(doc, "base_image", "docker_auth")
    if auth is not None:
        names.add(_text(get(auth, "secret_name")))
        aws = (_text(get(auth, "auth_method")) or "").upper() == "AWS_IAM"
        for field, default in AWS_IAM_DEFAULTS.items():
            names.add(_text(get(auth, field)) or (default if aws else None))
    names.update(k for k, _, _ in yaml_nodes.items(get(doc, "build", "secret_to_path_mapping")))
    return names - {None}


def _mounted_names(ctx: ProjectContext) -> set[str]:
    """Names read as ``/secrets/NAME`` by the start command, build commands, and shell or Python files."""
    doc = ctx.truss.doc
    commands = [s.value for node in (yaml_nodes.get(doc, "docker_server", "start_command"),
                                     yaml_nodes.get(doc, "build_commands"))
                for _, s in yaml_nodes.walk_scalars(node) if s.value]
    commands += [data.decode("utf-8", "replace") for path, data in ctx.texts.items()
                 if path != ctx.truss.config_path and path.endswith((".py", ".sh"))]
    return {m.group(1) for text in commands for m in re.finditer(r"/secrets/([-._a-zA-Z0-9]+)", text)}


def _code_names(ctx: ProjectContext) -> set[str] | None:
    """Literal names the code reads; None when some read uses a computed key (any declared name may be it)."""
    names: set[str] = set()
    for path, tree in ctx.code.items():
        for read in analysed(tree, ctx.texts.get(path)).reads:
            if read.name is None and read.how in ("subscript", "get", "in") and not read.followed:
                return None
            names.add(read.name)
    unparsed = [p for p in ctx.texts if p.endswith(".py") and p not in ctx.code and p not in ctx.quiet]
    for path in unparsed:  # code that did not parse: any quoted use of the name counts
        text = ctx.texts[path].decode("utf-8", "replace")
        names.update(n for n in ctx.truss.declared if f'"{n}"' in text or f"'{n}'" in text)
    return names


@check("TG208", "unused-declared-secret", Severity.LOW, kind="policy", scope="project", spec="P8")
def unused_declared_secret(ctx: ProjectContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A name declared under `secrets:` in config.yaml that nothing uses: the model code never reads it,
    no `/secrets/NAME` appears in `docker_server.start_command`, `build_commands` or the shell and Python
    files of the Truss, and no platform feature uses it implicitly (`hf_access_token` for `model_cache` and
    `trt_llm` checkpoints, `runtime_secret_name`, `auth_secret_name`, `docker_auth` secret names and their
    AWS defaults, `build.secret_to_path_mapping`, `baseten_chain_api_key`, `DOCKER_REGISTRY_*`). Names
    holding the Chains placeholder `"***"` belong to a generated chainlet config and are skipped.

    ## Why it matters
    Each declared name is resolved for the deployment and must exist in the workspace; a stale one hides
    which credentials the model really needs, and is often a misspelling of the name the code reads.

    ## Example
    ```yaml
    secrets:
      hf_access_token: null
      wandb_api_key: null   # read nowhere
    ```

    ## Use instead
    Declare only the names the model reads:
    ```yaml
    secrets:
      hf_access_token: null
    ```
    """
    declared = ctx.truss.declared
    if not declared:
        return
    code = _code_names(ctx)
    if code is None:
        return
    used = code | _mounted_names(ctx) | _platform_names(ctx.truss.doc)
    for name, d in declared.items():
        if name in used or name.startswith(REGISTRY_PREFIX) or (d.value is not None and d.value.value == CHAINS_DUMMY):
            continue  # "***": declared by Chains from a chainlet's secret_keys, read by chainlet code elsewhere
        yield PolicyHit("TG208", ctx.truss.config_path, d.line, d.column,
                        f"`secrets.{name}` is declared but nothing in this Truss reads it",
                        f"remove `{name}` from `secrets:` in {posixpath.basename(ctx.truss.config_path)} if the model "
                        f"no longer needs it, or read it with {_read_hint(ctx, name)}")
