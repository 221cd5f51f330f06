"""Checks on one Python file of a Truss or a Chains source (TRUSS_SECRETS.md 3.1, P1-P11).

Value checks (TG201-TG204, TG210, TG212) look at string literals only, so they run on any
version of a file, with or without its Truss. Each literal is bound by exactly one context
(``python_literals.Site.kind``), so exactly one check reports it; a Baseten API key always goes
to TG212. Idiom checks (TG205, TG206, TG209, TG211) follow the secrets mapping
(``python_secrets``).
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field
from typing import Iterator

from trussguard.engine.heuristics import AUTH_SCHEME as _AUTH_SCHEME
from trussguard.engine.heuristics import identifier_words, is_literal_credential, is_secret_name
from trussguard.policy.context import CodeContext
from trussguard.policy.python_literals import CHAINS_KINDS, Site, dotted, is_environ, literal_sites
from trussguard.policy.python_secrets import CHAIN_API_KEY, WHOLE_MAPPING, SecretRead, SecretsUse, analysed, \
    imports_chains, secret_echoes
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Match, Severity

CLIENT_KEYWORDS = frozenset({"api_key", "token", "use_auth_token", "auth_token", "hf_token", "access_token",
                             "password", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                             "account_key", "credential"})
CHAINLET_BASES = frozenset({"ChainletBase", "ModelBase", "EngineBuilderLLMChainlet", "TrussChainlet"})
HF_SECRET = "hf_access_token"  # the usual workspace secret of a Hugging Face token
_HF_KEYWORDS = frozenset({"token", "use_auth_token", "auth_token", "hf_token"})
_AUTH_HEADERS = frozenset({"authorization", "proxy-authorization"})
_BASETEN_SHAPE = re.compile(r"(?<![A-Za-z0-9])[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}(?![A-Za-z0-9])")
COMMAND_SECRETS = (  # where a command line or requirement carries a credential (C4, C5)
    re.compile(r"://(?:[^/\s:@]*:)?(?P<secret>[^/\s:@]+)@"),
    re.compile(r"--(?:token|password|api[-_]key)[= ]+(?P<secret>[^\s'\"]+)"),
    re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<secret>[^\s;&|'\"]+)"),
    re.compile(r"authorization:\s*(?:bearer|token|api-key|basic)\s+(?P<secret>[^\s'\"]+)", re.IGNORECASE),
)


@dataclass
class _Facts:
    """What the checks share about one parsed file, computed once."""

    tree: ast.Module
    data: bytes
    chains: bool = field(init=False)  # imports truss_chains
    sites: list[Site] = field(init=False)
    credentials: dict[str, Match | None] = field(default_factory=dict)  # credential_in, per literal value
    baseten: dict[int, str | None] = field(default_factory=dict)  # _baseten_secret, per site

    @functools.cached_property
    def use(self) -> SecretsUse:
        """The secrets-mapping analysis, on demand: the literal checks (all the history audit runs)
        need it only to word a fix, and it is the expensive part of a file's facts."""
        return analysed(self.tree, self.data)

    def __post_init__(self) -> None:
        self.chains = b"truss_chains" in self.data and imports_chains(self.tree)
        self.sites = literal_sites(self.tree, self.chains)


_FACTS: dict[int, _Facts] = {}


def _facts(ctx: CodeContext) -> _Facts:
    found = _FACTS.get(id(ctx.tree))
    if found is None or found.tree is not ctx.tree:
        if len(_FACTS) > 16:
            _FACTS.clear()
        found = _FACTS[id(ctx.tree)] = _Facts(ctx.tree, ctx.data)
    return found


# ----------------------------------------------------------------------------- what a literal is


def _match(ctx: CodeContext, value: str) -> Match | None:
    """``ctx.credential_in``, once per distinct literal of the file."""
    cache = _facts(ctx).credentials if ctx.tree is not None else {}
    if value not in cache:
        cache[value] = ctx.credential_in(value)
    return cache[value]


def _shaped(ctx: CodeContext, value: str) -> bool:
    """A specific credential rule recognises a token inside the value."""
    m = _match(ctx, value)
    return m is not None and not ctx.detector.rules[m.rule_id].generic


def _credential(ctx: CodeContext, value: str) -> bool:
    """Shaped, or one high-entropy token that is no placeholder, label, path or identifier."""
    return _shaped(ctx, value) or is_literal_credential(value)


def _secret_key(name: str | None) -> bool:
    return name is not None and (is_secret_name(name) or name.lower() in _AUTH_HEADERS)


def _what(ctx: CodeContext, value: str) -> str:
    m = _match(ctx, value)
    return f"a literal {ctx.detector.rules[m.rule_id].name}" if _shaped(ctx, value) else "a literal secret"


def _secret_name(ctx: CodeContext, site: Site) -> str:
    """The workspace secret the value should live in: the rule's usual name, else the identifier's; the name
    the Truss already declares for the same credential wins over both (no second `hf_token`)."""
    return _declared_name(ctx, _suggested_name(ctx, site))


def _suggested_name(ctx: CodeContext, site: Site) -> str:
    m = _match(ctx, site.value)
    rotation = ctx.detector.rules[m.rule_id].rotation if m is not None and _shaped(ctx, site.value) else None
    if rotation is not None and rotation.truss_secret_name:
        return rotation.truss_secret_name
    if site.name and is_secret_name(site.name):
        return "_".join(identifier_words(site.name)).lower()
    return "api_key"


def _declared_name(ctx: CodeContext, name: str) -> str:
    return ctx.truss.secret_name(name) if ctx.truss is not None else name


def _client_secret_name(ctx: CodeContext, site: Site) -> str:
    """As ``_secret_name``; the Hugging Face keywords (``token=``, ``use_auth_token=``) mean ``hf_access_token``."""
    if site.name in _HF_KEYWORDS and not _shaped(ctx, site.value):
        return _declared_name(ctx, HF_SECRET)
    return _secret_name(ctx, site)


def _place(ctx: CodeContext, node: ast.AST, secret: str) -> tuple[int, int]:
    """The rule match's place for this secret inside the literal (so the findings merge), else the literal's."""
    last = getattr(node, "end_lineno", None) or node.lineno
    m = ctx.index.first_of(secret, node.lineno, last)
    if m is not None:
        return m.line, m.column
    return node.lineno, node.col_offset + 1


def _baseten_secret(ctx: CodeContext, site: Site) -> str | None:
    """The Baseten API key inside a literal (P11), if any: those all go to TG212."""
    cache = _facts(ctx).baseten
    if id(site) not in cache:
        cache[id(site)] = _find_baseten_secret(ctx, site)
    return cache[id(site)]


def _find_baseten_secret(ctx: CodeContext, site: Site) -> str | None:
    last = getattr(site.node, "end_lineno", None) or site.node.lineno
    m = ctx.index.of_rules("baseten.").first_inside(site.value, site.node.lineno, last)
    if m is not None:
        return m.secret
    m = _match(ctx, site.value)
    if m is not None and m.rule_id.startswith("baseten."):
        return m.secret
    value = _AUTH_SCHEME.sub("", site.value.strip())
    if _secret_key(site.name) and _BASETEN_SHAPE.fullmatch(value) and _credential(ctx, value):
        return value  # api_key="abcd1234.…" with no Baseten word around: the shape of a Baseten key
    if site.name and "BASETEN" in identifier_words(site.name) and is_secret_name(site.name) \
            and _credential(ctx, site.value):
        shape = _BASETEN_SHAPE.search(site.value)
        return shape.group(0) if shape else value
    return None


def _command_secret(ctx: CodeContext, text: str) -> str | None:
    """A credential inside a command line or a requirement: URL userinfo, ``--token X``, ``TOKEN=X``, a header."""
    m = _match(ctx, text)
    if m is not None and not ctx.detector.rules[m.rule_id].generic:
        return m.secret
    for pattern in COMMAND_SECRETS:
        for found in pattern.finditer(text):
            name = found.groupdict().get("name")
            secret = found.group("secret")
            if (name is None or is_secret_name(name)) and "$" not in secret and _credential(ctx, secret):
                return secret
    return None


# ----------------------------------------------------------------------------- what to do instead


def _config(ctx: CodeContext) -> str:
    return ctx.truss.config_path if ctx.truss is not None else "config.yaml"


def _init_clause(ctx: CodeContext) -> str:
    return "" if _facts(ctx).use.attrs else ' (with `self._secrets = kwargs["secrets"]` in `__init__`)'


def _store(ctx: CodeContext, name: str, use: str = "") -> str:
    """Where a new value goes and how the code gets it, for a Truss model or a chainlet.

    ``use`` says what the code does with the read (``{read}`` stands for the read expression);
    by default it reads it in ``load()`` (a Truss) or where the chainlet needs it.
    """
    read = _read_expr(ctx, name)
    if _facts(ctx).chains:
        return (f"store a new one as the Baseten workspace secret `{name}`, list `\"{name}\"` in "
                f"`chains.Assets(secret_keys=[...])` of the chainlet's `remote_config` and "
                + (use or "read `{read}`").replace("{read}", read))
    return (f"store a new one as the Baseten workspace secret `{name}`, declare `{name}: null` under `secrets:` "
            f"in {_config(ctx)} and " + (use or "read `{read}` in `load()`").replace("{read}", read)
            + _init_clause(ctx))


def _revoke(ctx: CodeContext, name: str, use: str = "") -> str:
    return (f"revoke the key now, {_store(ctx, name, use)}, and treat the git history as compromised: deleting "
            f"the line does not remove the key from earlier commits (run `trussguard audit` to see every commit "
            f"and ref that holds it)")


def _read_expr(ctx: CodeContext, name: str) -> str:
    return f'context.secrets["{name}"]' if _facts(ctx).chains else f'self._secrets["{name}"]'


def _leak(ctx: CodeContext, code: str, site: Site, message: str, fix: str, secret: str | None = None,
          severity: Severity = Severity.HIGH) -> PolicyHit:
    """A leak hit on a literal: the credential-rule token as the secret (critical) when one is recognised."""
    found, level = ctx.leak(secret or _AUTH_SCHEME.sub("", site.value.strip()), severity)
    line, column = _place(ctx, site.node, found)
    return PolicyHit(code, ctx.path, line, column, message, fix, secret=found, severity=max(level, severity))


def _sites(ctx: CodeContext, kinds: frozenset[str] | tuple[str, ...]) -> Iterator[Site]:
    """The literals of these kinds that are not Baseten API keys (TG212 reports those)."""
    if ctx.tree is None:
        return
    for site in _facts(ctx).sites:
        if site.kind in kinds and _baseten_secret(ctx, site) is None:
            yield site


@check("TG201", "hardcoded-secret-literal", Severity.HIGH, kind="leak", scope="code", spec="P1")
def hardcoded_secret_literal(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A credential written into the code: a string literal bound to a secret-looking name (a module
    constant `OPENAI_API_KEY = "sk-proj-..."`, an attribute `self.api_key = "..."`, a parameter default
    `def __init__(self, token="hf_...")`, a dict entry `{"api_key": "..."}`), or a literal that a
    credential rule recognises, whatever it is assigned to.

    ## Why it matters
    Everything in the Truss directory is uploaded on `truss push` and stays downloadable, and the key is
    in the git history of every clone. A recognised key is reported as critical: revoke it, removing
    the line is not enough.

    ## Example
    ```python
    OPENAI_API_KEY = "sk-proj-..."
    ```

    ## Use instead
    Store the key as a Baseten workspace secret and read it through the secrets mapping:
    ```python
    def __init__(self, **kwargs):
        self._secrets = kwargs["secrets"]

    def load(self):
        self.client = OpenAI(api_key=self._secrets["openai_api_key"])
    ```
    with `openai_api_key: null` under `secrets:` in config.yaml.
    """
    for site in _sites(ctx, ("assign", "default", "dict")):
        if _shaped(ctx, site.value) or (_secret_key(site.name) and _credential(ctx, site.value)):
            where = f"`{site.name}`" if site.name else "an assignment"
            bound = {"default": "as the default of", "dict": "under the key"}.get(site.kind, "in")
            yield _leak(ctx, "TG201", site, f"hard-codes {_what(ctx, site.value)} {bound} {where}",
                        _revoke(ctx, _secret_name(ctx, site)))


@check("TG202", "secret-literal-written-to-environment", Severity.HIGH, kind="leak", scope="code", spec="P2")
def secret_literal_written_to_environment(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A literal credential written into the process environment: `os.environ["HF_TOKEN"] = "hf_..."`,
    `os.environ.setdefault("OPENAI_API_KEY", "sk-...")`, `os.putenv(...)`,
    `os.environ.update({"AWS_SECRET_ACCESS_KEY": "..."})`.

    ## Why it matters
    The value is in the source, so it ships with every `truss push` and lives in the git history; the
    environment variable only hides where the library gets it from.

    ## Example
    ```python
    os.environ["HF_TOKEN"] = "hf_..."
    ```

    ## Use instead
    Bridge the workspace secret into the environment for libraries that read it there:
    ```python
    os.environ["HF_TOKEN"] = self._secrets["hf_access_token"]
    ```
    with `hf_access_token: null` under `secrets:` in config.yaml.
    """
    for site in _sites(ctx, ("env-write",)):
        if _shaped(ctx, site.value) or (_secret_key(site.name) and _credential(ctx, site.value)):
            name = _secret_name(ctx, site)
            var = site.name or name.upper()
            yield _leak(ctx, "TG202", site, f"writes {_what(ctx, site.value)} into the environment variable `{var}`",
                        _revoke(ctx, name, f"bridge it for the library: `os.environ[\"{var}\"] = {{read}}`"))


@check("TG203", "secret-literal-as-env-default", Severity.HIGH, kind="leak", scope="code", spec="P3")
def secret_literal_as_env_default(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A literal credential used as the fallback of an environment read: `os.environ.get("HF_TOKEN", "hf_...")`,
    `os.getenv("OPENAI_API_KEY", "sk-...")`. An empty string or `None` default is not reported here.

    ## Why it matters
    The fallback is the key itself, committed and uploaded with the Truss; it is also silently used
    whenever the variable is missing, so nobody notices the workspace secret was never set.

    ## Example
    ```python
    token = os.getenv("HF_TOKEN", "hf_...")
    ```

    ## Use instead
    ```python
    token = self._secrets["hf_access_token"]
    ```
    with `hf_access_token: null` under `secrets:` in config.yaml.
    """
    for site in _sites(ctx, ("env-default",)):
        if _shaped(ctx, site.value) or (_secret_key(site.name) and _credential(ctx, site.value)):
            yield _leak(ctx, "TG203", site,
                        f"uses {_what(ctx, site.value)} as the default of the environment variable `{site.name}`",
                        _revoke(ctx, _secret_name(ctx, site), "read `{read}` instead of the environment variable"))


@check("TG204", "secret-literal-passed-to-client", Severity.HIGH, kind="leak", scope="code", spec="P4")
def secret_literal_passed_to_client(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A literal credential passed to a client or a download: `OpenAI(api_key="sk-proj-...")`,
    `from_pretrained(repo, token="hf_...")`, `boto3.client("s3", aws_secret_access_key="...")`,
    `requests.get(url, headers={"Authorization": "Bearer ..."})`. The keyword must name a credential
    (`api_key`, `token`, `use_auth_token`, `password`, `aws_*`, ...) and the value must be a recognised key
    or a high-entropy string: `token="<pad>"`, `pad_token=...`, a textual-inversion `token=` label and
    `OpenAI(api_key="EMPTY", base_url="http://localhost:8000/v1")` are fine.

    ## Why it matters
    The key ships with every `truss push`, stays downloadable with the Truss and in the git history.

    ## Example
    ```python
    model = AutoModel.from_pretrained(repo, token="hf_...")
    ```

    ## Use instead
    ```python
    model = AutoModel.from_pretrained(repo, token=self._secrets["hf_access_token"])
    ```
    with `hf_access_token: null` under `secrets:` in config.yaml.
    """
    for site in _sites(ctx, ("keyword", "argument", "header")):
        if site.kind == "keyword" and site.name == "token" and site.call.endswith("load_textual_inversion"):
            continue  # the placeholder word of a textual inversion, not a credential
        named = (site.name in CLIENT_KEYWORDS or _secret_key(site.name)) if site.kind != "argument" else False
        if not (_shaped(ctx, site.value) or (named and _credential(ctx, site.value))):
            continue
        name = _client_secret_name(ctx, site)
        call = f"`{site.call}(...)`" if site.call else "a call"
        if site.kind == "header":
            scheme = _AUTH_SCHEME.match(site.value.strip())
            prefix = scheme.group(0) if scheme else "Bearer "
            how = f"build the header from it: `headers={{\"{site.name}\": \"{prefix}\" + {{read}}}}`"
            what = f"the `{site.name}` header of {call}"
        elif site.kind == "keyword":
            how, what = f"pass `{site.name}={{read}}`", f"`{site.name}=` of {call}"
        else:
            how, what = "pass `{read}`", call
        yield _leak(ctx, "TG204", site, f"passes {_what(ctx, site.value)} to {what}",
                    _revoke(ctx, name, how + " in `load()`"))


def _env_read(node: ast.AST) -> tuple[str, ast.AST] | None:
    """(variable name, node) for ``os.environ[NAME]``, ``os.environ.get(NAME)``, ``os.getenv(NAME)``."""
    if isinstance(node, ast.Subscript) and is_environ(node.value) and isinstance(node.ctx, ast.Load):
        key = node.slice
    elif isinstance(node, ast.Call) and node.args and (
            isinstance(node.func, ast.Attribute) and node.func.attr == "get" and is_environ(node.func.value)
            or dotted(node.func) in ("os.getenv", "getenv")):
        key = node.args[0]
    else:
        return None
    if isinstance(key, ast.Constant) and isinstance(key.value, str):
        return key.value, node
    return None


def _bridged(tree: ast.Module) -> set[str]:
    """Environment variables the code itself sets (``os.environ["HF_TOKEN"] = ...``): reading them is fine."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and is_environ(target.value) \
                        and isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str):
                    out.add(target.slice.value)
    return out


# Words every form TG205 reports writes: `os.environ[...]`, `environ.get`, `os.getenv`, a "/secrets/..." path.
# Checking them on the bytes skips two AST walks for most files of a Truss (vendored packages).
_ENVIRONMENT_WORDS = (b"environ", b"getenv", b"/secrets/")


@check("TG205", "secret-read-from-environment", Severity.MEDIUM, kind="policy", scope="code", spec="P5")
def secret_read_from_environment(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    Model code that reads a secret from the environment (`os.environ["HF_TOKEN"]`,
    `os.getenv("OPENAI_API_KEY")`) or from a `/secrets/NAME` file, instead of the secrets mapping
    the model receives.

    ## Why it matters
    These reads bypass the declaration in config.yaml: an undeclared or misspelled name goes unnoticed
    until the deployment runs, the `TRUSS_SECRET_<name>` fallback is skipped, and nothing in the
    repository says which workspace secrets the model needs.

    ## Example
    ```python
    token = os.environ["HF_TOKEN"]
    ```

    ## Use instead
    ```python
    def __init__(self, **kwargs):
        self._secrets = kwargs["secrets"]

    def load(self):
        token = self._secrets["hf_access_token"]
    ```
    with `hf_access_token: null` under `secrets:` in config.yaml.
    """
    if ctx.tree is None or ctx.truss is None:
        return  # only model code is held to the mapping; client scripts may use the environment
    if not any(word in ctx.data for word in _ENVIRONMENT_WORDS):
        return  # no environment read or /secrets/ path can be written without these words
    bridged = _bridged(ctx.tree)
    for node in ast.walk(ctx.tree):
        found = _env_read(node)
        if found is not None and is_secret_name(found[0]) and found[0] not in bridged:
            name = found[0].lower()
            yield PolicyHit(
                "TG205", ctx.path, node.lineno, node.col_offset + 1,
                f"reads the secret `{found[0]}` from the environment",
                f"declare `{name}: null` under `secrets:` in {_config(ctx)} and read `self._secrets[\"{name}\"]`"
                f"{_init_clause(ctx)}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("/secrets/"):
            name = node.value[len("/secrets/"):].strip("/")
            yield PolicyHit(
                "TG205", ctx.path, node.lineno, node.col_offset + 1,
                f"reads the secret file `{node.value}` directly",
                f"declare `{name}: null` under `secrets:` in {_config(ctx)} and read `self._secrets[\"{name}\"]`"
                f"{_init_clause(ctx)}")


def _echo_fix(sink: str, secret: str) -> str:
    if secret == WHOLE_MAPPING:
        return ("never print, log, raise or return the secrets mapping (locally it is a plain dict of every value); "
                "read the names you need by name and log at most that they are set")
    name = f"`{secret}`" if secret != "a secret" else "the secret"
    if sink in ("printed", "logged"):
        return (f"never print or log the value of {name}; log at most that it is set "
                f"(`logger.info(\"{secret} is set\")`)")
    if sink.startswith("put in an exception"):
        return f"name {name} in the message without its value: `raise RuntimeError(\"{secret} was rejected\")`"
    return f"return only what the call made with {name} produced; drop the value itself from the response"


@check("TG206", "secret-echoed", Severity.HIGH, kind="policy", scope="code", spec="P6")
def secret_echoed(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A value read from the secrets mapping (`self._secrets["..."]`, `context.secrets["..."]`) that reaches a
    `print(...)`, a logging call, an exception message, a response object, or the return value of
    `predict` (and `preprocess`, `postprocess`, `run_remote`, `chat_completions`, `completions`, `__call__`).
    The value is followed through assignments, `self` attributes, f-strings, concatenation, `.format`,
    `str()` and `json.dumps()`, and out of the helpers and properties that return it (`self._secret("x")`,
    `self.token`); passing it to a client (`token=...`, `headers=...`) is fine. The whole mapping shown is
    an echo too: `print(self._secrets)`, `logger.info("%s", secrets)`, an f-string of it, `dict(...)`,
    `.items()` or `.values()` of it logged (its names alone, `.keys()` or `len()`, are not).

    ## Why it matters
    Deployment logs are shown in the Baseten UI and kept by log pipelines; responses go to every caller.
    A printed or returned token is as exposed as a committed one.

    ## Example
    ```python
    token = self._secrets["hf_access_token"]
    logger.info(f"using token {token}")
    ```

    ## Use instead
    ```python
    token = self._secrets["hf_access_token"]
    logger.info("hf_access_token set: %s", token is not None)
    ```
    """
    if ctx.tree is None:
        return
    for echo in secret_echoes(ctx.tree, _facts(ctx).use):
        name = f"`{echo.secret}`" if echo.secret != "a secret" else "a secret"
        message = f"the whole secrets mapping (every secret's value) is {echo.sink}" \
            if echo.secret == WHOLE_MAPPING else f"the value of the secret {name} is {echo.sink}"
        yield PolicyHit("TG206", ctx.path, echo.node.lineno, echo.node.col_offset + 1, message,
                        _echo_fix(echo.sink, echo.secret))


def _unsafe_read(ctx: CodeContext, read: SecretRead) -> tuple[str, str]:
    """(message, fix) for a ``.get``/``in``/iteration/``_base_secrets`` read of the mapping."""
    name = read.name or "NAME"
    where = "in `chains.Assets(secret_keys=[...])`" if read.via == "context" or _facts(ctx).chains else \
        f"under `secrets:` in {_config(ctx)}"
    declared = f"`{name}: null`" if "secrets:" in where else f"`\"{name}\"`"
    declare = f"declare {declared} {where}, read" if read.name else \
        f"read each secret by a literal name declared {where},"
    safe = (f"{declare} `{_read_expr(ctx, name)}` and, if the secret may be missing, wrap that read in "
            f"`try`/`except Exception` (`SecretNotFound` is not a `KeyError`)")
    if read.how == "get":
        return (f"`.get({read.name!r})` on the secrets mapping returns no default on Baseten: it raises "
                f"`SecretNotFound` when the secret is not declared or has no value" if read.name else
                "`.get(...)` on the secrets mapping returns no default on Baseten: it raises `SecretNotFound`", safe)
    if read.how == "in":
        return (f"`{read.name!r} in secrets` is no safe test on Baseten: it raises `SecretNotFound` instead of "
                f"returning False", safe)
    if read.how == "iterate":
        return ("iterates over the secrets mapping, which raises `NotImplementedError` on Baseten",
                f"read each secret by its literal name, e.g. `{_read_expr(ctx, 'hf_access_token')}`")
    return ("touches the private `_base_secrets`, which holds only config.yaml's placeholder values, not the "
            "workspace secrets", safe)


@check("TG209", "unsafe-secrets-access", Severity.MEDIUM, kind="policy", scope="code", spec="P9")
def unsafe_secrets_access(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    Reads of the secrets mapping that behave differently on Baseten than locally: `.get(name, default)`
    or `.get(name)`, `name in secrets` used as an optional check, iterating the mapping (`for`, `dict(...)`,
    `.items()`), and touching the private `_base_secrets`. A truthiness test (`if self._secrets and ...`)
    is fine. A helper that reads with the name it is given (`def _secret(self, name): return
    self._secrets.get(name)`) is reported once, in the helper, not at each call.

    ## Why it matters
    On Baseten the mapping is a `Secrets` resolver, not a dict: `.get()` and `in` raise `SecretNotFound`
    for a name that is not declared or has no value (they never return the default or False), and
    iteration raises `NotImplementedError`. Locally it is a plain dict, so the code seems to work until it
    is deployed. `_base_secrets` holds only config.yaml's values (`null` or placeholders).

    ## Example
    ```python
    token = self._secrets.get("hf_access_token", None)
    ```

    ## Use instead
    ```python
    token = self._secrets["hf_access_token"]
    ```
    with `hf_access_token: null` under `secrets:` in config.yaml; for a secret that may be missing, wrap the
    read in `try`/`except Exception`.
    """
    if ctx.tree is None or (ctx.truss is None and not _facts(ctx).chains):
        return  # a client script or a lone file may use a plain dict named `secrets`
    for read in _facts(ctx).use.reads:
        if read.how in ("get", "in", "iterate", "private") and read.through is None:  # a helper's: reported in it
            message, fix = _unsafe_read(ctx, read)
            yield PolicyHit("TG209", ctx.path, read.line, read.column, message, fix)


@check("TG210", "chains-literal-secret", Severity.HIGH, kind="leak", scope="code", spec="P10")
def chains_literal_secret(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    Credentials written into a Chains source: values of `chains.run_local(secrets={...})`,
    secret-looking keys of `ChainletOptions(env_variables={...})`, tokens in the URLs of
    `DockerImage(pip_requirements=[...])` or in `build_commands=[...]`, and `api_key="..."` passed to a
    stub (`from_url`) or to `http_call_args`.

    ## Why it matters
    Chains code is uploaded and turned into Truss configs: `env_variables` become plain-text
    `environment_variables`, build commands end up in the image history, and the source stays in the git
    history. `run_local` secrets are meant to come from the developer's environment.

    ## Example
    ```python
    with chains.run_local(secrets={"hf_access_token": "hf_..."}):
        ...
    ```

    ## Use instead
    ```python
    with chains.run_local(secrets={"hf_access_token": os.environ["HF_TOKEN"]}):
        ...
    ```
    and, in the chainlet, `assets=chains.Assets(secret_keys=["hf_access_token"])` with
    `context.secrets["hf_access_token"]`.
    """
    for site in _sites(ctx, CHAINS_KINDS):
        secret = None
        if site.kind in ("pip-requirements", "build-commands"):
            secret = _command_secret(ctx, site.value)
        elif site.kind in ("run-local", "stub-api-key") or _secret_key(site.name):
            secret = site.value if _credential(ctx, site.value) else None
        elif _shaped(ctx, site.value):
            secret = site.value
        if secret is None:
            continue
        name = _secret_name(ctx, site)
        key = site.name or name
        fix = {
            "run-local": f"revoke the key now and fill the entry from your environment: "
                         f"`secrets={{\"{key}\": os.environ[\"{key.upper()}\"]}}`",
            "stub-api-key": "revoke the key now and pass the chainlet's `context` instead of a key (the platform "
                            "provides `baseten_chain_api_key`); client code reads the key from the environment",
            "env-variables": f"revoke the key now, {_store(ctx, name)} instead of an environment variable",
            "pip-requirements": "revoke the token now and keep credentials out of `pip_requirements`: vendor the "
                                "private package (`DockerImage(external_package_dirs=[...])`) or install it from an "
                                "index that needs no credential in the URL",
            "build-commands": f"revoke the token now; build commands are kept in the image history, so fetch what "
                              f"needs the credential at run time with `{_read_expr(ctx, name)}` (listed in "
                              f"`chains.Assets(secret_keys=[...])`) or vendor it",
        }[site.kind]
        where = {"run-local": f"`run_local(secrets=...)` entry `{site.name}`", "stub-api-key": f"`{site.call}(...)`",
                 "env-variables": f"`ChainletOptions(env_variables=...)` entry `{site.name}`",
                 "pip-requirements": "`pip_requirements`", "build-commands": "`build_commands`"}[site.kind]
        yield _leak(ctx, "TG210", site, f"writes {_what(ctx, site.value)} into {where}",
                    f"{fix}; treat the git history as compromised", secret=secret)


def _secret_keys(cls: ast.ClassDef) -> set[str] | None:
    """The names in ``remote_config = RemoteConfig(assets=Assets(secret_keys=[...]))``; None when not literal."""
    for stmt in cls.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target] \
            if isinstance(stmt, ast.AnnAssign) and stmt.value is not None else []
        if not any(isinstance(t, ast.Name) and t.id == "remote_config" for t in targets):
            continue
        if not isinstance(stmt.value, ast.Call):
            return None  # defined elsewhere
        for node in ast.walk(stmt.value):
            if isinstance(node, ast.Call) and dotted(node.func).rsplit(".", 1)[-1] == "Assets":
                keys = next((k.value for k in node.keywords if k.arg == "secret_keys"), None)
                if keys is None:
                    return set()
                if not isinstance(keys, (ast.List, ast.Tuple, ast.Set)):
                    return None
                names = [e.value for e in keys.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
                return set(names) if len(names) == len(keys.elts) else None
        return set()
    return set()


def _is_chainlet(cls: ast.ClassDef) -> bool:
    return any(dotted(b).rsplit(".", 1)[-1] in CHAINLET_BASES for b in cls.bases)


@check("TG211", "chains-undeclared-secret-key", Severity.HIGH, kind="policy", scope="code", spec="P10")
def chains_undeclared_secret_key(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A chainlet that reads `context.secrets["x"]` while its
    `remote_config = chains.RemoteConfig(assets=chains.Assets(secret_keys=[...]))` does not list `x`
    (`baseten_chain_api_key` is always available), or reads it with a key that is not a literal.

    ## Why it matters
    `context.secrets` holds only the chainlet's own `secret_keys`: any other name raises
    `SecretNotFound` on Baseten, usually while the chainlet starts, so the chain never becomes ready.

    ## Example
    ```python
    class Generate(chains.ChainletBase):
        def __init__(self, context=chains.depends_context()):
            self._token = context.secrets["hf_access_token"]   # secret_keys not declared
    ```

    ## Use instead
    ```python
    class Generate(chains.ChainletBase):
        remote_config = chains.RemoteConfig(assets=chains.Assets(secret_keys=["hf_access_token"]))
    ```
    """
    if ctx.tree is None or not _facts(ctx).chains:
        return
    reads = _facts(ctx).use.reads
    for cls in (n for n in ast.walk(ctx.tree) if isinstance(n, ast.ClassDef) and _is_chainlet(n)):
        keys = _secret_keys(cls)
        if keys is None:
            continue
        for read in reads:
            if read.owner != cls.name or read.via != "context" or read.how not in ("subscript", "get", "in") \
                    or read.name == CHAIN_API_KEY or read.name in keys or read.followed:  # a helper: its calls
                continue
            if read.name is None:
                yield PolicyHit("TG211", ctx.path, read.line, read.column,
                                f"`{cls.name}` reads `context.secrets` with a key that is not a literal, so it cannot "
                                f"be checked against `secret_keys`",
                                f"read each secret with a literal name listed in `chains.Assets(secret_keys=[...])` of "
                                f"`{cls.name}.remote_config`")
            else:
                yield PolicyHit("TG211", ctx.path, read.line, read.column,
                                f"`{cls.name}` reads the secret `{read.name}`, which its `remote_config` does not list "
                                f"in `secret_keys`",
                                f"add `\"{read.name}\"` to `chains.Assets(secret_keys=[...])` in "
                                f"`{cls.name}.remote_config` and create the workspace secret `{read.name}` in Baseten")


@check("TG212", "baseten-api-key-in-truss", Severity.CRITICAL, kind="leak", scope="code", spec="P11")
def baseten_api_key_in_truss(ctx: CodeContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A Baseten API key in a Python file of a Truss or a Chains source: `BASETEN_API_KEY = "..."`,
    `headers={"Authorization": "Api-Key ..."}`, `api_key="..."` for a Baseten client.

    ## Why it matters
    A Baseten API key can push code to, invoke and delete every model and chain of the workspace and list
    its secret names. Shipped inside a Truss it is uploaded with the model and readable by anyone who can
    download the deployment or clone the repository.

    ## Example
    ```python
    headers = {"Authorization": "Api-Key abcd1234.XXXXXXXX..."}
    ```

    ## Use instead
    Client scripts read the key from the environment (`os.environ["BASETEN_API_KEY"]`); a chainlet calling
    other deployments uses `context.get_baseten_api_key()`; model code reads the workspace secret
    `self._secrets["baseten_api_key"]`.
    """
    fix = ("revoke this key now at https://app.baseten.co/settings/api_keys and treat the git history as "
           "compromised; client scripts read a replacement from the `BASETEN_API_KEY` environment variable, "
           "chainlets use `context.get_baseten_api_key()`, model code reads `self._secrets[\"baseten_api_key\"]` "
           f"(declared `baseten_api_key: null` under `secrets:` in {_config(ctx)})")
    seen: set[tuple[int, str]] = set()
    for m in ctx.matches:
        if m.rule_id.startswith("baseten.") and (m.line, m.secret) not in seen:
            seen.add((m.line, m.secret))
            secret, severity = ctx.leak(m.secret, Severity.CRITICAL)
            yield PolicyHit("TG212", ctx.path, m.line, m.column, "a Baseten API key is written into the code", fix,
                            secret=secret, severity=severity)
    for site in _facts(ctx).sites if ctx.tree is not None else []:
        found = _baseten_secret(ctx, site)
        if found is not None:
            secret, severity = ctx.leak(found, Severity.CRITICAL)
            line, column = _place(ctx, site.node, secret)
            if (line, secret) not in seen:
                seen.add((line, secret))
                yield PolicyHit("TG212", ctx.path, line, column,
                                f"a Baseten API key is written into `{site.name or 'a literal'}`", fix,
                                secret=secret, severity=severity)
