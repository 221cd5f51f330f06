"""Suppression: inline allow comments (configured allow-lists and baselines come later)."""
