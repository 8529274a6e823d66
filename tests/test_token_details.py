from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ably_authkit import Capability, MalformedTokenError, TokenDetails

from .conftest import NOW

NOW_MS = int(NOW.timestamp() * 1000)
# The example in Ably's token-request-spec docs.
ABLY_EXAMPLE = {
    "token": "xVLyHw.HHZNjgqmC-ACW",
    "keyName": "xVLyHw.LMJZxw",
    "issued": 1449745478956,
    "expires": 1449749078956,
    "capability": '{"*":["subscribe"],"private":["presence","publish","subscribe"]}',
    "clientId": "unique_identifier",
}


def test_reads_and_writes_ably_s_wire_form() -> None:
    details = TokenDetails.from_dict(ABLY_EXAMPLE)
    assert details.token == "xVLyHw.HHZNjgqmC-ACW"
    assert details.ttl == timedelta(hours=1)
    assert details.capability.allows("private", "presence")
    assert details.client_id == "unique_identifier"
    assert details.to_dict() == ABLY_EXAMPLE


def test_optional_fields_are_left_out() -> None:
    details = TokenDetails(
        token="t", issued=NOW, expires=NOW + timedelta(hours=1), capability={"*": ["*"]}
    )
    assert details.to_dict() == {
        "token": "t",
        "issued": NOW_MS,
        "expires": NOW_MS + 3_600_000,
        "capability": '{"*":["*"]}',
    }
    assert details.expires_in(now=NOW) == timedelta(hours=1)


def test_unknown_keys_and_operations_from_ably_are_tolerated() -> None:
    data = dict(ABLY_EXAMPLE, capability='{"a":["future-op"]}', somethingNew=1)
    assert TokenDetails.from_dict(data).capability == Capability.parse(
        '{"a":["future-op"]}', allow_unknown_operations=True
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"token": ""},
        {"token": None},
        {"issued": "yesterday"},
        {"expires": 1.5},
        {"expires": 1449745478956},
        {"expires": 10**20},
        {"capability": None},
        {"capability": "{bad json"},
        {"clientId": 42},
        {"keyName": ""},
    ],
)
def test_malformed_token_details_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(MalformedTokenError):
        TokenDetails.from_dict({**ABLY_EXAMPLE, **changes})


def test_not_a_mapping() -> None:
    with pytest.raises(MalformedTokenError):
        TokenDetails.from_dict(["token"])  # type: ignore[arg-type]
