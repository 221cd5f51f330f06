"""Checks on the files of a Truss directory itself (TRUSS_SECRETS.md 1.4 and C8)."""

from __future__ import annotations

import fnmatch
import posixpath
from typing import Iterator

from trussguard.policy import truss_dirs
from trussguard.policy.context import ProjectContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity

# Basenames of files that hold credentials by design (glob patterns, matched case-insensitively).
CREDENTIAL_FILES = (
    ".env", ".env.*", "*.pem", "id_rsa", "id_rsa.*", "id_dsa", "id_ecdsa", "id_ed25519", ".trussrc", ".netrc",
    ".pypirc", "service-account*.json", "service_account*.json",
)
# Templates committed on purpose next to a real .env / key: documentation, not credentials.
_TEMPLATE_SUFFIXES = (".example", ".sample", ".template", ".dist", ".defaults", ".pub")
# Legacy model_cache v1 reads these from the data directory and copies them into the image.
LEGACY_CACHE_FILES = ("s3_credentials.json", "service_account.json")


def _nested_roots(ctx: ProjectContext) -> list[str]:
    """Roots of other Trusses inside this one: their files are reported with them, not twice."""
    own = ctx.truss.config_path
    return [posixpath.dirname(p) for p in ctx.texts if truss_dirs.is_config_name(p) and p != own
            and posixpath.dirname(p) != ctx.truss.root]


def _relative(ctx: ProjectContext, path: str) -> str:
    return path[len(ctx.truss.root) + 1:] if ctx.truss.root else path


def _ignore_patterns(ctx: ProjectContext) -> tuple[str, ...] | None:
    """The Truss's own .truss_ignore patterns (None when it has none: the built-in list applies)."""
    path = ctx.truss.join(truss_dirs.TRUSS_IGNORE)
    data = ctx.texts.get(path)
    if data is None:
        return None
    return tuple(p for _, p in truss_dirs.ignore_patterns(data.decode("utf-8", "replace")))


_KINDS = {  # first matching pattern -> (what the file is, how to replace it)
    ".env": ("an environment file",
             "store each value as a Baseten workspace secret, declare its name under `secrets:` and read it with "
             "`self._secrets[\"<name>\"]`"),
    ".trussrc": ("a Truss CLI credentials file (Baseten API key)",
                 "revoke the Baseten API key it holds (Baseten settings > API keys); the CLI reads ~/.trussrc, "
                 "and deployed models get keys from workspace secrets such as `baseten_api_key`"),
    ".json": ("a service-account key file",
              "delete the key in the cloud console and store the JSON as a workspace secret (e.g. "
              "`gcp_service_account`) named in `model_cache[].runtime_secret_name`, `weights[].auth_secret_name` or "
              "`base_image.docker_auth.secret_name`, or use OIDC"),
    "login": ("a login credentials file",
              "change the passwords and tokens it holds and pass them to builds through "
              "`build.secret_to_path_mapping` instead"),
    "key": ("a private key file",
            "replace the key pair and, if the model needs the key, store it as a workspace secret (e.g. "
            "`ssh_private_key`) declared under `secrets:`"),
}


def _credential_file(ctx: ProjectContext, path: str) -> tuple[str, str] | None:
    """(what the file is, the remedy) when ``path`` is a credential file, else None."""
    rel = _relative(ctx, path)
    base = posixpath.basename(rel)
    if posixpath.dirname(rel) == ctx.truss.data_dir.strip("/") and base in LEGACY_CACHE_FILES:
        return ("a legacy model_cache credentials file (copied into the image by the v1 cache warmer)",
                "move to `model_cache` entries with `use_volume: true` and `runtime_secret_name` naming a workspace "
                "secret that holds the JSON credentials (or `weights:` with `auth_secret_name`, or OIDC)")
    lower = base.lower()
    if lower.endswith(_TEMPLATE_SUFFIXES):
        return None
    for pattern in CREDENTIAL_FILES:
        if fnmatch.fnmatchcase(lower, pattern):
            if pattern.startswith(".env"):
                return _KINDS[".env"]
            if pattern == ".trussrc":
                return _KINDS[".trussrc"]
            if pattern.endswith(".json"):
                return _KINDS[".json"]
            if pattern in (".netrc", ".pypirc"):
                return _KINDS["login"]
            return _KINDS["key"]
    return None


@check("TG112", "credential-file-in-truss", Severity.HIGH, kind="policy", scope="project", spec="C8")
def credential_file_in_truss(ctx: ProjectContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A credential file inside a Truss directory: `data/s3_credentials.json` or `data/service_account.json`
    (read by the legacy model cache), `.env` and `.env.*`, `*.pem`, `id_rsa*` and other SSH private keys,
    `.trussrc`, `.netrc`, `.pypirc`, `service-account*.json`. Templates (`.env.example`, `*.pub`) are not
    reported. A file that the Truss's ignore rules exclude from the upload is still reported (it is in the
    repository), at medium severity.

    ## Why it matters
    Everything under the Truss directory that `.truss_ignore` does not exclude is tarred and uploaded on
    `truss push`, stays downloadable with the deployment, and the legacy cache files are even copied into
    the image. Credentials belong in the Baseten workspace secret store, not next to the model.

    ## Example
    ```
    my-truss/
      config.yaml
      data/s3_credentials.json
    ```

    ## Use instead
    Delete the file, rotate what it held, and store the values as workspace secrets: for S3 weights use
    `model_cache` (or `weights`) with `runtime_secret_name` / `auth_secret_name` naming a secret that holds
    the JSON credentials, or OIDC.
    """
    patterns = _ignore_patterns(ctx)
    effective = patterns if patterns is not None else truss_dirs.DEFAULT_TRUSS_IGNORE
    nested = _nested_roots(ctx)
    for path in sorted(set(ctx.paths)):
        if any(path.startswith(root + "/") for root in nested):
            continue
        found = _credential_file(ctx, path)
        if found is None:
            continue
        kind, remedy = found
        rel = _relative(ctx, path)
        ignored = truss_dirs.ignored_by(rel, effective) is not None
        legacy = "legacy model_cache" in kind
        fix = f"delete {rel} from the Truss directory and the repository history, rotate what it holds, and {remedy}"
        where = ("excluded from the upload by the ignore rules but committed in the repository" if ignored
                 else "uploaded with the Truss on `truss push`")
        yield PolicyHit("TG112", path, 1, 1, f"{kind} inside the Truss directory, {where}", fix,
                        severity=Severity.MEDIUM if ignored and not legacy else None)


@check("TG113", "truss-ignore-keeps-env", Severity.MEDIUM, kind="policy", scope="project", spec="C8")
def truss_ignore_keeps_env(ctx: ProjectContext) -> Iterator[PolicyHit]:
    """
    ## What it finds
    A custom `.truss_ignore` in the Truss root that does not exclude `.env`.

    ## Why it matters
    A Truss's own `.truss_ignore` replaces Truss's built-in ignore list instead of extending it, and the
    built-in list is what keeps `.env`, `.venv`, `env/` and `.git/` out of the upload. With a custom file that
    forgets them, a local `.env` full of keys is tarred and uploaded on the next `truss push`.

    ## Example
    ```
    # .truss_ignore
    notebooks/
    *.ipynb
    ```

    ## Use instead
    Repeat the entries of the built-in list that matter in your own file:
    ```
    notebooks/
    *.ipynb
    .env
    .env.*
    .venv
    env/
    venv/
    .git/
    ```
    """
    path = ctx.truss.join(truss_dirs.TRUSS_IGNORE)
    data = ctx.texts.get(path)
    if data is None:
        return
    lines = truss_dirs.ignore_patterns(data.decode("utf-8", "replace"))
    patterns = tuple(p for _, p in lines)
    if truss_dirs.ignored_by(".env", patterns) is not None:
        return
    # Point at the line that re-includes .env if there is one, else at the top of the file.
    line = next((n for n, p in reversed(lines) if p.startswith("!") and truss_dirs.ignored_by(".env", (p[1:],))
                 is not None), 1)
    yield PolicyHit("TG113", path, line, 1,
                    "this .truss_ignore replaces Truss's built-in ignore list and does not exclude `.env`, so a "
                    "local .env is uploaded with the Truss",
                    "add `.env` (and `.env.*`, `.venv`, `env/`, `venv/`, `.git/` from Truss's built-in list) to "
                    f"{path}")
