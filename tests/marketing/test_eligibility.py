"""The suppression rules as decision tables (marketing.eligibility: pure, no database)."""

from dataclasses import replace
from datetime import date, timedelta

import pytest

from marketing.eligibility import (
    ALREADY_BOUGHT, BOUNCED, COMPLAINED, DELETED, DO_NOT_CONTACT, FREQUENCY_CAP, LEAD_BEING_WORKED, NO_ADDRESS,
    NO_CONSENT, OPTED_OUT, REASONS, RECENT_PURCHASE, UNSUBSCRIBED, Offer, Recipient, Rules, judge,
)

TODAY = date(2026, 12, 1)
VIN = "2T3P1RFV0RC000001"
EMAIL = Recipient(customer_id=1, channel="email", address="pat@example.com")
TEXT = Recipient(customer_id=1, channel="sms", address="+16175550142", consent=True)
OFFER = Offer(vins=frozenset({VIN}))
RULES = Rules(weekly_cap=2, purchase_quiet_days=90)


def verdict(recipient, offer=OFFER, rules=RULES):
    return judge(recipient, offer, rules, today=TODAY)


@pytest.mark.parametrize("recipient, reason", [
    (EMAIL, ""),
    (TEXT, ""),
    (replace(EMAIL, erased=True), DELETED),
    (replace(EMAIL, address=""), NO_ADDRESS),
    (replace(TEXT, address=""), NO_ADDRESS),
    (replace(EMAIL, listed="erasure"), DO_NOT_CONTACT),
    (replace(EMAIL, listed="bounced"), BOUNCED),
    (replace(EMAIL, listed="complained"), COMPLAINED),
    (replace(EMAIL, listed="unsubscribed"), UNSUBSCRIBED),
    (replace(EMAIL, listed="something new"), DO_NOT_CONTACT),  # an unknown list reason still stops it
    (replace(EMAIL, consent=False), OPTED_OUT),
    (replace(TEXT, consent=False), OPTED_OUT),
    (replace(TEXT, consent=None), NO_CONSENT),  # texts need written consent ...
    (replace(EMAIL, consent=None), ""),  # ... email needs none unless refused
    (replace(EMAIL, bought_vins=frozenset({VIN})), ALREADY_BOUGHT),
    (replace(EMAIL, bought_vins=frozenset({"JTMOTHER000000001"})), ""),
    (replace(EMAIL, last_purchase_on=TODAY - timedelta(days=10)), RECENT_PURCHASE),
    (replace(EMAIL, lead_worked_by="Sam Sales"), LEAD_BEING_WORKED),
    (replace(EMAIL, marketing_last_7_days=2), FREQUENCY_CAP),
])
def test_each_rule_alone(recipient, reason):
    result = verdict(recipient)
    assert (result.send, result.reason) == (reason == "", reason)
    if reason:
        assert result.detail  # the manager always reads words


@pytest.mark.parametrize("recipient, reason", [
    # First match wins: the strongest reason is the one stored.
    (replace(EMAIL, erased=True, address="", listed="bounced"), DELETED),
    (replace(EMAIL, address="", listed="bounced", consent=False), NO_ADDRESS),
    (replace(EMAIL, listed="complained", consent=False), COMPLAINED),
    (replace(TEXT, consent=False, bought_vins=frozenset({VIN})), OPTED_OUT),
    (replace(TEXT, consent=None, bought_vins=frozenset({VIN})), NO_CONSENT),
    (replace(EMAIL, bought_vins=frozenset({VIN}), last_purchase_on=TODAY), ALREADY_BOUGHT),
    (replace(EMAIL, last_purchase_on=TODAY, lead_worked_by="Sam"), RECENT_PURCHASE),
    (replace(EMAIL, lead_worked_by="Sam", marketing_last_7_days=5), LEAD_BEING_WORKED),
])
def test_the_order_between_rules(recipient, reason):
    assert verdict(recipient).reason == reason


@pytest.mark.parametrize("recipient, reason", [
    # An alert the shopper asked for skips the salesperson and the weekly cap ...
    (replace(EMAIL, lead_worked_by="Sam Sales"), ""),
    (replace(EMAIL, marketing_last_7_days=9), ""),
    # ... but never consent, the do-not-contact list, what they bought or their recent purchase.
    (replace(TEXT, consent=None), NO_CONSENT),
    (replace(EMAIL, listed="unsubscribed"), UNSUBSCRIBED),
    (replace(EMAIL, bought_vins=frozenset({VIN})), ALREADY_BOUGHT),
    (replace(EMAIL, last_purchase_on=TODAY - timedelta(days=1)), RECENT_PURCHASE),
])
def test_an_alert_the_shopper_asked_for(recipient, reason):
    assert verdict(recipient, replace(OFFER, requested=True)).reason == reason


@pytest.mark.parametrize("sent, cap, send", [(0, 2, True), (1, 2, True), (2, 2, False), (3, 2, False),
                                             (0, 0, False), (4, 5, True), (5, 5, False)])
def test_the_weekly_cap_boundary(sent, cap, send):
    result = verdict(replace(EMAIL, marketing_last_7_days=sent), rules=replace(RULES, weekly_cap=cap))
    assert result.send is send
    if not send:
        assert result.detail == f"Already {sent} marketing messages in the last 7 days (the limit is {cap})"


@pytest.mark.parametrize("days_ago, send", [(0, False), (1, False), (89, False), (90, True), (400, True),
                                            (-1, True)])  # a sale dated tomorrow (a typo) does not hold forever
def test_the_purchase_quiet_days_boundary(days_ago, send):
    result = verdict(replace(EMAIL, last_purchase_on=TODAY - timedelta(days=days_ago)))
    assert result.send is send


def test_a_service_reminder_is_not_a_purchase_offer_so_a_recent_buyer_gets_it():
    recipient = replace(EMAIL, last_purchase_on=TODAY - timedelta(days=5))
    assert verdict(recipient, Offer(purchase_offer=False)).send
    # ... unless it offers the very car they bought (a service reminder names no car to offer).
    assert verdict(replace(recipient, bought_vins=frozenset({VIN})), Offer(vins=frozenset({VIN}),
                                                                           purchase_offer=False)).reason == ALREADY_BOUGHT


def test_the_recent_purchase_detail_names_the_day_and_the_period():
    result = verdict(replace(EMAIL, last_purchase_on=date(2026, 11, 21)))
    assert result.detail == "Bought a vehicle on Nov 21, 2026 (10 days ago): no purchase offers for 90 days"


def test_every_reason_has_words():
    assert all(REASONS[code] for code in (DELETED, NO_ADDRESS, DO_NOT_CONTACT, BOUNCED, COMPLAINED, UNSUBSCRIBED,
                                          OPTED_OUT, NO_CONSENT, ALREADY_BOUGHT, RECENT_PURCHASE, LEAD_BEING_WORKED,
                                          FREQUENCY_CAP))
