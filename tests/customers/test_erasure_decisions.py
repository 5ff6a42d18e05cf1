"""Pure parts of erasure: suppression digests, what a scrubbed timeline detail keeps, and "unused since"."""

from datetime import UTC, datetime, timedelta

import pytest

from customers.erasure import scrubbed_detail
from customers.retention import CustomerActivity, retention_cutoff, unused_since_cutoff
from customers.suppression import address_digest

KEY = "k" * 64
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=730)
OLD = CUTOFF - timedelta(days=1)
RECENT = CUTOFF + timedelta(days=1)


@pytest.mark.parametrize("channel, written, stored", [
    ("email", " Zeb.Quux@Example.TEST ", "zeb.quux@example.test"),
    ("phone", "(617) 555-0199", "+16175550199"),
    ("phone", "617.555.0199", "+16175550199"),
    ("phone", "not a number", " NOT a number"),  # refused by the normaliser: hashed as typed, trimmed, lower
])
def test_an_address_hashes_the_same_however_it_is_written(channel, written, stored):
    assert address_digest(key=KEY, channel=channel, address=written) == \
        address_digest(key=KEY, channel=channel, address=stored)


def test_a_digest_differs_per_group_key_and_per_channel_and_is_not_the_address():
    digest = address_digest(key=KEY, channel="email", address="zeb.quux@example.test")
    assert digest != address_digest(key="other", channel="email", address="zeb.quux@example.test")
    assert digest != address_digest(key=KEY, channel="phone", address="zeb.quux@example.test")
    assert len(digest) == 64 and "zeb" not in digest


def test_a_scrubbed_detail_keeps_ids_flags_and_codes_only():
    detail = {"to": "zeb.quux@example.test", "subject": "Your RAV4", "delivery": "sent", "outbound_message_id": 7,
              "automated": True, "reasons": ["Zebulon viewed"], "channel": "sms", "outcome": "x" * 41}
    assert scrubbed_detail(detail) == {"delivery": "sent", "outbound_message_id": 7, "automated": True,
                                       "channel": "sms"}


def _activity(*last, open_lead=False, created=OLD - timedelta(days=100)):
    return CustomerActivity(created_at=created, last_activity=tuple(last), has_open_lead=open_lead)


@pytest.mark.parametrize("activity, purged", [
    (_activity(), True),  # nothing ever happened, made long ago
    (_activity(None, None, None), True),
    (_activity(OLD, None, OLD - timedelta(days=5)), True),  # everything before the cutoff
    (_activity(OLD, RECENT), False),  # one recent thing keeps them
    (_activity(CUTOFF), False),  # exactly at the cutoff counts as used
    (_activity(OLD, open_lead=True), False),  # a lead still being worked keeps them, however old
    (_activity(created=RECENT), False),  # a recent record with no activity yet
])
def test_unused_since_the_cutoff(activity, purged):
    assert unused_since_cutoff(activity, cutoff=CUTOFF) is purged


def test_retention_zero_days_turns_the_purge_off():
    assert retention_cutoff(now=NOW, retention_days=0) is None
    assert unused_since_cutoff(_activity(), cutoff=None) is False
    assert retention_cutoff(now=NOW, retention_days=730) == CUTOFF
