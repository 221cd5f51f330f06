"""Provider rules tolerate length variants of keys whose prefix or marker is unmistakable.

A key with a provider's distinctive prefix (``sk-proj-`` ... ``T3BlbkFJ`` ..., ``sk-ant-api03-``,
``ghp_``, ``gsk_``, ...) but an unusual length is still that provider's key: it must be reported by
the provider's rule (immediate urgency, the provider's Truss secret name), not left to the generic
rule at "review" urgency. Each loosened rule keeps lower and upper bounds, so truncated placeholders
and short-prefix noise (``sk-`` alone, ``hf_``/``r8_`` identifiers) stay out.

Every credential here is generated at test time from a shape (``trussguard.engine.tokens``).
"""

from __future__ import annotations

import hashlib
import json
import random

import pytest
from click.testing import CliRunner

from trussguard.cli import cli
from trussguard.engine import tokens
from trussguard.engine.matcher import Matcher

GENERIC = "generic.secret-assignment"
B64URL = "A-Za-z0-9_-"


def fake(template: str, seed: str) -> str:
    return tokens.expand_template(template, random.Random(seed))


@pytest.fixture(scope="module")
def matcher(ruleset) -> Matcher:
    return Matcher(ruleset, cache_dir=None)


def rules_for(matcher: Matcher, secret: str, line: str) -> set[str]:
    """The rule ids that report exactly ``secret`` when it sits in ``line`` ({} is the secret)."""
    return {m.rule_id for m in matcher.scan(line.format(secret).encode()) if m.secret == secret}


def scan_json(root) -> dict:
    result = CliRunner().invoke(cli, ["scan", str(root), "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    return json.loads(result.stdout)


# ------------------------------------------------------------------ the two cases from issue 12

ISSUE_CASES = [
    pytest.param("openai.project-key", f"sk-proj-{{48:{B64URL}}}T3BlbkFJ{{48:{B64URL}}}", id="proj-48"),
    pytest.param("openai.service-account-key", f"sk-svcacct-{{64:{B64URL}}}T3BlbkFJ{{64:{B64URL}}}",
                 id="svcacct-64"),
]


@pytest.mark.parametrize("rule_id,template", ISSUE_CASES)
def test_openai_key_with_unusual_halves_is_an_openai_key_at_immediate_urgency(truss_tree, rule_id, template):
    key = fake(template, rule_id)
    root = truss_tree({"model/settings.py": f"OPENAI_API_KEY = '{key}'\n"})
    report = scan_json(root)
    digest = hashlib.sha256(key.encode()).hexdigest()
    findings = [f for f in report["findings"] if f["secret_sha256"] == digest]
    assert [f["rule_id"] for f in findings] == [rule_id]  # the generic rule yields
    advisories = [a for a in report["advisories"] if a["secret_sha256"] == digest]
    assert len(advisories) == 1
    assert advisories[0]["rule_id"] == rule_id
    assert advisories[0]["urgency"] == "immediate"
    assert advisories[0]["truss_secret_name"] == "openai_api_key"
    assert key not in json.dumps(report)  # never re-leaked


# ------------------------------------------------------------------ per-provider length bounds

# (rule id, template with {n} for the variable run, lowest accepted n, highest accepted n, line)
BOUNDS = [
    ("openai.project-key", "sk-proj-{{{n}:A-Za-z0-9_-}}T3BlbkFJ{{48:A-Za-z0-9_-}}", 20, 200, "OPENAI_API_KEY={}"),
    ("openai.service-account-key", "sk-svcacct-{{64:A-Za-z0-9_-}}T3BlbkFJ{{{n}:A-Za-z0-9_-}}", 20, 200,
     "OPENAI_API_KEY={}"),
    ("openai.admin-key", "sk-admin-{{{n}:A-Za-z0-9_-}}T3BlbkFJ{{32:A-Za-z0-9_-}}", 20, 200, "OPENAI_ADMIN_KEY={}"),
    ("anthropic.api-key", "sk-ant-api03-{{{n}:A-Za-z0-9_-}}AA", 80, 200, "ANTHROPIC_API_KEY={}"),
    ("anthropic.admin-key", "sk-ant-admin01-{{{n}:A-Za-z0-9_-}}AA", 80, 200, "ANTHROPIC_ADMIN_KEY={}"),
    ("huggingface.user-token", "hf_{{{n}:A-Za-z0-9}}", 32, 40, 'HF_TOKEN="{}"'),
    ("huggingface.org-token", "api_org_{{{n}:A-Za-z0-9}}", 32, 40, 'token="{}"'),
    ("github.pat", "ghp_{{{n}:A-Za-z0-9}}", 36, 251, "GITHUB_TOKEN={}"),
    ("github.oauth-token", "gho_{{{n}:A-Za-z0-9}}", 36, 251, "GH_TOKEN={}"),
    ("github.app-token", "ghs_{{{n}:A-Za-z0-9}}", 36, 251, "GH_TOKEN={}"),
    ("github.refresh-token", "ghr_{{{n}:A-Za-z0-9}}", 36, 251, "GITHUB_REFRESH_TOKEN={}"),
    ("slack.bot-token", "xoxb-{{11:0-9}}-{{13:0-9}}-{{{n}:A-Za-z0-9}}", 20, 64, "SLACK_BOT_TOKEN={}"),
    ("slack.user-token", "xoxp-{{11:0-9}}-{{11:0-9}}-{{13:0-9}}-{{{n}:A-Za-z0-9}}", 28, 64, "SLACK_USER_TOKEN={}"),
    ("openrouter.api-key", "sk-or-v1-{{{n}:0-9a-f}}", 56, 80, "OPENROUTER_API_KEY={}"),
    ("github.fine-grained-pat", "github_pat_{{22:A-Za-z0-9}}_{{{n}:A-Za-z0-9}}", 47, 221, "GH_TOKEN={}"),
    ("groq.api-key", "gsk_{{{n}:A-Za-z0-9}}", 44, 64, "GROQ_API_KEY={}"),
    ("replicate.api-token", "r8_{{{n}:A-Za-z0-9}}", 34, 45, "REPLICATE_API_TOKEN={}"),
    ("stripe.live-secret-key", "sk_live_{{{n}:A-Za-z0-9}}", 10, 247, "STRIPE_SECRET_KEY={}"),
    ("stripe.test-secret-key", "rk_test_{{{n}:A-Za-z0-9}}", 10, 247, "STRIPE_SECRET_KEY={}"),
    ("cerebras.api-key", "csk-{{{n}:a-z0-9}}", 40, 64, "CEREBRAS_API_KEY={}"),
    ("perplexity.api-key", "pplx-{{{n}:A-Za-z0-9}}", 40, 64, "PPLX_API_KEY={}"),
    ("together.api-key", "tgp_v1_{{{n}:A-Za-z0-9_-}}", 40, 64, "TOGETHER_API_KEY={}"),
    ("jina.api-key", "jina_{{{n}:A-Za-z0-9}}", 50, 80, "JINA_API_KEY={}"),
    ("friendli.token", "flp_{{{n}:A-Za-z0-9}}", 40, 64, "FRIENDLI_TOKEN={}"),
    ("runpod.api-key", "rpa_{{{n}:A-Za-z0-9}}", 40, 64, "RUNPOD_API_KEY={}"),
    ("docker.pat", "dckr_pat_{{{n}:A-Za-z0-9_-}}", 24, 64, "DOCKER_TOKEN={}"),
    ("docker.org-access-token", "dckr_oat_{{{n}:A-Za-z0-9_-}}", 24, 64, "DOCKER_TOKEN={}"),
    ("npm.access-token", "npm_{{{n}:A-Za-z0-9}}", 36, 64, "NPM_TOKEN={}"),
    ("supabase.access-token", "sbp_{{{n}:0-9a-f}}", 40, 64, "SUPABASE_ACCESS_TOKEN={}"),
    ("supabase.secret-key", "sb_secret_{{{n}:A-Za-z0-9_-}}", 28, 64, "SUPABASE_SECRET_KEY={}"),
    ("vercel.ai-gateway-key", "vck_{{{n}:A-Za-z0-9_-}}", 48, 80, "AI_GATEWAY_API_KEY={}"),
    ("mongodb.atlas-service-account-secret", "mdb_sa_sk_{{{n}:A-Za-z0-9_-}}", 32, 64, "MDB_SECRET={}"),
    ("wandb.api-key", "wandb_v1_{{{n}:A-Za-z0-9}}", 60, 100, "WANDB_API_KEY={}"),
    ("pinecone.api-key", "pcsk_{{6:A-Za-z0-9}}_{{{n}:A-Za-z0-9}}", 50, 80, "PINECONE_API_KEY={}"),
]


@pytest.mark.parametrize("rule_id,shape,low,high,line", BOUNDS, ids=[b[0] for b in BOUNDS])
def test_provider_rule_accepts_its_length_range_and_nothing_outside(matcher, rule_id, shape, low, high, line):
    def key(n: int) -> str:
        return fake(shape.format(n=n), f"{rule_id}/{n}")

    for n in (low, (low + high) // 2, high):
        assert rules_for(matcher, key(n), line) == {rule_id}, (rule_id, n)
    for n in (low - 1, high + 1):
        assert rule_id not in rules_for(matcher, key(n), line), (rule_id, n)


# ------------------------------------------------------------------ short-prefix noise stays out

@pytest.mark.parametrize("text,why", [
    ("sk-{24:A-Za-z0-9}T3BlbkFJ{20:A-Za-z0-9}", "sk- alone is too short to loosen: the legacy shape stays 20+20"),
    ("sk-{48:A-Za-z0-9}", "sk- plus random characters is no OpenAI key"),
    ("sk-proj-{12:A-Za-z0-9_-}T3BlbkFJ{12:A-Za-z0-9_-}", "a truncated project key"),
    ("hf_{24:A-Za-z0-9}", "a short hf_ run"),
    ("r8_{60:A-Za-z0-9}", "an r8_ run far longer than a Replicate token"),
])
def test_short_prefix_noise_is_not_a_provider_key(matcher, text, why):
    value = fake(text, text)
    found = {m.rule_id for m in matcher.scan(f"value = {value}\n".encode()) if m.secret == value}
    assert not {r for r in found if r.split(".")[0] in ("openai", "huggingface", "replicate")}, why


def test_openai_key_ends_at_a_json_newline_escape_but_not_inside_a_hex_escape(matcher):
    key = fake(f"sk-proj-{{48:{B64URL}}}T3BlbkFJ{{48:{B64URL}}}", "escapes")
    # a notebook's JSON source line: the key then an escaped newline, still the whole key
    assert rules_for(matcher, key, '{{"source": ["OPENAI_API_KEY={}\\n"]}}') == {"openai.project-key"}
    # a longer key whose tail is written as \x escapes: no fragment of it is reported as a key
    cut = key + fake(f"{{30:{B64URL}}}", "tail")
    text = f"KEY = '{cut[:-30]}" + "".join(f"\\x{ord(c):02x}" for c in cut[-30:]) + "'\n"
    assert not [m for m in matcher.scan(text.encode()) if m.rule_id.startswith("openai.")]
