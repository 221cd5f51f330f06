"""config.yaml as a tree of YAML nodes that remember their line and column.

``yaml.compose`` builds nodes without constructing Python objects (no tags are executed)
and without expanding aliases (an alias bomb stays a small graph), and every node keeps its
start mark, so a finding can point at the exact key or value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import yaml

try:
    _LOADER = yaml.CSafeLoader
except AttributeError:  # PyYAML without libyaml
    _LOADER = yaml.SafeLoader

MAX_DEPTH = 64


class ConfigError(ValueError):
    """The file is not YAML (the report says so; the plain rule scan still covers it)."""


@dataclass(frozen=True)
class Scalar:
    """A scalar value with its place: ``value`` is None for YAML null (``~``, ``null``, empty)."""

    value: str | None
    line: int  # 1-based
    column: int  # 1-based
    quoted: bool

    @property
    def is_null(self) -> bool:
        return self.value is None


def parse(data: bytes) -> yaml.Node | None:
    """The document's root node (None for an empty file); raises ConfigError on bad YAML."""
    try:
        return yaml.compose(data, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError(" ".join(str(exc).split())) from None
    except (RecursionError, ValueError) as exc:
        raise ConfigError(f"cannot parse: {type(exc).__name__}") from None


def scalar(node: yaml.Node | None) -> Scalar | None:
    """The node as a Scalar, or None if it is a mapping or a sequence."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    mark = node.start_mark
    is_null = node.tag == "tag:yaml.org,2002:null" or (node.style is None and node.value in ("", "~", "null",
                                                                                               "Null", "NULL"))
    return Scalar(None if is_null else node.value, mark.line + 1, mark.column + 1, node.style in ("'", '"'))


def items(node: yaml.Node | None) -> Iterator[tuple[str, yaml.Node, yaml.Node]]:
    """(key text, key node, value node) of a mapping node; nothing for other nodes."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                yield key.value, key, value


def get(node: yaml.Node | None, *path: str) -> yaml.Node | None:
    """The node at a key path (``get(root, "docker_server", "start_command")``), or None."""
    for key in path:
        node = next((v for k, _, v in items(node) if k == key), None)
        if node is None:
            return None
    return node


def elements(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def walk_scalars(node: yaml.Node | None, path: tuple[str, ...] = (), depth: int = 0,
                 seen: set[int] | None = None) -> Iterator[tuple[tuple[str, ...], Scalar]]:
    """Every scalar with its key path (sequence items as ``[i]``); aliases are visited once."""
    seen = set() if seen is None else seen
    if node is None or depth > MAX_DEPTH or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        found = scalar(node)
        if found is not None:
            yield path, found
    elif isinstance(node, yaml.MappingNode):
        for key, _, value in items(node):
            yield from walk_scalars(value, path + (key,), depth + 1, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            yield from walk_scalars(value, path + (f"[{i}]",), depth + 1, seen)


def top_level_keys(node: yaml.Node | None) -> list[str]:
    return [k for k, _, _ in items(node)]


def walk_nodes(node: yaml.Node | None, path: tuple[str, ...] = (), depth: int = 0,
               seen: set[int] | None = None) -> Iterator[tuple[tuple[str, ...], yaml.ScalarNode, bool]]:
    """Every scalar node with its key path and whether it is a mapping key (keys carry their own path)."""
    seen = set() if seen is None else seen
    if node is None or depth > MAX_DEPTH or id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.ScalarNode):
        yield path, node, False
    elif isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                yield path + (key.value,), key, True
                yield from walk_nodes(value, path + (key.value,), depth + 1, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, value in enumerate(node.value):
            yield from walk_nodes(value, path + (f"[{i}]",), depth + 1, seen)


NodeAt = tuple[tuple[str, ...], yaml.ScalarNode, bool]  # (key path, scalar node, is a mapping key): walk_nodes


def scalars_by_line(nodes: list[NodeAt]) -> dict[int, list[NodeAt]]:
    """Each 1-based line's scalars (those spanning it), in walk order: a question about one place only ever
    looks at its own line's scalars, not at every scalar of the file (20,000 environment variables each with
    a key: 4 x 10^8 tests)."""
    by_line: dict[int, list[NodeAt]] = {}
    for s in nodes:
        for n in range(s[1].start_mark.line + 1, s[1].end_mark.line + 2):
            by_line.setdefault(n, []).append(s)
    return by_line


def is_bool_or_number(node: yaml.Node) -> bool:
    """A YAML boolean, integer or float (`true`, `8080`): a setting, never a credential or a secret name."""
    return node.tag in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")


def dotted(path: tuple[str, ...]) -> str:
    """A key path as written in the docs: ``external_data[0].url``."""
    out = ""
    for part in path:
        out += part if part.startswith("[") or not out else "." + part
    return out


def contains(node: yaml.Node, line: int, column: int) -> bool:
    """True when the 1-based (line, column) lies inside the node's source text."""
    start, end = node.start_mark, node.end_mark
    return (start.line + 1, start.column + 1) <= (line, column) < (end.line + 1, end.column + 1)


def source_lines(data: bytes) -> list[str]:
    """The file's lines, numbered like the YAML marks and the rule matches (split on newlines only)."""
    return data.decode("utf-8", "replace").split("\n")


def locate(lines: list[str], node: yaml.Node, needle: str) -> tuple[int, int]:
    """1-based (line, column) of ``needle`` inside the node's source text, else the node's start.

    Searching the source (not the parsed value) gives the exact place inside quoted, block and
    multi-line scalars, where the value's offsets differ from the file's.
    """
    start, end = node.start_mark, node.end_mark
    needle = needle.split("\n")[0].strip()
    if needle:
        for n in range(start.line, min(end.line, len(lines) - 1) + 1):
            text = lines[n]
            lo = start.column if n == start.line else 0
            hi = end.column if n == end.line else len(text)
            at = text.find(needle, lo, hi)
            if at >= 0:
                return n + 1, at + 1
    return start.line + 1, start.column + 1
