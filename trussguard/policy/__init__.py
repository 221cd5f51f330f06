"""Truss policy: secret values come only from Baseten workspace secrets (TRUSS_SECRETS.md)."""
