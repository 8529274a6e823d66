"""The auth half of the emulator's :class:`~ably_authkit.testing._service.Service`:
apps and keys (provisioning, key revocation), tokens (``requestToken``, nonces, expiry),
token revocation (``revokeTokens``), and authenticating a request or a connection by
basic auth, an Ably token, an Ably JWT or an Embedded Token JWT. :class:`Auth` is a
mixin: its state is made in ``Service.__init__`` (declared here for the type checker),
and every method is called under the service's lock.

Uses ``_common`` (and the types of ``_mutable`` and ``_annotations``, the parts
the service holds); ``_service`` uses it. The choices made where Ably's behaviour is not
documented are marked ``Choice:``.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import math
import secrets
from collections.abc import Mapping
from datetime import datetime, timedelta

from ably_authkit._time import MAX_REVOCABLE_TTL, MAX_TTL, ONE_MS, from_ms, to_ms
from ably_authkit.capability import Capability
from ably_authkit.errors import AblyApiError, AuthKitError
from ably_authkit.keys import ApiKey
from ably_authkit.token_details import TokenDetails

from ._common import Credential, _Recent, ably_error

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections import deque
    from collections.abc import Callable
    from typing import Any

    from ._annotations import Annotations
    from ._mutable import MutableMessages

__all__ = ["DEFAULT_CAPABILITY", "Auth"]

DEFAULT_CAPABILITY = Capability({"[*]*": ["*"]})
DEFAULT_TTL = timedelta(hours=1)
#: How long before issuedBefore a revocation with allowReauthMargin takes effect.
REAUTH_MARGIN = timedelta(seconds=30)
#: How many expired tokens ``issued_tokens`` still lists, the latest to expire (Choice).
EXPIRED_TOKENS_KEPT = 1000
#: How far ahead of the clock a JWT's iat may be: a JWT issued within the coming second.
_IAT_LEEWAY = timedelta(seconds=1)
#: How long after its issuedBefore a revocation is kept: a credential it takes was
#: issued before then, by a key with revocable tokens, so it lives at most
#: MAX_REVOCABLE_TTL (an Ably token's ttl, a JWT's exp - iat; a JWT is still taken
#: _IAT_LEEWAY after its exp, well within the margin added). After that, nothing it
#: takes can still be valid, and it is forgotten.
REVOCATION_KEPT = MAX_REVOCABLE_TTL + REAUTH_MARGIN
#: How many revocation targets a key keeps in force at once (Choice): a revokeTokens
#: that would go beyond is refused whole, 42910/429 (docs, platform/errors/codes/42910,
#: "System rate limit exceeded"), rather than lifting one made before.
REVOCATIONS_KEPT = 10_000
#: How many TokenRequest nonces a key keeps within the timestamp window (Choice): a
#: requestToken beyond them is refused, 42910/429 as REVOCATIONS_KEPT, rather than
#: letting one be replayed.
NONCES_KEPT = 100_000


def _from_token_error(error: AuthKitError) -> AblyApiError:
    code = error.code or 40000
    status = error.status_code or (401 if 40100 <= code < 40200 else 400)
    return ably_error(code, status, error.message)


class Auth:
    """Apps, keys, tokens, revocations and credentials: a mixin of ``Service``."""

    if TYPE_CHECKING:
        default_app: str
        apps: set[str]
        keys: dict[str, ApiKey]
        revoked_keys: set[str]
        tokens: dict[str, TokenDetails]
        _token_expiries: list[tuple[int, str]]
        _expired_tokens: deque[str]
        persisted: dict[str, frozenset[str]]
        nonces: dict[str, _Recent[tuple[str, int], None]]
        _nonce_ages: list[tuple[int, str]]
        revocations: dict[str, dict[str, tuple[datetime, datetime]]]
        _revocation_ends: list[tuple[int, str, str]]
        on_revoke: list[Callable[[str], None]]
        mutable: MutableMessages
        annotations: Annotations
        now: Callable[[], datetime]
        expire: Callable[[], None]

    # -- apps and keys --------------------------------------------------------------

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
            self.revoked_keys.discard(name)
            self.nonces.pop(name, None)
            self.revocations.pop(name, None)  # its ends, once due, find nothing

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

    def _expire_tokens(self, now: int) -> None:
        """Forget expired tokens beyond the EXPIRED_TOKENS_KEPT latest (``now`` in ms)."""
        tokens = self._token_expiries
        while tokens and tokens[0][0] <= now:
            self._expired_tokens.append(heapq.heappop(tokens)[1])
        while len(self._expired_tokens) > EXPIRED_TOKENS_KEPT:
            self.tokens.pop(self._expired_tokens.popleft(), None)

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
        if len(seen) >= NONCES_KEPT:
            raise ably_error(
                42910,
                429,
                "Rate limit exceeded; request rejected (nonfatal); metric = "
                f"tokenRequestNonces: over {NONCES_KEPT} TokenRequests of key {key_name} "
                f"within the {TIMESTAMP_WINDOW // ONE_MS} ms timestamp window; retry later",
            )
        seen.add((nonce, timestamp_ms), timestamp_ms, None)
        heapq.heappush(self._nonce_ages, (timestamp_ms, key_name))

    def _expire_nonces(self, now: int) -> None:
        """Forget the nonces of every key once they are out of the timestamp window, and
        the keys left with none (``now`` in ms), whether or not the key is used again."""
        from ably_authkit.token_requests import TIMESTAMP_WINDOW

        oldest = now - TIMESTAMP_WINDOW // ONE_MS
        ages = self._nonce_ages
        while ages and ages[0][0] < oldest:
            key_name = heapq.heappop(ages)[1]
            seen = self.nonces.get(key_name)
            if seen is not None:
                seen.forget_before(oldest)
                if not seen:
                    del self.nonces[key_name]

    def _expire_revocations(self, now: int) -> None:
        """Forget revocations REVOCATION_KEPT after their issuedBefore (``now`` in ms),
        and the keys left with none."""
        ends = self._revocation_ends
        while ends and ends[0][0] <= now:
            end, key_name, target = heapq.heappop(ends)
            table = self.revocations.get(key_name)
            entry = None if table is None else table.get(target)
            if table is None or entry is None or _revocation_end(entry[0]) != end:
                continue  # forgotten already, or replaced by a later revocation
            del table[target]
            if not table:
                del self.revocations[key_name]

    def _compact_revocation_ends(self) -> None:
        """Keep the schedule of forgetting no more than twice the revocations in force:
        revoking a target again leaves its former end there, stale, until due."""
        ends = self._revocation_ends
        if len(ends) <= 1024 or len(ends) <= 2 * sum(map(len, self.revocations.values())):
            return
        ends[:] = [
            (_revocation_end(entry[0]), key_name, target)
            for key_name, table in self.revocations.items()
            for target, entry in table.items()
        ]
        heapq.heapify(ends)

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
        self.expire()
        table = self.revocations.get(key.name, {})
        new = {t for t in targets if _target_kind(t) and t not in table}
        if len(table) + len(new) > REVOCATIONS_KEPT:
            raise ably_error(
                42910,
                429,
                "Rate limit exceeded; request rejected (nonfatal); metric = "
                f"revocationTargets: over {REVOCATIONS_KEPT} revocation targets of key "
                f"{key.name} in force; each is forgotten {REVOCATION_KEPT // ONE_MS} ms "
                "after its issuedBefore",
            )
        table = self.revocations.setdefault(key.name, {})
        results: list[dict[str, Any]] = []
        for target in targets:
            if not _target_kind(target):
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
            end = _revocation_end(issued_before)
            heapq.heappush(self._revocation_ends, (end, key.name, target))
            results.append(
                {
                    "target": target,
                    "issuedBefore": to_ms(issued_before),
                    "appliesAt": to_ms(applies_at),
                }
            )
        self._compact_revocation_ends()
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

    def pending_revocation(self, credential: Credential, now: datetime) -> datetime | None:
        """When a revocation made with allowReauthMargin will take this credential, if one
        will (the realtime side asks for a new token until then)."""
        table = self.revocations.get(credential.key.name)
        if not table:
            return None
        for moment in sorted(applies for _, applies in table.values() if applies > now):
            if self.revoked(credential, moment):
                return moment
        return None

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
            # Ably takes a JWT issued within the second ahead: @ably/chat's own suite signs
            # iat = Math.round(Date.now() / 1000) and passes against Ably's sandbox.
            claims = verify_jwt(text, key, now=now, leeway=_IAT_LEEWAY)
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
            room_claims=claims.room_claims,
            channel_claims=claims.channel_claims,
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


def _revocation_end(issued_before: datetime) -> int:
    """When (ms) a revocation with this issuedBefore is forgotten (integer ms, so an
    issuedBefore near the end of the calendar does not overflow)."""
    return to_ms(issued_before) + REVOCATION_KEPT // ONE_MS


def _target_kind(target: object) -> str | None:
    """The kind of a revocation target (``clientId:alice``), or None if it is not one."""
    kind, _, value = target.partition(":") if isinstance(target, str) else ("", "", "")
    return kind if kind in ("clientId", "revocationKey", "channel") and value else None


def _granted(key: ApiKey) -> Capability:
    return DEFAULT_CAPABILITY if key.capability is None else key.capability


def _bearer_token(value: str) -> str:
    """Ably SDKs send ``Bearer base64(token)``; accept the bare token too."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return value
    return decoded if decoded.isprintable() and decoded else value
