"""What the emulator knows and enforces, apart from HTTP: keys, tokens, nonces,
revocations, messages and the clock. Every method is called under the service's lock
(the web server's thread and the test's thread both use it), and raises
:class:`~ably_authkit.AblyApiError` with Ably's code and status for anything Ably refuses.

The choices made where Ably's behaviour is not documented are listed in
``docs/emulator.md``; each is marked ``Choice:`` here.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import json
import math
import secrets
import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Generic, NamedTuple, TypeVar

from ably_authkit._time import MAX_REVOCABLE_TTL, MAX_TTL, ONE_MS, from_ms, to_ms
from ably_authkit.capability import Capability
from ably_authkit.errors import AblyApiError, AuthKitError
from ably_authkit.keys import ApiKey
from ably_authkit.testing._annotations import Annotations
from ably_authkit.testing._mutable import MutableMessages
from ably_authkit.token_details import TokenDetails

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Credential", "Service", "json_text"]

_K = TypeVar("_K", bound=tuple[object, ...])
_V = TypeVar("_V")

DEFAULT_CAPABILITY = Capability({"[*]*": ["*"]})
DEFAULT_TTL = timedelta(hours=1)
#: How long before issuedBefore a revocation with allowReauthMargin takes effect.
REAUTH_MARGIN = timedelta(seconds=30)
#: How long a message id is remembered for idempotent publishing: "Ably can only detect
#: duplicate messages within a 2-minute window" (docs, pub-sub/advanced, Idempotent
#: publishing).
IDEMPOTENCY_WINDOW = timedelta(minutes=2)
#: How long a channel's messages are kept, on the emulator's clock: "Ably stores all
#: messages for two minutes by default" (docs, storage-history/storage, "Default message
#: storage - two minutes").
HISTORY_RETENTION = timedelta(minutes=2)
#: How long they are kept on a channel of a namespace with persisted history (a channel
#: rule; ``POST /apps``'s ``namespaces: [{"id": ..., "persisted": true}]``): 24 hours, the
#: Free package's period (docs, storage-history/storage, "Persist all messages").
PERSISTED_RETENTION = timedelta(hours=24)
#: How many expired tokens ``issued_tokens`` still lists, the latest to expire (Choice).
EXPIRED_TOKENS_KEPT = 1000
#: How many messages past their retention ``published()`` still lists, the latest to
#: expire, and the most (JSON) bytes they may hold (Choice: a record for assertions, gone
#: from history as on Ably).
EXPIRED_MESSAGES_KEPT = 1000
EXPIRED_MESSAGES_BYTES = 8 * 1024 * 1024
HELP = "https://help.ably.io/error/"
#: The message of every 50000: the cause (a Python exception) goes to the
#: ``ably_authkit.testing`` logger, never to the client.
INTERNAL_ERROR = "emulator error: an internal error; its details are in the emulator's log"


def ably_error(code: int, status: int, message: str) -> AblyApiError:
    return AblyApiError(message, code=code, status_code=status, href=f"{HELP}{code}")


def _from_token_error(error: AuthKitError) -> AblyApiError:
    code = error.code or 40000
    status = error.status_code or (401 if 40100 <= code < 40200 else 400)
    return ably_error(code, status, error.message)


class Credential:
    """Who a request or a connection is: the key it belongs to, what it may do, as whom,
    until when, and (for tokens and JWTs) the text that identifies it."""

    __slots__ = (
        "capability",
        "client_id",
        "expires",
        "issued",
        "key",
        "kind",
        "revocation_key",
        "token",
    )

    def __init__(
        self,
        *,
        kind: str,
        key: ApiKey,
        capability: Capability,
        client_id: str | None,
        issued: datetime | None = None,
        expires: datetime | None = None,
        token: str | None = None,
        revocation_key: str | None = None,
    ) -> None:
        self.kind = kind  # "basic", "token" or "jwt"
        self.key = key
        self.capability = capability
        self.client_id = client_id
        self.issued = issued
        self.expires = expires
        self.token = token
        self.revocation_key = revocation_key


class Service:
    """The emulated Ably app(s): the state behind every route."""

    def __init__(
        self, app_id: str = "emulatorApp", mutable_messages: bool | frozenset[str] = False
    ) -> None:
        self.lock = threading.RLock()
        #: The emulator's own app, which is always there (``AblyEmulator(app_id=...)``).
        self.default_app = app_id
        #: The app ids that exist: the default app's and those provisioned since.
        self.apps: set[str] = {app_id}
        self.keys: dict[str, ApiKey] = {}
        #: The names of the keys revoked as in Ably's dashboard (Control API status 1).
        self.revoked_keys: set[str] = set()
        #: token -> its TokenDetails, oldest first: every token still valid, and the
        #: EXPIRED_TOKENS_KEPT latest to expire (a token forgotten after that is still
        #: known as expired, 40142, by the expiry written in its text).
        self.tokens: dict[str, TokenDetails] = {}
        #: (expires ms, token) of the tokens still valid; and the expired ones kept.
        self._token_expiries: list[tuple[int, str]] = []
        self._expired_tokens: deque[str] = deque()
        #: app id -> the namespaces whose channels keep their messages for 24 hours.
        self.persisted: dict[str, frozenset[str]] = {}
        #: (ms, channel): when some of a channel's messages are due to be forgotten.
        self._expiries: list[tuple[int, str]] = []
        #: (channel, (serial, app id, message), bytes) of the latest messages past their
        #: retention, for ``published()`` only; and their bytes.
        self._expired_messages: deque[tuple[str, tuple[int, str, dict[str, Any]], int]] = deque()
        self._expired_bytes = 0
        #: key name -> the (nonce, timestamp ms) pairs used within the timestamp window.
        self.nonces: dict[str, _Recent[tuple[str, int], None]] = {}
        # key name -> target ("clientId:alice") -> (issuedBefore, appliesAt)
        self.revocations: dict[str, dict[str, tuple[datetime, datetime]]] = {}
        #: channel name -> (serial, app id, message) of every message, oldest first. A
        #: channel belongs to its app, as in Ably: one app never sees another's messages.
        self.messages: dict[str, list[tuple[int, str, dict[str, Any]]]] = {}
        #: (app id, channel, idempotency key) -> the messages first stored for it, within
        #: the idempotency window.
        self._published_ids: _Recent[tuple[str, str, str], list[dict[str, Any]]] = _Recent()
        self.offset = timedelta(0)
        self._serial = 0
        #: Called with (app id, channel, messages) after every publish; the realtime
        #: side delivers them to that app's subscribers.
        self.on_publish: list[Callable[[str, str, list[dict[str, Any]]], None]] = []
        #: Called with (key name, targets) after a revocation.
        self.on_revoke: list[Callable[[str], None]] = []
        #: Serials, and updates, deletes and appends on channels with the rule.
        self.mutable = MutableMessages(self, mutable_messages)
        #: Annotations of messages on channels with the rule, and their summaries.
        self.annotations = Annotations(self)

    # -- clock and bookkeeping ------------------------------------------------------

    def now(self) -> datetime:
        # Whole milliseconds, as on the wire.
        moment = datetime.now(timezone.utc) + self.offset
        return from_ms(to_ms(moment.replace(microsecond=moment.microsecond // 1000 * 1000)))

    def next_id(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}{self._serial:06d}-{secrets.token_hex(4)}"

    def reset(self) -> None:
        self.apps = {self.default_app}
        self.keys.clear()
        self.revoked_keys.clear()
        self.tokens.clear()
        self._token_expiries.clear()
        self._expired_tokens.clear()
        self.persisted.clear()
        self._expiries.clear()
        self._expired_messages.clear()
        self._expired_bytes = 0
        self.nonces.clear()
        self.revocations.clear()
        self.messages.clear()
        self._published_ids.clear()
        self.mutable.reset()
        self.annotations.reset()
        self.offset = timedelta(0)

    def add_key(self, capability: Capability, revocable: bool, app_id: str) -> ApiKey:
        key_id = secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
        key = ApiKey(
            name=f"{app_id}.{key_id}",
            secret=secrets.token_urlsafe(33),
            capability=capability,
            revocable=revocable,
        )
        self.apps.add(app_id)
        self.keys[key.name] = key
        return key

    def create_app(self, spec: object) -> tuple[str, list[tuple[ApiKey, dict[str, Any]]]]:
        """``POST /apps`` (Ably's test-app provisioning): a new app with the spec's keys.

        The spec is ably-common's ``test-resources/test-app-setup.json`` ``post_apps``:
        ``keys`` (each with an optional ``capability``, JSON text or an object, and
        ``revocableTokens``), ``namespaces``, ``channels``, ``limits``. Returns the app id
        and, per key, the ``ApiKey`` and the spec's own fields."""
        if not isinstance(spec, Mapping):
            raise ably_error(40000, 400, "the body of POST /apps must be an app spec object")
        keys = spec.get("keys", [{}])
        if not isinstance(keys, list) or not all(isinstance(k, Mapping) for k in keys):
            raise ably_error(40000, 400, "keys must be an array of key objects")
        for name in ("namespaces", "channels"):
            if not isinstance(spec.get(name, []), list):
                raise ably_error(40000, 400, f"{name} must be an array")
        app_id = secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")
        persisted = frozenset(
            entry["id"]
            for entry in spec.get("namespaces", [])
            if isinstance(entry, Mapping)
            and isinstance(entry.get("id"), str)
            and entry.get("persisted") is True
        )
        made: list[tuple[ApiKey, dict[str, Any]]] = []
        for index, entry in enumerate(keys):
            given = entry.get("capability")
            try:
                # A key with no capability has all of it, as Ably's sandbox gives it
                # (ably-js "Token generation with clientId": {"*":["*"]}).
                capability = Capability({"*": ["*"]}) if given is None else Capability.coerce(given)
            except AuthKitError as error:
                raise ably_error(
                    40000, 400, f"key #{index}: invalid capability: {error.message}"
                ) from None
            revocable = entry.get("revocableTokens", False) is True
            made.append((self.add_key(capability, revocable, app_id), dict(entry)))
        if persisted:
            self.persisted[app_id] = persisted
        self.mutable.set_namespaces(app_id, spec.get("namespaces"))
        return app_id, made

    def delete_app(self, app_id: str, credential: Credential) -> None:
        """``DELETE /apps/{appId}``, with a key of that app as basic auth."""
        if app_id not in self.apps or app_id == self.default_app:
            raise ably_error(40400, 404, f"No app {app_id!r} to delete in this emulator")
        if credential.kind != "basic" or credential.key.app_id != app_id:
            raise ably_error(40101, 401, "Delete an app with one of its keys as basic auth")
        self.apps.discard(app_id)
        self.mutable.forget_app(app_id)
        self.annotations.forget_app(app_id)
        for name in [name for name, key in self.keys.items() if key.app_id == app_id]:
            del self.keys[name]

    def key(self, name: str) -> ApiKey:
        key = self.keys.get(name)
        if key is None:
            # Choice: an unknown key name is 40400 Not Found, as Ably answers for a
            # key name that no app has.
            raise ably_error(40400, 404, f"No key found with name {name!r} in this emulator")
        self.check_key(key)
        return key

    def revoke_key(self, name: str) -> None:
        """Revoke a key, as Ably's dashboard and Control API do (``POST
        /apps/{app_id}/keys/{key_id}/revoke``, status 1): everything authenticated with it
        or with a credential it issued is refused from now on, with 40131."""
        self.key(name)  # 40400 for an unknown key; 40131 if it is revoked already
        self.revoked_keys.add(name)
        for listener in self.on_revoke:
            listener(name)

    def check_key(self, key: ApiKey) -> None:
        """Refuse a revoked key, and every credential of it: 40131/401 with Ably's message
        (ably-common errors/codes/40131.md, "key/token status changed (revoke)")."""
        if key.name in self.revoked_keys:
            raise ably_error(40131, 401, "key/token status changed (revoke)")

    # -- tokens -------------------------------------------------------------------

    def request_token(self, key_name: str, body: object, basic: Credential | None) -> TokenDetails:
        """``POST /keys/{keyName}/requestToken``: check and grant a TokenRequest."""
        from ably_authkit.token_requests import TokenRequest, verify_token_request

        key = self.key(key_name)
        if not isinstance(body, Mapping):
            raise ably_error(40001, 400, "the body of requestToken must be a TokenRequest object")
        now = self.now()
        if body.get("mac") is None:
            # An unsigned TokenRequest is taken only with the key itself as basic auth.
            if basic is None or basic.kind != "basic" or basic.key.name != key.name:
                raise ably_error(
                    40101,
                    401,
                    "Unsigned token request: send it with the key as basic auth, or sign it",
                )
            try:
                request = TokenRequest.from_dict(body)
            except AuthKitError as error:
                raise _from_token_error(error) from None
            if request.key_name != key.name:
                raise ably_error(40101, 401, "keyName does not match the key in the path")
        else:
            try:
                request = verify_token_request(dict(body), key, now=now)
            except AuthKitError as error:  # TokenError and the shape errors alike
                raise _from_token_error(error) from None
            self._check_nonce(key.name, str(request.nonce), to_ms(request.timestamp), now)
        ttl = request.ttl or DEFAULT_TTL
        limit = MAX_REVOCABLE_TTL if key.revocable else MAX_TTL
        if ttl > limit:
            raise ably_error(
                40003,
                400,
                f"ttl {ttl // ONE_MS} ms is over the limit of {limit // ONE_MS} ms"
                + (" for a key with revocable tokens" if key.revocable else ""),
            )
        capability = _granted(key)
        if request.capability is not None:
            try:
                requested = Capability.parse(request.capability)
            except AuthKitError as error:
                # Ably's sandbox answers 40000 for an unknown operation, "*" among other
                # operations, or an empty list (ably-python restcapability_test.py).
                raise ably_error(40000, 400, f"Invalid capability: {error.message}") from None
            meet = capability.intersection(requested)
            if meet is None:
                # Choice: 40160, the capability-refused code, for an empty intersection.
                raise ably_error(40160, 401, "Key does not support requested capabilities")
            capability = meet
        # The expiry is in the token's text, so a token forgotten since is still
        # answered as expired (40142), as Ably answers it, not as unknown (40101).
        expires_ms = to_ms(now + ttl)
        details = TokenDetails(
            token=f"{key.app_id}.{expires_ms:x}~{secrets.token_urlsafe(27)}",
            key_name=key.name,
            issued=now,
            expires=now + ttl,
            capability=capability,
            client_id=request.client_id,
        )
        self.tokens[details.token] = details
        heapq.heappush(self._token_expiries, (to_ms(details.expires), details.token))
        return details

    @property
    def issued(self) -> list[TokenDetails]:
        """The tokens issued, oldest first: every one still valid, and the
        EXPIRED_TOKENS_KEPT latest to expire."""
        self.expire()
        return list(self.tokens.values())

    def expire(self) -> None:
        """Forget what Ably would have forgotten by now, on the emulator's clock: messages
        past their channel's retention (and channels left with none), idempotency ids
        past their window, and expired tokens beyond the EXPIRED_TOKENS_KEPT latest."""
        now = to_ms(self.now())
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            _, channel = heapq.heappop(expiries)
            log = self.messages.get(channel)
            if log is None:
                continue
            gone = 0
            for entry in log:
                if entry[2]["timestamp"] + self._retention_ms(entry[1], channel) > now:
                    break
                gone += 1
                self._keep_expired(channel, entry)
            del log[:gone]
            if not log:
                del self.messages[channel]
        self._published_ids.forget_before(now - IDEMPOTENCY_WINDOW // ONE_MS)
        tokens = self._token_expiries
        while tokens and tokens[0][0] <= now:
            self._expired_tokens.append(heapq.heappop(tokens)[1])
        while len(self._expired_tokens) > EXPIRED_TOKENS_KEPT:
            self.tokens.pop(self._expired_tokens.popleft(), None)

    def _keep_expired(self, channel: str, entry: tuple[int, str, dict[str, Any]]) -> None:
        try:
            size = len(json_text(entry[2]))
        except (TypeError, ValueError):
            size = EXPIRED_MESSAGES_BYTES
        kept = self._expired_messages
        kept.append((channel, entry, size))
        self._expired_bytes += size
        while kept and (
            len(kept) > EXPIRED_MESSAGES_KEPT or self._expired_bytes > EXPIRED_MESSAGES_BYTES
        ):
            self._expired_bytes -= kept.popleft()[2]

    def recorded(self, channel: str) -> list[tuple[int, str, dict[str, Any]]]:
        """``published()``'s record of ``channel``: its stored messages, after the latest
        of those past their retention, oldest first."""
        self.expire()
        past = [entry for name, entry, _ in self._expired_messages if name == channel]
        return sorted(past + self.messages.get(channel, []))

    def _retention_ms(self, app_id: str, channel: str) -> int:
        namespace, colon, _ = channel.partition(":")
        persisted = colon and namespace in self.persisted.get(app_id, ())
        # A channel with the mutable-messages rule is persisted too (docs,
        # updates-deletes: "regardless of whether or not persistence is enabled").
        persisted = persisted or self.mutable.enabled(app_id, channel)
        return (PERSISTED_RETENTION if persisted else HISTORY_RETENTION) // ONE_MS

    def _check_nonce(self, key_name: str, nonce: str, timestamp_ms: int, now: datetime) -> None:
        """Refuse a nonce/timestamp pair this key has seen (40105): Ably "verifies that the
        nonce/timestamp combination has not been used previously" (docs, Token request
        spec). Pairs older than the timestamp window are forgotten: a replay of one is
        refused as not current (40104) before its nonce is looked at."""
        from ably_authkit.token_requests import TIMESTAMP_WINDOW

        seen = self.nonces.setdefault(key_name, _Recent())
        seen.forget_before(to_ms(now - TIMESTAMP_WINDOW))
        if (nonce, timestamp_ms) in seen:
            raise ably_error(40105, 401, "Nonce value replayed")
        seen.add((nonce, timestamp_ms), timestamp_ms, None)

    def revoke(self, key: ApiKey, body: object) -> dict[str, Any]:
        """``POST /keys/{keyName}/revokeTokens``: record revocations, answer a BatchResult."""
        if not key.revocable:
            # Choice: 40162-style refusal when the key does not have revocable tokens.
            raise ably_error(
                40162,
                401,
                "Token revocation is not enabled for this key; create the key with revocable=True",
            )
        if not isinstance(body, Mapping):
            raise ably_error(40003, 400, "the body must be an object with targets")
        targets = body.get("targets")
        if not isinstance(targets, list) or not targets:
            raise ably_error(40003, 400, "targets must be a non-empty array")
        if len(targets) > 100:
            raise ably_error(40003, 400, "at most 100 targets per request")
        now = self.now()
        issued_before_ms = body.get("issuedBefore")
        if issued_before_ms is None:
            issued_before = now
        elif isinstance(issued_before_ms, int) and not isinstance(issued_before_ms, bool):
            issued_before = from_ms(issued_before_ms)
        else:
            raise ably_error(40003, 400, "issuedBefore must be an integer of milliseconds")
        margin = body.get("allowReauthMargin", False)
        if not isinstance(margin, bool):
            raise ably_error(40003, 400, "allowReauthMargin must be a boolean")
        applies_at = now + REAUTH_MARGIN if margin else now
        table = self.revocations.setdefault(key.name, {})
        results: list[dict[str, Any]] = []
        for target in targets:
            kind, _, value = target.partition(":") if isinstance(target, str) else ("", "", "")
            if kind not in ("clientId", "revocationKey", "channel") or not value:
                results.append(
                    {
                        "target": target,
                        "error": {
                            "message": "target must be clientId:<id> or revocationKey:<key>",
                            "code": 40003,
                            "statusCode": 400,
                        },
                    }
                )
                continue
            table[target] = (issued_before, applies_at)
            results.append(
                {
                    "target": target,
                    "issuedBefore": to_ms(issued_before),
                    "appliesAt": to_ms(applies_at),
                }
            )
        failures = sum(1 for result in results if "error" in result)
        for listener in self.on_revoke:
            listener(key.name)
        return {
            "successCount": len(results) - failures,
            "failureCount": failures,
            "results": results,
        }

    def revoked(self, credential: Credential, now: datetime) -> bool:
        table = self.revocations.get(credential.key.name)
        if not table or credential.kind == "basic" or credential.issued is None:
            return False
        targets = []
        if credential.client_id is not None:
            targets.append(f"clientId:{credential.client_id}")
        if credential.revocation_key is not None:
            targets.append(f"revocationKey:{credential.revocation_key}")
        for target in targets:
            entry = table.get(target)
            if entry and credential.issued < entry[0] and now >= entry[1]:
                return True
        return False

    # -- authenticating requests ----------------------------------------------------

    def basic(self, encoded: str, client_id_header: str | None) -> Credential:
        try:
            text = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ably_error(40101, 401, "Invalid basic credentials: not base64") from None
        name, _, secret = text.partition(":")
        key = self.keys.get(name)
        if key is None or not secrets.compare_digest(
            key.secret.encode("utf-8"), secret.encode("utf-8")
        ):
            raise ably_error(40101, 401, "Invalid credentials: unknown key or wrong secret")
        self.check_key(key)
        client_id = None
        if client_id_header is not None:
            try:
                client_id = base64.b64decode(client_id_header, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                raise ably_error(40012, 400, "X-Ably-ClientId must be base64 text") from None
            if not client_id or client_id == "*":
                raise ably_error(40012, 400, "X-Ably-ClientId must name one client")
        return Credential(kind="basic", key=key, capability=_granted(key), client_id=client_id)

    def token(self, text: str, *, embedded: bool = False) -> Credential:
        """An Ably token or an Ably JWT, as sent in ``Bearer`` (decoded) or in a query;
        ``embedded`` for the one an Embedded Token JWT carries."""
        now = self.now()
        if text.count(".") == 2 and text.startswith("ey"):
            credential = self._jwt(text, now, embedded)
        else:
            details = self.tokens.get(text)
            key = None if details is None else self.keys.get(details.key_name or "")
            if details is None and _forgotten_expiry(text) <= to_ms(now):
                raise ably_error(40142, 401, "Token expired")
            if details is None or key is None:
                # A token the service never issued (or whose key is gone) is invalid
                # credentials, 40101, not a token error: Ably's sandbox answers so, and
                # the SDKs go FAILED instead of renewing it for ever (ably-python
                # test/ably/realtime/realtimeauth_test.py, test_auth_with_invalid_token_*).
                raise ably_error(40101, 401, "Invalid credentials: token not recognised")
            self.check_key(key)
            if details.expires <= now:
                raise ably_error(40142, 401, "Token expired")
            credential = Credential(
                kind="token",
                key=key,
                capability=details.capability,
                client_id=details.client_id,
                issued=details.issued,
                expires=details.expires,
                token=text,
            )
        if self.revoked(credential, now):
            raise ably_error(40141, 401, "Token revoked")
        return credential

    def _jwt(self, text: str, now: datetime, embedded: bool) -> Credential:
        from ably_authkit.jwt_tokens import EMBEDDED_TOKEN_CLAIM, read_unverified, verify_jwt

        try:
            header, payload = read_unverified(text)
        except AuthKitError as error:
            raise ably_error(40144, 401, f"Invalid JWT: {error.message}") from None
        kid = header.get("kid")
        inner = header.get(EMBEDDED_TOKEN_CLAIM, payload.get(EMBEDDED_TOKEN_CLAIM))
        if kid is None and isinstance(inner, str) and not embedded:
            return self._embedded(inner, payload, now)
        if not isinstance(kid, str):
            raise ably_error(40144, 401, "Invalid JWT: missing kid")
        key = self.keys.get(kid)
        if key is None:
            app_id = kid.partition(".")[0]
            if app_id not in self.apps:
                # Ably answers 404 40400 for a JWT whose kid names no app (ably-js
                # test/rest/auth.test.js, "JWT request with invalid key").
                raise ably_error(40400, 404, f"Invalid JWT: no app {app_id!r} in this emulator")
            # Choice: an unknown key of a known app is 40101, as for basic auth.
            raise ably_error(40101, 401, f"Invalid JWT: no key named {kid!r} in this emulator")
        self.check_key(key)
        try:
            claims = verify_jwt(text, key, now=now, leeway=timedelta(0))
        except AuthKitError as error:
            raise _from_token_error(error) from None
        capability = _granted(key).intersection(claims.capability)
        if capability is None:
            raise ably_error(40160, 401, "JWT capability has nothing in common with the key's")
        return Credential(
            kind="jwt",
            key=key,
            capability=capability,
            client_id=claims.client_id,
            issued=claims.issued,
            expires=claims.expires,
            token=text,
            revocation_key=claims.revocation_key,
        )

    def _embedded(self, inner: str, claims: Mapping[str, Any], now: datetime) -> Credential:
        """An Embedded Token JWT (docs, auth/token "Embedded Token JWT"): the app's own
        JWT, signed with a secret Ably does not hold, carrying an Ably token or Ably JWT
        as ``x-ably-token`` in its JOSE header (or as a claim): it authenticates as that
        token, and is refused when its ``exp`` is later than the token's expiry (the
        docs: "Ably will reject any JWT if ... its exp claim is later than the expiry of
        the enclosed token"; choice: 40144). Source: ably-js test/rest/auth.test.js,
        "Rest embedded JWT"."""
        exp = claims.get("exp")
        if not isinstance(exp, int) or isinstance(exp, bool):
            raise ably_error(40144, 401, "Invalid JWT: an embedded-token JWT needs a numeric exp")
        expires = from_ms(exp * 1000)
        if expires <= now:
            raise ably_error(40142, 401, "Token expired")
        credential = self.token(inner, embedded=True)
        if credential.expires is not None and expires > credential.expires:
            raise ably_error(
                40144,
                401,
                "Invalid JWT: its exp is later than the expiry of the token it embeds",
            )
        return credential

    def authorization(self, header: str | None, client_id_header: str | None) -> Credential:
        if not header:
            raise ably_error(40101, 401, "No authentication: send basic auth or a token")
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        value = value.strip()
        if scheme == "basic":
            return self.basic(value, client_id_header)
        if scheme == "bearer":
            return self.token(_bearer_token(value))
        raise ably_error(40101, 401, f"Unsupported authorization scheme {scheme!r}")

    # -- channels -----------------------------------------------------------------

    def require(self, credential: Credential, channel: str, operation: str) -> None:
        check_channel(channel)
        if not credential.capability.allows(channel, operation):
            raise ably_error(
                40160,
                401,
                f"Unable to perform channel operation (operation = {operation}, "
                f"channel = {channel}); the credential's capability does not allow it",
            )

    def require_stats(self, credential: Credential) -> None:
        # Choice: the stats capability counts only on "*" or "[*]*" (docs,
        # Capabilities: "stats are app-wide"), so that is what GET /stats asks for.
        if not credential.capability.allows("*", "stats"):
            raise ably_error(
                40160,
                401,
                "Unable to read the app's stats; the credential's capability has no "
                "'stats' on '*' or '[*]*'",
            )

    def publish(
        self,
        credential: Credential,
        channel: str,
        body: object,
        *,
        id_prefix: str | None = None,
        force_nack: bool = False,
    ) -> list[dict[str, Any]]:
        """Store and deliver the messages of ``body`` (one or an array, published
        atomically); return them as stored. A message with no id gets
        ``{id_prefix}:{index}`` (a realtime publish: connection id and msgSerial, as
        Ably forms them) or one of the emulator's. A publish that repeats a
        client-supplied id within the idempotency window is acknowledged with the
        messages first stored for it, and neither stored nor delivered again (RSL1k)."""
        self.require(credential, channel, "publish")
        if force_nack:
            # ably-python's suite (restchannelpublish_test.py, test_publish_params) asks
            # the sandbox to refuse a publish with ?_forceNack=true: 400, 40099.
            raise ably_error(40099, 400, "the publish was refused as asked (_forceNack)")
        messages = [
            message
            for message in (body if isinstance(body, list) else [body])
            if isinstance(message, Mapping)
        ]
        if not messages or len(messages) != (len(body) if isinstance(body, list) else 1):
            raise ably_error(40000, 400, "the body must be a message object or an array of them")
        app_id = credential.key.app_id
        key = _idempotency_key(messages)
        now = to_ms(self.now())
        self.expire()
        if key is not None:
            first = self._published_ids.get((app_id, channel, key))
            if first is not None:
                return [dict(message) for message in first]
        stored = []
        for index, message in enumerate(messages):
            client_id = message.get("clientId")
            if client_id is not None and not isinstance(client_id, str):
                raise ably_error(40012, 400, "a message's clientId must be a string")
            identity = credential.client_id
            if client_id is not None and identity not in (None, "*") and client_id != identity:
                raise ably_error(
                    40012,
                    400,
                    f"Mismatched clientId: the message's is {client_id!r}, the "
                    f"credential's is {identity!r}",
                )
            if client_id is None and identity not in (None, "*"):
                client_id = identity
            if client_id is not None and credential.kind != "basic" and identity is None:
                # Choice: an anonymous token may not publish as a named client, as the
                # realtime protocol refuses it (RSA7, 40012).
                raise ably_error(
                    40012, 400, "this credential has no clientId, so messages cannot name one"
                )
            problem = _unportable(message, "message")
            if problem is not None:
                # Every reader must be able to read it, in JSON and in msgpack alike: what
                # one encoding cannot carry is refused at publish (40013, "Invalid message
                # data or encoding", ably-common errors/codes/40013.md).
                raise ably_error(
                    40013,
                    400,
                    f"Invalid message data: {problem}, which JSON or msgpack clients cannot read",
                )
            entry = {name: value for name, value in message.items() if name != "clientId"}
            if "id" not in entry:
                entry["id"] = self.next_id("msg") if id_prefix is None else f"{id_prefix}:{index}"
            entry["timestamp"] = now
            if client_id is not None:
                entry["clientId"] = client_id
            stored.append(entry)
        if key is not None:
            self._published_ids.add((app_id, channel, key), now, stored)
        log = self.messages.setdefault(channel, [])
        for entry in stored:
            self._serial += 1
            self.mutable.stamp(app_id, channel, entry)
            log.append((self._serial, app_id, entry))
        heapq.heappush(self._expiries, (now + self._retention_ms(app_id, channel), channel))
        for listener in self.on_publish:
            listener(app_id, channel, stored)
        return stored

    def history(
        self,
        credential: Credential,
        channel: str,
        query: HistoryQuery | None = None,
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of the channel's messages for ``query`` (every message, oldest
        first, without one), and the serial the next page continues from, if any."""
        self.require(credential, channel, "history")
        app_id = credential.key.app_id
        self.expire()
        oldest = to_ms(self.now()) - self._retention_ms(app_id, channel)
        log = self.messages.get(channel, [])
        if query is None:
            return [m for _, app, m in log if app == app_id and m["timestamp"] > oldest], None
        # The log is in serial order: walk it in the page's direction from where the page
        # starts (after the serial it continues from), and stop at the first message past
        # the page (which says there is a next one).
        start, end, after, forwards = query.start, query.end, query.after, query.forwards
        if forwards:
            first = 0 if after is None else bisect.bisect_right(log, after, key=_serial)
            walk = range(first, len(log))
        else:
            last = len(log) if after is None else bisect.bisect_left(log, after, key=_serial)
            walk = range(last - 1, -1, -1)
        page: list[tuple[int, dict[str, Any]]] = []
        for index in walk:
            serial, app, message = log[index]
            timestamp = message["timestamp"]
            if app != app_id or timestamp <= oldest or not start <= timestamp <= end:
                continue
            if len(page) == query.limit:
                return [message for _, message in page], page[-1][0]
            page.append((serial, message))
        return [message for _, message in page], None


def _serial(entry: tuple[int, str, dict[str, Any]]) -> int:
    return entry[0]


class _Recent(Generic[_K, _V]):
    """What was seen within a time window: each entry with its time in ms, forgotten
    once :meth:`forget_before` passes it (a heap by time, so forgetting costs only what
    it forgets). The nonces of a key and the ids of idempotent publishing use it."""

    def __init__(self) -> None:
        self._entries: dict[_K, tuple[int, _V]] = {}
        self._ages: list[tuple[int, _K]] = []

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, ident: object) -> bool:
        return ident in self._entries

    def get(self, ident: _K) -> _V | None:
        entry = self._entries.get(ident)
        return None if entry is None else entry[1]

    def add(self, ident: _K, at_ms: int, value: _V) -> None:
        self._entries[ident] = (at_ms, value)
        heapq.heappush(self._ages, (at_ms, ident))

    def forget_before(self, oldest_ms: int) -> None:
        ages = self._ages
        while ages and ages[0][0] < oldest_ms:
            at_ms, ident = heapq.heappop(ages)
            entry = self._entries.get(ident)
            if entry is not None and entry[0] == at_ms:
                del self._entries[ident]

    def clear(self) -> None:
        self._entries.clear()
        self._ages.clear()


class HistoryQuery(NamedTuple):
    """The parameters of a history request (RSL2b), resolved: ``start`` and ``end`` in
    ms, both inclusive; ``after``, the serial the page continues from."""

    start: int
    end: int
    forwards: bool
    limit: int
    after: int | None = None


def _base(ident: str) -> str:
    """The base of a ``<base id>:<index>`` id, or the whole id."""
    base, colon, index = ident.rpartition(":")
    return base if colon and base and index.isascii() and index.isdigit() else ident


def _idempotency_key(messages: list[Mapping[str, Any]]) -> str | None:
    """The idempotency key of a publish: one message's id (so ``order:1`` and
    ``order:2`` are two messages), or the base id several messages share; None when no
    message carries an id. Several messages with ids must have ``<base id>:<index>``
    ids of one base, indexed from 0 in order (docs, pub-sub/advanced, "ID format
    requirements"); else 40031 (ably-common errors/codes/40031.md)."""
    idents = [message.get("id") for message in messages]
    if all(ident is None for ident in idents):
        return None
    texts = [ident for ident in idents if isinstance(ident, str) and ident]
    if len(texts) != len(idents):
        raise ably_error(
            40031, 400, "Client-specified message id cannot be empty: an id is a non-empty string"
        )
    if len(texts) == 1:
        return texts[0]
    base = _base(texts[0])
    if texts != [f"{base}:{index}" for index in range(len(texts))]:
        raise ably_error(
            40031,
            400,
            "Client-specified message ids do not match the required format for "
            "multi-message ProtocolMessages: <base id>:<index> for each, indexed from 0",
        )
    return base


def check_channel(channel: str) -> None:
    """Refuse a channel name Ably refuses: empty, starting with ':', or with a line break
    (ably-common errors/codes/40010.md: 40010, status 400, "invalid channel name")."""
    problem = None
    if not channel:
        problem = "it is empty"
    elif channel.startswith(":"):
        problem = "it starts with ':'"
    elif "\n" in channel or "\r" in channel:
        problem = "it contains a line break"
    elif not _is_text(channel):
        # Choice: a name UTF-8 cannot write (msgpack, a URL) is not a name.
        problem = "it holds a lone surrogate (not Unicode text)"
    if problem is not None:
        raise ably_error(40010, 400, f"invalid channel name: {problem}")


#: Integers every JSON reader carries exactly (RFC 7493, I-JSON; JavaScript's safe range).
_JSON_INT = 2**53 - 1


def _unportable(value: object, where: str, depth: int = 0) -> str | None:
    """What in a published value one of Ably's two encodings cannot write, or None."""
    if depth > 64:
        return f"{where} is nested too deeply"
    if value is None or isinstance(value, (bytes, bool)):
        return None
    if isinstance(value, str):
        return None if _is_text(value) else f"{where} holds a lone surrogate (not Unicode text)"
    if isinstance(value, int):
        return (
            None if -_JSON_INT <= value <= _JSON_INT else f"{where} is an integer beyond ±2**53-1"
        )
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where} is {value!r}"
    if isinstance(value, Mapping):
        for name, item in value.items():
            if not isinstance(name, str):
                return f"{where} has a {type(name).__name__} map key"
            if not _is_text(name):
                return f"{where} has a map key that holds a lone surrogate (not Unicode text)"
            problem = _unportable(item, f"{where}.{name}", depth + 1)
            if problem is not None:
                return problem
        return None
    # Only a list: msgpack's ExtType is a tuple, and neither JSON nor every msgpack
    # reader carries an extension type.
    if isinstance(value, list):
        for index, item in enumerate(value):
            problem = _unportable(item, f"{where}[{index}]", depth + 1)
            if problem is not None:
                return problem
        return None
    if isinstance(value, tuple) and type(value).__name__ == "ExtType":
        return f"{where} is a msgpack extension type"
    return f"{where} is a {type(value).__name__}"


def _is_text(value: str) -> bool:
    """Whether ``value`` is Unicode text, which UTF-8 (msgpack strings, JSON's bytes) can
    carry: no lone surrogate, which JSON text can spell (``"\\ud800"``)."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _forgotten_expiry(token: str) -> float:
    """The expiry (ms) written in the text of a token this emulator issued, or +inf."""
    _, dot, rest = token.partition(".")
    hexdigits, tilde, _ = rest.partition("~")
    if not (dot and tilde and 0 < len(hexdigits) <= 12):
        return math.inf
    try:
        return int(hexdigits, 16)
    except ValueError:
        return math.inf


def _granted(key: ApiKey) -> Capability:
    return DEFAULT_CAPABILITY if key.capability is None else key.capability


def _bearer_token(value: str) -> str:
    """Ably SDKs send ``Bearer base64(token)``; accept the bare token too."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value
    return decoded if decoded.isprintable() and decoded else value


def json_text(value: object) -> str:
    """Compact JSON for a client that speaks JSON: binary message data becomes base64,
    with ``base64`` added to its encoding (RSL4). Text UTF-8 cannot carry (an error that
    quotes a client's lone surrogate) is written as JSON escapes."""
    try:  # most values hold no bytes: written as they are, with no copy
        plain = value
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except TypeError:  # bytes somewhere: base64, and the encoding says so
        plain = _jsonable(value)
        text = json.dumps(plain, separators=(",", ":"), ensure_ascii=False)
    return text if _is_text(text) else json.dumps(plain, separators=(",", ":"))


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        fixed = {name: _jsonable(item) for name, item in value.items()}
        if isinstance(value.get("data"), bytes):
            encoding = value.get("encoding")
            fixed["encoding"] = f"{encoding}/base64" if encoding else "base64"
        return fixed
    return value
