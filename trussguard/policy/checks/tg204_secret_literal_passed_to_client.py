"""TG204: A credential literal passed to a client, a download or an auth header (P4).

The check reads the facts ``python_facts`` gathered in one walk of the file; the wording of
its fixes is shared with the other code checks (``python_fixes``).
"""

from __future__ import annotations

from typing import Iterator

from trussguard.engine.heuristics import AUTH_SCHEME
from trussguard.policy.context import CodeContext
from trussguard.policy.python_fixes import revoke
from trussguard.policy.python_leaks import (
    client_secret_name, credential, leak, literal_description, secret_key, shaped, sites,
)
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity

CLIENT_KEYWORDS = frozenset({"api_key", "token", "use_auth_token", "auth_token", "hf_token", "access_token",
                             "password", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
                             "account_key", "credential"})


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
    for site in sites(ctx, ("keyword", "argument", "header")):
        if site.kind == "keyword" and site.name == "token" and site.call.endswith("load_textual_inversion"):
            continue  # the placeholder word of a textual inversion, not a credential
        named = (site.name in CLIENT_KEYWORDS or secret_key(site.name)) if site.kind != "argument" else False
        if not (shaped(ctx, site.value) or (named and credential(ctx, site.value))):
            continue
        name = client_secret_name(ctx, site)
        call = f"`{site.call}(...)`" if site.call else "a call"
        if site.kind == "header":
            scheme = AUTH_SCHEME.match(site.value.strip())
            prefix = scheme.group(0) if scheme else "Bearer "
            how = f"build the header from it: `headers={{\"{site.name}\": \"{prefix}\" + {{read}}}}`"
            what = f"the `{site.name}` header of {call}"
        elif site.kind == "keyword":
            how, what = f"pass `{site.name}={{read}}`", f"`{site.name}=` of {call}"
        else:
            how, what = "pass `{read}`", call
        yield leak(ctx, "TG204", site, f"passes {literal_description(ctx, site.value)} to {what}",
                   revoke(ctx, name, how + " in `load()`"))
