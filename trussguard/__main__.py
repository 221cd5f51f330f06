"""Allows ``python -m trussguard``."""

from trussguard.cli import main

raise SystemExit(main())
