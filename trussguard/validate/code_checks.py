"""Validators that need code, by the name a rule gives in ``validator: {code: ...}``.

AWS: a secret access key alone proves nothing; with its access key id it signs STS
``GetCallerIdentity`` (read-only, no permissions needed, cannot be denied by IAM policy), so a 200 means
the pair works and 403 ``InvalidClientTokenId``/``SignatureDoesNotMatch`` means AWS rejects it.
The signature is botocore's ``SigV4Auth`` (the well-kept implementation AWS's own SDK uses), not a
hand-written one; botocore is the optional extra ``trussguard[validate-aws]``, and without it the outcome
is ``unknown``.
"""

from __future__ import annotations

import re
import urllib.request

from trussguard.validate.endpoints import host_of, target_url
from trussguard.validate.http_check import USER_AGENT, send
from trussguard.validate.model import Candidate, Validation, now_iso, unknown

STS_URL = "https://sts.amazonaws.com/"
STS_BODY = "Action=GetCallerIdentity&Version=2011-06-15"
_KEY_ID = re.compile(r"^(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}$")
_REJECTED = (b"InvalidClientTokenId", b"SignatureDoesNotMatch", b"AuthFailure")


def aws_pair(candidate: Candidate) -> tuple[str, str] | None:
    """(access key id, secret access key) from the candidate and its companions, or None."""
    values = [candidate.secret, *candidate.companions.values()]
    key_ids = [v for v in values if _KEY_ID.match(v)]
    secrets = [v for v in values if not _KEY_ID.match(v) and len(v) == 40]
    if not key_ids or not secrets:
        return None
    return key_ids[0], secrets[0]


def aws_sts(candidate: Candidate, endpoints: dict[str, str], timeout: float, director) -> Validation:
    url = target_url(STS_URL, candidate.rule.validator.provider, endpoints)
    host = host_of(url)
    try:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials
    except ImportError:
        return unknown(host, "botocore is not installed (pip install 'trussguard[validate-aws]')")
    pair = aws_pair(candidate)
    if pair is None:
        return unknown(host, "no access key id and secret access key pair in the same file")
    key_id, secret_key = pair
    if key_id.startswith("ASIA"):  # without its session token STS would reject it even while it works
        return unknown(host, "temporary credentials (ASIA key id) cannot be checked without their session token")
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "User-Agent": USER_AGENT}
    aws_request = AWSRequest(method="POST", url=url, data=STS_BODY, headers=headers)
    SigV4Auth(Credentials(key_id, secret_key), "sts", "us-east-1").add_auth(aws_request)
    request = urllib.request.Request(url, data=STS_BODY.encode("ascii"), method="POST",
                                     headers=dict(aws_request.headers.items()))

    def judge(status: int, body: bytes) -> Validation:
        if status == 200 and b"GetCallerIdentityResult" in body:
            return Validation("live", status, host, now_iso(), f"HTTP {status} (GetCallerIdentity)")
        if status == 403 and any(code in body for code in _REJECTED):
            code = next(c for c in _REJECTED if c in body).decode()
            return Validation("revoked", status, host, now_iso(), f"HTTP {status} ({code})")
        if status == 429 or (status == 400 and b"Throttl" in body):
            return Validation("unknown", status, host, now_iso(), f"rate limited (HTTP {status})")
        kind = "provider error" if status >= 500 else "unexpected answer"
        return Validation("unknown", status, host, now_iso(), f"{kind} (HTTP {status})")

    # the secret key never travels (only the signature made with it); the key id is in the Authorization header
    return send(request, host, secret_key, timeout, director, judge)


CODE_CHECKS = {"aws-sts": aws_sts}
