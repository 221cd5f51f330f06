"""Recognise Truss directories and find the files a deployment is built from (TRUSS_SECRETS.md 5).

No key of a Truss config is required, so recognition is heuristic: a file named
``config.yaml`` that is a mapping whose top-level keys are all valid Truss keys (an unknown
key makes ``truss push`` fail) with at least one strong key. A committed
``~/.truss/config.yaml`` (keys ``secrets`` and ``use_sudo``) is not a Truss: it holds real
values and is reported as a leak.
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass, field

import yaml

from trussguard.engine.heuristics import identifier_words
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
    parsed: yaml.Node | None  # the config's root node; None until ``doc`` parses ``source``
    model_module_dir: str = "model"
    model_class_filename: str = "model.py"
    model_class_name: str = "Model"
    bundled_packages_dir: str = "packages"
    data_dir: str = "data"
    requirements_file: str | None = None  # path of the `requirements_file` target, if the config names one
    declared: dict[str, Declaration] = field(default_factory=dict)
    source: bytes | None = field(default=None, repr=False, compare=False)  # config bytes, for a stored layout

    @property
    def doc(self) -> yaml.Node | None:
        """The config's root node: a layout restored from the scan cache parses it only when a check asks."""
        if self.parsed is None and self.source is not None:
            self.parsed, self.source = yaml_nodes.parse(self.source), None
        return self.parsed

    @property
    def custom_server(self) -> bool:
        """A `docker_server:` Truss: the platform runs its own server, no model class reads `self._secrets`;
        the server gets a secret from the mounted file `/secrets/NAME` (TRUSS_SECRETS.md 1.3)."""
        return yaml_nodes.get(self.doc, "docker_server") is not None

    def secret_name(self, suggested: str) -> str:
        """The name a fix should use for a credential: the one already declared under `secrets:` for the same
        credential (`hf_access_token` declared: `HF_TOKEN=hf_...` is fixed with `hf_access_token`, not a new
        `hf_token`), else the suggested one. Same credential = same words once the generic ones are dropped
        (`HF` for Hugging Face's spellings); only a single declared candidate is reused."""
        if suggested in self.declared:
            return suggested
        family = secret_family(suggested)
        same = [n for n in self.declared if family and secret_family(n) == family]
        return same[0] if len(same) == 1 else suggested

    def read_hint(self, name: str, variable: str | None = None) -> str:
        """How this Truss reads the secret at run time, for fix texts."""
        if self.custom_server:
            return f"`{variable or name.upper()}=$(cat /secrets/{name})` in `docker_server.start_command`"
        return f"`self._secrets[\"{name}\"]` in the model code"

    def join(self, *parts: str) -> str:
        return posixpath.normpath(posixpath.join(self.root, *parts)) if self.root else posixpath.join(*parts)

    def owns_code(self, path: str) -> bool:
        """Python (and shell) files and notebooks shipped with this Truss: model dir, bundled packages, data dir."""
        if not path.endswith((".py", ".sh", ".ipynb")):
            return False
        return any(path.startswith(self.join(d) + "/") for d in
                   (self.model_module_dir, self.bundled_packages_dir, self.data_dir))


_GENERIC_WORDS = {"TOKEN", "KEY", "API", "APIKEY", "ACCESS", "ACCESSTOKEN", "AUTH", "AUTHTOKEN", "SECRET", "HUB",
                  "USER", "PERSONAL", "READ", "WRITE", "PASSWORD", "CREDENTIAL", "CREDENTIALS"}
_HF_SPELLINGS = {"HF", "HUGGINGFACE", "HUGGING", "FACE"}


def secret_family(name: str) -> frozenset[str]:
    """The distinctive words of a secret's name: `hf_access_token`, `HF_TOKEN` and
    `HUGGING_FACE_HUB_TOKEN` are all {"HF"}; `openai_api_key` and `OPENAI_KEY` are {"OPENAI"}."""
    words = {w for w in identifier_words(name) if w not in _GENERIC_WORDS}
    if words & _HF_SPELLINGS:
        words = (words - _HF_SPELLINGS) | {"HF"}
    return frozenset(words)


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
    for attr in _LAYOUT_FIELDS:
        value = yaml_nodes.scalar(yaml_nodes.get(root, attr))
        if value is not None and value.value:
            setattr(truss, attr, value.value.strip("/"))
    requirements = yaml_nodes.scalar(yaml_nodes.get(root, "requirements_file"))
    if requirements is not None and requirements.value and "://" not in requirements.value:
        truss.requirements_file = truss.join(requirements.value)
    for name, key, value in yaml_nodes.items(yaml_nodes.get(root, "secrets")):
        mark = key.start_mark
        truss.declared[name] = Declaration(name, mark.line + 1, mark.column + 1, yaml_nodes.scalar(value))
    return truss


def is_config_name(path: str) -> bool:
    return posixpath.basename(path) == "config.yaml"


# Truss's built-in ignore list (truss/util/.truss_ignore), used when a Truss has no .truss_ignore of
# its own; a custom file replaces it entirely (truss/util/path.py load_trussignore_patterns_from_truss_dir).
TRUSS_IGNORE = ".truss_ignore"
DEFAULT_TRUSS_IGNORE = (
    "__pycache__/", "*.py[cod]", "*$py.class", "*.so", ".Python", "build/", "develop-eggs/", "dist/",
    "downloads/", "eggs/", ".eggs/", "lib/", "lib64/", "parts/", "sdist/", "var/", "wheels/",
    "share/python-wheels/", "*.egg-info/", ".installed.cfg", "*.egg", "MANIFEST", ".DS_Store", "*.manifest",
    "*.spec", "pip-log.txt", "pip-delete-this-directory.txt", "htmlcov/", ".tox/", ".nox/", ".coverage",
    ".coverage.*", ".cache", "nosetests.xml", "coverage.xml", "*.cover", "*.py,cover", ".hypothesis/",
    ".pytest_cache/", "cover/", "*.mo", "*.pot", "*.log", "local_settings.py", "db.sqlite3",
    "db.sqlite3-journal", "instance/", ".webassets-cache", ".scrapy", "docs/_build/", ".pybuilder/", "target/",
    ".ipynb_checkpoints", "profile_default/", "ipython_config.py", ".pdm.toml", "__pypackages__/",
    "celerybeat-schedule", "celerybeat.pid", "*.sage.py", ".env", ".venv", "env/", "venv/", "ENV/", "env.bak/",
    "venv.bak/", ".spyderproject", ".spyproject", ".ropeproject", ".mypy_cache/", ".dmypy.json", "dmypy.json",
    ".pyre/", ".pytype/", "cython_debug/", ".git/", "*.tmp", "*.swp",
)


def ignore_patterns(text: str) -> list[tuple[int, str]]:
    """(line, pattern) of a .truss_ignore file, read the way Truss reads it (stripped, no comments)."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append((n, line))
    return out


def ignored_by(path: str, patterns: list[str] | tuple[str, ...]) -> int | None:
    """Index of the pattern that decides that ``path`` (relative to the Truss root) is ignored, or None.

    Gitignore semantics as Truss applies them through pathspec's GitWildMatchPattern: the last
    matching pattern wins, ``!`` re-includes, a trailing ``/`` matches directories only (and so
    everything below them), a pattern without an inner ``/`` matches at any depth.
    """
    parts = path.strip("/").split("/")
    candidates = [("/".join(parts[:i]), i < len(parts)) for i in range(1, len(parts) + 1)]
    decided: int | None = None
    for index, raw in enumerate(patterns):
        compiled = _compile_ignore(raw)
        if compiled is None:
            continue
        regex, negate, dir_only = compiled
        if any(regex.match(c) and (is_dir or not dir_only) for c, is_dir in candidates):
            decided = None if negate else index
    return decided


@functools.lru_cache(maxsize=1024)
def _compile_ignore(pattern: str) -> tuple[re.Pattern[str], bool, bool] | None:
    negate = pattern.startswith("!")
    if negate:
        pattern = pattern[1:]
    if pattern.startswith("\\"):
        pattern = pattern[1:]
    dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    if not pattern:
        return None
    anchored = "/" in pattern
    body = _glob(pattern.lstrip("/"))
    return re.compile(("^" if anchored else "^(?:.*/)?") + body + "$"), negate, dir_only


def _glob(p: str) -> str:
    out, i = [], 0
    while i < len(p):
        if p.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif p.startswith("**", i):
            out.append(".*")
            i += 2
        elif p[i] == "*":
            out.append("[^/]*")
            i += 1
        elif p[i] == "?":
            out.append("[^/]")
            i += 1
        elif p[i] == "[" and p.find("]", i + 2) > 0:
            j = p.find("]", i + 2)
            body = p[i + 1:j]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = j + 1
        elif p[i] == "\\" and i + 1 < len(p):
            out.append(re.escape(p[i + 1]))
            i += 2
        else:
            out.append(re.escape(p[i]))
            i += 1
    return "".join(out)


_LAYOUT_FIELDS = ("model_module_dir", "model_class_filename", "model_class_name", "bundled_packages_dir", "data_dir")


def stored_layout(truss: TrussDir) -> list | None:
    """The layout as the scan cache keeps it (so a warm re-scan need not parse every config), or None when
    it must not be kept: a declaration whose value is not null may hold a secret, and the cache never does."""
    if not all(d.value is not None and d.value.is_null for d in truss.declared.values()):
        return None
    return [*(getattr(truss, f) for f in _LAYOUT_FIELDS), truss.requirements_file,
            [[d.name, d.line, d.column, d.value.line, d.value.column, d.value.quoted] for d in truss.declared.values()]]


def restored_layout(config_path: str, source: bytes, stored) -> TrussDir:
    """A TrussDir from ``stored_layout``'s list and the config's bytes; ValueError if it is not that shape."""
    if type(stored) is not list or len(stored) != len(_LAYOUT_FIELDS) + 2:
        raise ValueError("not a stored layout")
    *names, requirements, declared = stored
    if not all(type(v) is str for v in names) or type(requirements) not in (str, type(None)) \
            or type(declared) is not list:
        raise ValueError("not a stored layout")
    truss = TrussDir(posixpath.dirname(config_path), config_path, None, *names, requirements, source=source)
    for entry in declared:
        if type(entry) is not list or len(entry) != 6 or type(entry[0]) is not str \
                or not all(type(v) is int for v in entry[1:5]) or type(entry[5]) is not bool:
            raise ValueError("not a stored declaration")
        name, line, column, value_line, value_column, quoted = entry
        truss.declared[name] = Declaration(name, line, column, Scalar(None, value_line, value_column, quoted))
    return truss
