"""Escaped text unescaped before keyword-context matching (issue 14): JSON strings and escaped YAML/TOML
strings are also read unescaped, and a match there is reported at the file's offsets, line and column
of the escaped text with the unescaped value as its secret.

Every credential is generated at run time from the rule's token template (``fake_token``).
"""

from __future__ import annotations

import json

import pytest

from trussguard.engine import derived
from trussguard.engine.detector import Detector
from trussguard.engine.unescape import Reading, broken_json_escape, escaped_reading
from trussguard.scan_cache import ScanCache
from trussguard.scan_unit import Unit, UnitContext, scan_unit
from trussguard.types import Fragment

MISTRAL = "mistral.api-key"
HF = "huggingface.user-token"


@pytest.fixture(scope="module")
def ctx(ruleset) -> UnitContext:
    return UnitContext(Detector(ruleset, None, False, 1), frozenset(), 1 << 20)


def _scan(ctx, path: str, data: bytes):
    return scan_unit(Unit((path,), Fragment(path, data)), ctx)


def _at(data: bytes, m) -> str:
    """The file's line of a match, from its reported column on."""
    return data.decode().splitlines()[m.line - 1][m.column - 1:]


def test_a_keyword_anchored_key_inside_a_json_string_with_escapes(ctx, fake_token):
    key = fake_token(MISTRAL)
    command = f'set -e\nexport MISTRAL_API_KEY="{key}"\npython serve.py\n'
    data = json.dumps({"name": "svc", "run": {"command": command}}, indent=2).encode()
    assert b'\\"' in data and b"\\n" in data
    assert [m.rule_id for m in ctx.detector.detect("deploy.json", data, False)] == []  # as written: no match
    [m] = _scan(ctx, "deploy.json", data).matches
    assert (m.rule_id, m.secret, m.decoded, m.cell) == (MISTRAL, key, None, None)
    assert data[m.start:m.end] == key.encode() and _at(data, m).startswith(key)
    assert m.line == data[:m.start].count(b"\n") + 1


def test_a_key_in_a_yaml_double_quoted_string_with_escapes(ctx, fake_token):
    key = fake_token(MISTRAL)
    data = (f'cmd: "python -c \\"print(1)\\""  # a comment\n'
            f'run: "set -e\\nexport MISTRAL_API_KEY=\\"{key}\\"\\n"\n').encode()
    [m] = _scan(ctx, "deploy.yaml", data).matches
    assert (m.rule_id, m.secret, m.line) == (MISTRAL, key, 2) and _at(data, m).startswith(key)


def test_a_key_in_a_toml_basic_string_with_escapes(ctx, fake_token):
    key = fake_token(MISTRAL)
    data = f'[tool.run]\ncommand = "export MISTRAL_API_KEY=\\"{key}\\" && serve"\n'.encode()
    [m] = _scan(ctx, "pyproject.toml", data).matches
    assert (m.rule_id, m.secret, m.line) == (MISTRAL, key, 2) and _at(data, m).startswith(key)


def test_a_prefixed_token_inside_an_escaped_string_is_reported_once(ctx, fake_token):
    token = fake_token(HF)
    data = json.dumps({"env": f'HF_TOKEN="{token}"\nX=1'}).encode()
    assert [(m.rule_id, m.secret) for m in _scan(ctx, "env.json", data).matches] == [(HF, token)]


def test_a_secret_written_with_escapes_is_reported_unescaped_and_never_cached(ctx, fake_token):
    token = fake_token(HF)
    escaped = "\\u0068" + token[1:]  # the `h` of `hf_` written as an escape
    data = ('{"note": "HF_TOKEN=\\"' + escaped + '\\""}').encode()
    [m] = _scan(ctx, "escaped.json", data).matches
    assert (m.rule_id, m.secret, m.decoded) == (HF, token, derived.ESCAPE)
    assert data[m.start:m.end] == escaped.encode() and _at(data, m).startswith(escaped)  # the escaped text's place
    unit = _scan(ctx, "escaped.json", data)
    cache = ScanCache("salt")
    written = []
    cache._write = written.extend
    cache.put_units({"k": unit})
    assert written == []  # its secret cannot be read back from the file at its offsets


def test_a_broken_escape_is_noted_and_the_text_still_scanned(ctx, fake_token):
    key, token = fake_token(MISTRAL), fake_token(HF)
    data = (f'{{"path": "C:\\q\\data", "hf": "{token}",\n "cmd": "MISTRAL_API_KEY=\\"{key}\\""}}').encode()
    result = _scan(ctx, "bad.json", data)
    assert result.notes == ["bad.json: line 1: a string holds an invalid escape (\\q); read as written there"]
    assert sorted(m.rule_id for m in result.matches) == sorted([HF, MISTRAL])


def test_files_that_need_no_other_reading_cost_nothing():
    assert derived.prepare(("model.py",), b'x = "a\\"b"\n', False) is None  # not JSON, YAML or TOML
    assert derived.prepare(("config.json",), b'{"a": "b"}\n', False) is None  # no backslash
    assert derived.prepare(("config.json",), b'{"a\\": 1}\x00', True) is None  # binary
    assert derived.prepare(("c.yaml",), b"path: C:\\dir\\file\n", False) is None  # no quoted string


def test_yaml_quotes_inside_plain_scalars_are_not_strings():
    assert escaped_reading(b'a: it"s \\" odd"\nb: "x\\ty"\n', "yaml").text == b'b: "x\ty"'


def test_the_offset_map_goes_both_ways_through_every_kind_of_piece():
    data = b'{"a": "x\\u00e9\\ud83d\\ude00\\"K=\\"abc\\tdef\\"", "b": "\\/\\\\", "c": "\\q"}'
    reading = escaped_reading(data, "json")
    assert reading.text == '{"a": "x\u00e9\U0001F600"K="abc\tdef""'.encode() + b', "b": "/\\"' + b', "c": "\\q"'
    for word, written in ((b"abc", b"abc"), (b"def", b"def"), ("\U0001F600".encode(), b"\\ud83d\\ude00"),
                          (b"\t", b"\\t"), (b"/", b"\\/")):
        i = reading.text.index(word)
        start, end = reading.file_start(i), reading.file_end(i + len(word))
        assert data[start:end] == written
        assert reading.reading_offset(start) == i
    assert broken_json_escape(data) == (data.index(b"\\q"), b"\\q")  # kept as written, and noted for JSON


def test_a_yaml_block_scalar_holding_a_quoted_regex_gives_no_note():
    """A rule file's folded pattern (`>-`) holds `["'\\]]`: no YAML string, so no invalid-escape note."""
    data = b"pattern: >-\n  (?i:acme)[ \\t]{0,4}[\"'\\]]{0,2}(?P<secret>[a-z]{8})\nother: \"ok\\tyes\"\n"
    found = derived.prepare(("rules/acme.yaml",), data, False)
    assert found is None or found.note is None


def test_the_fast_and_the_escape_by_escape_readings_agree():
    content = b'x \\"y\\" \\u00e9\\ud83d\\ude00 \\\\ \\/ \\n\\t end'
    fast, slow = Reading(content), Reading(content)
    fast.unescape(0, len(content), "json")
    slow._unescape_each(0, len(content), "json")
    assert fast.finish() == slow.finish()
    for i in range(len(fast.text)):
        assert (fast.file_start(i), fast.file_end(i + 1)) == (slow.file_start(i), slow.file_end(i + 1))


def test_only_strings_near_a_keyword_are_read_unless_an_escape_could_hide_one(ctx, fake_token):
    key = fake_token(MISTRAL)
    rows = [json.dumps({"id": i, "answer": f'the "model" said\n{i}'}) for i in range(200)]
    rows.insert(120, json.dumps({"id": 120, "cmd": f'export MISTRAL_API_KEY="{key}"'}))
    data = ("\n".join(rows) + "\n").encode()
    other = derived.prepare(("rows.jsonl",), data, False, ctx.detector)
    [(reading, _)] = other.readings
    assert reading.text.count(b"\n") == 0 and key.encode() in reading.text  # one line read, not 201
    [m] = _scan(ctx, "rows.jsonl", data).matches
    assert (m.secret, m.line) == (key, 121)
    hidden = data.replace(b"MISTRAL_API_KEY", b"\\u004dISTRAL_API_KEY")  # the keyword spelt with an escape
    [m] = _scan(ctx, "rows.jsonl", hidden).matches
    assert (m.rule_id, m.secret, m.line) == (MISTRAL, key, 121)
