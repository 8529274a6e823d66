"""Speed of the core, as ratios against pyjwt and the `ably` package in this process.

python benchmarks/bench_core.py
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from datetime import datetime, timedelta, timezone

import jwt
from _measure import Ratio, per_call
from ably.sync import AblyRestSync

from ably_authkit import ApiKey, Capability, create_token_request, mint_jwt, verify_jwt

KEY_TEXT = "appId.keyId:bW9jay1zZWNyZXQtZm9yLWJlbmNobWFya3MtMDAwMDAw"
CAPABILITY = {"chat:*": ["publish", "subscribe", "presence"], "user:42": ["subscribe"]}


def main() -> int:
    key = ApiKey.parse(KEY_TEXT)
    now = datetime.now(timezone.utc)
    ttl = timedelta(hours=1)
    token = mint_jwt(key, capability=CAPABILITY, client_id="user-42", ttl=ttl, now=now)
    claims = jwt.decode(token, key.secret, algorithms=["HS256"])
    results = []

    # The same token: same claims in the same order (the tests prove the bytes equal).
    results.append(
        Ratio(
            "mint_jwt (capability dict)",
            *per_call(
                lambda: mint_jwt(key, capability=CAPABILITY, client_id="user-42", ttl=ttl),
                lambda: jwt.encode(
                    claims, key.secret, algorithm="HS256", headers={"kid": key.name}
                ),
            ),
            "jwt.encode",
            0.5,
        )
    )
    capability = Capability(CAPABILITY)
    results.append(
        Ratio(
            "mint_jwt (Capability object)",
            *per_call(
                lambda: mint_jwt(key, capability=capability, client_id="user-42", ttl=ttl),
                lambda: jwt.encode(
                    claims, key.secret, algorithm="HS256", headers={"kid": key.name}
                ),
            ),
            "jwt.encode",
            0.5,
        )
    )
    results.append(
        Ratio(
            "verify_jwt",
            *per_call(
                lambda: verify_jwt(token, key),
                lambda: jwt.decode(token, key.secret, algorithms=["HS256"]),
            ),
            "jwt.decode",
            1.5,
        )
    )
    # The HMAC under every signature: the key's keyed hmac object, copied per message,
    # against keying a new one per message (what a caller of hmac.new would write).
    message = token.rpartition(".")[0].encode("ascii")
    secret = key.secret.encode("utf-8")
    results.append(
        Ratio(
            "ApiKey.sign (HMAC-SHA256)",
            *per_call(
                lambda: key.sign(message),
                lambda: hmac.new(secret, message, hashlib.sha256).digest(),
            ),
            "hmac.new(...).digest()",
            1.0,
        )
    )
    rest = AblyRestSync(key=KEY_TEXT)
    try:
        params = {"capability": CAPABILITY, "client_id": "user-42", "ttl": 3_600_000}
        results.append(
            Ratio(
                "create_token_request(...).to_dict()",
                *per_call(
                    lambda: create_token_request(
                        key, capability=CAPABILITY, client_id="user-42", ttl=ttl
                    ).to_dict(),
                    lambda: rest.auth.create_token_request(params).to_dict(),
                ),
                "ably create_token_request",
                0.5,
            )
        )
    finally:
        rest.close()
    for result in results:
        print(result.line())
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
