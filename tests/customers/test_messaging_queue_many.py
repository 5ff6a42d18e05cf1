"""outbound_messages_queue_many makes the same decisions as outbound_message_queue, row for row, in bulk."""

from datetime import datetime, timedelta, timezone

import pytest

from customers.messaging import NewMessage, outbound_message_queue, outbound_messages_queue_many
from customers.models import ConsentRecord, OutboundMessage
from customers.suppression import address_suppress
from factories import add_contact, make_customer

pytestmark = pytest.mark.django_db

NOON_NY = datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)
TEN_PM_NY = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)


def _people(world):
    """One customer per case: (customer, channel, address, purpose, kind)."""
    def person(name, email="", phone="", **fields):
        customer = make_customer(world.rooftop, first_name=name, **fields)
        add_contact(customer, email=email, phone=phone)
        return customer

    def consent(customer, channel, purpose, granted, minutes=0):
        ConsentRecord.objects.create(customer=customer, dealer_group=customer.dealer_group, channel=channel,
                                     purpose=purpose, granted=granted, source="test",
                                     recorded_at=NOON_NY - timedelta(days=1, minutes=-minutes))

    granted = person("Granted", phone="+16175550001")
    consent(granted, "sms", "marketing", True)
    revoked = person("Revoked", phone="+16175550002")
    consent(revoked, "sms", "marketing", True)
    consent(revoked, "sms", "marketing", False, minutes=5)
    wrong_purpose = person("Transactional", phone="+16175550003")
    consent(wrong_purpose, "sms", "transactional", True)
    never = person("Never", phone="+16175550004")
    # A second record sharing a number that texted STOP: judged per number across the group.
    shared_a = person("SharedA", phone="+16175550005")
    consent(shared_a, "sms", "marketing", True)
    shared_b = person("SharedB", phone="+16175550005")
    consent(shared_b, "sms", "marketing", False, minutes=10)
    western = person("Western", phone="+16175550006", time_zone="America/Los_Angeles")
    consent(western, "sms", "marketing", True)
    listed_phone = person("ListedPhone", phone="+16175550007")
    consent(listed_phone, "sms", "marketing", True)
    address_suppress(dealer_group_id=world.rooftop.dealer_group_id, channel="phone", address="+16175550007",
                     reason="erasure")
    mail_ok = person("Mail", email="mail@example.com")
    mail_refused = person("Refused", email="refused@example.com")
    consent(mail_refused, "email", "marketing", False)
    mail_listed = person("Listed", email="listed@example.com")
    address_suppress(dealer_group_id=world.rooftop.dealer_group_id, channel="email", address="Listed@Example.com ",
                     reason="bounced")
    return [
        (granted, "sms", "+16175550001"), (revoked, "sms", "+16175550002"), (wrong_purpose, "sms", "+16175550003"),
        (never, "sms", "+16175550004"), (shared_a, "sms", "+16175550005"), (western, "sms", "+16175550006"),
        (listed_phone, "sms", "+16175550007"), (mail_ok, "email", "mail@example.com"),
        (mail_refused, "email", "refused@example.com"), (mail_listed, "email", "listed@example.com"),
    ]


@pytest.mark.parametrize("now", [NOON_NY, TEN_PM_NY])
def test_the_batch_decides_like_one_at_a_time(world, now):
    cases = _people(world)
    for n, (customer, channel, address) in enumerate(cases):
        outbound_message_queue(customer=customer, rooftop=world.rooftop, channel=channel, kind="marketing",
                               purpose="marketing", to_address=address, body="Hello", subject="Hi",
                               idempotency_key=f"one:{n}", now=now)
    batch = outbound_messages_queue_many(now=now, messages=[
        NewMessage(customer=customer, rooftop=world.rooftop, channel=channel, kind="marketing", purpose="marketing",
                   to_address=address, body="Hello", subject="Hi", idempotency_key=f"many:{n}")
        for n, (customer, channel, address) in enumerate(cases)])
    one = {m.idempotency_key: m for m in OutboundMessage.unscoped.filter(idempotency_key__startswith="one:")}
    for n, (customer, _, _) in enumerate(cases):
        single, many = one[f"one:{n}"], batch[f"many:{n}"]
        assert (many.status, many.error, many.send_after) == (single.status, single.error, single.send_after), \
            customer.first_name
    statuses = {batch[f"many:{n}"].customer.first_name: batch[f"many:{n}"].status for n in range(len(cases))}
    assert statuses["Granted"] == ("queued" if now == NOON_NY else "waiting_quiet_hours")
    assert {statuses[name] for name in ("Revoked", "Transactional", "Never", "SharedA", "ListedPhone", "Refused",
                                        "Listed")} == {"suppressed"}


def test_a_key_already_in_the_outbox_is_returned_untouched_and_not_written_again(world):
    customer = make_customer(world.rooftop)
    add_contact(customer, email="pat@example.com")
    message = NewMessage(customer=customer, rooftop=world.rooftop, channel="email", kind="marketing",
                         purpose="marketing", to_address="pat@example.com", body="Hello", idempotency_key="same")
    first = outbound_messages_queue_many(messages=[message, message], now=NOON_NY)["same"]
    again = outbound_messages_queue_many(messages=[message], now=NOON_NY + timedelta(hours=1))["same"]
    assert first.pk == again.pk and again.created_at == NOON_NY
    assert OutboundMessage.unscoped.count() == 1


@pytest.mark.parametrize("number", ["+16175550142", "+16170000001", "+10123456789", "+18765551234", "+12125550199"])
def test_a_north_american_number_in_e164_hashes_as_the_normaliser_would_make_it(number):
    """The fast path in normalised_address skips parsing; valid or not, the parser's answer is the same string."""
    from customers.contact import InvalidContact, normalize_phone
    from customers.suppression import normalised_address

    try:
        slow = normalize_phone(number)
    except InvalidContact:
        slow = number.strip().lower()
    assert normalised_address("phone", number) == slow == number
