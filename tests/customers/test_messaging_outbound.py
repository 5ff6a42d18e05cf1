"""Outbound texts and emails: consent, quiet hours, and exactly-once sending through a fake Twilio on loopback."""

from datetime import datetime, timedelta, timezone

import pytest
from django.core import mail

from customers.messaging import (
    outbound_message_claim, outbound_message_queue, outbound_message_send, outbound_messages_send_due,
)
from customers.models import ConsentRecord, OutboundMessage, TimelineEntry
from customers.sms import twilio_signature
from factories import add_contact, make_customer

pytestmark = pytest.mark.django_db

NOON_NY = datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)  # 12:00 in New York, 09:00 in Los Angeles
TEN_PM_NY = datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc)  # 22:00 in New York
EIGHT_AM_NY = datetime(2026, 11, 25, 13, 0, tzinfo=timezone.utc)
PHONE = "+16175550142"


@pytest.fixture
def customer(world):
    customer = make_customer(world.rooftop, first_name="Pat")
    add_contact(customer, email="pat@example.com", phone=PHONE)
    return customer


def _consent(customer, granted=True, at=NOON_NY - timedelta(days=1), purpose="transactional"):
    ConsentRecord.objects.create(customer=customer, dealer_group=customer.dealer_group, channel="sms",
                                 purpose=purpose, granted=granted, source="web form", recorded_at=at)


def _text(world, customer, now=NOON_NY, key="k1", body="Hi Pat, the RAV4 is here."):
    return outbound_message_queue(customer=customer, rooftop=world.rooftop, channel="sms", kind="staff",
                                  to_address=PHONE, body=body, idempotency_key=key, now=now)


def test_the_twilio_signature_matches_twilios_published_example():
    params = {"CallSid": "CA1234567890ABCDE", "Caller": "+14158675310", "Digits": "1234", "From": "+14158675310",
              "To": "+18005551212"}
    assert twilio_signature("https://mycompany.com/myapp.php?foo=1&bar=2", params.items(), "12345") == \
        "GvWf1cFY/Q7PnoempGyD5oXAezc="


def test_a_text_with_consent_is_sent_once_through_the_provider(world, customer, fake_twilio):
    _consent(customer)
    message = _text(world, customer)
    assert message.status == "queued"
    assert outbound_message_send(message_id=message.pk, now=NOON_NY) == "sent"
    assert outbound_message_send(message_id=message.pk, now=NOON_NY + timedelta(hours=1)) == "skipped"
    message.refresh_from_db()
    assert len(fake_twilio.delivered) == 1
    delivered = fake_twilio.delivered[0]
    assert (delivered["to"], delivered["from"], delivered["body"], delivered["key"]) == (
        PHONE, "+16175550100", "Hi Pat, the RAV4 is here.", "k1")
    assert (message.status, message.provider_id, message.sent_at, message.attempts) == (
        "sent", delivered["sid"], NOON_NY, 1)
    assert TimelineEntry.unscoped.filter(customer=customer, kind="text", direction="out").count() == 1


def test_queueing_the_same_idempotency_key_twice_makes_one_message(world, customer):
    _consent(customer)
    assert _text(world, customer).pk == _text(world, customer).pk
    assert OutboundMessage.unscoped.count() == 1


def test_without_consent_a_text_is_suppressed_and_never_reaches_the_provider(world, customer, fake_twilio):
    message = _text(world, customer)
    assert message.status == "suppressed"
    assert outbound_message_send(message_id=message.pk, now=NOON_NY) == "skipped"
    assert fake_twilio.requests == []


def test_marketing_consent_does_not_cover_a_transactional_text(world, customer):
    _consent(customer, purpose="marketing")
    assert _text(world, customer).status == "suppressed"


def test_consent_revoked_while_a_text_waits_stops_it_at_send_time(world, customer, fake_twilio):
    _consent(customer)
    message = _text(world, customer, now=TEN_PM_NY)
    assert message.status == "waiting_quiet_hours"
    _consent(customer, granted=False, at=TEN_PM_NY + timedelta(minutes=5))
    assert outbound_messages_send_due(now=EIGHT_AM_NY) == 0
    message.refresh_from_db()
    assert message.status == "suppressed"
    assert fake_twilio.requests == []


def test_a_text_due_in_quiet_hours_waits_for_eight_in_the_morning_on_the_customers_clock(world, customer, fake_twilio):
    _consent(customer)
    message = _text(world, customer, now=TEN_PM_NY)
    assert (message.status, message.send_after) == ("waiting_quiet_hours", EIGHT_AM_NY)
    assert outbound_messages_send_due(now=EIGHT_AM_NY - timedelta(seconds=1)) == 0
    assert outbound_messages_send_due(now=EIGHT_AM_NY) == 1
    assert len(fake_twilio.delivered) == 1


def test_an_email_at_night_is_not_held_by_quiet_hours_which_are_for_texts_and_calls(world, customer):
    message = outbound_message_queue(customer=customer, rooftop=world.rooftop, channel="email", kind="first_response",
                                     to_address="pat@example.com", subject="Your inquiry", body="Thanks.",
                                     idempotency_key="night-email", now=TEN_PM_NY)
    assert (message.status, message.send_after) == ("queued", TEN_PM_NY)
    assert outbound_message_send(message_id=message.pk, now=TEN_PM_NY) == "sent"
    assert len(mail.outbox) == 1


def test_a_deployment_that_lists_email_in_the_quiet_hours_channels_still_holds_it(world, customer, settings):
    settings.MESSAGING_QUIET_HOURS_CHANNELS = ["sms", "email"]
    message = outbound_message_queue(customer=customer, rooftop=world.rooftop, channel="email", kind="first_response",
                                     to_address="pat@example.com", subject="Your inquiry", body="Thanks.",
                                     idempotency_key="held-email", now=TEN_PM_NY)
    assert (message.status, message.send_after) == ("waiting_quiet_hours", EIGHT_AM_NY)
    assert outbound_message_send(message_id=message.pk, now=TEN_PM_NY) == "skipped"
    assert mail.outbox == []


def test_quiet_hours_follow_the_customers_own_time_zone(world, customer, fake_twilio):
    customer.time_zone = "America/Los_Angeles"
    customer.save()
    _consent(customer)
    seven_am_la = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)  # 10:00 at the store in New York
    message = _text(world, customer, now=seven_am_la)
    assert (message.status, message.send_after) == ("waiting_quiet_hours", seven_am_la + timedelta(hours=1))


def test_a_worker_that_dies_between_claim_and_send_leaves_a_message_that_is_sent_once_after_the_lease(
        world, customer, fake_twilio, settings):
    _consent(customer)
    message = _text(world, customer)
    claimed = outbound_message_claim(message_id=message.pk, now=NOON_NY)
    assert claimed is not None and claimed.status == "sending"
    # ... and here the worker died: nothing was handed to the provider.
    lease = timedelta(seconds=settings.MESSAGING_SEND_LEASE_SECONDS)
    assert outbound_message_claim(message_id=message.pk, now=NOON_NY + lease / 2) is None  # still someone's
    assert outbound_messages_send_due(now=NOON_NY + lease / 2) == 0
    assert outbound_messages_send_due(now=NOON_NY + lease) == 1
    assert outbound_messages_send_due(now=NOON_NY + 3 * lease) == 0
    assert len(fake_twilio.delivered) == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("sent", 2)


def test_a_worker_that_dies_after_the_provider_took_the_text_resends_with_the_same_key_and_it_arrives_once(
        world, customer, fake_twilio, settings):
    _consent(customer)
    message = _text(world, customer)
    claimed = outbound_message_claim(message_id=message.pk, now=NOON_NY)
    # The worker hands the text to the provider, which takes it ...
    from customers.sms import OutgoingSms, TwilioSmsBackend

    first_sid = TwilioSmsBackend().send(OutgoingSms(to=PHONE, body=claimed.body, idempotency_key=claimed.idempotency_key))
    # ... and dies before writing anything down. After the lease the sweep sends again with the same key.
    lease = timedelta(seconds=settings.MESSAGING_SEND_LEASE_SECONDS)
    assert outbound_messages_send_due(now=NOON_NY + lease) == 1
    message.refresh_from_db()
    assert len(fake_twilio.requests) == 2 and len(fake_twilio.delivered) == 1
    assert (message.status, message.provider_id) == ("sent", first_sid)


def test_an_answer_lost_on_the_way_back_is_retried_and_delivered_once(world, customer, fake_twilio):
    _consent(customer)
    message = _text(world, customer)
    fake_twilio.drop_answer_next = 1
    assert outbound_message_send(message_id=message.pk, now=NOON_NY) == "queued"
    message.refresh_from_db()
    assert message.send_after == NOON_NY + timedelta(minutes=1) and "Could not reach" in message.error
    assert outbound_messages_send_due(now=NOON_NY + timedelta(minutes=1)) == 1
    assert len(fake_twilio.requests) == 2 and len(fake_twilio.delivered) == 1


def test_a_refused_number_fails_for_good_and_a_busy_provider_is_retried(world, customer, fake_twilio):
    _consent(customer)
    refused = _text(world, customer, key="refused")
    fake_twilio.fail_next.append((400, {"code": 21211, "message": "Invalid 'To' Phone Number"}))
    assert outbound_message_send(message_id=refused.pk, now=NOON_NY) == "failed"
    refused.refresh_from_db()
    assert "21211 Invalid 'To' Phone Number" in refused.error
    busy = _text(world, customer, key="busy")
    fake_twilio.fail_next.append((503, {"code": 20503, "message": "Service unavailable"}))
    assert outbound_message_send(message_id=busy.pk, now=NOON_NY) == "queued"
    assert outbound_messages_send_due(now=NOON_NY + timedelta(minutes=1)) == 1
    assert [d["key"] for d in fake_twilio.delivered] == ["busy"]


def test_an_email_goes_through_djangos_backend_with_a_stable_message_id(world, customer, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    message = outbound_message_queue(customer=customer, rooftop=world.rooftop, channel="email", kind="staff",
                                     to_address="pat@example.com", subject="Your RAV4", body="It is here.",
                                     idempotency_key="email-1", now=NOON_NY)
    assert outbound_message_send(message_id=message.pk, now=NOON_NY) == "sent"
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert (sent.to, sent.subject, sent.body) == (["pat@example.com"], "Your RAV4", "It is here.")
    message.refresh_from_db()
    assert sent.extra_headers["Message-ID"] == message.provider_id


def test_an_email_to_a_customer_who_opted_out_of_email_is_suppressed(world, customer):
    ConsentRecord.objects.create(customer=customer, dealer_group=customer.dealer_group, channel="email",
                                 purpose="transactional", granted=False, source="unsubscribe link", recorded_at=NOON_NY)
    message = outbound_message_queue(customer=customer, rooftop=world.rooftop, channel="email", kind="staff",
                                     to_address="pat@example.com", subject="x", body="y", idempotency_key="e",
                                     now=NOON_NY)
    assert message.status == "suppressed"


def test_a_text_staff_write_on_the_customer_page_is_sent_once_and_marked_delivered_on_that_entry(
        world, customer, fake_twilio, django_capture_on_commit_callbacks):
    from customers.outbound import message_send_from_staff

    _consent(customer)
    with django_capture_on_commit_callbacks(execute=True):
        entry = message_send_from_staff(customer=customer, rooftop=world.rooftop, user=world.salesperson,
                                        kind="text", body="Your RAV4 is ready for pickup", now=NOON_NY)
    message = OutboundMessage.unscoped.get(timeline_entry=entry)
    assert (message.kind, message.channel, message.to_address, message.body) == (
        "staff", "sms", PHONE, "Your RAV4 is ready for pickup")
    assert outbound_message_send(message_id=message.pk, now=NOON_NY + timedelta(seconds=1)) == "sent"
    assert outbound_message_send(message_id=message.pk, now=NOON_NY + timedelta(minutes=5)) == "skipped"
    entry.refresh_from_db()
    assert entry.detail["delivery"] == "sent" and len(fake_twilio.delivered) == 1
    # The entry staff wrote is the story: no second "sent" entry.
    assert TimelineEntry.unscoped.filter(customer=customer, kind="text").count() == 1


def test_a_staff_text_queued_before_a_stop_is_suppressed_and_the_entry_says_so(world, customer, fake_twilio):
    from customers.messaging import timeline_message_deliver

    _consent(customer)
    entry = TimelineEntry.unscoped.create(customer=customer, rooftop=world.rooftop, department="sales", kind="text",
                                          direction="out", summary="Text", body="Still interested?",
                                          detail={"to": PHONE})
    message = timeline_message_deliver(entry_id=entry.pk, now=NOON_NY)
    _consent(customer, granted=False, at=NOON_NY + timedelta(seconds=1))
    assert outbound_message_send(message_id=message.pk, now=NOON_NY + timedelta(seconds=2)) == "skipped"
    entry.refresh_from_db()
    assert entry.detail["delivery"] == "suppressed" and fake_twilio.requests == []
