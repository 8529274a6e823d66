"""The commands that sign with the key: ``jwt``, ``token-request`` and ``request-token``."""

from __future__ import annotations

from ._common import EXIT_OK, _load_key, _print_json, _UsageError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def _capability(args: argparse.Namespace) -> str | None:
    """The capability the command signs: ``--capability`` as given, or the one ``--chat``'s
    rooms and features make (a room given twice gets the features of both)."""
    given: str | None = args.capability
    if not args.chat:
        return given
    if given is not None:
        raise _UsageError(
            "give --capability or --chat, not both: --chat builds the whole capability from "
            "rooms and their Ably Chat features"
        )
    from ably_authkit.chat import chat_capability

    from ._args import _chat_features

    rooms: dict[str, list[str]] = {}
    for room, features in args.chat:
        rooms.setdefault(room, []).extend(_chat_features(features))
    return chat_capability(rooms).to_json()


def _cmd_jwt(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from ably_authkit.jwt_tokens import DEFAULT_JWT_TTL, mint_jwt
    from ably_authkit.keys import signing_key
    from ably_authkit.token_details import TokenDetails

    key = _load_key(args)
    capability = _capability(args)
    if capability is None:
        raise _UsageError(
            "jwt needs --capability: a JWT always states what it allows, e.g. "
            '--capability \'{"chat:*":["publish","subscribe"]}\' (\'{"*":["*"]}\' for everything '
            "the key may do), or --chat 'support:*=member' for Ably Chat rooms"
        )
    ttl = DEFAULT_JWT_TTL if args.ttl is None else args.ttl
    now = datetime.now(timezone.utc).replace(microsecond=0)  # a JWT's iat is whole seconds
    token = mint_jwt(key, capability=capability, client_id=args.client_id, ttl=ttl, now=now)
    if args.json:
        details = TokenDetails(
            token=token,
            issued=now,
            expires=now + ttl,
            capability=capability,
            client_id=args.client_id,
            key_name=signing_key(key).name,
        )
        _print_json(details.to_dict())
    else:
        print(token)
    return EXIT_OK


def _cmd_token_request(args: argparse.Namespace) -> int:
    from ably_authkit.token_requests import create_token_request

    key = _load_key(args)
    request = create_token_request(
        key, capability=_capability(args), client_id=args.client_id, ttl=args.ttl
    )
    if args.json:
        _print_json(request.to_dict())
    else:
        print(request.to_json())
    return EXIT_OK


def _cmd_request_token(args: argparse.Namespace) -> int:
    from ably_authkit.endpoint.auth_endpoint import _endpoint_from_env
    from ably_authkit.rest import DEFAULT_TIMEOUT, request_token

    key = _load_key(args)
    endpoint = args.endpoint or _endpoint_from_env()
    details = request_token(
        key,
        capability=_capability(args),
        client_id=args.client_id,
        ttl=args.ttl,
        endpoint=endpoint,
        query_time=args.query_time,
        timeout=DEFAULT_TIMEOUT if args.timeout is None else args.timeout,
    )
    if args.json:
        _print_json(details.to_dict())
    else:
        from ably_authkit._json import dumps_compact

        print(dumps_compact(details.to_dict()))
    return EXIT_OK
