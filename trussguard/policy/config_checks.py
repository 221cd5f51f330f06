"""Checks on one config.yaml (TRUSS_SECRETS.md 3.1, C1-C9): values that must never be literal."""

from __future__ import annotations

import posixpath
import re
import urllib.parse
from dataclasses import dataclass
from typing import Iterator

import yaml

from trussguard.engine.heuristics import identifier_words, is_code_like, is_placeholder, is_secret_name, \
    shannon_entropy
from trussguard.engine.schema import SECRET_NAME
from trussguard.policy import yaml_nodes
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.policy.yaml_nodes import Scalar
from trussguard.types import Match, Severity


CHAINS_DUMMY = "***"  # Chains writes it for every declared secret: legitimate in generated configs


def _declarations(ctx: ConfigContext):
    if ctx.kind != "truss" or ctx.truss is None:
        return []
    return [d for d in ctx.truss.declared.values() if d.value is not None and not d.value.is_null]


@check("TG101", "secret-value-in-config", Severity.HIGH, kind="leak", scope="config", spec="C1")
def secret_value_in_config(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A value, rather than `null`, under `secrets:` in config.yaml: `hf_access_token: hf_...`.

    ## Why it matters
    Truss never inspects secret values. The whole config.yaml is uploaded on `truss push` and stays
    downloadable; the value becomes the lowest-priority runtime default of the secret (so it "works"
    whenever the workspace secret is missing), and for `hf_access_token` with a legacy model cache it is
    written into the generated Dockerfile. Anyone with the repository or the deployment has the key.

    ## Example
    ```yaml
    secrets:
      hf_access_token: hf_...   # the real token
    ```

    ## Use instead
    Store the value as a Baseten workspace secret with the same name and declare only the name:
    ```yaml
    secrets:
      hf_access_token: null
    ```
    """
    for d in _declarations(ctx):
        if _not_a_credential(ctx, d.name, d.value.value) is not None:
            continue  # TG102: a runtime bug, not a leak
        secret, severity = ctx.leak(d.value.value, Severity.HIGH)
        yield PolicyHit(
            "TG101", ctx.path, d.value.line, d.value.column,
            f"`secrets.{d.name}` holds a value in config.yaml",
            f"revoke this value, store a new one as the Baseten workspace secret `{d.name}` and declare "
            f"`{d.name}: null` under `secrets:` in config.yaml",
            secret=secret, severity=severity)


@check("TG102", "placeholder-in-secrets", Severity.MEDIUM, kind="policy", scope="config", spec="C1")
def placeholder_in_secrets(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A placeholder string under `secrets:` instead of `null`: `"ENTER HF ACCESS TOKEN HERE"`,
    `"set token in baseten workspace"`, `""`, or the strings `"null"` / `"None"`; likewise any value that
    could not grant access: a short word (`foo: "foo"`), an identifier such as a variable name
    (`baseten_api_key: BASETEN_API_KEY`) or the key itself. A credential-looking value is TG101.

    ## Why it matters
    The config value is the runtime default of the secret. When the workspace secret is missing, the
    model receives the placeholder text as its token (a string "null" is not null), and fails later with
    a confusing authentication error instead of a clear "secret not found".

    ## Example
    ```yaml
    secrets:
      hf_access_token: "ENTER HF ACCESS TOKEN HERE"
    ```

    ## Use instead
    ```yaml
    secrets:
      hf_access_token: null
    ```
    and create the workspace secret `hf_access_token` in the Baseten settings.
    """
    for d in _declarations(ctx):
        reason = _not_a_credential(ctx, d.name, d.value.value)
        if reason is None or d.value.value == CHAINS_DUMMY:
            continue
        what = f"the placeholder {d.value.value!r}" if reason == "placeholder" else f"a value that is {reason}"
        yield PolicyHit(
            "TG102", ctx.path, d.value.line, d.value.column,
            f"`secrets.{d.name}` holds {what} instead of null (the model would receive it as the secret)",
            f"write `{d.name}: null` under `secrets:` and create the workspace secret `{d.name}` in Baseten",
            not_secret=d.value.value)


_ENV_STYLE = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:[_.-][A-Za-z][A-Za-z0-9]*)+$")  # BASETEN_API_KEY, hf_token
_SHORT_WORD = re.compile(r"^[A-Za-z]{1,8}$")  # foo, hunter


def _not_a_credential(ctx: ConfigContext, name: str, value: str) -> str | None:
    """Why a value under `secrets:` could not grant access, or None when it could (a leak, TG101).

    A placeholder, a short word, an identifier (a variable NAME such as `BASETEN_API_KEY`, pasted where the
    value was meant to be set in Baseten) or the key itself is not a credential: reporting it as a leak with a
    rotation advisory would be noise. It is still a runtime bug (the config value is the secret's runtime
    default), so TG102 reports it. Anything a specific credential rule recognises stays a leak."""
    v = value.strip().strip("'\"")
    if is_placeholder(v):
        return "placeholder"
    m = ctx.credential_in(v)
    if m is not None and not ctx.detector.rules[m.rule_id].generic:
        return None
    if re.sub(r"[^a-z0-9]", "", v.lower()) == re.sub(r"[^a-z0-9]", "", name.lower()):
        return "the secret's own name"
    if _ENV_STYLE.match(v) and not any(_looks_random(part) for part in re.split(r"[_.-]", v)):
        return "an identifier (a variable or secret NAME), not a credential"
    if _SHORT_WORD.match(v):
        return "a short word, not a credential"
    return None



# --- shared helpers for TG103-TG115 -------------------------------------------------------------------

REGISTRY_PREFIX = "DOCKER_REGISTRY_"  # exempt from the name regex (constants.REGISTRY_BUILD_SECRET_PREFIX)
_RUNTIME_MOUNT = re.compile(r"(?<![\w./-])/secrets/([-_a-zA-Z0-9]+(?:\.[-_a-zA-Z0-9]+)*)")
_VALUE = r"""("[^"\n]*"|'[^'\n]*'|[^\s"';&|)]+)"""
# NAME=value (shell assignment or env prefix); a preceding `-`, `.` or `/` makes it a flag or a path.
_ASSIGN = re.compile(r"(?<![\w$./-])([A-Za-z_][A-Za-z0-9_]*)=" + _VALUE)
# --token VALUE, --api-key=VALUE, -p VALUE
_FLAG = re.compile(r"(?<![\w-])--?([A-Za-z][\w-]*)(?:=|[ \t]+)" + _VALUE)
# Authorization: Bearer VALUE (also x-api-key / Api-Key / Private-Token headers)
_HEADER = re.compile(r"(?i)(?<![\w-])(authorization|x-api-key|api-key|private-token)\s*:\s*"
                     r"(?:(?:bearer|basic|token|api-key|apikey|bot)\s+)?([^\s\"'\\;]+)")


def _is_truss(ctx: ConfigContext) -> bool:
    return ctx.kind == "truss" and ctx.doc is not None


def _rule_matches(ctx: ConfigContext, text: str, node: yaml.Node | None = None,
                  line: int | None = None) -> list[Match]:
    """Every credential-rule match inside one value (ctx.credential_in keeps only the best one), plus the
    file's own matches inside the node or on the line (rules that need the key as context, detect-secrets).
    For a line of a whole file (``line`` given) the file's matches are used as they are, without a rescan."""
    found = ctx.detector.matcher.scan(text.encode("utf-8", "replace")) if line is None else []
    secrets = {m.secret for m in found}
    if node is not None:  # only the matches of the node's lines can lie inside it
        nearby = ctx.index.on_lines(node.start_mark.line + 1, node.end_mark.line + 1)
    else:
        nearby = ctx.index.on_lines(line, line) if line is not None else []
    for m in nearby:
        inside = yaml_nodes.contains(node, m.line, m.column) if node is not None else m.line == line
        if inside and m.secret not in secrets and (m.secret in text or m.decoded):
            found.append(m)
            secrets.add(m.secret)
    return [m for m in found if not _not_literal(ctx, m, text)]


def _not_literal(ctx: ConfigContext, m: Match, text: str) -> bool:
    """A generic rule (or detect-secrets) firing on `$(cat ...)`, `$VAR`, a placeholder or an identifier
    (`runtime_secret_name: hf_access_token`): not a literal credential, so no check claims it."""
    if not ctx.detector.rules[m.rule_id].generic:
        return False
    secret = m.secret
    at = text.find(secret)
    before = text[:at].rstrip("\"'") if at >= 0 else ""
    return secret.lstrip("\"'")[:1] in ("$", "`", "(") or before.endswith(("`", "$(", "${", "$")) \
        or "/secrets/" in secret or is_placeholder(secret) or is_code_like(secret) or is_path(secret)


_ROOTED = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|~?/|\.\.?/)", re.IGNORECASE)
_PATH = re.compile(r"^[\w.~+-]*(?:/[\w.~+-]*)+$")  # no userinfo (`user:pass@`), query or spaces


def is_path(value: str) -> bool:
    """A rooted path or URI (`/models/Qwen3-235B-A22B-Instruct`, `./data`, `gs://bucket/dir`) whose
    segments read as names: a location, not a credential, however mixed its case (detect-secrets' base64
    plugin sees one 40-character word). A segment with a random-looking run (a token in a path) keeps it
    a candidate, and so does an unrooted `a/b/c`, which is what a base64 key with slashes looks like."""
    v = value.strip().strip("'\"")
    if not _ROOTED.match(v) or not _PATH.match(v.split("://", 1)[-1]):
        return False
    return not any(_looks_random(segment) for segment in v.split("/"))


def _leak_of(ctx: ConfigContext, m: Match) -> tuple[str, Severity]:
    """``ctx.leak`` for one rule match inside a longer value: a specific rule's token is critical and is
    the secret; a generic rule's secret goes through ``ctx.leak`` (high, or critical if a specific rule
    recognises it)."""
    if not ctx.detector.rules[m.rule_id].generic:
        return m.secret, Severity.CRITICAL
    return ctx.leak(m.secret, Severity.HIGH)


def _rule_label(ctx: ConfigContext, m: Match) -> str:
    return ctx.detector.rules[m.rule_id].name


def _rule_secret_name(ctx: ConfigContext, m: Match, fallback: str) -> str:
    rotation = ctx.detector.rules[m.rule_id].rotation
    return rotation.truss_secret_name if rotation and rotation.truss_secret_name else fallback


def _literal(value: str, min_len: int = 6) -> str | None:
    """The value when it is a literal that can be a credential: not a placeholder, a variable, a command
    substitution, a path, an identifier, a number or a boolean."""
    v = value.strip().strip("'\"")
    if len(v) < min_len or v[0] in "$`%<{-" or v.isdigit() or is_placeholder(v) or is_code_like(v):
        return None
    return v


def _looks_random(value: str) -> bool:
    """A run of 20+ letters and digits with both kinds and high entropy: a token, not an identifier."""
    run = max(re.findall(r"[A-Za-z0-9]+", value) or [""], key=len)
    return len(run) >= 20 and any(c.isdigit() for c in run) and any(c.isalpha() for c in run) \
        and shannon_entropy(run) >= 3.5


def _env_name(name: str) -> str:
    """The workspace-secret name suggested for a variable or flag: ``HF_TOKEN`` -> ``hf_token``."""
    return re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_") or "api_key"


def _name_for(ctx: ConfigContext, suggested: str) -> str:
    """The workspace secret a fix names: the one this Truss already declares for the same credential."""
    return ctx.truss.secret_name(suggested) if ctx.truss is not None else suggested


def _read(ctx: ConfigContext, name: str, variable: str | None = None) -> str:
    """How the Truss reads the secret: `self._secrets[...]` in model code, `$(cat /secrets/NAME)` for a
    `docker_server:` Truss (it has no model class)."""
    if ctx.truss is None:
        return f"`self._secrets[\"{name}\"]`"
    return ctx.truss.read_hint(name, variable)


@dataclass(frozen=True)
class _Inline:
    secret: str
    severity: Severity
    what: str  # "GitHub personal access token", "the literal value of `HF_TOKEN=`"
    name: str  # the workspace secret to create for it
    variable: str | None = None  # NAME of `NAME=literal`, to show the compliant assignment


def _inline_credentials(ctx: ConfigContext, text: str, node: yaml.Node | None = None,
                        line: int | None = None) -> list[_Inline]:
    """Literal credentials inside a shell command or a requirement line: every credential-rule match
    (URL userinfo included), then `NAME=literal` with a secret-looking NAME, `--token literal` style
    flags and `Authorization:` header literals."""
    found: list[_Inline] = []
    assigned = {m.group(2).strip("'\""): m.group(1) for m in _ASSIGN.finditer(text)}
    for m in _rule_matches(ctx, text, node, line):
        secret, severity = _leak_of(ctx, m)
        variable = next((var for value, var in assigned.items() if secret in value), None)
        name = _rule_secret_name(ctx, m, "api_key")
        if variable and ctx.detector.rules[m.rule_id].generic:
            name = _env_name(variable)  # NPM_TOKEN=... is better named npm_token than service_api_key
        found.append(_Inline(secret, severity, _rule_label(ctx, m), _name_for(ctx, name), variable))
    candidates: list[tuple[str, str, str, str | None]] = []
    for m in _ASSIGN.finditer(text):
        if is_secret_name(m.group(1)):
            candidates.append((m.group(2), f"the literal value of `{m.group(1)}=`", _env_name(m.group(1)),
                               m.group(1)))
    for m in _FLAG.finditer(text):
        if is_secret_name(m.group(1)):
            name = "hf_access_token" if re.search(r"huggingface|\bhf\b", text, re.I) else _env_name(m.group(1))
            candidates.append((m.group(2), f"the literal argument of `--{m.group(1).lstrip('-')}`", name, None))
    for m in _HEADER.finditer(text):
        candidates.append((m.group(2), f"the literal `{m.group(1)}:` header", "api_key", None))
    for raw, what, name, variable in candidates:
        value = _literal(raw)
        if value is None or any(value in f.secret or f.secret in value for f in found):
            continue
        secret, severity = ctx.leak(value, Severity.HIGH)
        found.append(_Inline(secret, severity, what, _name_for(ctx, name), variable))
    return found


def _place(ctx: ConfigContext, node: yaml.Node, needle: str, lines: list[str] | None = None) -> tuple[int, int]:
    return yaml_nodes.locate(lines if lines is not None else yaml_nodes.source_lines(ctx.data), node, needle)


def _declared(ctx: ConfigContext, name: str) -> bool:
    return ctx.truss is not None and name in ctx.truss.declared


def _build_mapping(ctx: ConfigContext) -> dict[str, str]:
    """``build.secret_to_path_mapping``: name -> mounted path."""
    out = {}
    for name, _, value in yaml_nodes.items(yaml_nodes.get(ctx.doc, "build", "secret_to_path_mapping")):
        sc = yaml_nodes.scalar(value)
        out[name] = sc.value if sc is not None and sc.value else ""
    return out


def _string_items(node: yaml.Node | None, label: str) -> Iterator[tuple[str, yaml.ScalarNode, str]]:
    """(label[i], node, text) of the string elements of a sequence."""
    for i, item in enumerate(yaml_nodes.elements(node)):
        sc = yaml_nodes.scalar(item)
        if sc is not None and sc.value:
            yield f"{label}[{i}]", item, sc.value


# --- C2: environment_variables ---------------------------------------------------------------------------

def _env_items(ctx: ConfigContext) -> Iterator[tuple[str, yaml.Node, yaml.Node, Scalar]]:
    if not _is_truss(ctx):
        return
    for key, key_node, value in yaml_nodes.items(yaml_nodes.get(ctx.doc, "environment_variables")):
        sc = yaml_nodes.scalar(value)
        if sc is not None:
            yield key, key_node, value, sc


def _is_bool_or_number(node: yaml.Node) -> bool:
    return node.tag in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


@check("TG103", "secret-in-environment-variables", Severity.HIGH, kind="leak", scope="config", spec="C2")
def secret_in_environment_variables(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A literal secret under `environment_variables:` in config.yaml: a secret-looking variable
    (`HF_TOKEN`, `OPENAI_API_KEY`, `AWS_SECRET_ACCESS_KEY`) set to a value that is not a placeholder, or
    a credential recognised by a rule (an API key, a URL with a password) under any variable.

    ## Why it matters
    Environment variables are plain configuration: Truss uploads them with the config, stores and shows
    them in plaintext on the deployment, and the field's own description says not to store secret values
    there. Unlike `secrets:`, nothing resolves them from the workspace secret store.

    ## Example
    ```yaml
    environment_variables:
      OPENAI_API_KEY: sk-proj-...
    ```

    ## Use instead
    Create the workspace secret `openai_api_key` in Baseten, declare it and read it through the secrets
    mapping (or in a start command with `$(cat /secrets/openai_api_key)`):
    ```yaml
    secrets:
      openai_api_key: null
    ```
    """
    lines = yaml_nodes.source_lines(ctx.data)
    for key, key_node, node, sc in _env_items(ctx):
        if sc.is_null:
            continue
        name = _name_for(ctx, _env_name(key))
        declare = "" if _declared(ctx, name) else f"declare `{name}: null` under `secrets:` and "
        fix = (f"revoke this value, store a new one as the Baseten workspace secret `{name}`, remove `{key}` "
               f"from `environment_variables:`, {declare}read it with {_read(ctx, name, key)}")
        matches = _rule_matches(ctx, sc.value, node)
        if matches:
            for m in matches:
                secret, severity = _leak_of(ctx, m)
                line, column = _place(ctx, node, secret, lines)
                yield PolicyHit("TG103", ctx.path, line, column,
                                f"{_rule_label(ctx, m)} in `environment_variables.{key}`", fix,
                                secret=secret, severity=severity)
        elif is_secret_name(key) and not _is_bool_or_number(node) and _literal(sc.value, 4) is not None:
            secret, severity = ctx.leak(sc.value, Severity.HIGH)
            line, column = _place(ctx, node, secret, lines)
            yield PolicyHit("TG103", ctx.path, line, column,
                            f"`environment_variables.{key}` holds a literal secret value", fix,
                            secret=secret, severity=severity)


def _declaration_like(value: str) -> bool:
    """An empty value, the strings "None"/"null", or a fill-in-here text: a declaration, not a setting.
    (`OPENAI_API_KEY: EMPTY` for a local OpenAI-compatible server is a deliberate setting.)"""
    v = value.strip()
    return v.lower() in ("", "none", "null", "~") or (
        is_placeholder(v) and bool(re.search(r"\s|here|your|enter|insert|<", v, re.IGNORECASE)))


@check("TG104", "secret-declared-in-environment-variables", Severity.MEDIUM, kind="policy", scope="config",
       spec="C2")
def secret_declared_in_environment_variables(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A secret-looking variable under `environment_variables:` with a null, empty or placeholder value
    (`hf_access_token: null`, `HF_TOKEN: ""`): an attempt to declare a secret in the wrong place.

    ## Why it matters
    `environment_variables` declares nothing: Truss coerces the value with `str()`, so `null` becomes
    the string `"None"` and the variable is set to it at runtime. The secret the model needs is never
    declared, so the secrets mapping raises `SecretNotFound` and libraries that read the variable send
    `"None"` as their token.

    ## Example
    ```yaml
    environment_variables:
      hf_access_token: null
    ```

    ## Use instead
    ```yaml
    secrets:
      hf_access_token: null
    ```
    and read it with `self._secrets["hf_access_token"]`, or with
    `HF_TOKEN=$(cat /secrets/hf_access_token)` in a `docker_server.start_command`.
    """
    for key, key_node, node, sc in _env_items(ctx):
        if not is_secret_name(key) or _is_bool_or_number(node):
            continue
        if not (sc.is_null or _declaration_like(sc.value)):
            continue
        name = _name_for(ctx, _env_name(key))
        shown = "null" if sc.is_null else repr(sc.value)
        sets = 'the string "None"' if sc.is_null else "an empty string" if not sc.value else f"the text {sc.value!r}"
        mark = key_node.start_mark
        if _declared(ctx, name) or _declared(ctx, key):
            declared = name if _declared(ctx, name) else key
            fix = (f"delete `{key}` from `environment_variables:` (`{declared}` is already declared under "
                   f"`secrets:`) and read it with {_read(ctx, declared, key)}")
        else:
            fix = (f"delete `{key}` from `environment_variables:`, declare `{name}: null` under `secrets:` and "
                   f"create the workspace secret `{name}` in Baseten; read it with {_read(ctx, name, key)}")
        yield PolicyHit("TG104", ctx.path, mark.line + 1, mark.column + 1,
                        f"`environment_variables.{key}` is {shown}: this declares no secret, Truss sets the "
                        f"variable to {sets}", fix)


# --- C3: docker_server.start_command --------------------------------------------------------------------

def _start_command(ctx: ConfigContext) -> tuple[yaml.Node, str] | None:
    if not _is_truss(ctx):
        return None
    node = yaml_nodes.get(ctx.doc, "docker_server", "start_command")
    sc = yaml_nodes.scalar(node)
    return (node, sc.value) if sc is not None and sc.value else None


@check("TG105", "credential-in-start-command", Severity.HIGH, kind="leak", scope="config", spec="C3")
def credential_in_start_command(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A literal credential in `docker_server.start_command`: a recognised key, `HF_TOKEN=<literal>`,
    `--api-key <literal>` or an `Authorization:` header with a literal value.

    ## Why it matters
    The start command is part of config.yaml: it is uploaded with the Truss, stored with the deployment
    and runs as the container command, where it shows up in process listings. The approved way to pass a
    secret to a custom server is to read the file Baseten mounts for each declared secret.

    ## Example
    ```yaml
    docker_server:
      start_command: sh -c "HF_TOKEN=hf_... vllm serve meta-llama/Llama-3.1-8B-Instruct"
    ```

    ## Use instead
    ```yaml
    secrets:
      hf_access_token: null
    docker_server:
      start_command: sh -c "HF_TOKEN=$(cat /secrets/hf_access_token) vllm serve meta-llama/Llama-3.1-8B-Instruct"
    ```
    """
    found = _start_command(ctx)
    if found is None:
        return
    node, command = found
    lines = yaml_nodes.source_lines(ctx.data)
    for c in _inline_credentials(ctx, command, node):
        line, column = _place(ctx, node, c.secret, lines)
        written = f"{c.variable}=$(cat /secrets/{c.name})" if c.variable else f"$(cat /secrets/{c.name})"
        yield PolicyHit(
            "TG105", ctx.path, line, column, f"{c.what} in `docker_server.start_command`",
            f"revoke it, store a new one as the Baseten workspace secret `{c.name}`, declare `{c.name}: null` "
            f"under `secrets:` and write `{written}` in place of the literal",
            secret=c.secret, severity=c.severity)


@check("TG106", "undeclared-secret-in-start-command", Severity.MEDIUM, kind="policy", scope="config", spec="C3")
def undeclared_secret_in_start_command(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    `docker_server.start_command` reads `/secrets/<NAME>` but config.yaml does not declare `NAME` under
    `secrets:`, or uses a secret-looking environment variable (`$HF_TOKEN`, `${OPENAI_API_KEY}`) that
    nothing sets: not `environment_variables:`, not an assignment earlier in the command
    (`HF_TOKEN=$(cat /secrets/hf_access_token)`, `export ...=`, `read`), not a sourced file.

    ## Why it matters
    Baseten mounts declared secrets at `/secrets/<NAME>`; whether an undeclared one is mounted is
    platform behaviour nothing in the Truss guarantees. If it is not, `$(cat ...)` silently yields an empty
    token and the server fails later with an authentication error. The declaration is also the only record
    of which workspace secrets the deployment needs. Baseten sets no environment variable from a secret: a
    `$HF_TOKEN` that nothing assigns expands to an empty string.

    ## Example
    ```yaml
    docker_server:
      start_command: sh -c "HF_TOKEN=$(cat /secrets/hf_access_token) vllm serve ..."
    # no secrets: section
    ```

    ## Use instead
    ```yaml
    secrets:
      hf_access_token: null
    docker_server:
      start_command: sh -c "HF_TOKEN=$(cat /secrets/hf_access_token) vllm serve ..."
    ```
    """
    found = _start_command(ctx)
    if found is None:
        return
    node, command = found
    lines = yaml_nodes.source_lines(ctx.data)
    yield from _unset_variables(ctx, node, command, lines)
    seen = set()
    for m in _RUNTIME_MOUNT.finditer(command):
        name = m.group(1)
        if _declared(ctx, name) or name in seen:
            continue
        seen.add(name)
        line, column = _place(ctx, node, m.group(0), lines)
        yield PolicyHit("TG106", ctx.path, line, column,
                        f"`docker_server.start_command` reads `/secrets/{name}`, which config.yaml does not declare",
                        f"declare `{name}: null` under `secrets:` in config.yaml and create the workspace secret "
                        f"`{name}` in Baseten")


# NAME= / export NAME= / NAME+= (group 1), or `read [-r] NAME...` (group 2)
_VARIABLE_SET = re.compile(r"(?<![\w$./-])([A-Za-z_]\w*)\+?="
                           r"|\bread\s+(?:-\w+\s+)*([A-Za-z_]\w*(?:[ \t]+[A-Za-z_]\w*)*)")
# $NAME / ${NAME} / ${NAME:-default} (a `$$` is an escaped dollar)
_VARIABLE_USE = re.compile(r"(?<!\$)\$(?:\{(?P<braced>[A-Za-z_]\w*)(?:(?P<op>:?[-=?+])|\})|(?P<bare>[A-Za-z_]\w*))")
_SOURCES = re.compile(r"(?:^|[\s;&|('\"])(?:source|\.)[ \t]+[^\s;&|]")
_HF_WORDS = frozenset({"HF", "HUGGING", "HUGGINGFACE"})


def _unset_variables(ctx: ConfigContext, node: yaml.Node, command: str, lines: list[str]) -> Iterator[PolicyHit]:
    """Secret-looking `$VARS` of the start command that nothing sets before their use (TG106)."""
    if _SOURCES.search(command):
        return  # `source .env`, `. ./env.sh`: the file may set anything
    configured = {key for key, _, _, _ in _env_items(ctx)}
    set_at: dict[str, int] = {}
    for m in _VARIABLE_SET.finditer(command):
        for name in (m.group(1) or m.group(2)).split():
            set_at.setdefault(name, m.start())
    seen = set()
    for m in _VARIABLE_USE.finditer(command):
        name = m.group("braced") or m.group("bare")
        if m.group("op") and m.group("op")[-1] in "-=+":
            continue  # ${HF_TOKEN:-...}: a default, or nothing when unset
        if name in seen or name in configured or set_at.get(name, len(command)) < m.start() \
                or not is_secret_name(name):
            continue
        seen.add(name)
        suggested = "hf_access_token" if _HF_WORDS & set(identifier_words(name)) else _env_name(name)
        secret = _name_for(ctx, suggested)
        declare = "" if _declared(ctx, secret) else f" and declare `{secret}: null` under `secrets:`"
        line, column = _place(ctx, node, m.group(0), lines)
        yield PolicyHit("TG106", ctx.path, line, column,
                        f"`docker_server.start_command` uses `{m.group(0)}`, which nothing sets (neither "
                        f"`environment_variables:` nor the command): it expands to an empty string",
                        f"set it from the mounted secret before its use, `{name}=$(cat /secrets/{secret})`{declare}")


# --- C4: build_commands ----------------------------------------------------------------------------------

def _build_commands(ctx: ConfigContext) -> Iterator[tuple[str, yaml.ScalarNode, str]]:
    if _is_truss(ctx):
        yield from _string_items(yaml_nodes.get(ctx.doc, "build_commands"), "build_commands")


@check("TG107", "credential-in-build-commands", Severity.HIGH, kind="leak", scope="config", spec="C4")
def credential_in_build_commands(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A literal credential in `build_commands`: a token in a git URL (`https://x-access-token:ghp_...@`),
    `huggingface-cli login --token hf_...`, an `Authorization:` header, `TOKEN=<literal>`, or any key a
    credential rule recognises.

    ## Why it matters
    Each build command becomes a `RUN` line of the generated Dockerfile: the value lands in the
    repository, the uploaded Truss, the build logs and the image history of every deployment.

    ## Example
    ```yaml
    build_commands:
      - git clone https://x-access-token:ghp_...@github.com/acme/private-lib /opt/lib
    ```

    ## Use instead
    Mount a workspace secret into the build and read it inside the command:
    ```yaml
    build:
      secret_to_path_mapping:
        gh_token: /run/secrets/gh_token
    build_commands:
      - git clone https://x-access-token:$(cat /run/secrets/gh_token)@github.com/acme/private-lib /opt/lib
    ```
    """
    mapping = _build_mapping(ctx) if _is_truss(ctx) else {}
    lines = yaml_nodes.source_lines(ctx.data)
    for label, node, command in _build_commands(ctx):
        for c in _inline_credentials(ctx, command, node):
            line, column = _place(ctx, node, c.secret, lines)
            path = mapping.get(c.name) or f"/run/secrets/{c.name}"
            mount = "" if c.name in mapping else \
                f"map it with `build: secret_to_path_mapping: {{{c.name}: {path}}}` and "
            written = f"{c.variable}=$(cat {path})" if c.variable else f"$(cat {path})"
            yield PolicyHit(
                "TG107", ctx.path, line, column, f"{c.what} in `{label}`",
                f"revoke it, store a new one as the Baseten workspace secret `{c.name}`, {mount}write "
                f"`{written}` in place of the literal",
                secret=c.secret, severity=c.severity)


@check("TG108", "runtime-secret-read-at-build-time", Severity.MEDIUM, kind="policy", scope="config", spec="C4")
def runtime_secret_read_at_build_time(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A build command that reads the runtime secret mount (`cat /secrets/NAME`, `--token-file /secrets/NAME`)
    when no `build.secret_to_path_mapping` entry mounts a secret at that path.

    ## Why it matters
    `/secrets/` is mounted only when the model runs; during the image build the file does not exist, so
    the command reads nothing (the clone or download fails, or worse, proceeds anonymously). Build steps
    see only the secrets mapped in `build.secret_to_path_mapping`.

    ## Example
    ```yaml
    build_commands:
      - pip install --extra-index-url https://__token__:$(cat /secrets/pypi_token)@pypi.acme.dev/simple acme-kernels
    ```

    ## Use instead
    ```yaml
    build:
      secret_to_path_mapping:
        pypi_token: /run/secrets/pypi_token
    build_commands:
      - pip install --extra-index-url https://__token__:$(cat /run/secrets/pypi_token)@pypi.acme.dev/simple acme-kernels
    ```
    """
    if not _is_truss(ctx):
        return
    mapping = _build_mapping(ctx)
    mounted = {posixpath.normpath(p) for p in mapping.values() if p}
    lines = yaml_nodes.source_lines(ctx.data)
    for label, node, command in _build_commands(ctx):
        for m in _RUNTIME_MOUNT.finditer(command):
            path, name = m.group(0), m.group(1)
            if any(path == p or path.startswith(p.rstrip("/") + "/") for p in mounted):
                continue
            line, column = _place(ctx, node, path, lines)
            if name in mapping and mapping[name]:
                fix = f"read `{mapping[name]}`, where `build.secret_to_path_mapping` mounts `{name}` during the build"
            else:
                fix = (f"add `build: secret_to_path_mapping: {{{name}: /run/secrets/{name}}}` (the workspace "
                       f"secret `{name}`) and read `/run/secrets/{name}` in the command")
            yield PolicyHit("TG108", ctx.path, line, column,
                            f"`{label}` reads `{path}`, the runtime secret mount, which does not exist at build time",
                            fix)


# --- C5: requirements -----------------------------------------------------------------------------------

def _requirements_fix(name: str, requirement: str) -> str:
    """Move the private install to a build command that reads a build secret."""
    host = re.search(r"@([A-Za-z0-9][A-Za-z0-9.-]*)", requirement)
    host = host.group(1) if host else "<host>"
    if re.search(r"git\+|\.git\b", requirement):
        example = f"pip install git+https://x-access-token:$(cat /run/secrets/{name})@{host}/<org>/<repo>.git"
    else:
        example = f"pip install --extra-index-url https://__token__:$(cat /run/secrets/{name})@{host}/simple <package>"
    return (f"revoke it, store a new one as the Baseten workspace secret `{name}`, map it with "
            f"`build: secret_to_path_mapping: {{{name}: /run/secrets/{name}}}`, drop this requirement and install "
            f"the package in `build_commands` with the credential read from the file: `{example}`")


@check("TG109", "credential-in-requirements", Severity.HIGH, kind="leak", scope="config", spec="C5")
def credential_in_requirements(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A credential in a Python requirement: an index URL with a password
    (`--extra-index-url https://deploy:...@pypi.acme.dev/simple`), a token in a git URL
    (`git+https://ghp_...@github.com/acme/tools.git`), or any key a credential rule recognises. Checked in
    the `requirements:` list of config.yaml and in the file that `requirements_file` names
    (requirements.txt, pyproject.toml, uv.lock), which the runner hands to this check as a context of kind
    "requirements".

    ## Why it matters
    Requirements are installed with pip/uv while the image is built: the URL is uploaded with the Truss and
    appears in build logs, and whoever reads it can download (or publish) the private packages.

    ## Example
    ```yaml
    requirements:
      - git+https://ghp_...@github.com/acme/tools.git@v1
    ```

    ## Use instead
    Install private packages in `build_commands`, reading a build secret:
    ```yaml
    build:
      secret_to_path_mapping:
        github_token: /run/secrets/github_token
    build_commands:
      - pip install git+https://x-access-token:$(cat /run/secrets/github_token)@github.com/acme/tools.git@v1
    ```
    """
    if ctx.kind == "requirements":
        for n, text in enumerate(yaml_nodes.source_lines(ctx.data), start=1):
            if not ("://" in text or "=" in text or ":" in text or ctx.index.on_lines(n, n)):
                continue
            for c in _inline_credentials(ctx, text, line=n):
                yield PolicyHit("TG109", ctx.path, n, max(text.find(c.secret), 0) + 1,
                                f"{c.what} in the requirements file", _requirements_fix(c.name, text),
                                secret=c.secret, severity=c.severity)
        return
    if not _is_truss(ctx):
        return
    lines = yaml_nodes.source_lines(ctx.data)
    for label, node, requirement in _string_items(yaml_nodes.get(ctx.doc, "requirements"), "requirements"):
        for c in _inline_credentials(ctx, requirement, node):
            line, column = _place(ctx, node, c.secret, lines)
            yield PolicyHit("TG109", ctx.path, line, column, f"{c.what} in `{label}`",
                            _requirements_fix(c.name, requirement), secret=c.secret, severity=c.severity)


# --- C6: signed URLs ---------------------------------------------------------------------------------------

def _url_fields(doc: yaml.Node | None) -> Iterator[tuple[str, yaml.Node]]:
    """The config fields Truss downloads from directly: where a presigned URL can land."""
    for i, item in enumerate(yaml_nodes.elements(yaml_nodes.get(doc, "external_data"))):
        yield f"external_data[{i}].url", yaml_nodes.get(item, "url")
    for i, item in enumerate(yaml_nodes.elements(yaml_nodes.get(doc, "weights"))):
        yield f"weights[{i}].source", yaml_nodes.get(item, "source")
    for prefix in (("trt_llm", "build"), ("trt_llm", "build", "speculator")):
        yield ".".join(prefix) + ".checkpoint_repository.repo", \
            yaml_nodes.get(doc, *prefix, "checkpoint_repository", "repo")


def _is_url_field(path: tuple[str, ...]) -> bool:
    return (len(path) == 3 and path[0] in ("external_data", "weights") and path[1].startswith("[")
            and path[2] == ("url" if path[0] == "external_data" else "source")) \
        or path in (("trt_llm", "build", "checkpoint_repository", "repo"),
                    ("trt_llm", "build", "speculator", "checkpoint_repository", "repo"))


def _bucket_source(url: str) -> tuple[str, str | None]:
    """The `weights` source that fetches the same object with credentials Truss resolves itself, and the
    OIDC auth method that can replace the secret for that store."""
    try:
        parsed = urllib.parse.urlsplit(url)
        host, path = parsed.hostname or "", parsed.path.lstrip("/")
    except ValueError:
        host, path = "", ""
    if m := re.match(r"^([^.]+)\.s3[.-]", host):
        return f"s3://{m.group(1)}/{path}", "AWS_OIDC"
    if host.startswith("s3.") and "/" in path:
        return f"s3://{path}", "AWS_OIDC"
    if host == "storage.googleapis.com":
        return f"gs://{path}", "GCP_OIDC"
    if m := re.match(r"^([^.]+)\.blob\.core\.windows\.net$", host):
        return f"azure://{m.group(1)}/{path}", None
    return "s3://<bucket>/<key>", "AWS_OIDC"


@check("TG110", "signed-url-in-config", Severity.HIGH, kind="leak", scope="config", spec="C6")
def signed_url_in_config(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A presigned URL (S3 `X-Amz-Signature` / `X-Amz-Security-Token`, GCS `X-Goog-Signature`, an Azure SAS
    `sig=`, a CloudFront `Signature=` with `Key-Pair-Id`) in `external_data[].url`, `weights[].source` or
    `trt_llm.build.checkpoint_repository.repo`.

    ## Why it matters
    `external_data` has no authentication, so private data can only be reached through a signed URL, and
    `https://` weights and `REMOTE_URL` checkpoints are plain downloads. Until it expires (up to 7 days,
    often longer for SAS and CloudFront policies) the URL is a bearer credential for the object, committed
    and uploaded with the config.

    ## Example
    ```yaml
    external_data:
      - url: https://acme-weights.s3.amazonaws.com/w.bin?X-Amz-Credential=...&X-Amz-Signature=...
        local_data_path: w.bin
    ```

    ## Use instead
    Let Truss fetch the object with a workspace secret (or OIDC, which needs no secret at all):
    ```yaml
    weights:
      - source: s3://acme-weights/w.bin
        mount_location: /app/data/w.bin
        auth_secret_name: weights_bucket_credentials
    ```
    """
    if not _is_truss(ctx):
        return
    lines = yaml_nodes.source_lines(ctx.data)
    for label, node in _url_fields(ctx.doc):
        sc = yaml_nodes.scalar(node)
        if sc is None or not sc.value:
            continue
        for m in _rule_matches(ctx, sc.value, node):
            if not m.rule_id.startswith("signed-url."):
                continue
            secret, severity = _leak_of(ctx, m)
            line, column = _place(ctx, node, secret, lines)
            name = _rule_secret_name(ctx, m, "weights_bucket_credentials")
            source, oidc = _bucket_source(sc.value)
            alternative = f", or `auth: {{auth_method: {oidc}, ...}}` (Baseten OIDC, no secret at all)" \
                if oidc and not label.startswith("trt_llm") else ""
            stored = f"(the bucket credentials stored as the workspace secret `{name}`)"
            if label.startswith("weights"):
                remedy = f"set `{label}` to `{source}` and add `auth_secret_name: {name}` to the entry {stored}"
            elif label.startswith("trt_llm"):
                store = source.split("://")[0].replace("gs", "gcs").upper()
                remedy = (f"set the checkpoint_repository to `source: {store}`, `repo: {source}` and "
                          f"`runtime_secret_name: {name}` {stored}")
            else:
                remedy = (f"replace `{label}` with a `weights:` entry `source: {source}` and `auth_secret_name: "
                          f"{name}` {stored}")
            yield PolicyHit(
                "TG110", ctx.path, line, column, f"{_rule_label(ctx, m)} in `{label}`",
                f"revoke the key that signed it and {remedy}{alternative}", secret=secret, severity=severity)


# --- C7: NAME fields ---------------------------------------------------------------------------------------

# Default secret names Truss uses for each NAME field (suggested in the fix).
_NAME_DEFAULTS = {
    "runtime_secret_name": "hf_access_token", "auth_secret_name": "weights_bucket_credentials",
    "secret_name": "gcp_service_account_json", "aws_access_key_id_secret_name": "aws_access_key_id",
    "aws_secret_access_key_secret_name": "aws_secret_access_key",
}


def _name_fields(doc: yaml.Node | None) -> Iterator[tuple[str, yaml.Node, str]]:
    """(label, node, suggested name) of every field that must hold a secret NAME (TRUSS_SECRETS.md 1.2)."""
    for cache in ("model_cache", "hf_cache"):
        for i, item in enumerate(yaml_nodes.elements(yaml_nodes.get(doc, cache))):
            yield f"{cache}[{i}].runtime_secret_name", yaml_nodes.get(item, "runtime_secret_name"), \
                _NAME_DEFAULTS["runtime_secret_name"]
    for i, item in enumerate(yaml_nodes.elements(yaml_nodes.get(doc, "weights"))):
        yield f"weights[{i}].auth_secret_name", yaml_nodes.get(item, "auth_secret_name"), \
            _NAME_DEFAULTS["auth_secret_name"]
        yield f"weights[{i}].auth.auth_secret_name", yaml_nodes.get(item, "auth", "auth_secret_name"), \
            _NAME_DEFAULTS["auth_secret_name"]
    for key in ("secret_name", "aws_access_key_id_secret_name", "aws_secret_access_key_secret_name"):
        yield f"base_image.docker_auth.{key}", yaml_nodes.get(doc, "base_image", "docker_auth", key), \
            _NAME_DEFAULTS[key]
    for prefix in (("trt_llm", "build"), ("trt_llm", "build", "speculator")):
        yield ".".join(prefix) + ".checkpoint_repository.runtime_secret_name", \
            yaml_nodes.get(doc, *prefix, "checkpoint_repository", "runtime_secret_name"), "hf_access_token"
    for name, key_node, _ in yaml_nodes.items(yaml_nodes.get(doc, "build", "secret_to_path_mapping")):
        yield f"build.secret_to_path_mapping key `{name}`", key_node, "build_secret"
    for name, key_node, _ in yaml_nodes.items(yaml_nodes.get(doc, "secrets")):
        yield f"secrets key `{name}`", key_node, "api_key"
    for cache in ("model_cache", "hf_cache"):
        for i, item in enumerate(yaml_nodes.elements(yaml_nodes.get(doc, cache))):
            yield f"{cache}[{i}].use_secret", yaml_nodes.get(item, "use_secret"), "hf_access_token"


def _is_name_field(path: tuple[str, ...], is_key: bool) -> bool:
    if is_key:
        return len(path) == 2 and path[0] == "secrets" \
            or len(path) == 3 and path[:2] == ("build", "secret_to_path_mapping")
    last = path[-1] if path else ""
    if last in ("runtime_secret_name", "use_secret") and len(path) == 3 and path[0] in ("model_cache", "hf_cache"):
        return True
    if path[:1] == ("weights",) and last == "auth_secret_name":
        return True
    if path[:2] == ("base_image", "docker_auth") and last in _NAME_DEFAULTS:
        return True
    return path[:1] == ("trt_llm",) and path[-2:] == ("checkpoint_repository", "runtime_secret_name")


def _name_problem(ctx: ConfigContext, value: str, node: yaml.Node) -> tuple[str, Match | None] | None:
    """Why a NAME field's value is a pasted VALUE, and the rule match if a rule recognises it."""
    if is_placeholder(value):
        return None
    matches = _rule_matches(ctx, value, node)
    specific = [m for m in matches if not ctx.detector.rules[m.rule_id].generic]
    if specific:
        return f"holds a {_rule_label(ctx, specific[0])}, not a secret name", specific[0]
    # Generic rules (detect-secrets' keyword plugin sees `secret_name: x`) count only when the value is
    # not a plausible name; their match is then the secret, so the findings merge.
    generic = matches[0] if matches else None
    if not value.startswith(REGISTRY_PREFIX) and not SECRET_NAME.match(value):
        return "is not a valid secret name (`^[-._a-zA-Z0-9]+$`): it looks like a pasted value", generic
    if _looks_random(value):
        return "holds a random token, not a secret name", generic
    return None


@check("TG111", "secret-value-in-name-field", Severity.HIGH, kind="leak", scope="config", spec="C7")
def secret_value_in_name_field(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A credential pasted where Truss expects the NAME of a workspace secret:
    `model_cache[].runtime_secret_name`, `weights[].auth_secret_name` (also under `auth:`),
    `base_image.docker_auth.secret_name` / `aws_access_key_id_secret_name` /
    `aws_secret_access_key_secret_name`, `trt_llm.build.checkpoint_repository.runtime_secret_name`, the
    keys of `build.secret_to_path_mapping` and of `secrets:`. A value is reported when a credential rule
    recognises it, when it looks like a random token, or when it fails Truss's secret-name pattern
    `^[-._a-zA-Z0-9]+$` (names starting with `DOCKER_REGISTRY_` are exempt, as in Truss).

    `model_cache[].use_secret` is not a Truss key (`truss push` rejects it); it is read as a typo of
    `runtime_secret_name`: a credential there is reported as a leak like above, and a plain name there
    is reported as a policy hit (no secret, medium) asking to rename the key.

    ## Why it matters
    Name fields are plain configuration: the value is uploaded, stored and shown like any other field.
    A token pasted there is leaked, and the deployment fails to find a secret of that "name".

    ## Example
    ```yaml
    model_cache:
      - repo_id: meta-llama/Llama-3.1-8B-Instruct
        use_volume: true
        volume_folder: llama
        runtime_secret_name: hf_...   # the token itself
    ```

    ## Use instead
    ```yaml
    model_cache:
      - repo_id: meta-llama/Llama-3.1-8B-Instruct
        use_volume: true
        volume_folder: llama
        runtime_secret_name: hf_access_token
    ```
    with the token stored as the workspace secret `hf_access_token`.
    """
    if not _is_truss(ctx):
        return
    lines = yaml_nodes.source_lines(ctx.data)
    for label, node, suggested in _name_fields(ctx.doc):
        sc = yaml_nodes.scalar(node)
        if sc is None or sc.is_null:
            continue
        field = label.split(".")[-1] if "`" not in label else label
        problem = _name_problem(ctx, sc.value, node)
        if problem is not None:
            reason, m = problem
            secret, severity = _leak_of(ctx, m) if m is not None else ctx.leak(sc.value, Severity.HIGH)
            specific = m is not None and not ctx.detector.rules[m.rule_id].generic
            name = _rule_secret_name(ctx, m, suggested) if specific else suggested
            line, column = _place(ctx, node, secret, lines)
            if label.startswith("secrets key"):
                fix = (f"revoke it, store it as the workspace secret `{name}` and declare `{name}: null` under "
                       f"`secrets:`")
            elif "secret_to_path_mapping" in label:
                fix = (f"revoke it, store it as the workspace secret `{name}` and map `{name}: /run/secrets/{name}` "
                       f"under `build.secret_to_path_mapping`")
            elif label.endswith("use_secret"):
                fix = (f"revoke it, store it as the workspace secret `{name}` and replace `use_secret` (not a Truss "
                       f"key) with `runtime_secret_name: {name}`")
            else:
                fix = f"revoke it, store it as the workspace secret `{name}` and write `{field}: {name}`"
            yield PolicyHit("TG111", ctx.path, line, column, f"`{label}` {reason}", fix,
                            secret=secret, severity=severity)
        elif label.endswith("use_secret"):
            key = next((kn for _, kn, v in yaml_nodes.items(_parent(ctx.doc, label)) if v is node), None)
            mark = key.start_mark if key is not None else node.start_mark
            target = sc.value if SECRET_NAME.match(sc.value) and not _is_bool_or_number(node) else suggested
            yield PolicyHit("TG111", ctx.path, mark.line + 1, mark.column + 1,
                            f"`{label}` is not a Truss key (`truss push` rejects it); the entry still uses "
                            f"`runtime_secret_name`, default `hf_access_token`",
                            f"rename `use_secret` to `runtime_secret_name: {target}`", severity=Severity.MEDIUM)


def _parent(doc: yaml.Node | None, label: str) -> yaml.Node | None:
    """The model_cache / hf_cache entry of a `cache[i].use_secret` label."""
    m = re.match(r"^(\w+)\[(\d+)\]\.", label)
    items = yaml_nodes.elements(yaml_nodes.get(doc, m.group(1))) if m else []
    return items[int(m.group(2))] if m and int(m.group(2)) < len(items) else None


# --- C9: everything else ------------------------------------------------------------------------------------

def _claimed(path: tuple[str, ...], is_key: bool, rule_id: str) -> bool:
    """True when another config check (TG101-TG111) reports rule matches at this key path."""
    if _is_name_field(path, is_key):
        return True  # TG111
    if is_key:
        return False
    if len(path) == 2 and path[0] in ("secrets", "environment_variables"):
        return True  # TG101 / TG102, TG103
    if len(path) == 2 and path[0] in ("build_commands", "requirements") and path[1].startswith("["):
        return True  # TG107, TG109
    if path == ("docker_server", "start_command"):
        return True  # TG105
    return _is_url_field(path) and rule_id.startswith("signed-url.")  # TG110


_Scalar = tuple[tuple[str, ...], yaml.ScalarNode, bool]


def _scalars_by_line(scalars: list[_Scalar]) -> dict[int, list[_Scalar]]:
    """Each line's scalars (those spanning it), in walk order: a match only ever looks at its own line's,
    not at every scalar of the file (20,000 environment variables each with a key: 4 x 10^8 tests)."""
    by_line: dict[int, list[_Scalar]] = {}
    for s in scalars:
        for n in range(s[1].start_mark.line + 1, s[1].end_mark.line + 2):
            by_line.setdefault(n, []).append(s)
    return by_line


def _node_of(by_line: dict[int, list[_Scalar]], m: Match) -> _Scalar | None:
    """The scalar (key or value) a rule match lies in: the one at its place whose text holds the secret,
    else a value on its line that holds it (a plugin may report the first occurrence on the line), else
    whatever node spans the place. None for comments."""
    scalars = by_line.get(m.line, [])
    at = [s for s in scalars if yaml_nodes.contains(s[1], m.line, m.column)]
    holding = [s for s in at if m.secret in s[1].value or m.decoded]
    if holding:
        return holding[0]
    on_line = [s for s in scalars if not s[2] and s[1].start_mark.line + 1 <= m.line <= s[1].end_mark.line + 1
               and m.secret in s[1].value]
    return (on_line or at or [None])[0]


_FREE_FORM_FIX = {
    "base_image": "keep only the image reference in `base_image.image` and give the registry credentials as "
                  "`base_image.docker_auth` (`auth_method`, and `secret_name: {name}` naming the workspace secret)",
}


@check("TG114", "credential-in-free-form-config", Severity.HIGH, kind="leak", scope="config", spec="C9")
def credential_in_free_form_config(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A credential recognised by a rule anywhere else in a Truss config.yaml: `model_metadata`,
    `description`, `bis_llm.config`, `trt_llm.runtime.patch_kwargs`, `base_image.image`, URL fields holding
    a password rather than a signature, and comments. Together with TG101-TG111 this gives every rule match
    inside a Truss config a check code and a Truss fix.

    ## Why it matters
    Free-form fields are passed through as they are: shown in the Baseten UI, sent to the backend for
    validation and handed to the model as its `config`. Comments are uploaded with the file too.

    ## Example
    ```yaml
    model_metadata:
      example_request_headers:
        Authorization: Api-Key abcd1234....
    ```

    ## Use instead
    Keep only non-secret metadata in the config; store the value as a workspace secret, declare it and read
    it in the model code:
    ```yaml
    secrets:
      baseten_api_key: null
    ```
    """
    if not _is_truss(ctx):
        return
    by_line = _scalars_by_line(list(yaml_nodes.walk_nodes(ctx.doc)))
    for m in ctx.matches:
        where = _node_of(by_line, m)
        if where is not None and (_claimed(where[0], where[2], m.rule_id) or _not_literal(ctx, m, where[1].value)):
            continue
        secret, severity = _leak_of(ctx, m)
        name = _name_for(ctx, _rule_secret_name(ctx, m, "api_key"))
        if where is not None and ctx.detector.rules[m.rule_id].generic:
            key = next((p for p in reversed(where[0]) if not p.startswith("[")), "")
            name = _name_for(ctx, _env_name(key)) if key and is_secret_name(key) else name
        if where is None:
            place, fix = "a YAML comment", (f"revoke it and delete it from the comment (comments are uploaded with "
                                            f"config.yaml); keep the value only as the workspace secret `{name}`")
        else:
            label = yaml_nodes.dotted(where[0])
            place = f"`{label}`" + (" (a key)" if where[2] else "")
            fix = _FREE_FORM_FIX.get(where[0][0], "").format(name=name) or (
                f"revoke it, remove it from `{label}`, store a new one as the workspace secret `{name}`, declare "
                f"`{name}: null` under `secrets:` and read it with {_read(ctx, name)}")
            if where[0][0] == "base_image":
                fix = "revoke it, " + fix
            elif _is_url_field(where[0]):
                fix = (f"revoke it and download through a `weights:` entry instead of `{label}`, with "
                       f"`auth_secret_name: {name}` naming a workspace secret that holds the credentials "
                       f"(`external_data` has no authentication of its own)")
        yield PolicyHit("TG114", ctx.path, m.line, m.column, f"{_rule_label(ctx, m)} in {place}", fix,
                        secret=secret, severity=severity)


# --- look-alike: a committed ~/.truss/config.yaml ----------------------------------------------------------

@check("TG115", "local-truss-config-committed", Severity.CRITICAL, kind="leak", scope="config", spec="5.1")
def local_truss_config_committed(ctx: ConfigContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A committed copy of the Truss CLI's local settings file, `~/.truss/config.yaml` (keys `secrets` and
    `use_sudo`), with values under `secrets:`.

    ## Why it matters
    Unlike a Truss config, this file holds the real secret values: `truss` writes them to
    `~/.truss/secrets/<NAME>` and mounts them at `/secrets` for local Docker runs. Committed, every value
    in it is exposed to anyone with the repository, including its history.

    ## Example
    ```yaml
    # .truss/config.yaml committed from a home directory
    use_sudo: false
    secrets:
      hf_access_token: hf_...
    ```

    ## Use instead
    Delete the file from the repository and its history, revoke and rotate every value it held, and keep
    `~/.truss/config.yaml` only in your home directory; deployments read the workspace secrets of the same
    names.
    """
    if ctx.kind != "local-config":
        return
    for name, _, node in yaml_nodes.items(yaml_nodes.get(ctx.doc, "secrets")):
        sc = yaml_nodes.scalar(node)
        if sc is None or sc.is_null or is_placeholder(sc.value) or _is_bool_or_number(node):
            continue
        secret, severity = ctx.leak(sc.value, Severity.CRITICAL)
        line, column = _place(ctx, node, secret)
        yield PolicyHit("TG115", ctx.path, line, column,
                        f"the local Truss settings file holds the value of the secret `{name}`",
                        f"revoke and rotate `{name}`, delete {ctx.path} from the repository (`git rm --cached "
                        f"{ctx.path}`) and from its history, and keep it only as ~/.truss/config.yaml; deployments "
                        f"read the workspace secret `{name}`",
                        secret=secret, severity=severity)
