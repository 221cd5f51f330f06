"""TG110 signed-url-in-config: a presigned URL in a field Truss downloads from (TRUSS_SECRETS.md C6)."""

from __future__ import annotations

import re
import urllib.parse
from typing import Iterator

from trussguard.policy import yaml_nodes
from trussguard.policy.config_facts import facts_of
from trussguard.policy.config_values import leak_of, rule_label, rule_matches, rule_secret_name
from trussguard.policy.context import ConfigContext
from trussguard.policy.registry import PolicyHit, check
from trussguard.types import Severity


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
    facts = facts_of(ctx)
    if not facts.is_truss:
        return
    for label, node in facts.url_fields:
        sc = yaml_nodes.scalar(node)
        if sc is None or not sc.value:
            continue
        for m in rule_matches(ctx, sc.value, node):
            if not m.rule_id.startswith("signed-url."):
                continue
            secret, severity = leak_of(ctx, m)
            line, column = facts.place(node, secret)
            name = rule_secret_name(ctx, m, "weights_bucket_credentials")
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
                "TG110", ctx.path, line, column, f"{rule_label(ctx, m)} in `{label}`",
                f"revoke the key that signed it and {remedy}{alternative}", secret=secret, severity=severity)
