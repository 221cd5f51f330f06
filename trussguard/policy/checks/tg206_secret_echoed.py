"""TG206: A value of the secrets mapping printed, logged, raised or returned (P6).

The check reads the facts ``python_facts`` gathered in one walk of the file; the wording of
its fixes is shared with the other code checks (``python_fixes``).
"""

from __future__ import annotations

from typing import Iterator

from trussguard.policy.context import CodeContext
from trussguard.policy.python_facts import facts_of
from trussguard.policy.secrets_flow import WHOLE_MAPPING, secret_echoes
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


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
    for echo in secret_echoes(ctx.tree, facts_of(ctx).use):
        name = f"`{echo.secret}`" if echo.secret != "a secret" else "a secret"
        message = f"the whole secrets mapping (every secret's value) is {echo.sink}" \
            if echo.secret == WHOLE_MAPPING else f"the value of the secret {name} is {echo.sink}"
        yield PolicyHit("TG206", ctx.path, echo.node.lineno, echo.node.col_offset + 1, message,
                        _echo_fix(echo.sink, echo.secret))
