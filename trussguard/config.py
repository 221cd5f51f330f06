"""The frozen settings of one scan, built once by the CLI and passed down (no global settings)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from trussguard.types import Severity

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b?|b)?\s*$", re.I)
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "ki": 1024, "m": 1000**2, "mb": 1000**2,
          "mib": 1024**2, "mi": 1024**2, "g": 1000**3, "gb": 1000**3, "gib": 1024**3, "gi": 1024**3}


@dataclass(frozen=True)
class ScanConfig:
    paths: tuple[Path, ...] = ()
    rule_dirs: tuple[Path, ...] = ()
    fail_on: Severity = Severity.HIGH
    max_file_size: int = 10 * 1024 * 1024
    show_secrets: bool = False
    use_detect_secrets: bool = True
    decode_depth: int = 1
    allow_unreadable: bool = False
    jobs: int | None = None
    cache_dir: Path | None = field(default=None)


def parse_size(text: str) -> int:
    """``10MiB`` -> 10485760; plain numbers are bytes."""
    m = _SIZE.match(text)
    if not m or (m.group(2) or "").lower() not in _UNITS:
        raise ValueError(f"not a size: {text!r} (use e.g. 500KB, 10MiB, 1048576)")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").lower()])
