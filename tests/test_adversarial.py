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
    # New keys each time: the placeholder test is memoised per value, so a re-scan of the same keys
    # would time a warm cache against the large file's cold one.
    t_small = min(_timed(matcher, _keys_file(fake_token, 2000)) for _ in range(3))
    t_large = _timed(matcher, large)
    ratio = t_large / max(t_small, 1e-3)
    # linear: ~4x for 4x the input; quadratic: ~16x. 8x leaves room for noise either way.
    if ratio >= 8:
        raise SuperLinear(f"4x more keys took {ratio:.1f}x longer ({t_small:.2f}s -> {t_large:.2f}s)")


# ----------------------------------------------------------------------------- the heuristics' regexes

_HEURISTICS_CHILD = r'''
import itertools, re, sys
try:
    from re import _constants as C, _parser as sre_parse
except ImportError:  # Python < 3.11
    import sre_constants as C, sre_parse
from trussguard.engine import heuristics

def alphabet(p):
    """Every character the pattern names (literals, class members, range ends), and their other case."""
    chars = set()
    def walk(items):
        for op, av in items:
            if op in (C.LITERAL, C.NOT_LITERAL):
                chars.add(chr(av))
            elif op is C.IN:
                for o, a in av:
                    if o is C.LITERAL:
                        chars.add(chr(a))
                    elif o is C.RANGE:
                        chars.update((chr(a[0]), chr(a[1])))
                    elif o is C.CATEGORY:
                        chars.update(" a0_")
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT) or op is getattr(C, "POSSESSIVE_REPEAT", None):
                walk(av[2])
            elif op is C.SUBPATTERN:
                walk(av[-1])
            elif op is C.BRANCH:
                for branch in av[1]:
                    walk(branch)
            elif op in (C.ASSERT, C.ASSERT_NOT):
                walk(av[1])
    walk(sre_parse.parse(p.pattern, p.flags))
    if p.flags & re.IGNORECASE:
        chars |= {c.swapcase() for c in chars}
    return sorted(chars)

n = int(sys.argv[1])
for name, p in sorted(vars(heuristics).items()):
    if not isinstance(p, re.Pattern):
        continue
    print(name, flush=True)  # the last name printed is the one that hung
    for c1, c2 in itertools.product(alphabet(p), repeat=2):
        for text in ((c1 + c2) * n + "\x00", (c1 + c2) * n, c1 * n + c2 + "\x00", c1 + c2 * n + "\x00"):
            p.search(text)
            p.match(text)
print("done", flush=True)
'''
HEURISTICS_RUN = 1000  # characters per run: a linear regex takes microseconds, an exponential one forever
HEURISTICS_BACKSTOP = 300.0  # seconds: a hang guard for the child (all patterns take ~5 s), not a timing


def test_heuristics_regexes_do_not_backtrack_on_their_own_alphabet():
    """Every compiled regex of engine/heuristics.py (found by introspection, so a new one is covered)
    runs Python's backtracking ``re`` on values and names from files: each gets runs and alternations of
    the characters it names itself, with and without a failing tail. A nested quantifier such as the
    old ``^(?:[A-Z]?[a-z]+)+$`` never finishes on ``"a" * 1000 + "z\\0"``; a linear one takes
    microseconds, so the child's timeout is only a backstop against a hang."""
    import subprocess
    import sys

    try:
        proc = subprocess.run([sys.executable, "-c", _HEURISTICS_CHILD, str(HEURISTICS_RUN)],
                              capture_output=True, text=True, timeout=HEURISTICS_BACKSTOP)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        stuck = out.split()[-1] if out.split() else "?"
        raise SuperLinear(f"heuristics.{stuck} backtracks: no end in {HEURISTICS_BACKSTOP:.0f}s on "
                          f"{HEURISTICS_RUN}-character runs of its own characters") from None
    assert proc.returncode == 0, proc.stderr
    names = proc.stdout.split()
    assert names[-1] == "done" and "_CAMEL_WORDS" in names and "_PLACEHOLDER" in names


# ----------------------------------------------------------------------------- many findings in one file


def _truss(root, config: str, model: str):
    (root / "model").mkdir(parents=True)
    (root / "config.yaml").write_text(config)
    (root / "model" / "model.py").write_text(model)
    return root


def _assignments(rng: random.Random, n: int) -> str:
    from conftest import random_password

    return "".join(f'api_key_{i} = "{random_password(rng, 32)}"\n' for i in range(n))


def _env_config(rng: random.Random, n: int) -> str:
    from conftest import random_password

    return "model_name: x\nenvironment_variables:\n" + "".join(
        f'  API_KEY_{i}: "{random_password(rng, 32)}"\n' for i in range(n))


def _calls_to_scan(root) -> tuple[int, int]:
    """(function calls, Python and C, made by one tree scan; its findings). An operation count,
    not a time: the same on any machine and under any load."""
    import sys

    from trussguard.config import ScanConfig
    from trussguard.pipeline import scan_tree

    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        result = scan_tree(ScanConfig(paths=(root,), cache_dir=None, jobs=1))
    finally:
        sys.setprofile(None)
    return calls, len(result.findings)


@pytest.mark.parametrize("where", ["model.py", "config.yaml"])
def test_policy_stage_work_is_linear_in_the_number_of_secrets(tmp_path, where):
    """1,000 then 2,000 hard-coded keys in one model.py (``api_key_N = "..."``) or one config.yaml
    (``environment_variables``): the scan makes at most ~2.2x the calls for 2x the keys. Per-literal
    walks of every match, and counting newlines from the top for each hit, made it ~3-4x (quadratic:
    20,000 lines took 58 s, 60,000 took 523 s)."""
    from trussguard.findings import MAX_FINDINGS_PER_FILE

    rng = random.Random(f"linear-{where}")
    _calls_to_scan(_truss(tmp_path / "warm", "model_name: x\n", _assignments(rng, 10)))  # imports, compiles
    counts = {}
    for n in (1000, 2000):
        if where == "model.py":
            root = _truss(tmp_path / f"t{n}", "model_name: x\n", _assignments(rng, n))
        else:
            root = _truss(tmp_path / f"t{n}", _env_config(rng, n), "class Model:\n    pass\n")
        counts[n], findings = _calls_to_scan(root)
        assert findings >= min(n, MAX_FINDINGS_PER_FILE)  # every key reported, up to the per-file cap
    ratio = counts[2000] / counts[1000]
    if ratio > 2.2:
        raise SuperLinear(f"{where}: 2x the keys made {ratio:.2f}x the calls ({counts[1000]} -> {counts[2000]})")


def _aws_ids(rng: random.Random, n: int) -> str:
    return " ".join(tokens.expand_template("AKIA{16:A-Z2-7}", rng) for _ in range(n))


@pytest.mark.parametrize("layout", ["plain", "truss"])
def test_one_line_of_100k_aws_key_ids_is_capped_listed_and_fails(tmp_path, layout):
    """100,000 AWS access key ids on one 2.1 MB line: the report lists the first 1,000 of the file and
    one summary "N more matches of rule aws.access-key-id in this file not listed" with their severity,
    holds no secret, stays small, and the gate fails (exit 1). Before: a 540 MB report and 3.1 GB."""
    import json

    from click.testing import CliRunner

    from trussguard.cli import cli
    from trussguard.findings import MAX_FINDINGS_PER_FILE

    rng = random.Random(f"aws-{layout}")
    line = _aws_ids(rng, 100_000)
    if layout == "plain":
        (tmp_path / "keys.txt").write_text(line + "\n")
        path = "keys.txt"
    else:
        _truss(tmp_path, "model_name: x\n", f"KEYS = '{line}'\n")
        path = "model/model.py"
    report = tmp_path.parent / f"report-{layout}.json"
    result = CliRunner().invoke(cli, ["scan", str(tmp_path), "--format", "json", "--output", str(report)],
                                catch_exceptions=False)
    assert result.exit_code == 1, result.output
    text = report.read_text()
    assert len(text) < 10 * MIB
    assert not any(key in text for key in line.split()[:2000:97])  # never re-leak, summary included
    findings = [f for f in json.loads(text)["findings"] if f["path"] == path]
    listed = [f for f in findings if f["secret_sha256"]]
    summaries = [f for f in findings if not f["secret_sha256"]]
    assert len(listed) == MAX_FINDINGS_PER_FILE
    assert [s["rule_id"] for s in summaries] == ["aws.access-key-id"]
    more = int(summaries[0]["message"].split()[0])
    assert more + len(listed) >= 99_000
    assert f"{more} more matches of rule aws.access-key-id in this file not listed" in summaries[0]["message"]
    assert summaries[0]["severity"] == max(f["severity"] for f in listed if f["rule_id"] == "aws.access-key-id")


def test_history_audit_caps_findings_per_path_across_commits(tmp_path):
    """A file that gains 700 AWS key ids in each of two commits: the audit lists 1,000 for the path and
    one summary for the other 400, whatever commit introduced them, and still exits 1."""
    import json

    from test_audit import Repo

    from trussguard.cli import main
    from trussguard.findings import MAX_FINDINGS_PER_FILE

    rng = random.Random("history-cap")
    repo = Repo(tmp_path / "repo")
    first = _aws_ids(rng, 700).replace(" ", "\n") + "\n"
    repo.commit("first keys", {"keys.txt": first})
    repo.commit("more keys", {"keys.txt": first + _aws_ids(rng, 700).replace(" ", "\n") + "\n"})
    report = tmp_path / "audit.json"
    assert main(["audit", str(repo.root), "--no-cache", "--format", "json", "--output", str(report)]) == 1
    findings = [f for f in json.loads(report.read_text())["findings"] if f["path"] == "keys.txt"]
    summaries = [f for f in findings if not f["secret_sha256"]]
    assert len(findings) - len(summaries) == MAX_FINDINGS_PER_FILE
    assert [s["message"].split(" of rule ")[0] for s in summaries] == ["400 more matches"]
