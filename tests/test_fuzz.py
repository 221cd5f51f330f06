"""Fuzz the per-file entry points (text, YAML and Python paths) with hostile input.

Every generated input goes through ``Detector.detect``, ``check_config``, ``check_code`` (all
code checks) and ``may_hold_literal_secret``; each property test then runs one whole
``scan_tree`` over a tmp folder holding a few of its inputs as config.yaml, model/model.py,
notebook.ipynb and .env. The invariants: no exception escapes (a parse problem is a note), each
input finishes within ``PER_INPUT_SECONDS`` (a safety cap, not a performance target), and a YAML
tag that would construct a Python object never runs.

The normal suite runs a few examples per property test. The dedicated fuzz run spreads a total
budget of generated inputs over the property tests (``TRUSSGUARD_FUZZ_EXAMPLES`` is the total):

    TRUSSGUARD_FUZZ_EXAMPLES=10000 python -m pytest tests/test_fuzz.py -q

(add ``-s`` to see how many inputs each property test ran, and for how long).
"""

from __future__ import annotations

import json
import math
import os
import signal
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from trussguard.config import ScanConfig
from trussguard.engine.detector import Detector
from trussguard.pipeline import scan_tree
from trussguard.policy.literal_screen import may_hold_literal_secret
from trussguard.policy.runner import check_code, check_config

PER_INPUT_SECONDS = 5.0  # generous cap per input; a hang is reported, speed is not measured
HANG_SECONDS = 60  # SIGALRM turns a real hang into a failure instead of a stuck run
PROPERTY_TESTS = 9  # the @given tests below; the total budget is split evenly among them
TOTAL_EXAMPLES = int(os.environ.get("TRUSSGUARD_FUZZ_EXAMPLES", "0") or 0)
EXAMPLES = math.ceil(TOTAL_EXAMPLES / PROPERTY_TESTS) if TOTAL_EXAMPLES else 12

FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, database=None, derandomize=not TOTAL_EXAMPLES,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.large_base_example],
)

PATHS = ("config.yaml", "model/model.py", "notebook.ipynb", ".env", "data/notes.txt")
MARKER_DIR = Path(tempfile.mkdtemp(prefix="trussguard-fuzz-marker-"))
MARKER = MARKER_DIR / "pwned"


@pytest.fixture(scope="module")
def detector(ruleset) -> Detector:
    return Detector(ruleset, cache_dir=None)


@contextmanager
def _hang_guard(label: str):
    """Fail (rather than block the run) if one input takes HANG_SECONDS; POSIX main thread only."""
    if not hasattr(signal, "SIGALRM"):
        yield
        return

    def _alarm(signum, frame):
        raise TimeoutError(f"hang: {label} still running after {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_SECONDS)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def exercise(detector: Detector, path: str, data: bytes, cap: float = PER_INPUT_SECONDS) -> None:
    """Every per-file entry point on one input; asserts the return shapes and the time cap."""
    started = time.perf_counter()
    with _hang_guard(f"{path} ({len(data)} bytes)"):
        matches = detector.detect(path, data, None)
        assert isinstance(matches, list)
        hits, notes, _ = check_config("config.yaml", data, matches, detector)
        assert isinstance(hits, list) and all(isinstance(n, str) for n in notes)
        hits, notes, _ = check_code("model/model.py", data, matches, detector, truss=None, kind=None)
        assert isinstance(hits, list) and all(isinstance(n, str) for n in notes)
        shaped = lambda text: bool(detector.matcher.scan(text.encode("utf-8", "replace")))  # noqa: E731
        assert may_hold_literal_secret(data, shaped) in (True, False)
    elapsed = time.perf_counter() - started
    assert elapsed < cap, f"{path}: {len(data)} bytes took {elapsed:.1f} s (cap {cap} s): {data[:200]!r}"
    assert not MARKER.exists(), f"a YAML/Python tag executed code: {data[:300]!r}"


def scan_folder(inputs: list[bytes]) -> None:
    """One whole-tree scan over a tmp folder holding up to four inputs under Truss file names."""
    names = ("config.yaml", "model/model.py", "notebook.ipynb", ".env")
    with tempfile.TemporaryDirectory(prefix="trussguard-fuzz-") as tmp:
        root = Path(tmp)
        for name, data in zip(names, inputs or [b""]):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        started = time.perf_counter()
        with _hang_guard("scan_tree"):
            result = scan_tree(ScanConfig(paths=(root,), cache_dir=None, jobs=1))
        assert result.stats is not None
        assert time.perf_counter() - started < 4 * PER_INPUT_SECONDS
    assert not MARKER.exists()


def run_property(detector: Detector, strategy, name_strategy=st.sampled_from(PATHS)) -> None:
    """Runs ``exercise`` over ``strategy`` and then one scan_tree over the first inputs kept."""
    kept: list[bytes] = []
    count = 0

    @FUZZ
    @given(data=strategy, path=name_strategy)
    def prop(data: bytes, path: str) -> None:
        nonlocal count
        count += 1
        exercise(detector, path, data)
        if len(kept) < 4 and len(data) < 200_000:
            kept.append(data)

    started = time.perf_counter()
    prop()
    scan_folder(kept)
    if TOTAL_EXAMPLES:  # the dedicated run reports what it did (shown with -s)
        print(f"\nfuzz: {count} inputs in {time.perf_counter() - started:.1f} s")


# --- strategies -------------------------------------------------------------------------------

ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "latin-1")
INVALID_UTF8 = (b"\xff", b"\xfe", b"\xc0\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82", b"\x80",
                b"\xf8\x88\x80\x80\x80")
TRUSSY = ("model_name: ", "secrets:\n  hf_access_token: ", "environment_variables:\n  HF_TOKEN: ",
          "import os\n", "def load(self):\n    ", 'token = "', "self._secrets['", "hf_", "sk-", "# coding: latin-1\n",
          "{", "}", "[", "]", "(", ")", "'", '"', '"""', "\\", "\n", "\t", "\r\n", ":", "- ", "&a ", "*a", "!!")


@st.composite
def encoded_text(draw) -> bytes:
    text = draw(st.lists(st.one_of(st.text(max_size=40), st.sampled_from(TRUSSY)), max_size=30).map("".join))
    encoding = draw(st.sampled_from(ENCODINGS))
    return text.encode(encoding, errors="replace")


@st.composite
def invalid_utf8(draw) -> bytes:
    parts = draw(st.lists(st.one_of(st.text(max_size=20).map(lambda t: t.encode("utf-8")),
                                    st.sampled_from(INVALID_UTF8), st.sampled_from(TRUSSY).map(str.encode)),
                          max_size=40))
    return b"".join(parts)


@st.composite
def nul_laden(draw) -> bytes:
    parts = draw(st.lists(st.one_of(st.just("\x00"), st.text(max_size=10), st.sampled_from(TRUSSY)),
                          min_size=1, max_size=50))
    text = "".join(parts)
    return text.encode(draw(st.sampled_from(("utf-8", "utf-16"))), errors="replace")


@st.composite
def nested_yaml(draw) -> bytes:
    """Block or flow YAML nested up to 200 levels of mappings and sequences."""
    depth = draw(st.integers(min_value=1, max_value=200))
    kinds = draw(st.lists(st.sampled_from("ms"), min_size=depth, max_size=depth))
    leaf = draw(st.sampled_from(["null", "x", '"hf_abc"', "~", "{}", "[]", "!!binary aGk="]))
    if draw(st.booleans()):  # flow style: one line
        text = leaf
        for kind in reversed(kinds):
            text = f"{{k: {text}}}" if kind == "m" else f"[{text}]"
        prefix = draw(st.sampled_from(["", "secrets: ", "model_name: x\nenvironment_variables: "]))
        text = prefix + text
    else:
        lines, indent = [], 0
        for i, kind in enumerate(kinds):
            lines.append(" " * indent + (f"k{i}:" if kind == "m" else "-"))
            indent += 2
        lines.append(" " * indent + leaf)
        text = "\n".join(lines)
    if draw(st.booleans()):  # maybe cut it short
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    return text.encode("utf-8")


@st.composite
def alias_bomb(draw) -> bytes:
    """The "billion laughs": each level is a list of aliases to the one before."""
    levels = draw(st.integers(min_value=10, max_value=30))
    width = draw(st.integers(min_value=2, max_value=9))
    key = draw(st.sampled_from(["", "secrets:\n  ", "environment_variables:\n  "]))
    indent = "  " if key else ""
    lines = [f"{key}a0: &a0 [\"x\", \"x\"]"]
    for i in range(1, levels):
        lines.append(f"{indent}a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    if draw(st.booleans()):
        lines.insert(0, "model_name: bomb")
    if draw(st.booleans()):  # merge-key variant
        lines.append(f"{indent}m: {{<<: *a{levels - 1}}}")
    return "\n".join(lines).encode("utf-8")


@st.composite
def object_tags(draw) -> bytes:
    """YAML tags that an unsafe loader would turn into calls; the marker file must never appear."""
    command = f"touch {MARKER}"
    tag = draw(st.sampled_from([
        f'!!python/object/apply:os.system ["{command}"]',
        f'!!python/object/apply:subprocess.check_output [["touch", "{MARKER}"]]',
        f'!!python/object/new:os.system ["{command}"]',
        f'!!python/object/apply:builtins.open ["{MARKER}", "w"]',
        "!!python/name:os.system",
        "!!python/module:os",
        "!!python/object:builtins.object {}",
        "!custom {a: 1}",
        "!<tag:yaml.org,2002:python/object/apply:os.system> [\"x\"]",
    ]))
    layout = draw(st.sampled_from([
        "{t}\n", "model_name: x\nsecrets:\n  hf_access_token: {t}\n", "environment_variables:\n  A: {t}\n",
        "- {t}\n- {t}\n", "model_metadata: {{k: {t}}}\n", "%TAG !p! tag:yaml.org,2002:python/\n---\nx: {t}\n",
    ]))
    key = draw(st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
    extra = draw(st.lists(st.sampled_from(TRUSSY), max_size=4).map("".join))
    return (layout.format(t=tag) + f"{key}: {tag}\n" + extra).encode("utf-8")


PY_TOKENS = ("def", "class", "lambda", "async", "await", "import", "from", "return", "yield", "if", "else",
             "for", "while", "with", "as", "try", "except", ":", ",", ".", "=", "==", "+", "*", "**", "@",
             "(", ")", "[", "]", "{", "}", '"', "'", '"""', "f'", 'rb"', "\\", "#", "\n", "    ", "\t",
             "self._secrets", "os.environ", "hf_", "token", "api_key", "x", "1", "0x", "...", "{{", "}}",
             "match", "case", "print", "\x00", "\r", "\ufeff")


@st.composite
def python_fragments(draw) -> bytes:
    choice = draw(st.integers(min_value=0, max_value=3))
    if choice == 0:  # random token soup
        text = " ".join(draw(st.lists(st.sampled_from(PY_TOKENS), max_size=80)))
    elif choice == 1:  # deeply nested brackets, maybe unbalanced
        depth = draw(st.integers(min_value=1, max_value=3000))
        opener, closer = draw(st.sampled_from([("(", ")"), ("[", "]"), ("{", "}"), ("f'{", "}'")]))
        close = depth - draw(st.integers(min_value=0, max_value=2))
        text = f"x = {opener * depth}1{closer * max(close, 0)}\n"
    elif choice == 2:  # deep expression / statement nesting
        depth = draw(st.integers(min_value=1, max_value=500))
        op = draw(st.sampled_from(["-", "not ", "~", "await ", "lambda: "]))
        body = "    " * min(depth, 100)
        ifs = "".join("    " * i + "if x:\n" for i in range(min(depth, 100)))
        text = f"x = {op * depth}1\n" + ifs + body + "pass\n"
    else:  # a plausible model file with random damage
        base = ('import os\n\nclass Model:\n    def __init__(self, **kwargs):\n'
                '        self._secrets = kwargs["secrets"]\n\n    def load(self):\n'
                '        tok = self._secrets["hf_access_token"]\n        key = "abc"\n')
        at = draw(st.integers(min_value=0, max_value=len(base)))
        junk = "".join(draw(st.lists(st.sampled_from(PY_TOKENS), max_size=6)))
        text = base[:at] + junk + base[at + draw(st.integers(min_value=0, max_value=5)):]
    return text.encode(draw(st.sampled_from(("utf-8", "utf-8-sig", "utf-16", "latin-1"))), errors="replace")


@st.composite
def broken_notebooks(draw) -> bytes:
    cell = {"cell_type": draw(st.sampled_from(["code", "markdown", "raw", 7, None])),
            "source": draw(st.one_of(st.text(max_size=60), st.lists(st.text(max_size=30), max_size=5),
                                     st.integers(), st.none())),
            "metadata": {}, "outputs": draw(st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=20),
                                                                     max_size=3), max_size=2))}
    nb = {"cells": draw(st.sampled_from([[cell], [cell, cell], cell, "cells", None])), "nbformat": 4,
          "metadata": draw(st.dictionaries(st.text(max_size=5), st.text(max_size=10), max_size=2))}
    text = json.dumps(nb, ensure_ascii=draw(st.booleans()))
    damage = draw(st.sampled_from(["truncate", "insert", "none", "trailing", "nest"]))
    if damage == "truncate":
        text = text[: draw(st.integers(min_value=0, max_value=len(text)))]
    elif damage == "insert":
        at = draw(st.integers(min_value=0, max_value=len(text)))
        text = text[:at] + draw(st.sampled_from(['"', "{", "]", ",", "\\", "\x00", "\\u12"])) + text[at:]
    elif damage == "trailing":
        text += ",}"
    elif damage == "nest":
        text = "[" * draw(st.integers(min_value=1, max_value=5000)) + text
    return text.encode("utf-8", errors="replace")


# --- property tests ---------------------------------------------------------------------------

def test_arbitrary_bytes(detector):
    run_property(detector, st.binary(max_size=4096))


def test_encoded_text(detector):
    run_property(detector, encoded_text())


def test_invalid_utf8(detector):
    run_property(detector, invalid_utf8())


def test_nul_laden_text(detector):
    run_property(detector, nul_laden())


def test_nested_yaml(detector):
    run_property(detector, nested_yaml(), st.just("config.yaml"))


def test_yaml_alias_bombs(detector):
    run_property(detector, alias_bomb(), st.just("config.yaml"))


def test_yaml_object_tags_never_execute(detector):
    run_property(detector, object_tags(), st.just("config.yaml"))


def test_python_fragments(detector):
    run_property(detector, python_fragments(), st.sampled_from(("model/model.py", "packages/x/chain.py")))


def test_broken_notebooks(detector):
    run_property(detector, broken_notebooks(), st.just("notebook.ipynb"))


# --- single large inputs (once, not repeated) ------------------------------------------------

TEN_MB = 10 * 1024 * 1024


def test_ten_mb_single_line_text(detector):
    line = ("abc hf_ token=" * (TEN_MB // 14 + 1))[:TEN_MB].encode("ascii")
    exercise(detector, "data/big.txt", line, cap=60.0)


def test_ten_mb_single_line_yaml_value(detector):
    data = b"model_name: big\nenvironment_variables:\n  HF_TOKEN: " + b"x" * TEN_MB + b"\n"
    exercise(detector, "config.yaml", data, cap=60.0)
