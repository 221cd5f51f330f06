"""``rules check``: every example of every rule through the scanner's own engine.

Positive examples are expanded with freshly generated fake tokens and must produce a match of
their rule with exactly the expected secret; negative examples must produce none of it.
"""

from __future__ import annotations

import random

from trussguard.engine import detect_secrets_adapter, heuristics, tokens
from trussguard.engine.detector import Detector
from trussguard.engine.loader import RuleSet
from trussguard.engine.schema import Example, Problem, Rule


def check_rules(ruleset: RuleSet, seed: int | None = None, rounds: int = 3) -> list[Problem]:
    """Problems found by running each rule's examples ``rounds`` times with new tokens."""
    rng = random.Random(seed)
    detector = Detector(ruleset, cache_dir=None)
    problems: list[Problem] = []
    plugins = None
    for rule in ruleset.rules:
        where = f"{rule.source}:{rule.id}"
        if rule.detector == "detect-secrets":
            plugins = plugins if plugins is not None else detect_secrets_adapter.known_plugins()
            if rule.plugin not in plugins:
                problems.append(Problem(where, f"detect-secrets has no plugin {rule.plugin!r}"))
                continue
        for _ in range(rounds):
            problems.extend(Problem(where, m) for m in check_rule(detector, rule, rng))
    return list(dict.fromkeys(problems))


def check_rule(detector: Detector, rule: Rule, rng: random.Random) -> list[str]:
    """Messages for the examples of one rule that do not behave as declared."""
    out = []
    for example in rule.examples:
        out.extend(_check_positive(detector, rule, example, rng))
    for example in rule.negative_examples:
        text, _ = _expand(rule, example, rng)
        found = [m for m in detector.detect(example.path, text.encode()) if m.rule_id == rule.id]
        if found:
            out.append(f"negative example {_short(example.text)} matched ({example.why})")
    return out


# Each positive example must also match with lines around it: a rule that only works when its
# match touches the start or end of the file would miss the same key in a real file.
_SURROUNDINGS = (("", ""), ("# context line\n", "\n# another line\n"))


def _check_positive(detector: Detector, rule: Rule, example: Example, rng: random.Random) -> list[str]:
    text, expected = _expand(rule, example, rng)
    if rule.detector == "regex" and not any(k in text.lower() for k in rule.keywords):
        return [f"example {_short(example.text)} contains none of the keywords {list(rule.keywords)}"]
    for before, after in _SURROUNDINGS:
        found = [m.secret for m in detector.detect(example.path, (before + text + after).encode())
                 if m.rule_id == rule.id]
        if expected not in found:
            got = f"found {len(found)} other secret(s)" if found else "no match"
            where = " between other lines" if before else ""
            return [f"example {_short(example.text)} did not yield its secret{where} ({got})"]
    return []


_DRAWS = 20  # fresh tokens tried before an example counts as failing


def _expand(rule: Rule, example: Example, rng: random.Random) -> tuple[str, str | None]:
    """The example with fresh tokens, and the secret it must yield.

    A random draw can be one that the rule's filters rightly reject (a 40-character token that starts
    with ``My-``, a UUID whose entropy dips under the rule's floor), which made ``rules check`` fail
    about one run in ten. Such draws are redrawn; an example whose every draw is rejected still fails.
    """
    for _ in range(_DRAWS):
        generated = {name: tokens.expand_template(t, rng) for name, t in rule.tokens.items()}
        text = tokens.expand_text(example.text, generated)
        if example.secret is not None:
            expected = tokens.expand_text(example.secret, generated)
        else:
            refs = tokens.references(example.text)
            expected = generated[refs[0]] if refs else None
        if expected is None or _fair_draw(rule, expected):
            break
    return text, expected


def _fair_draw(rule: Rule, secret: str) -> bool:
    return not heuristics.is_marked_placeholder(secret) and (
        rule.min_entropy is None or heuristics.shannon_entropy(secret) >= rule.min_entropy)


def _short(text: str) -> str:
    one_line = " ".join(text.split())
    return repr(one_line if len(one_line) <= 60 else one_line[:57] + "...")
