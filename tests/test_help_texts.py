"""Help texts are complete and proofread (issue 15): no command description cut off in a listing,
no unbalanced bracket or quote in any help text."""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from trussguard.cli import cli


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    yield prefix, group
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))
        else:
            yield prefix + (name,), command


COMMANDS = list(_commands(cli))


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=[" ".join(p) or "trussguard" for p, _ in COMMANDS])
def test_help_is_complete(path):
    out = CliRunner().invoke(cli, list(path) + ["--help"], terminal_width=100)
    assert out.exit_code == 0, out.output
    text = out.output
    cut = [line for line in text.splitlines()
           if not line.startswith("Usage:") and re.search(r"[\w')]\.\.\.$", line.rstrip())]
    assert cut == [], cut  # a description cut short by click ends its line in "..."
    for opening, closing in ("()", "[]", "{}"):
        assert text.count(opening) == text.count(closing), (opening, text)
    assert text.count("`") % 2 == 0, text
    assert not re.search(r"\w'\)", text), text  # a stray quote before a bracket: "import detect-secrets')"
