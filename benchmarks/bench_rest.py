"""request_token round trip against the local emulator, as a ratio against the `ably`
package's own request_token on the same emulator. Both reuse their client between calls.

    python benchmarks/bench_rest.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable

from _measure import Ratio
from ably.sync import AblyRestSync
from ably.sync.types.tokendetails import TokenDetails as AblyTokenDetails

from ably_authkit import RestClient
from ably_authkit.testing import AblyEmulator

CAPABILITY = {"chat:*": ["publish", "subscribe"]}


def interleaved_median(
    ours: Callable[[], object], reference: Callable[[], object], rounds: int = 15, calls: int = 40
) -> tuple[float, float]:
    """Median per-call time over rounds, alternating which goes first."""
    times_ours, times_reference = [], []
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
        try:
            params = {"capability": CAPABILITY, "client_id": "user-42"}
            first = theirs.auth.request_token(params)
            assert isinstance(first, AblyTokenDetails)
            assert ours.request_token(capability=CAPABILITY, client_id="user-42").token
            result = Ratio(
                "request_token round trip (emulator)",
                *interleaved_median(
                    lambda: ours.request_token(capability=CAPABILITY, client_id="user-42"),
                    lambda: theirs.auth.request_token(params),
                ),
                "ably request_token",
                1.1,
            )
        finally:
            ours.close()
            theirs.close()
    print(result.line())
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
