"""Option values: durations, timeouts, client ids, capabilities, variable names."""

from __future__ import annotations

import argparse
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import timedelta

_DURATION = re.compile(
    r"(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m(?!s))?(?:(?P<s>\d+)s)?(?:(?P<ms>\d+)ms)?",
    re.ASCII,
)
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)


def parse_duration(text: str) -> timedelta:
    """``"90s"``, ``"30m"``, ``"1h"``, ``"1h30m"``, ``"500ms"`` → ``timedelta``.

    A bare number is refused, as the library refuses one: Ably's SDKs read a number as
    milliseconds and JWT claims as seconds, so ``3600`` is ambiguous.
    """
    from datetime import timedelta

    spec = text.strip().lower()
    if spec.isdigit():
        raise ValueError(
            f"{text!r} has no unit; write it with one, e.g. 90s, 30m, 1h or 1h30m "
            "(units: h, m, s, ms). A bare number is refused because Ably's SDKs read it as "
            "milliseconds and JWT claims as seconds"
        )
    match = _DURATION.fullmatch(spec)
    if not spec or match is None:
        raise ValueError(
            f"{text!r} is not a duration; write e.g. 90s, 30m, 1h or 1h30m (units: h, m, s, ms)"
        )
    parts = {unit: int(value or 0) for unit, value in match.groupdict().items()}
    return timedelta(
        hours=parts["h"], minutes=parts["m"], seconds=parts["s"], milliseconds=parts["ms"]
    )


def _duration_arg(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _timeout_arg(text: str) -> timedelta:
    spec = text.strip()
    if spec.isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r} has no unit; give a unit, such as 10s or 500ms (units: h, m, s, ms)"
        )
    timeout = _duration_arg(text)
    if not timeout:
        raise argparse.ArgumentTypeError("a timeout must be longer than 0s; give e.g. 10s")
    return timeout


def _client_id_arg(text: str) -> str:
    from ably_authkit._checks import check_client_id
    from ably_authkit.errors import AuthKitError

    if not text:
        raise argparse.ArgumentTypeError(
            "is empty; leave --client-id out for an anonymous client, give '*' for a client "
            "that may take any id, or give the user's id"
        )
    try:
        return check_client_id(text)
    except AuthKitError as error:
        # The library names its parameter (client_id ...); argparse names the option.
        raise argparse.ArgumentTypeError(error.message.removeprefix("client_id ")) from None


def _capability_arg(text: str) -> str:
    from ably_authkit.capability import Capability
    from ably_authkit.errors import AuthKitError

    from ._secrets import _KEY_LIKE, _without_secrets

    if _KEY_LIKE.fullmatch(text.strip().strip("'\"")):
        # Described, never echoed, as keys.py describes a malformed key.
        raise argparse.ArgumentTypeError(
            "that looks like an API key (appId.keyId:secret), not a capability: a capability "
            'is JSON, e.g. \'{"chat:*":["publish","subscribe"]}\'; the key belongs in '
            "$ABLY_API_KEY, never on the command line"
        )
    try:
        return Capability.parse(text).to_json()
    except AuthKitError as error:
        raise argparse.ArgumentTypeError(_without_secrets(error.message, text)) from None


#: The presets ``--chat`` takes by name, as ``ably_authkit.chat`` spells them.
CHAT_PRESETS = ("member", "moderator")


def _chat_arg(text: str) -> tuple[str, tuple[str, ...]]:
    """``ROOM=FEATURE[,FEATURE...]``, a feature being a ``ChatFeature`` value or a preset
    (``member``, ``moderator``); checked here, built into a capability by the command."""
    from ably_authkit.chat import chat_capability
    from ably_authkit.errors import AuthKitError

    room, equals, listed = text.rpartition("=")
    features = tuple(each.strip() for each in listed.split(",") if each.strip())
    if not equals or not room or not features:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not ROOM=FEATURES; write the room and its Ably Chat features, e.g. "
            "'support:T-1=member', 'support:*=moderator' or 'lobby=receive,history'"
        )
    try:
        chat_capability({room: _chat_features(features)})
    except AuthKitError as error:
        raise argparse.ArgumentTypeError(error.message + _preset_hint(features)) from None
    return room, features


def _preset_hint(features: tuple[str, ...]) -> str:
    """For a name that is neither a feature nor a preset: the presets, and the near one."""
    import difflib  # only on this error path

    from ably_authkit.chat import ChatFeature

    known = {feature.value for feature in ChatFeature} | set(CHAT_PRESETS)
    unknown = [each for each in features if each not in known]
    if not unknown:
        return ""
    near = difflib.get_close_matches(unknown[0].lower(), CHAT_PRESETS, n=1)
    hint = f" Did you mean the preset {near[0]!r}?" if near else ""
    return f"; or a preset: {', '.join(CHAT_PRESETS)}.{hint}"


def _chat_features(features: tuple[str, ...]) -> list[str]:
    from ably_authkit.chat import MEMBER, MODERATOR

    presets = {"member": MEMBER, "moderator": MODERATOR}
    chosen: list[str] = []
    for each in features:
        chosen += sorted(presets[each]) if each in presets else [each]
    return chosen


def _env_name_arg(text: str) -> str:
    if not _ENV_NAME.fullmatch(text):
        # Not echoed: the usual mistake here is pasting the key itself.
        raise argparse.ArgumentTypeError(
            "takes the NAME of an environment variable (letters, digits and _), such as "
            "MY_ABLY_KEY, not a key; put the key in that variable"
        )
    return text
