"""Where a Truss config.yaml holds secret NAMEs, download URLs and command lists (TRUSS_SECRETS.md 1.2).

Pure functions of the parsed document: the config facts collect them once per file, and TG114 asks
the same key-path questions to leave every field to the check that owns it.
"""

from __future__ import annotations

from typing import Iterator

import yaml

from trussguard.policy import yaml_nodes

# Default secret names Truss uses for each NAME field (suggested in the fix).
NAME_DEFAULTS = {
    "runtime_secret_name": "hf_access_token", "auth_secret_name": "weights_bucket_credentials",
    "secret_name": "gcp_service_account_json", "aws_access_key_id_secret_name": "aws_access_key_id",
    "aws_secret_access_key_secret_name": "aws_secret_access_key",
}


def name_fields(doc: yaml.Node | None) -> Iterator[tuple[str, yaml.Node, str]]:
    """(label, node, suggested name) of every field that must hold a secret NAME (TRUSS_SECRETS.md 1.2)."""
    for cache in ("model_cache", "hf_cache"):
        for i, item in enumerate(yaml_nodes.elements(yaml_nodes.get(doc, cache))):
            yield f"{cache}[{i}].runtime_secret_name", yaml_nodes.get(item, "runtime_secret_name"), \
                NAME_DEFAULTS["runtime_secret_name"]
    for i, item in enumerate(yaml_nodes.elements(yaml_nodes.get(doc, "weights"))):
        yield f"weights[{i}].auth_secret_name", yaml_nodes.get(item, "auth_secret_name"), \
            NAME_DEFAULTS["auth_secret_name"]
        yield f"weights[{i}].auth.auth_secret_name", yaml_nodes.get(item, "auth", "auth_secret_name"), \
            NAME_DEFAULTS["auth_secret_name"]
    for key in ("secret_name", "aws_access_key_id_secret_name", "aws_secret_access_key_secret_name"):
        yield f"base_image.docker_auth.{key}", yaml_nodes.get(doc, "base_image", "docker_auth", key), \
            NAME_DEFAULTS[key]
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


def is_name_field(path: tuple[str, ...], is_key: bool) -> bool:
    """True for the key path of a field ``name_fields`` yields (TG111 reports what lies there)."""
    if is_key:
        return len(path) == 2 and path[0] == "secrets" \
            or len(path) == 3 and path[:2] == ("build", "secret_to_path_mapping")
    last = path[-1] if path else ""
    if last in ("runtime_secret_name", "use_secret") and len(path) == 3 and path[0] in ("model_cache", "hf_cache"):
        return True
    if path[:1] == ("weights",) and last == "auth_secret_name":
        return True
    if path[:2] == ("base_image", "docker_auth") and last in NAME_DEFAULTS:
        return True
    return path[:1] == ("trt_llm",) and path[-2:] == ("checkpoint_repository", "runtime_secret_name")


def url_fields(doc: yaml.Node | None) -> Iterator[tuple[str, yaml.Node]]:
    """The config fields Truss downloads from directly: where a presigned URL can land."""
    for i, item in enumerate(yaml_nodes.elements(yaml_nodes.get(doc, "external_data"))):
        yield f"external_data[{i}].url", yaml_nodes.get(item, "url")
    for i, item in enumerate(yaml_nodes.elements(yaml_nodes.get(doc, "weights"))):
        yield f"weights[{i}].source", yaml_nodes.get(item, "source")
    for prefix in (("trt_llm", "build"), ("trt_llm", "build", "speculator")):
        yield ".".join(prefix) + ".checkpoint_repository.repo", \
            yaml_nodes.get(doc, *prefix, "checkpoint_repository", "repo")


def is_url_field(path: tuple[str, ...]) -> bool:
    """True for the key path of a field ``url_fields`` yields."""
    return (len(path) == 3 and path[0] in ("external_data", "weights") and path[1].startswith("[")
            and path[2] == ("url" if path[0] == "external_data" else "source")) \
        or path in (("trt_llm", "build", "checkpoint_repository", "repo"),
                    ("trt_llm", "build", "speculator", "checkpoint_repository", "repo"))


def string_items(node: yaml.Node | None, label: str) -> Iterator[tuple[str, yaml.ScalarNode, str]]:
    """(label[i], node, text) of the string elements of a sequence."""
    for i, item in enumerate(yaml_nodes.elements(node)):
        sc = yaml_nodes.scalar(item)
        if sc is not None and sc.value:
            yield f"{label}[{i}]", item, sc.value
