"""Keeping secrets out of what the command line prints: argparse's messages echo
arguments, so anything that may be a key, a secret or a token is blanked out of them."""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

# "appId.keyId:secret", also with a typo in it: anything of that shape is kept out of output.
_KEY_SHAPED = re.compile(r"[^\s:{}\[\]\"',]+\.[^\s:{}\[\]\"',]+:\S+")
# Options a user may try for the key (any case, - or _): refused with the reason.
_KEY_OPTIONS = frozenset(
    {"--key", "--secret", "--api-key", "--apikey", "--ably-key", "--ably-api-key", "--key-secret"}
)


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text


def _may_be_secret(text: str) -> bool:
    """A key with a typo is still a secret, and so is a bare secret or token given by
    mistake: any word holding a colon or as long as a secret, unless it is JSON or a URL."""
    return (
        (":" in text or len(text) >= 24)
        and "://" not in text
        and not text.startswith(("{", "-"))
        and not any(char.isspace() for char in text)
    )


def _known_secrets(argv: Sequence[str]) -> tuple[str, ...]:
    """What argparse must not echo: arguments that may be a key, a secret or a token
    (also as an option's value, --name=value), anything key-shaped in any argument, and the
    keys (and their secrets) in the environment."""
    found: list[str] = []
    for arg in argv:
        value = arg
        if arg.startswith("-"):
            name, _, value = arg.partition("=")
            found += _KEY_SHAPED.findall(name)  # -kappId.keyId:secret
        if "://" in value:  # a URL: only its credentials, if it has any, are secret
            found.append(value.partition("://")[2].partition("/")[0].rpartition("@")[0])
            continue
        if _may_be_secret(value):
            found.append(value)
        found += _KEY_SHAPED.findall(value)
    found += [  # keys in the environment, also several in one variable (a key ring)
        part
        for value in os.environ.values()
        for part in value.replace(",", " ").split()
        if _KEY_SHAPED.fullmatch(part)
    ]
    found += [text.rpartition(":")[2] for text in found]
    return tuple(sorted({item for item in found if len(item) >= 8}, key=len, reverse=True))


# What a value inside a capability may be that must not be echoed back: a key (a name
# "x.y", a colon, then a secret of some length), or a secret alone (long base64 text).
_KEY_LIKE = re.compile(r"[^\s.:\"'{}\[\],]+\.[^\s:\"'{}\[\],]+:[^\s\"'{}\[\],]{8,}")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{24,}={0,2}", re.ASCII)


def _secret_kind(text: str) -> str | None:
    """``"an API key"`` or ``"a long base64 string"`` when ``text`` holds what looks like
    one (a secret has upper- and lower-case letters and digits; a long channel name
    such as ``notifications-for-everyone`` has not), else ``None``."""
    if _KEY_LIKE.search(text):
        return "an API key"
    for run in _BASE64_RUN.findall(text):
        classes = (str.isupper, str.islower, str.isdigit)
        if all(any(test(char) for char in run) for test in classes):
            return "a long base64 string"
    return None


def _strings_in(text: str) -> list[str]:
    """The strings in ``text``: its JSON strings (keys and values, decoded) if it is
    JSON, and its words either way."""
    import contextlib
    import json

    found: list[str] = text.replace('"', " ").replace("'", " ").split()

    def walk(value: object) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    with contextlib.suppress(ValueError, RecursionError):
        walk(json.loads(text))
    return found


def _without_secrets(message: str, given: str) -> str:
    """``message``, about the text ``given``, with each secret-looking string of
    ``given`` that it quotes replaced by what it looks like (the library's messages
    quote a bad resource or operation, rightly, unless it is a key pasted by mistake)."""
    import json

    shown = message
    for text in sorted(set(_strings_in(given)), key=len, reverse=True):
        kind = _secret_kind(text)
        if kind is None:
            continue
        for form in (repr(text), json.dumps(text), text):
            shown = shown.replace(form, f"<{kind}, not shown>")
    if shown != message:
        shown += (
            "; a capability holds channel names and operations, never a key or secret "
            "(keys belong in $ABLY_API_KEY)"
        )
    return shown
