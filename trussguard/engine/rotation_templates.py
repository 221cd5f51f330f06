"""Shared rotation steps for the long tail of providers whose credentials are rotated alike.

Why: a rule file per provider for two hundred SaaS tokens would otherwise repeat the same three
steps two hundred times, and repeated prose drifts. A rule names a template (``rotation.template``)
and still gives its own ``revoke_url`` (where this provider revokes this credential), ``grants``
and ``truss_secret_name``; its own ``steps``, if any, follow the template's. Steps are expanded
when the rule file is parsed, so advisories, reports and the rule cache see plain steps.
"""

from __future__ import annotations

# {name}: the rule's name ("Sentry user auth token"); {revoke_url}, {secret}: the rotation's fields.
_STORE = ("Store the replacement as the Baseten workspace secret {secret}, declare `{secret}: null` under "
          "`secrets:` in config.yaml, read it with self._secrets[\"{secret}\"] and redeploy.")
_AUDIT = ("Review the provider's audit log, usage or billing pages for activity you do not recognise since "
          "the credential was first committed, and undo it.")

TEMPLATES: dict[str, tuple[str, ...]] = {
    # a key or token the provider lets you delete and re-issue
    "api-token": (
        "Open {revoke_url} and revoke (delete) the {name}; a key that cannot be deleted is regenerated there.",
        "Create a replacement with the narrowest scopes, resources and expiry the model needs. " + _STORE,
        _AUDIT,
    ),
    # an OAuth or app client: the secret half is rotated, the client id stays
    "client-secret": (
        "Open {revoke_url}, generate a new client secret for the app and delete the old one (a client id "
        "alone grants nothing; it is reported to locate the app).",
        "Update every service that authenticates as this app. " + _STORE,
        "Review the app's authorised users, tokens and grants issued since the secret was first committed; "
        "revoke those you do not recognise.",
    ),
    # a user's personal token or password: the account itself may be compromised
    "personal-token": (
        "Sign in as the token's owner, open {revoke_url} and revoke the {name}.",
        "Check the account's sessions, keys and security log for access you do not recognise; change the "
        "account password if the token could read it.",
        "Prefer a machine or service-account token with the narrowest scope for the model. " + _STORE,
    ),
    # a webhook or URL whose secret is the path or query
    "webhook-url": (
        "Open {revoke_url}, delete the webhook (or regenerate its URL) and create a new one.",
        "Anyone with the old URL could post as it until it was deleted: review what it posted. " + _STORE,
    ),
    # a signing, encryption or private key
    "signing-key": (
        "Open {revoke_url}, revoke or roll the {name} and issue a new one.",
        "Re-sign or re-encrypt what must stay trusted with the new key; anything signed with the old one "
        "after the leak may be forged. " + _STORE,
        _AUDIT,
    ),
}


def expand(template: str, name: str, revoke_url: str, secret: str) -> tuple[str, ...]:
    """The template's steps for one rule; KeyError for an unknown template."""
    return tuple(step.format(name=name, revoke_url=revoke_url, secret=secret) for step in TEMPLATES[template])
