"""The live panel's two server-side answers: :func:`explain_response`, ``explain()`` of
the credential the page's client holds, and :func:`clock_response`, the button that
moves the demo's own emulator's clock. DEMO ONLY: the first shows credentials, the second
lets anyone who reaches it move the clock every credential of that emulator is checked
against.
"""

from __future__ import annotations

from ably_authkit._time import to_ms
from ably_authkit.endpoint import AuthResponse, error_response
from ably_authkit.endpoint.params import _MAX_BODY
from ably_authkit.endpoint.responses import _json_bytes, _ok
from ably_authkit.errors import AuthKitError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime

    from ably_authkit.keys import ApiKey, KeyRing
    from ably_authkit.testing import AblyEmulator

__all__ = ["MAX_SKIP", "clock_response", "explain_response"]

#: The furthest the clock button moves the emulator's clock in one go: a day.
MAX_SKIP = 86_400


def explain_response(
    keys: ApiKey | KeyRing, credential: str | bytes, *, now: datetime | None = None
) -> AuthResponse:
    """:func:`~ably_authkit.explain` of ``credential`` (a JWT, TokenRequest or
    TokenDetails JSON, or an Ably token), verified with ``keys`` where it can be, as
    ``text/plain``; 400 with an Ably error when it cannot be read. It says whether a
    credential is genuine; it never shows the secret."""
    from ably_authkit.explain import explain

    if len(credential) > _MAX_BODY:
        return error_response(400, 40003, "that is too long to be an Ably credential")
    if isinstance(credential, bytes):
        try:
            credential = credential.decode("utf-8")
        except UnicodeDecodeError:
            return error_response(400, 40003, "a credential is UTF-8 text")
    if not credential.strip():
        return error_response(400, 40003, "no credential: send one as the request body")
    try:
        explanation = explain(credential, keys, now=now)
    except AuthKitError as error:
        return error_response(400, error.code or 40003, f"cannot explain it: {error.message}")
    return _ok("text/plain; charset=utf-8", str(explanation).encode("utf-8"))


def clock_response(emulator: AblyEmulator | None, seconds: str | None) -> AuthResponse:
    """Move ``emulator``'s clock forward by ``seconds``, the text of the request's
    ``?seconds=`` (whole seconds, 1 to 86400): ``{"now": ms}``, the emulator's new time;
    400 with an Ably error for any other value; 404 when there is no emulator."""
    from datetime import timedelta

    if emulator is None:
        return error_response(
            404,
            40400,
            "this app runs against no local emulator of its own, so there is no clock to move",
        )
    if (
        seconds is None
        or not (seconds.isascii() and seconds.isdigit() and len(seconds) <= 5)
        or not 1 <= int(seconds) <= MAX_SKIP
    ):
        return error_response(
            400, 40003, f"seconds must be whole seconds from 1 to {MAX_SKIP} (?seconds=N)"
        )
    now = emulator.advance(timedelta(seconds=int(seconds)))
    return _ok("application/json", _json_bytes({"now": to_ms(now)}))
