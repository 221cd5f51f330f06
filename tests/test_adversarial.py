"""The linear-time guard: no rule (nor the engine around it) can be made to take super-linear time.

Inputs are built from each rule itself: long runs of its keywords, a keyword followed by a long
run of its token alphabet without the closing boundary, and near-miss tokens (one character
short) repeated. Each adversarial scan must finish within a generous bound computed from a
calibration scan of the same amount of plain text in the same test, and under a hard wall-clock
cap. Only these safety caps are asserted, never absolute performance numbers.

Per-rule inputs are 32 KiB (a blow-up quadratic in the input's bytes is already obvious at that
size: 32K^2 = 10^9 steps); the 1 MiB cases run once for all rules combined, each on a single line.
The calibration text is ordinary prose and code about credentials (it mentions tokens, secrets and
passwords the way a README does), so it runs the same keyword-window path as the adversarial
inputs and the bound follows the machine's speed and load.
"""

from __future__ import annotations

import base64
import random
import re
import time
import urllib.parse

import pytest

from trussguard.engine import tokens
from trussguard.engine.loader import load_rules
from trussguard.engine.matcher import Matcher

KIB = 1024
MIB = 1024 * KIB
RULE_SIZE = 32 * KIB
BIG_SIZE = 1 * MIB
FACTOR, SLACK = 50, 2.0  # bound = FACTOR * calibration + SLACK seconds
RULE_CAP = 20.0  # hard wall-clock cap for all of one rule's inputs together
BIG_CAP = 20.0  # hard cap for one combined 1 MiB input

_RULES = [r for r in load_rules(cache_dir=None).rules if r.detector == "regex"]
_SEGMENT = re.compile(r"\{(\d+)(?:-(\d+))?:([^}]+)\}")

_PLAIN_LINES = [
    "Store the token as a workspace secret and read it at load time; never write the password in code.",
    "def load(self):\n    self.api_key = self._secrets[\"openai_api_key\"]\n    self.max_tokens = 512",
    "secrets:\n  hf_access_token: null\nenvironment_variables:\n  TOKENIZERS_PARALLELISM: \"false\"",
    "The tokenizer adds a pad_token and an eos_token; special tokens are listed in tokenizer_config.json.",
    "Rotate the credential at the provider, then redeploy: the old secret stays in git history.",
    "for step in range(num_steps):\n    loss = model(batch).loss\n    loss.backward()",
]


def _fill(unit: bytes, size: int) -> bytes:
    return (unit * (size // max(1, len(unit)) + 1))[:size]


def plain_text(size: int) -> bytes:
    return _fill("\n".join(_PLAIN_LINES).encode() + b"\n", size)


def token_alphabet(rule) -> str:
    template = rule.tokens.get("token") or next(iter(rule.tokens.values()), "{32:A-Za-z0-9}")
    chars = "".join(tokens.alphabet(m.group(3)) for m in _SEGMENT.finditer(template)) or "A-Za-z0-9"
    return "".join(dict.fromkeys(chars))


def token_for(rule, rng: random.Random) -> str:
    template = rule.tokens.get("token") or next(iter(rule.tokens.values()), "{32:A-Za-z0-9}")
    return tokens.expand_template(template, rng)


def rule_inputs(rule, size: int, rng: random.Random) -> dict[str, bytes]:
    """Adversarial inputs for one rule, each ``size`` bytes."""
    kws = list(rule.keywords)
    alpha = token_alphabet(rule)
    run = "".join(rng.choice(alpha) for _ in range(4096)).encode()
    tok = token_for(rule, rng)
    near = tok[:-1]
    out = {
        "keywords-repeated": _fill("".join(kws).encode(), size),
        "keywords-assigned": _fill("".join(f'{k}="' for k in kws).encode(), size),
        "keywords-per-line": _fill("".join(f"{k}=\n" for k in kws).encode(), size),
        "keyword-then-alphabet": (kws[0] + "=").encode() + _fill(run, size - len(kws[0]) - 1),
        "near-miss-repeated": _fill("".join(near + sep for sep in (" ", "\n", '"', "=", "")).encode(), size),
    }
    if len(kws) > 1:
        out["each-keyword-then-alphabet"] = _fill(b"".join(k.encode() + b"=" + run[: size // len(kws)]
                                                           for k in kws), size)
    return out


@pytest.fixture(scope="module")
def matcher(ruleset) -> Matcher:
    m = Matcher(ruleset, cache_dir=None)
    m.scan(b"".join(k.encode() + b"=x\n" for c in m.rules for k in c.rule.keywords))  # compile every rule once
    return m


def _timed(matcher: Matcher, data: bytes) -> float:
    start = time.perf_counter()
    matcher.scan(data)
    return time.perf_counter() - start


def _calibrate(matcher: Matcher, size: int) -> float:
    plain = plain_text(size)
    return min(_timed(matcher, plain) for _ in range(2))


def assert_linear(matcher: Matcher, name: str, data: bytes) -> float:
    """Scans ``data`` and checks it against FACTOR x a same-size plain-text scan + SLACK (one retry)."""
    for attempt in (1, 2):
        calibration = _calibrate(matcher, len(data))
        elapsed = _timed(matcher, data)
        bound = FACTOR * calibration + SLACK
        if elapsed <= bound:
            return elapsed
    pytest.fail(f"{name}: {len(data)} bytes took {elapsed:.2f}s, over the linear bound {bound:.2f}s "
                f"({FACTOR} x {calibration:.4f}s calibration + {SLACK}s)")


@pytest.mark.parametrize("rule", _RULES, ids=[r.id for r in _RULES])
def test_rule_is_linear_on_its_own_adversarial_inputs(matcher, rule):
    rng = random.Random(rule.id)
    inputs = rule_inputs(rule, RULE_SIZE, rng)
    assert all(len(v) == RULE_SIZE for v in inputs.values())
    started = time.perf_counter()
    for name, data in inputs.items():
        assert_linear(matcher, f"{rule.id}/{name}", data)
    total = time.perf_counter() - started
    assert total <= RULE_CAP, f"{rule.id}: adversarial inputs took {total:.1f}s in all (cap {RULE_CAP}s)"


def _combined_inputs(size: int) -> dict[str, bytes]:
    rng = random.Random(1234)
    kws = [k for r in _RULES for k in r.keywords]
    share = max(64, size // max(1, len(_RULES)))
    runs = []
    for r in _RULES:
        alpha = token_alphabet(r)
        runs.append((r.keywords[0] + "=").encode() + "".join(rng.choice(alpha) for _ in range(share)).encode())
    alpha_runs = b"".join(runs).replace(b"\n", b" ")
    near = "".join(token_for(r, rng)[:-1] + " " + r.keywords[0] + " " for r in _RULES).encode().replace(b"\n", b" ")
    soup = "".join(f'{k}="' for k in kws).encode().replace(b"\n", b" ")
    inputs = {
        "all-keywords": _fill("".join(kws).encode().replace(b"\n", b" "), size),
        "all-keywords-assigned": _fill(soup, size),
        "all-keywords-then-alphabet": _fill(alpha_runs, size),
        "all-near-misses": _fill(near, size),
        "mixed": _fill(b"".join([soup[:5000], near[:5000], alpha_runs[:20000]]), size),
        "base64-wrapped-keywords": _fill(base64.b64encode(_fill(soup, 12000)) + b" ", size),
        "percent-encoded-keywords": _fill(urllib.parse.quote(soup[:4000].decode(), safe="").encode(), size),
    }
    assert all(len(v) == size and b"\n" not in v for v in inputs.values())  # one 1 MiB line each
    return inputs


_COMBINED = ["all-keywords", "all-keywords-assigned", "all-keywords-then-alphabet", "all-near-misses", "mixed",
             "base64-wrapped-keywords", "percent-encoded-keywords"]


@pytest.fixture(scope="module")
def combined_inputs() -> dict[str, bytes]:
    inputs = _combined_inputs(BIG_SIZE)
    assert sorted(inputs) == sorted(_COMBINED)
    return inputs


@pytest.mark.parametrize("kind", _COMBINED)
def test_all_rules_combined_one_mib_single_line(matcher, combined_inputs, kind):
    started = time.perf_counter()
    assert_linear(matcher, kind, combined_inputs[kind])
    total = time.perf_counter() - started
    assert total <= BIG_CAP, f"{kind}: {total:.1f}s (cap {BIG_CAP}s)"


class SuperLinear(AssertionError):
    """Raised only by the scaling assertion, so a failure says exactly that scaling broke."""


def _keys_file(fake_token, n: int) -> bytes:
    """A JSON-ish list of n distinct fake keys on one line (a key dump, a generated test fixture)."""
    return ("KEYS = [" + ", ".join(f'"{fake_token("huggingface.user-token")}"' for _ in range(n)) + "]\n").encode()


def test_many_keys_file_yields_one_match_per_key(matcher, fake_token):
    data = _keys_file(fake_token, 500)
    matches = matcher.scan(data)
    assert len(matches) == 500 and {m.rule_id for m in matches} == {"huggingface.user-token"}
    assert len({m.secret for m in matches}) == 500 and {m.line for m in matches} == {1}


def test_many_valid_keys_scale_linearly(matcher, fake_token):
    small, large = _keys_file(fake_token, 2000), _keys_file(fake_token, 8000)
    assert len(matcher.scan(small)) == 2000  # every key is a match: this is the many-matches case
    t_small = min(_timed(matcher, small) for _ in range(3))
    t_large = _timed(matcher, large)
    ratio = t_large / max(t_small, 1e-3)
    # linear: ~4x for 4x the input; quadratic: ~16x. 8x leaves room for noise either way.
    if ratio >= 8:
        raise SuperLinear(f"4x more keys took {ratio:.1f}x longer ({t_small:.2f}s -> {t_large:.2f}s)")
