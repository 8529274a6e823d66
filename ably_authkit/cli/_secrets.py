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
