"""Recognise Truss directories and find the files a deployment is built from (TRUSS_SECRETS.md 5).

No key of a Truss config is required, so recognition is heuristic: a file named
``config.yaml`` that is a mapping whose top-level keys are all valid Truss keys (an unknown
key makes ``truss push`` fail) with at least one strong key. A committed
``~/.truss/config.yaml`` (keys ``secrets`` and ``use_sudo``) is not a Truss: it holds real
values and is reported as a leak.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

import yaml

from trussguard.policy import yaml_nodes
from trussguard.policy.yaml_nodes import ConfigError, Scalar

VALID_KEYS = frozenset({
    "model_name", "model_metadata", "description", "examples_filename", "data_dir", "external_data",
    "external_package_dirs", "python_version", "base_image", "requirements_file", "requirements",
    "system_packages", "environment_variables", "secrets", "resources", "runtime", "build", "build_commands",
    "docker_server", "model_cache", "weights", "trt_llm", "training_checkpoints", "bis_llm", "input_type",
    "model_framework", "model_type", "model_module_dir", "model_class_filename", "model_class_name",
    "bundled_packages_dir", "use_local_src", "cache_internal", "live_reload", "apply_library_patches",
    "spec_version", "hf_cache",
})
STRONG_KEYS = frozenset({
    "model_name", "resources", "python_version", "model_class_name", "model_module_dir", "trt_llm",
    "docker_server", "model_cache", "hf_cache", "weights", "base_image", "bis_llm", "secrets", "requirements",
    "system_packages",
})
LOCAL_CONFIG_KEYS = frozenset({"secrets", "use_sudo"})


@dataclass(frozen=True)
class Declaration:
    """A name declared under ``secrets:`` with the place of its key and its value."""

    name: str
    line: int
    column: int
    value: Scalar | None  # None when the value is a mapping or list (not a valid declaration)


@dataclass
class TrussDir:
    root: str  # POSIX path relative to the scan root; "" for the root itself
    config_path: str
    doc: yaml.Node | None
    model_module_dir: str = "model"
    model_class_filename: str = "model.py"
    model_class_name: str = "Model"
    bundled_packages_dir: str = "packages"
    data_dir: str = "data"
    declared: dict[str, Declaration] = field(default_factory=dict)

    def join(self, *parts: str) -> str:
        return posixpath.normpath(posixpath.join(self.root, *parts)) if self.root else posixpath.join(*parts)

    @property
    def model_file(self) -> str:
        return self.join(self.model_module_dir, self.model_class_filename)

    def owns_code(self, path: str) -> bool:
        """Python (and shell) files shipped with this Truss: model dir, bundled packages, data dir."""
        if not path.endswith((".py", ".sh")):
            return False
        return any(path.startswith(self.join(d) + "/") for d in
                   (self.model_module_dir, self.bundled_packages_dir, self.data_dir))


def classify(data: bytes) -> tuple[str | None, yaml.Node | None]:
    """("truss" | "local-config" | None, root node) for the bytes of a file named config.yaml."""
    try:
        root = yaml_nodes.parse(data)
    except ConfigError:
        return None, None
    keys = set(yaml_nodes.top_level_keys(root))
    if not isinstance(root, yaml.MappingNode):
        return None, root
    if "use_sudo" in keys and keys <= LOCAL_CONFIG_KEYS:
        return "local-config", root
    if keys and keys <= VALID_KEYS and keys & STRONG_KEYS:
        return "truss", root
    return None, root


def truss_dir(config_path: str, root: yaml.Node) -> TrussDir:
    """The layout of the Truss whose config is at ``config_path``."""
    truss = TrussDir(posixpath.dirname(config_path), config_path, root)
    for attr in ("model_module_dir", "model_class_filename", "model_class_name", "bundled_packages_dir",
                 "data_dir"):
        value = yaml_nodes.scalar(yaml_nodes.get(root, attr))
        if value is not None and value.value:
            setattr(truss, attr, value.value.strip("/"))
    for name, key, value in yaml_nodes.items(yaml_nodes.get(root, "secrets")):
        mark = key.start_mark
        truss.declared[name] = Declaration(name, mark.line + 1, mark.column + 1, yaml_nodes.scalar(value))
    return truss


def is_config_name(path: str) -> bool:
    return posixpath.basename(path) == "config.yaml"
