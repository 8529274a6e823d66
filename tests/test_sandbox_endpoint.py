"""``ABLY_TEST_ENDPOINT=sandbox`` is refused, naming the fix: by the specification's rules
(REC1b3, REC1b4; ably-js ``getPrimaryDomainFromEndpoint``) ``sandbox`` is a production
routing policy, ``sandbox.realtime.ably.net``; Ably's sandbox is ``nonprod:sandbox``."""

from __future__ import annotations

import pytest

from ably_authkit import InvalidParameterError
from ably_authkit._sandbox import provision_test_app, rest_url


@pytest.mark.parametrize("endpoint", ["sandbox", "Sandbox", " sandbox"])
def test_sandbox_alone_is_refused_before_any_request(endpoint: str) -> None:
    for call in (rest_url, provision_test_app):
        with pytest.raises(InvalidParameterError, match="nonprod:sandbox") as caught:
            call(endpoint)
        assert caught.value.field == "ABLY_TEST_ENDPOINT"
        assert "production" in str(caught.value)


def test_the_sandbox_spelled_as_the_specification_says_is_the_nonprod_host() -> None:
    assert rest_url("nonprod:sandbox") == "https://sandbox.realtime.ably-nonprod.net"
    assert rest_url("sandbox.realtime.ably-nonprod.net") == (
        "https://sandbox.realtime.ably-nonprod.net"
    )
