"""Who hears of a price drop and what it says (marketing.price_drop_rules): pure, no database."""

from datetime import datetime, timedelta, timezone

import pytest

from marketing.price_drop_rules import (
    SUBSCRIBER, VIEWER, Drop, audience, dollars, email_body, email_subject, is_drop, sms_body, subscriber_hears,
    viewed_since,
)

NOW = datetime(2026, 12, 5, 15, 0, tzinfo=timezone.utc)
VIN = "2T3P1RFV0RC000017"
DROP = Drop(price_change_id=7, vin=VIN, vehicle="2024 Toyota RAV4 XLE", stock_number="T1001", old_cents=3_000_000,
            new_cents=2_850_000, url="https://cars.example/vehicles/T1001/", store="Lakeside Toyota")


@pytest.mark.parametrize("old, new, expected", [
    (3_000_000, 2_850_000, True),
    (3_000_000, 3_000_000, False),
    (2_850_000, 3_000_000, False),  # a price that went up is not news
    (3_000_000, 0, False),
])
def test_only_a_lower_positive_price_is_a_drop(old, new, expected):
    assert is_drop(old, new) is expected


@pytest.mark.parametrize("below, new, expected", [
    (None, 2_850_000, True),  # no price named: any drop
    (2_900_000, 2_850_000, True),
    (2_850_000, 2_850_000, True),  # "below $28,500" is reached at $28,500: the form's wording is a ceiling
    (2_800_000, 2_850_000, False),
])
def test_a_subscriber_hears_once_the_drop_reaches_their_price(below, new, expected):
    assert subscriber_hears(below_cents=below, new_cents=new) is expected


def _state(*tracks):
    return {"vehicles": list(tracks)}


@pytest.mark.parametrize("state, expected", [
    (_state({"vin": VIN, "last_seen_at": (NOW - timedelta(days=3)).isoformat(), "views": []}), True),
    (_state({"vin": VIN.lower(), "last_seen_at": (NOW - timedelta(days=3)).isoformat()}), True),
    (_state({"vin": VIN, "last_seen_at": None, "views": [(NOW - timedelta(days=1)).isoformat()]}), True),
    (_state({"vin": VIN, "last_seen_at": (NOW - timedelta(days=20)).isoformat()}), False),  # too long ago
    (_state({"vin": "OTHERVIN000000000", "last_seen_at": NOW.isoformat()}), False),
    (_state({"vin": VIN, "last_seen_at": "yesterday"}), False),  # unreadable: not a guess
    (_state({"vin": VIN, "last_seen_at": "2026-12-04T10:00:00"}), False),  # naive time: not comparable
    ({"vehicles": "nonsense"}, False),
    ({}, False),
    ("not a state", False),
])
def test_a_viewer_is_one_whose_state_saw_the_vin_within_the_window(state, expected):
    assert viewed_since(state, VIN, NOW - timedelta(days=14)) is expected


def test_someone_both_subscribed_and_viewing_hears_once_as_the_subscriber():
    assert audience(subscribers=[1, 2], viewers=[2, 3]) == {1: SUBSCRIBER, 2: SUBSCRIBER, 3: VIEWER}


def test_the_message_names_the_vehicle_both_prices_and_its_page():
    body = email_body(DROP, first_name="Jordan", why=VIEWER)
    assert body.startswith("Hi Jordan,")
    for words in ("2024 Toyota RAV4 XLE", "stock T1001", "from $30,000 to $28,500", "$1,500 less",
                  "you looked at it on our website", DROP.url, "Lakeside Toyota"):
        assert words in body
    assert "you asked us to tell you" in email_body(DROP, first_name="", why=SUBSCRIBER)
    assert email_subject(DROP) == "Price drop: 2024 Toyota RAV4 XLE is now $28,500"
    assert sms_body(DROP) == ("Lakeside Toyota: the 2024 Toyota RAV4 XLE dropped from $30,000 to $28,500. "
                              "https://cars.example/vehicles/T1001/")


@pytest.mark.parametrize("cents, text", [(2_850_000, "$28,500"), (2_849_950, "$28,499.50"), (0, "$0")])
def test_dollars(cents, text):
    assert dollars(cents) == text
