"""What a file's bytes say they are, and the readings of them the rules must see.

Why by content: a name (``.bin``, ``.png``) or a first byte (a BOM, a NUL) is chosen by whoever
wrote the file, so neither may decide whether it is scanned. Every file is scanned:

- UTF-8 (with or without a BOM), and anything without NUL bytes: as is (the rules match bytes).
- UTF-32 and UTF-16, with a BOM (``FF FE 00 00`` is checked before ``FF FE``) or without one
  (most bytes at the zero positions of ASCII text in that encoding are NUL): transcoded to UTF-8
  for the rules and the policy, AND the raw bytes are scanned by the rules too. A file that
  starts with ``FF FE`` and continues in plain ASCII decodes to valid but meaningless CJK; its
  raw reading still shows the credential. Only these rare files pay for the second reading.
- Anything else with a NUL byte (images, archives, ``.pyc``, one NUL planted before a token) is
  *binary*: its raw bytes go through the rules (an ASCII credential inside a binary is still a
  credential), the policy never parses it.
- Whenever the bytes hold a NUL, the rules also read them with every NUL removed: a UTF-16
  string inside a binary, or after an 8 KiB ASCII preamble, becomes plain ASCII (newlines are
  kept, so line numbers stay right). One C-speed ``replace``, paid only by files with NULs.

Matches found only in the extra readings cannot be suppressed inline: a marker in a file that
does not decode as what it claims is not something a reviewer saw.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator

SAMPLE = 8192  # how much of the head decides the encoding
_BOMS = (  # longest first: the UTF-32 LE BOM begins with the UTF-16 LE one
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_WIDE = {"utf-16-le": 2, "utf-16-be": 2, "utf-32-le": 4, "utf-32-be": 4}  # code unit sizes
_ZERO_SHARE = 0.7  # share of NULs expected at the zero byte positions of mostly-ASCII wide text
_CONTINUATION = bytes(range(0x80, 0xC0))  # UTF-8 continuation bytes: removing them counts characters
BINARY = "binary"


def sniff(head: bytes) -> str:
    """The encoding of a file from its first bytes: utf-8, utf-16-le/be, utf-32-le/be or binary."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if b"\0" not in head:
        return "utf-8"
    return _wide_without_bom(head) or BINARY


def _wide_without_bom(head: bytes) -> str | None:
    """UTF-32 or UTF-16 without a BOM, told by where the NULs fall (ASCII text in UTF-16 LE is
    ``x\\0x\\0``); None when they fall anywhere else (a binary)."""
    sample = head[:len(head) // 4 * 4]
    if len(sample) < 8:
        return None
    quarter = len(sample) // 4
    zeros = [sample[i::4].count(0) / quarter for i in range(4)]
    if min(zeros[1:]) >= _ZERO_SHARE and zeros[0] < 1 - _ZERO_SHARE:
        return "utf-32-le"
    if min(zeros[:3]) >= _ZERO_SHARE and zeros[3] < 1 - _ZERO_SHARE:
        return "utf-32-be"
    even, odd = (zeros[0] + zeros[2]) / 2, (zeros[1] + zeros[3]) / 2
    if odd >= _ZERO_SHARE and even < 1 - _ZERO_SHARE:
        return "utf-16-le"
    if even >= _ZERO_SHARE and odd < 1 - _ZERO_SHARE:
        return "utf-16-be"
    return None


def transcode(part: bytes, encoding: str) -> bytes:
    """``part`` as UTF-8 for the rules: wide encodings are decoded (bad units replaced), the rest
    are kept byte for byte (the matcher works on bytes, so offsets stay the file's own)."""
    if encoding not in _WIDE:
        return part
    return part.decode(encoding, "replace").encode("utf-8", "surrogatepass")


def strip_nuls(part: bytes) -> bytes:
    return part.replace(b"\0", b"")


def readings(encoding: str) -> list[Callable[[bytes], bytes]]:
    """The transforms the rules read a file through: first the text (what the policy reads too),
    then the raw bytes of a transcoded file, then the NUL-free bytes (only used where a NUL is)."""
    if encoding in _WIDE:
        return [lambda p: transcode(p, encoding), _raw, strip_nuls]
    return [_raw, strip_nuls]


def _raw(part: bytes) -> bytes:
    return part


@dataclass(frozen=True)
class Decoded:
    """One file's bytes read by content."""

    text: bytes  # what the rules and the policy read: UTF-8 text, or the raw bytes of a binary
    extra: tuple[bytes, ...]  # other readings of the same bytes, scanned by the rules only
    encoding: str

    @property
    def binary(self) -> bool:
        return self.encoding == BINARY


def decode(data: bytes) -> Decoded:
    encoding = sniff(data[:SAMPLE])
    text = transcode(data, encoding)
    if encoding in _WIDE and text.startswith(b"\xef\xbb\xbf"):
        text = text[3:]  # the BOM is not a character of line 1
    extra = []
    for reading in readings(encoding)[1:]:
        if reading is strip_nuls and b"\0" not in data:
            continue
        view = reading(data)
        if view != text and view not in extra:
            extra.append(view)
    return Decoded(text, tuple(extra), encoding)


def chars(text: bytes) -> int:
    """Characters in UTF-8 bytes (continuation bytes do not start one), in one C pass."""
    return len(text) if text.isascii() else len(text.translate(None, _CONTINUATION))


@dataclass
class Oversize:
    """A file or blob over ``--max-file-size``: never held whole, scanned in chunks by the rules
    only (no YAML/Python parsing, no detect-secrets). ``parts(n)`` yields its bytes in pieces of
    ``n`` (the last may be shorter) and may be called once."""

    path: str
    size: int
    parts: Callable[[int], Iterator[bytes]]


class ReadFailed(Exception):
    """An oversize file or blob could not be read to its end (its message is the reason)."""
