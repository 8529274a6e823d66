"""The emulated Ably app(s), apart from HTTP: what ties the emulator's concerns
together. :class:`Service` holds the state, the lock (the web server's thread and the
test's thread both use it), the clock and ``reset``; its methods are those of its two
halves, :class:`~ably_authkit.testing._auth.Auth` (apps, keys, tokens, credentials,
revocation) and :class:`~ably_authkit.testing._channels.Channels` (publish, history,
idempotency, retention), with mutable messages (``_mutable``) and annotations
(``_annotations``) as parts it holds. Every method is called under the service's lock,
and raises :class:`~ably_authkit.AblyApiError` with Ably's code and status for anything
Ably refuses.

Uses ``_common``, ``_auth``, ``_channels``, ``_mutable`` and ``_annotations``; the
routes (``_routes``), the realtime hub (``_realtime``) and ``emulator`` use it. The
choices made where Ably's behaviour is not documented are listed in
``docs/emulator.md``; each is marked ``Choice:`` in the module that makes it.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from ably_authkit._time import from_ms, to_ms
from ably_authkit.keys import ApiKey
from ably_authkit.testing._annotations import Annotations
from ably_authkit.testing._mutable import MutableMessages
from ably_authkit.token_details import TokenDetails

from ._auth import Auth
from ._channels import Channels
from ._common import _Recent

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Service"]


class Service(Auth, Channels):
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
        #: (timestamp ms, key name) of every nonce kept: when to look at the key's again.
        self._nonce_ages: list[tuple[int, str]] = []
        #: key name -> target ("clientId:alice") -> (issuedBefore, appliesAt), while a
        #: credential it takes can still be valid (REVOCATION_KEPT after issuedBefore).
        self.revocations: dict[str, dict[str, tuple[datetime, datetime]]] = {}
        #: (ms, key name, target): when each revocation is to be forgotten.
        self._revocation_ends: list[tuple[int, str, str]] = []
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
        self._nonce_ages.clear()
        self.revocations.clear()
        self._revocation_ends.clear()
        self.messages.clear()
        self._published_ids.clear()
        self.mutable.reset()
        self.annotations.reset()
        self.offset = timedelta(0)

    def expire(self) -> None:
        """Forget what Ably would have forgotten by now, on the emulator's clock: messages
        past their channel's retention (and channels left with none), idempotency ids
        past their window, expired tokens beyond the EXPIRED_TOKENS_KEPT latest, TokenRequest
        nonces out of the timestamp window, revocations nothing still valid is subject to, and
        the annotations of messages forgotten."""
        now = to_ms(self.now())
        self._expire_messages(now)
        self._expire_tokens(now)
        self._expire_nonces(now)
        self._expire_revocations(now)
        self.annotations.expire(now)
