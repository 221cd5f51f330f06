"""The rule set: schema, every example through the scanner's engine, and provider coverage.

Coverage samples are written independently of the rules (from the formats in PEERS.md section 5
and the issue's extra categories) and generated at test time, so a rule whose pattern drifts
from the real format fails here even if its own examples still pass.
"""

from __future__ import annotations

import random

import pytest

from trussguard.engine import tokens
from trussguard.engine.detector import Detector
from trussguard.engine.loader import load_rules
from trussguard.engine.selfcheck import check_rules

HEX, ALNUM, B64 = "0-9a-f", "A-Za-z0-9", "A-Za-z0-9+/"
PEM_BODY = "\\n".join(["{64:%s}" % B64] * 6)

# (PEERS.md row, expected rule provider, path, text template). {N:alphabet} runs are random.
COVERAGE = [
    ("1 openai project", "openai", "model/model.py",
     'OPENAI_API_KEY = "sk-proj-{74:A-Za-z0-9_-}T3BlbkFJ{74:A-Za-z0-9_-}"'),
    ("1 openai svcacct", "openai", "app.py", 'key = "sk-svcacct-{74:A-Za-z0-9_-}T3BlbkFJ{74:A-Za-z0-9_-}"'),
    ("1 openai admin", "openai", "app.py", 'key = "sk-admin-{58:A-Za-z0-9_-}T3BlbkFJ{58:A-Za-z0-9_-}"'),
    ("1 openai legacy", "openai", "app.py", 'openai.api_key = "sk-{20:%s}T3BlbkFJ{20:%s}"' % (ALNUM, ALNUM)),
    ("2 anthropic", "anthropic", ".env", "ANTHROPIC_API_KEY=sk-ant-api03-{93:A-Za-z0-9_-}AA"),
    ("3 anthropic admin", "anthropic", ".env", "ANTHROPIC_ADMIN_KEY=sk-ant-admin01-{93:A-Za-z0-9_-}AA"),
    ("4 huggingface", "huggingface", "config.yaml", "secrets:\n  hf_access_token: hf_{34:A-Za-z}"),
    ("5 huggingface org", "huggingface", "app.py", 'token = "api_org_{34:A-Za-z}"'),
    ("6 baseten", "baseten", "client.py", 'headers = {"Authorization": "Api-Key {8:%s}.{32:%s}"}' % (ALNUM, ALNUM)),
    ("7 replicate", "replicate", ".env", "REPLICATE_API_TOKEN=r8_{37:%s}" % ALNUM),
    ("8 together", "together", ".env", "TOGETHER_API_KEY=tgp_v1_{43:A-Za-z0-9_-}"),
    ("9 groq", "groq", ".env", "GROQ_API_KEY=gsk_{52:%s}" % ALNUM),
    ("10 mistral", "mistral", "model/model.py", 'MISTRAL_API_KEY = "{32:%s}"' % ALNUM),
    ("11 cohere", "cohere", ".env", "CO_API_KEY={40:%s}" % ALNUM),
    ("12 wandb", "wandb", ".env", "WANDB_API_KEY=wandb_v1_{77:A-Za-z0-9_}"),
    ("13 wandb legacy", "wandb", "train.py", 'wandb.login(key="{40:%s}")' % HEX),
    ("14 pinecone", "pinecone", ".env", "PINECONE_API_KEY=pcsk_{6:%s}_{63:%s}" % (ALNUM, ALNUM)),
    ("15 langsmith", "langchain", ".env", "LANGSMITH_API_KEY=lsv2_pt_{32:%s}_{10:%s}" % (HEX, HEX)),
    ("16 langfuse", "langchain", ".env",
     "LANGFUSE_SECRET_KEY=sk-lf-{8:%s}-{4:%s}-{4:%s}-{4:%s}-{12:%s}" % ((HEX,) * 5)),
    ("17 openrouter", "openrouter", ".env", "OPENROUTER_API_KEY=sk-or-v1-{64:%s}" % HEX),
    ("18 xai", "xai", ".env", "XAI_API_KEY=xai-{80:%s}" % ALNUM),
    ("19 perplexity", "perplexity", ".env", "PPLX_API_KEY=pplx-{48:%s}" % ALNUM),
    ("20 deepseek", "deepseek", ".env", "DEEPSEEK_API_KEY=sk-{32:%s}" % HEX),
    ("21 cerebras", "cerebras", ".env", "CEREBRAS_API_KEY=csk-{48:a-z0-9}"),
    ("22 nvidia", "nvidia", ".env", "NVIDIA_API_KEY=nvapi-{64:A-Za-z0-9_-}"),
    ("23 fireworks", "fireworks", ".env", "FIREWORKS_API_KEY=fw_{24:%s}" % ALNUM),
    ("24 voyage", "voyageai", ".env", "VOYAGE_API_KEY=pa-{43:A-Za-z0-9_-}"),
    ("25 jina", "jina", ".env", "JINA_API_KEY=jina_{60:%s}" % ALNUM),
    ("26 tavily", "tavily", ".env", "TAVILY_API_KEY=tvly-{32:%s}" % ALNUM),
    ("27 firecrawl", "firecrawl", ".env", "FIRECRAWL_API_KEY=fc-{32:%s}" % HEX),
    ("28 friendli", "friendli", ".env", "FRIENDLI_TOKEN=flp_{46:%s}" % ALNUM),
    ("29 modal", "modal", ".env", "MODAL_TOKEN_SECRET=as-{22:%s}" % ALNUM),
    ("30 runpod", "runpod", ".env", "RUNPOD_API_KEY=rpa_{40:A-Z0-9}{6:%s}" % ALNUM),
    ("31 elevenlabs", "elevenlabs", ".env", "ELEVENLABS_API_KEY=sk_{48:%s}" % HEX),
    ("32 assemblyai", "assemblyai", ".env", "ASSEMBLYAI_API_KEY={32:a-z0-9}"),
    ("32 deepgram", "deepgram", ".env", "DEEPGRAM_API_KEY={40:%s}" % HEX),
    ("33 stability", "stability", ".env", "STABILITY_API_KEY=sk-{48:%s}" % ALNUM),
    ("34 google api key", "google", ".env", "GOOGLE_API_KEY=AIza{35:A-Za-z0-9_-}"),
    ("35 gcp service account", "gcp", "sa.json",
     '{\n  "type": "service_account",\n  "project_id": "acme-ml",\n  "private_key_id": "{40:%s}",\n'
     '  "private_key": "-----BEGIN PRIVATE KEY-----\\n%s\\n-----END PRIVATE KEY-----\\n",\n'
     '  "client_email": "svc@acme-ml.iam.gserviceaccount.com",\n'
     '  "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs"\n}' % (HEX, PEM_BODY)),
    ("36 gcp adc", "gcp", "adc.json",
     '{\n  "client_id": "{12:0-9}-{32:a-z0-9}.apps.googleusercontent.com",\n  "client_secret": "GOCSPX-{28:A-Za-z0-9_-}",'
     '\n  "refresh_token": "1//0{60:A-Za-z0-9_-}",\n  "type": "authorized_user"\n}'),
    ("37 aws key id", "aws", ".env", "AWS_ACCESS_KEY_ID=AKIA{16:A-Z2-7}"),
    ("37 aws secret", "aws", ".env", "AWS_SECRET_ACCESS_KEY={40:%s}" % B64),
    ("38 bedrock", "aws", ".env", "AWS_BEARER_TOKEN_BEDROCK=ABSK{120:%s}" % B64),
    ("39 azure openai", "azure", ".env", "AZURE_OPENAI_API_KEY={32:%s}" % HEX),
    ("40 azure ad secret", "azure", ".env", "AZURE_CLIENT_SECRET={3:%s}8Q~{34:A-Za-z0-9_~.-}" % ALNUM),
    ("41 azure storage", "azure", ".env",
     "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=acme;"
     "AccountKey={86:%s}==;EndpointSuffix=core.windows.net" % B64),
    ("42 databricks", "databricks", ".env", "DATABRICKS_TOKEN=dapi{32:%s}" % HEX),
    ("43 github classic", "github", "config.yaml",
     "build_commands:\n  - git clone https://x-access-token:ghp_{36:%s}@github.com/acme/lib" % ALNUM),
    ("43 github fine-grained", "github", ".env", "GH_TOKEN=github_pat_{82:A-Za-z0-9_}"),
    ("44 gitlab", "gitlab", ".env", "GITLAB_TOKEN=glpat-{20:A-Za-z0-9_-}"),
    ("45 docker hub", "docker", ".env", "DOCKERHUB_TOKEN=dckr_pat_{27:A-Za-z0-9_-}"),
    ("46 pypi", "pypi", ".pypirc", "[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc{70:A-Za-z0-9_-}"),
    ("47 npm", "npm", ".npmrc", "//registry.npmjs.org/:_authToken=npm_{36:%s}" % ALNUM),
    ("48 slack bot", "slack", "notify.sh", 'SLACK_BOT_TOKEN="xoxb-{11:0-9}-{12:0-9}-{24:%s}"' % ALNUM),
    ("48 slack webhook", "slack", "notify.sh",
     "curl -X POST https://hooks.slack.com/services/T{10:A-Z0-9}/B{10:A-Z0-9}/{24:%s}" % ALNUM),
    ("49 stripe", "stripe", "billing.json", '{"stripe_key": "sk_live_{24:%s}"}' % ALNUM),
    ("50 mongodb atlas", "mongodb", ".env", "MDB_SERVICE_ACCOUNT_SECRET=mdb_sa_sk_{40:%s}" % ALNUM),
    ("51 supabase", "supabase", ".env", "SUPABASE_ACCESS_TOKEN=sbp_{40:%s}" % HEX),
    ("52 vercel", "vercel", ".env", "AI_GATEWAY_API_KEY=vck_{56:%s}" % ALNUM),
    ("53 vault", "vault", ".env", "VAULT_TOKEN=hvs.{95:A-Za-z0-9_-}"),
    ("54 private key", "private-key", "id_rsa",
     "-----BEGIN RSA PRIVATE KEY-----\n%s\n-----END RSA PRIVATE KEY-----\n" % PEM_BODY.replace("\\n", "\n")),
    ("54 jwt", "jwt", "client.py",
     'AUTH = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ{60:A-Za-z0-9_-}.{43:A-Za-z0-9_-}"'),
    # The extra categories.
    ("signed url aws", "signed-url", "config.yaml",
     "external_data:\n  - url: https://bkt.s3.amazonaws.com/w.bin?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
     "AKIA{16:A-Z2-7}%%2F20990101%%2Fus-east-1%%2Fs3%%2Faws4_request&X-Amz-Date=20990101T000000Z&X-Amz-Expires=3600"
     "&X-Amz-SignedHeaders=host&X-Amz-Signature={64:%s}\n    local_data_path: w.bin" % HEX),
    ("signed url aws token", "signed-url", "fetch.py",
     'URL = "https://bkt.s3.amazonaws.com/w.bin?X-Amz-Security-Token={200:A-Za-z0-9%}&X-Amz-Date=20990101T000000Z"'),
    ("signed url gcs", "signed-url", "config.yaml",
     "weights:\n  - source: https://storage.googleapis.com/bkt/w.bin?X-Goog-Algorithm=GOOG4-RSA-SHA256"
     "&X-Goog-Date=20990101T000000Z&X-Goog-Expires=3600&X-Goog-SignedHeaders=host&X-Goog-Signature={256:%s}" % HEX),
    ("signed url azure sas", "signed-url", "config.yaml",
     "external_data:\n  - url: https://acme.blob.core.windows.net/c/w.bin?sv=2022-11-02&ss=b&srt=o&sp=r"
     "&se=2099-12-31T00:00:00Z&spr=https&sig={43:%s}%%3D" % ALNUM),
    ("signed url cloudfront", "signed-url", "config.yaml",
     "external_data:\n  - url: https://d111.cloudfront.net/w.bin?Expires=4102444800&Signature={120:A-Za-z0-9~_-}"
     "&Key-Pair-Id=K{13:A-Z0-9}"),
    ("url userinfo", "url-credentials", "config.yaml",
     "requirements:\n  - --extra-index-url https://deploy:{20:%s}@pypi.acme.dev/simple" % ALNUM),
    ("git+https token", "url-credentials", "requirements.txt",
     "git+https://{40:%s}@git.acme.dev/acme/tools.git@v1" % ALNUM),
    ("database url", "url-credentials", "settings.py",
     'DATABASE_URL = "postgresql://app:{20:%s}@db.internal:5432/prod"' % ALNUM),
    ("trussrc", "baseten", ".trussrc",
     "[baseten]\nremote_provider = baseten\napi_key = {8:%s}.{32:%s}\nremote_url = https://app.baseten.co" % (ALNUM, ALNUM)),
    ("netrc", "netrc", ".netrc", "machine api.acme.dev login deploy password {20:%s}" % ALNUM),
    ("npmrc auth", "npm", ".npmrc", "//npm.acme.dev/:_authToken={36:%s}" % ALNUM),
    ("pip.conf", "url-credentials", "pip.conf",
     "[global]\nindex-url = https://deploy:{20:%s}@pypi.acme.dev/simple" % ALNUM),
    ("generic", "generic", "model/model.py", 'DB_PASSWORD = "{18:%s}"' % ALNUM),
    # Credentials as arguments of commands (issue 14), in the files that hold commands.
    ("cmd wandb login", "wandb", "config.yaml", "build_commands:\n  - wandb login {40:%s}" % HEX),
    ("cmd wandb login sh", "wandb", "setup.sh", "#!/bin/sh\nwandb login --relogin {40:%s}\n" % HEX),
    ("cmd docker login", "docker", "Dockerfile", "RUN docker login -u bot -p {20:%s} registry.acme.dev" % ALNUM),
    ("cmd auth header", "curl", "README.md",
     'curl -H "Authorization: Bearer {32:%s}" https://api.acme.dev/v1/models' % ALNUM),
    ("http auth header", "generic", "docs/api.md",
     "GET /v1/models HTTP/1.1\nHost: api.acme.dev\nAuthorization: Bearer {32:%s}\n" % ALNUM),
    ("cmd token flag", "generic", "Makefile", "login:\n\thuggingface-cli login --token {34:%s}\n" % ALNUM),
    ("cmd npm authtoken", "npm", "ci.sh",
     "npm config set //registry.npmjs.org/:_authToken={8:%s}-{4:%s}-{4:%s}-{4:%s}-{12:%s}" % ((HEX,) * 5)),
    ("cmd pip index url", "url-credentials", "install.sh",
     "pip install --index-url https://deploy:{20:%s}@pypi.acme.dev/simple torch" % ALNUM),
]


@pytest.fixture(scope="module")
def ruleset():
    return load_rules(cache_dir=None)


@pytest.fixture(scope="module")
def detector(ruleset):
    return Detector(ruleset, cache_dir=None)


def test_every_rule_example_behaves(ruleset):
    """The one run of every rule's examples in the suite (one round of fresh tokens; `rules check` runs
    three for rule authors). The CLI tests check `rules check`'s wiring without running them again."""
    problems = check_rules(ruleset, seed=20261122, rounds=1)
    assert problems == [], "\n".join(map(str, problems))


def test_every_rule_has_rotation_examples_and_negatives(ruleset):
    for rule in ruleset.rules:
        assert len(rule.examples) >= 2 and len(rule.negative_examples) >= 2, rule.id  # issue 14
        assert all(n.why for n in rule.negative_examples), rule.id
        assert rule.rotation.steps and rule.rotation.revoke_url.startswith("https://"), rule.id
        assert rule.references, rule.id


def test_rule_ids_are_unique_and_namespaced_by_provider(ruleset):
    ids = [r.id for r in ruleset.rules]
    assert len(ids) == len(set(ids))
    for rule in ruleset.rules:
        assert rule.id.startswith(rule.provider + "."), rule.id


@pytest.mark.parametrize("row,provider,path,template", COVERAGE, ids=[c[0] for c in COVERAGE])
def test_provider_coverage(detector, ruleset, row, provider, path, template):
    rng = random.Random(row)
    text = tokens.expand_template(template, rng)
    by_id = ruleset.by_id()
    providers = {by_id[m.rule_id].provider for m in detector.detect(path, text.encode(), truss_file=False)}
    assert provider in providers, f"{row}: found only {sorted(providers) or 'nothing'}"


def test_coverage_lists_every_peers_row():
    rows = {int(c[0].split()[0]) for c in COVERAGE if c[0].split()[0].isdigit()}
    assert rows == set(range(1, 55))
