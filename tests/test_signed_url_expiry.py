"""Expired signed URLs grant nothing: their signing parts are not leaks; live ones, and anything else
in the same URL, still are. Signatures and key ids are random, made at test time; dates are relative
to the test's clock so the tests do not decay."""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone

import pytest

from trussguard.engine import signed_urls, tokens
from trussguard.engine.detector import Detector
from trussguard.engine.loader import load_rules

DAY = 86400


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(load_rules(), use_detect_secrets=False)


def _parts(rng: random.Random | None = None) -> tuple[str, str]:
    rng = rng or random.Random()
    return tokens.expand_template("{64:0-9a-f}", rng), tokens.expand_template("ASIA{16:A-Z2-7}", rng)


def _sigv4(sig: str, keyid: str, signed: datetime, expires: int = 300, extra: str = "") -> str:
    stamp = signed.strftime("%Y%m%dT%H%M%SZ")
    return (f"https://bucket.s3.amazonaws.com/paper.pdf?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Credential={keyid}%2F{stamp[:8]}%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date={stamp}"
            f"&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host{extra}&X-Amz-Signature={sig}")


def _found(detector: Detector, text: str, path: str = "data/urls.csv") -> set[str]:
    return {m.secret for m in detector.detect(path, text.encode())}


def test_expired_sigv4_url_reports_neither_signature_nor_key_id(detector):
    sig, keyid = _parts()
    url = _sigv4(sig, keyid, datetime.now(timezone.utc) - timedelta(days=400))
    found = _found(detector, f'"{url}"\n')
    assert sig not in found and keyid not in found


def test_live_sigv4_url_is_still_a_leak(detector):
    sig, keyid = _parts()
    url = _sigv4(sig, keyid, datetime.now(timezone.utc), expires=7 * DAY)
    assert sig in _found(detector, f'WEIGHTS = "{url}"\n', "model/model.py")


def test_a_stray_expires_cannot_retire_a_live_sigv4_url(detector):
    """SigV4 reads X-Amz-Date + X-Amz-Expires only: `&Expires=1` appended by hand changes nothing."""
    sig, keyid = _parts()
    url = _sigv4(sig, keyid, datetime.now(timezone.utc), expires=7 * DAY, extra="&Expires=1")
    assert sig in _found(detector, f'"{url}"\n')


def test_other_parameters_of_an_expired_url_are_not_excused():
    """Only the signing scheme's own parameters are excused, never e.g. an `api_key=` beside them."""
    sig, keyid = _parts()
    key = tokens.expand_template("{32:A-Za-z0-9}", random.Random())
    url = _sigv4(sig, keyid, datetime.now(timezone.utc) - timedelta(days=30), extra=f"&api_key={key}")
    data = url.encode()
    at = data.index(key.encode())
    assert not signed_urls.expired_signing_part(data, at, at + len(key))
    at = data.index(sig.encode())
    assert signed_urls.expired_signing_part(data, at, at + len(sig))


@pytest.mark.parametrize("query,expired", [
    ("Expires={past}&Signature={sig}&Key-Pair-Id=K2JCJMDEHXQW5F", True),  # CloudFront canned / SigV2
    ("Expires={future}&Signature={sig}&Key-Pair-Id=K2JCJMDEHXQW5F", False),
    ("sv=2022-11-02&se={past_iso}&sr=b&sp=r&sig={sig}", True),  # Azure SAS
    ("sv=2022-11-02&se={future_iso}&sr=b&sp=r&sig={sig}", False),
    ("X-Amz-Date=garbled&X-Amz-Expires=300&X-Amz-Signature={sig}", False),  # unreadable: kept
    ("Policy=eyJ9&Signature={sig}&Key-Pair-Id=K2JCJMDEHXQW5F", False),  # no readable expiry: kept
])
def test_each_scheme_reads_its_own_expiry(query, expired):
    sig, _ = _parts()
    now = time.time()
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    text = "https://cdn.acme.dev/w.bin?" + query.format(
        sig=sig, past=int(now - DAY), future=int(now + DAY),
        past_iso=datetime.fromtimestamp(now - DAY, timezone.utc).strftime(fmt).replace(":", "%3A"),
        future_iso=datetime.fromtimestamp(now + DAY, timezone.utc).strftime(fmt))
    data = text.encode()
    at = data.index(sig.encode())
    assert signed_urls.expired_signing_part(data, at, at + len(sig), now) is expired


def test_a_match_outside_any_url_query_is_never_excused():
    sig, _ = _parts()
    data = f"X-Amz-Date=20200101T000000Z X-Amz-Expires=1 secret={sig}".encode()
    at = data.index(sig.encode())
    assert not signed_urls.expired_signing_part(data, at, at + len(sig))


def _history_repo(tmp_path, url: str):
    from test_audit import Repo

    repo = Repo(tmp_path / "repo")  # commits are dated 2024-01-01
    repo.commit("initial", {"README.md": "# demo\n"})
    repo.commit("add weights url", {"model/weights.txt": url + "\n"})
    return repo


def test_history_judges_expiry_when_the_url_was_committed(tmp_path):
    """Committed while live (signed 2023-12-31, valid 7 days, committed 2024-01-01): a leak in the
    history for good, though a tree scan today no longer reports it, as it would not a revoked key."""
    from trussguard.audit import AuditConfig, audit_history
    from trussguard.config import ScanConfig
    from trussguard.pipeline import scan_tree

    sig, keyid = _parts()
    repo = _history_repo(tmp_path, _sigv4(sig, keyid, datetime(2023, 12, 31, tzinfo=timezone.utc), 7 * DAY))
    audited = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None)))
    assert any(f.rule_id == "signed-url.aws-sigv4" for f in audited.findings)
    scanned = scan_tree(ScanConfig(paths=(repo.root,), cache_dir=None))
    assert not any(f.rule_id.startswith("signed-url.") for f in scanned.findings)


def test_history_drops_a_url_that_was_dead_before_it_was_committed(tmp_path):
    """Signed 2023-06-01 for 300 s, committed 2024-01-01 (a scraped dataset): it never exposed anything."""
    from trussguard.audit import AuditConfig, audit_history
    from trussguard.config import ScanConfig

    sig, keyid = _parts()
    repo = _history_repo(tmp_path, _sigv4(sig, keyid, datetime(2023, 6, 1, tzinfo=timezone.utc)))
    audited = audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None)))
    assert not any(f.secret_sha256 and f.rule_id.startswith(("signed-url.", "aws.")) for f in audited.findings)


def _cloudfront(host: str, expires: datetime) -> tuple[str, str]:
    """As the hub writes them: a percent-encoded disposition first, so the engine's percent-decoded
    view of the URL starts mid-query and must be judged with the URL's clear-text host put back."""
    sig = tokens.expand_template("{172:A-Za-z0-9~-}", random.Random())
    return sig, (f"https://{host}/repos/ab/cd/{tokens.expand_template('{64:0-9a-f}', random.Random())}"
                 f"?response-content-disposition=attachment%3B+filename%3D%22w.jsonl%22%3B&Expires={int(expires.timestamp())}"
                 f"&Policy=eyJTdGF0ZW1lbnQiOltdfQ__&Signature={sig}&Key-Pair-Id=K3ESJI6DHPFC7")


@pytest.mark.parametrize("host,platform", [
    ("cdn-lfs.huggingface.co", True), ("cdn-lfs-us-1.hf.co", True), ("cas-bridge.xethub.hf.co", True),
    ("objects.githubusercontent.com", True), ("d1234abcd.cloudfront.net", False),
    ("cdn-lfs.hf.co.evil.example", False), ("cdn-lfs.hf.co:443@evil.example", False),
])
def test_platform_download_links_are_recognised_by_exact_host(host, platform):
    _, url = _cloudfront(host, datetime.now(timezone.utc))
    data = f"Location: {url} [following]".encode()
    assert signed_urls.platform_link(data, data.index(b"?")) is platform


def test_history_drops_a_platform_download_link_that_has_expired_since(tmp_path):
    """fastchat's notebooks kept `wget` output with Hugging Face CDN redirects, live when committed:
    the hub's key signed them, nothing is left to rotate, and they are dead now. The same link on
    the owner's own CloudFront distribution stays a leak in history."""
    from trussguard.audit import AuditConfig, audit_history
    from trussguard.config import ScanConfig

    expires = datetime(2024, 1, 3, tzinfo=timezone.utc)  # commits are dated 2024-01-01
    hub_sig, hub = _cloudfront("cdn-lfs.huggingface.co", expires)
    own_sig, own = _cloudfront("d1234abcd.cloudfront.net", expires)
    repo = _history_repo(tmp_path, f"Location: {hub} [following]\nLocation: {own} [following]")
    found = {f.secret_sha256 for f in audit_history(AuditConfig(repo.root, ScanConfig(cache_dir=None))).findings}
    import hashlib
    assert hashlib.sha256(own_sig.encode()).hexdigest() in found
    assert hashlib.sha256(hub_sig.encode()).hexdigest() not in found


def test_a_live_platform_download_link_is_still_reported(detector):
    sig, url = _cloudfront("cdn-lfs.hf.co", datetime.now(timezone.utc) + timedelta(days=2))
    assert sig in _found(detector, f"Location: {url} [following]\n", "notebooks/run.ipynb")
