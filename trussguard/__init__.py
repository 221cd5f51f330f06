"""trussguard: keeps credentials out of Truss model repositories."""

__version__ = "0.1.0"
