"""The second-factor gate and the rules an API token is held to, as tables (no database)."""

from datetime import datetime, timedelta, timezone

import pytest

from rooftops.second_factor import Gate, api_token_refusal, second_factor_gate

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("required", "enrolled", "verified", "gate"),
    [
        (False, False, False, Gate.PASS),    # optional and not set up: in, as before
        (True, False, False, Gate.ENROL),    # required and not set up: set it up first
        (True, True, False, Gate.VERIFY),    # set up: the code after the password
        (False, True, False, Gate.VERIFY),   # set up though optional: still asked at each sign-in
        (True, True, True, Gate.PASS),
        (False, True, True, Gate.PASS),
    ],
)
def test_who_is_sent_to_enrol_or_verify(required, enrolled, verified, gate):
    assert second_factor_gate(required=required, enrolled=enrolled, verified=verified) is gate


@pytest.mark.parametrize(
    ("scope", "expires_at", "method", "required", "enrolled", "refusal"),
    [
        ("read_write", None, "POST", False, False, None),
        ("read", None, "GET", False, False, None),
        ("read", None, "HEAD", False, False, None),
        ("read", None, "POST", False, False, "read_only"),
        ("read", None, "delete", False, False, "read_only"),
        ("read_write", NOW - timedelta(seconds=1), "GET", False, False, "expired"),
        ("read_write", NOW, "GET", False, False, "expired"),
        ("read_write", NOW + timedelta(days=1), "GET", False, False, None),
        ("read_write", None, "GET", True, False, "second_factor"),
        ("read_write", None, "GET", True, True, None),
        ("read", NOW - timedelta(days=1), "POST", True, False, "expired"),  # expiry is said first
    ],
)
def test_what_an_api_token_may_do(scope, expires_at, method, required, enrolled, refusal):
    assert api_token_refusal(
        scope=scope, expires_at=expires_at, method=method, now=NOW,
        second_factor_required=required, second_factor_enrolled=enrolled,
    ) == refusal
