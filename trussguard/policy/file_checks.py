"""Checks on the files of a Truss directory itself (TRUSS_SECRETS.md 1.4 and C8)."""

from __future__ import annotations
