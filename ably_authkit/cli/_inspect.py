"""``verify`` and ``inspect``: read a credential, check it against the key or explain it."""

from __future__ import annotations

import re
import sys

from ._common import (
    DEFAULT_KEY_ENV,
    EXIT_INVALID,
    EXIT_OK,
    PROG,
    _error_json,
    _fail,
    _load_key,
    _print_json,
    _UsageError,
    _with_code,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from datetime import datetime

    from ably_authkit.explain import Explanation


def _read_token(text: str) -> str:
    if text == "-":
        text = sys.stdin.read()
    text = text.strip()
    if not text:
        raise _UsageError("TOKEN is empty; give a JWT or JSON, or - to read it from stdin")
    if (
        not text.startswith("{")
        and text.count(":") == 1
        and not any(char.isspace() for char in text)
    ):
        raise _UsageError(
            "TOKEN looks like an API key, not a credential; keep keys out of command lines "
            f"(put it in ${DEFAULT_KEY_ENV}) and give a JWT or TokenRequest here"
        )
    return text


# A JWT's three parts are base64url; a JSON header starts "eyJ" ('{"'). An HS256 signature
# (the only algorithm of Ably JWTs) is 32 bytes: 43 characters.
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*", re.ASCII)
_HS256_SIGNATURE_LENGTH = 43
# An opaque Ably token: an app-specific prefix, a dot, then base64 text.
_OPAQUE_TOKEN = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_+/=-]+", re.ASCII)
NOT_A_CREDENTIAL = (
    "that is not an Ably credential: not a JWT, not TokenRequest or TokenDetails JSON, "
    "and not an Ably token"
)


def _jwt_shape_problem(text: str) -> str | None:
    """Why ``text``, which looks like a JWT, cannot be one (cut short, a part missing)."""
    parts = text.split(".")
    if len(parts) != 3:
        return (
            f"the JWT is malformed: it has {len(parts)} part(s) where a JWT has 3 "
            "(header.payload.signature); it was probably cut short: copy it whole"
        )
    for name, part in zip(("header", "payload", "signature"), parts, strict=True):
        if not part:
            return f"the JWT is malformed: its {name} is empty (a JWT is header.payload.signature)"
        if not _BASE64URL.fullmatch(part):
            return (
                f"the JWT is malformed: its {name} holds characters a JWT never does "
                "(only A-Z, a-z, 0-9, - and _)"
            )
    if len(parts[2]) != _HS256_SIGNATURE_LENGTH:
        return (
            f"the JWT is malformed: its signature has {len(parts[2])} characters where the "
            f"HS256 signature of an Ably JWT has {_HS256_SIGNATURE_LENGTH}; it was probably "
            "cut short: copy it whole"
        )
    return None


def _credential_kind(text: str) -> str:
    """``token_request``, ``token_details``, ``json`` (other JSON), ``jwt``, ``opaque``
    (an Ably token) or ``unknown``; raise ``MalformedTokenError`` for a broken JWT."""
    if text.startswith("{"):
        from ably_authkit._json import loads_strict

        try:
            data = loads_strict(text)
        except (ValueError, RecursionError):
            return "json"
        if isinstance(data, dict) and ("mac" in data or "nonce" in data):
            return "token_request"
        if isinstance(data, dict) and "token" in data:
            return "token_details"
        return "json"
    if text.startswith("eyJ") or text.count(".") == 2:
        problem = _jwt_shape_problem(text)
        if problem is not None:
            from ably_authkit.errors import MalformedTokenError

            raise MalformedTokenError(problem)
        return "jwt"
    if _OPAQUE_TOKEN.fullmatch(text):
        return "opaque"
    return "unknown"


def _cmd_verify(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from ably_authkit.errors import AuthKitError
    from ably_authkit.explain import explain
    from ably_authkit.jwt_tokens import verify_jwt
    from ably_authkit.token_requests import verify_token_request

    text = _read_token(args.token)
    key = _load_key(
        args,
        when_missing=f". 'verify' checks a credential's signature, which needs the key; to read "
        f"what a credential says, run '{PROG} inspect', which needs no key",
    )
    now = datetime.now(timezone.utc)
    try:
        kind = _credential_kind(text)
        if kind in ("token_details", "opaque"):
            raise _UsageError(
                "only Ably can check an Ably token (TokenDetails or its token string); verify "
                f"takes a JWT or a TokenRequest. Run '{PROG} inspect' to read what it says"
            )
        if kind == "unknown":
            from ably_authkit.errors import MalformedTokenError

            raise MalformedTokenError(f"{NOT_A_CREDENTIAL}; verify takes a JWT or TokenRequest")
        if kind == "jwt":
            verify_jwt(text, key, now=now)
        else:
            verify_token_request(text, key, now=now)
    except AuthKitError as error:
        if args.json:
            _print_json({"verified": False, "error": _error_json(error)})
        return _fail(_with_code(error), EXIT_INVALID)
    return _report(explain(text, key, now=now), json_output=args.json)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from ably_authkit.errors import AuthKitError
    from ably_authkit.explain import explain

    text = _read_token(args.token)
    try:
        if _credential_kind(text) == "unknown":
            from ably_authkit.errors import MalformedTokenError

            raise MalformedTokenError(NOT_A_CREDENTIAL)
        explanation = explain(text)
    except AuthKitError as error:
        if args.json:
            _print_json({"error": _error_json(error)})
        return _fail(_with_code(error), EXIT_INVALID)
    return _report(explanation, json_output=args.json)


def _explanation_json(explanation: Explanation) -> dict[str, object]:
    """``explain()``'s facts under the names of Ably's wire form, as ``jwt --json`` and
    ``request-token --json`` print TokenDetails: camelCase, times in milliseconds."""
    from ably_authkit._time import to_ms

    def ms(moment: datetime | None) -> int | None:
        return None if moment is None else to_ms(moment)

    return {
        "kind": explanation.kind,
        "keyName": explanation.key_name,
        "clientId": explanation.client_id,
        "capability": explanation.capability,
        "chatFeatures": {room: list(each) for room, each in explanation.chat_features.items()},
        "issued": ms(explanation.issued),
        "expires": ms(explanation.expires),
        "verified": explanation.verified,
        "problems": list(explanation.problems),
        "notes": list(explanation.notes),
    }


def _report(explanation: Explanation, *, json_output: bool) -> int:
    if json_output:
        _print_json(_explanation_json(explanation))
    else:
        print(explanation)
    return EXIT_OK if explanation.ok else EXIT_INVALID
