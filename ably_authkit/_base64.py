"""Base64 as Ably and JWTs use it, on :mod:`binascii` directly (cheaper to import).

- JWT segments: base64url, no padding (RFC 7515 §2).
- TokenRequest ``mac``: standard alphabet, with padding.
"""

from __future__ import annotations

import binascii

_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")
_ALNUM = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_URLSAFE_ALPHABET = _ALNUM + b"-_"
_STANDARD_ALPHABET = _ALNUM + b"+/"


def b64url_encode(data: bytes) -> bytes:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=")


def b64url_decode(segment: str | bytes) -> bytes:
    """Decode unpadded base64url; raise ``ValueError`` on anything else."""
    raw = segment.encode("ascii") if isinstance(segment, str) else segment
    # binascii skips characters outside the alphabet unless told (3.11+), so check first.
    if raw.translate(None, _URLSAFE_ALPHABET) or len(raw) % 4 == 1:
        raise ValueError("not unpadded base64url")
    return binascii.a2b_base64(raw.translate(_FROM_URLSAFE) + b"=" * (-len(raw) % 4))


def b64_encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def b64_decode(text: str) -> bytes:
    """Decode standard padded base64; raise ``ValueError`` on anything else."""
    raw = text.encode("ascii")
    body = raw.rstrip(b"=")
    if body.translate(None, _STANDARD_ALPHABET) or len(raw) % 4 or len(raw) - len(body) > 2:
        raise ValueError("not padded base64")
    return binascii.a2b_base64(raw)
