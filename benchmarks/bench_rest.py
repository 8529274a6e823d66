"""request_token round trips against the local emulator, each as a ratio against a
reference in the same run:

- a reused ``RestClient.request_token`` against the `ably` package's own request_token
  (both reuse their client);
- the one-shot ``request_token()`` in a loop (what a route writes, once per request)
  against a reused ``RestClient.request_token``: the module function shares its client;
- a reused ``RestClient.request_token`` against a plain ``httpx.Client`` POST of the
  same TokenRequest (signing it and reading the answer included): what the `ably`
  package's HTTP layer adds.

    python benchmarks/bench_rest.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

import httpx
from _measure import Ratio
from ably.sync import AblyRestSync
from ably.sync.types.tokendetails import TokenDetails as AblyTokenDetails

from ably_authkit import RestClient, TokenDetails, create_token_request, request_token
from ably_authkit.testing import AblyEmulator

CAPABILITY = {"chat:*": ["publish", "subscribe"]}


def interleaved_median(
    ours: Callable[[], object], reference: Callable[[], object], rounds: int = 15, calls: int = 40
) -> tuple[float, float]:
    """Median per-call time over rounds, alternating which goes first."""
    times_ours: list[float] = []
    times_reference: list[float] = []
    for round_number in range(rounds):
        pair = [(ours, times_ours), (reference, times_reference)]
        for function, times in pair if round_number % 2 else reversed(pair):
            start = time.perf_counter()
            for _ in range(calls):
                function()
            times.append((time.perf_counter() - start) / calls)
    return statistics.median(times_ours), statistics.median(times_reference)


def main() -> int:
    with AblyEmulator() as emulator:
        key = emulator.create_key()
        ours = RestClient(key, endpoint=emulator.url)
        theirs = AblyRestSync(key=f"{key.name}:{key.secret}", **emulator.client_options())
        plain = httpx.Client(base_url=emulator.url)
        try:
            params = {"capability": CAPABILITY, "client_id": "user-42"}
            first = theirs.auth.request_token(params)
            assert isinstance(first, AblyTokenDetails)

            def reused() -> TokenDetails:
                return ours.request_token(capability=CAPABILITY, client_id="user-42")

            def one_shot() -> TokenDetails:
                return request_token(
                    key, capability=CAPABILITY, client_id="user-42", endpoint=emulator.url
                )

            def plain_post() -> TokenDetails:
                body = create_token_request(key, capability=CAPABILITY, client_id="user-42")
                answer = plain.post(f"/keys/{key.name}/requestToken", json=body.to_dict())
                answer.raise_for_status()
                return TokenDetails.from_dict(answer.json())

            for call in (reused, one_shot, plain_post):
                assert call().client_id == "user-42"
            results = [
                Ratio(
                    "RestClient.request_token (emulator)",
                    *interleaved_median(reused, lambda: theirs.auth.request_token(params)),
                    "ably request_token",
                    1.1,
                ),
                Ratio(
                    "one-shot request_token() (emulator)",
                    *interleaved_median(one_shot, reused),
                    "reused RestClient",
                    1.2,
                ),
                Ratio(
                    "RestClient.request_token (emulator)",
                    *interleaved_median(reused, plain_post),
                    "httpx.Client POST",
                    1.2,
                ),
            ]
        finally:
            ours.close()
            theirs.close()
            plain.close()
    for result in results:
        print(result.line())
    return 0 if all(result.ok for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
