"""Units of time at every boundary, named and checked once.

- Public arguments: ``ttl`` is a :class:`~datetime.timedelta`, ``now`` an aware
  :class:`~datetime.datetime`.
- TokenRequest ``ttl``/``timestamp`` and TokenDetails ``issued``/``expires`` are
  integer **milliseconds**; JWT ``iat``/``exp`` are integer **seconds**.

All conversions are integer arithmetic on ``timedelta`` (``td // ONE_MS``), never
float seconds, so no millisecond is lost to rounding.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from .errors import InvalidParameterError, InvalidTTLError, ParameterTypeError, TTLTypeError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ZERO = timedelta(0)
ONE_MS = timedelta(milliseconds=1)
ONE_SECOND = timedelta(seconds=1)

#: Ably refuses a token that lives longer than this (docs: "Token TTL limits"; error 40003).
MAX_TTL = timedelta(hours=24)
#: ...or longer than this when its key has revocable tokens enabled (docs: "Token revocation").
MAX_REVOCABLE_TTL = timedelta(hours=1)
#: The TTL Ably gives a token whose request names none (spec RSA5, TK2a).
DEFAULT_TOKEN_TTL = timedelta(hours=1)


def check_ttl(ttl: object, *, revocable: bool = False, field: str = "ttl") -> timedelta:
    """Return ``ttl`` if it is a positive ``timedelta`` within Ably's limit, else raise.

    A bare number is refused rather than guessed at: ably-python reads one as
    milliseconds, JWT claims are seconds, and ``3600`` means an hour to one reader
    and 3.6 seconds to the other.
    """
    if not isinstance(ttl, timedelta):
        if isinstance(ttl, (int, float)) and not isinstance(ttl, bool):
            raise TTLTypeError(
                f"{field} must be a datetime.timedelta, not the bare number {ttl!r}: "
                f"Ably's SDKs read a number as milliseconds and JWT claims read it as "
                f"seconds. Say which you mean, e.g. timedelta(seconds={ttl!r}) or "
                f"timedelta(milliseconds={ttl!r}).",
                field=field,
            )
        raise TTLTypeError(
            f"{field} must be a datetime.timedelta such as timedelta(hours=1), "
            f"not {type(ttl).__name__}",
            field=field,
        )
    if ttl <= ZERO:
        raise InvalidTTLError(
            f"{field} must be positive, got {describe(ttl)}; a token needs some time to live",
            field=field,
        )
    limit = MAX_REVOCABLE_TTL if revocable else MAX_TTL
    if ttl > limit:
        why = (
            "a key with revocable tokens issues tokens of at most 1 h"
            if revocable
            else "Ably issues tokens of at most 24 h"
        )
        raise InvalidTTLError(
            f"{field} {describe(ttl, days=False)} is longer than Ably allows ({why}); ask for "
            f"{describe(limit, days=False)} or less and let the client renew it (Ably error 40003)",
            field=field,
        )
    if ttl % ONE_MS:
        raise InvalidTTLError(
            f"{field} {ttl!r} has a fraction of a millisecond, and Ably TTLs are whole "
            f"milliseconds; round it yourself so that nothing is cut silently",
            field=field,
        )
    return ttl


def check_now(now: object) -> datetime:
    """Return ``now``, or the current UTC time when it is ``None``. Read once per call."""
    if now is None:
        return datetime.now(timezone.utc)
    return check_datetime(now, "now")


def now_ms(now: object) -> int:
    """``now`` (checked) in milliseconds since 1970, or the clock's when it is ``None``."""
    if now is None:
        return time.time_ns() // 1_000_000
    return to_ms(check_datetime(now, "now"))


def now_seconds(now: object) -> int:
    """``now`` (checked) in whole seconds since 1970 (floored), or the clock's when ``None``."""
    if now is None:
        return time.time_ns() // 1_000_000_000
    return to_seconds(check_datetime(now, "now"))


def check_datetime(moment: object, field: str) -> datetime:
    """Return ``moment`` if it is an aware ``datetime``."""
    if not isinstance(moment, datetime):
        raise ParameterTypeError(
            f"{field} must be a datetime.datetime, not {type(moment).__name__}",
            field=field,
        )
    if moment.utcoffset() is None:
        raise InvalidParameterError(
            f"{field} is a naive datetime, which could be any time zone; pass an aware one "
            "such as datetime.now(timezone.utc)",
            field=field,
        )
    return moment


def check_leeway(leeway: object) -> timedelta:
    """Return a non-negative ``timedelta`` leeway."""
    if not isinstance(leeway, timedelta):
        raise ParameterTypeError(
            f"leeway must be a datetime.timedelta such as timedelta(seconds=30), "
            f"not {type(leeway).__name__}",
            field="leeway",
        )
    if leeway < ZERO:
        raise InvalidParameterError(
            f"leeway must not be negative, got {describe(leeway)}", field="leeway"
        )
    return leeway


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch (floored, exact)."""
    return (moment - EPOCH) // ONE_MS


def to_seconds(moment: datetime) -> int:
    """Seconds since the Unix epoch (floored, exact)."""
    return (moment - EPOCH) // ONE_SECOND


def from_ms(ms: int) -> datetime:
    """The moment ``ms`` milliseconds after the epoch; ``ValueError`` if out of range."""
    try:
        seconds, ms = divmod(ms, 1000)
        return EPOCH + timedelta(0, seconds, ms * 1000)
    except OverflowError:
        raise ValueError(f"{ms} ms since 1970 is not a representable time") from None


def from_seconds(seconds: int | float) -> datetime:
    """The moment ``seconds`` after the epoch; ``ValueError`` if out of range."""
    try:
        return EPOCH + timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{seconds} s since 1970 is not a representable time") from None


def describe(span: timedelta, *, days: bool = True) -> str:
    """A short human duration: ``"1 h"``, ``"1 h 30 min"``, ``"42 s"``, ``"250 ms"``;
    ``"2 d 1 h"``, or ``"49 h"`` with ``days=False`` (as limits given in hours read best)."""
    sign = "-" if span < ZERO else ""
    span = abs(span)
    ms = span // ONE_MS
    if ms < 1000:
        return f"{sign}{ms} ms" if ms or span == ZERO else f"{sign}{span.microseconds} µs"
    seconds, ms = divmod(ms, 1000)
    if seconds < 60:
        return f"{sign}{seconds}.{ms:03d} s".replace(".000 s", " s")
    parts = []
    whole_days, seconds = divmod(seconds, 86400) if days else (0, seconds)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    for amount, unit in ((whole_days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")):
        if amount:
            parts.append(f"{amount} {unit}")
    return sign + " ".join(parts)


# -- the clocks of the emulators running in this process -----------------------------------

#: By (host, port, tls), loopback names folded into one: an AuthEndpoint aimed at a
#: running AblyEmulator issues on that emulator's clock, which tests move with advance().
_emulator_clocks: dict[tuple[str, int | None, bool], Callable[[], datetime]] = {}
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _clock_id(target: Mapping[str, object]) -> tuple[str, int | None, bool]:
    host = str(target.get("endpoint"))
    port = target.get("tls_port", target.get("port"))
    return (
        "loopback" if host in _LOOPBACK else host,
        port if isinstance(port, int) else None,
        bool(target.get("tls")),
    )


def register_emulator_clock(
    target: Mapping[str, object], clock: Callable[[], datetime] | None
) -> None:
    """Record (or, with ``None``, forget) the clock of an emulator serving at ``target``
    (``endpoint``, ``port`` or ``tls_port``, ``tls``)."""
    if clock is None:
        _emulator_clocks.pop(_clock_id(target), None)
    else:
        _emulator_clocks[_clock_id(target)] = clock


def emulator_clock(target: Mapping[str, object]) -> Callable[[], datetime] | None:
    """The clock of the emulator running in this process at ``target``, if one is."""
    if not _emulator_clocks:
        return None
    return _emulator_clocks.get(_clock_id(target))
