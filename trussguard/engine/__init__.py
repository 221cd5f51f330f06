"""Matching: rule schema and loading, keyword prefilter, RE2 matcher, decoders, detect-secrets adapter."""
