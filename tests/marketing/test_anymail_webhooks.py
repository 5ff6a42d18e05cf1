"""An email service's delivery webhooks (django-anymail, Postmark's payloads as Postmark posts them): bounces and
complaints put the address on the do-not-contact list, every event stamps the campaign recipient's results."""

import base64
import json
import logging
from datetime import datetime, timezone

import pytest

from customers.messaging import SUPPRESSED_ADDRESS, outbound_message_queue, outbound_message_send
from customers.models import ConsentRecord, OutboundMessage, SuppressionEntry
from customers.suppression import address_is_suppressed
from email_world import campaign_message
from factories import RooftopFactory, add_contact, make_customer

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)
EMAIL = "pat@example.com"
URL = "/webhooks/email/postmark/tracking/"
SECRET = "postmark:hook-secret-123"


def auth(secret: str = SECRET) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(secret.encode()).decode()}


@pytest.fixture
def service(settings):
    settings.EMAIL_BACKEND = "email_world.ServiceLikeBackend"
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET}


@pytest.fixture
def sent(service, world):
    """A campaign email the service took; its id at the service is the message's provider_id."""
    pat = make_customer(world.rooftop)
    add_contact(pat, email=EMAIL)
    recipient, message = campaign_message(world.rooftop, pat, to=EMAIL, now=NOON)
    assert outbound_message_send(message_id=message.pk, now=NOON) == "sent"
    message.refresh_from_db()
    assert message.provider_id and not message.provider_id.startswith("<")  # the service's id, not our Message-ID
    return recipient, message


def post(client, payload, **headers):
    return client.post(URL, data=json.dumps(payload), content_type="application/json", **(headers or auth()))


def bounce(message_id: str, type_: str = "HardBounce") -> dict:
    return {
        "RecordType": "Bounce", "ID": 4323372036854775807, "Type": type_, "TypeCode": 1, "Name": "Hard bounce",
        "Tag": "", "MessageID": message_id, "ServerID": 23, "MessageStream": "outbound",
        "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.", "Email": EMAIL,
        "From": "offers@lakeside.test", "BouncedAt": "2026-11-24T17:05:00.0000000Z", "DumpAvailable": True,
        "Inactive": True, "CanActivate": True, "Subject": "Your lease",
    }


def test_a_hard_bounce_lists_the_address_and_the_outbox_refuses_the_next_message(client, sent, world):
    recipient, message = sent
    assert post(client, bounce(message.provider_id)).status_code == 200
    entry = SuppressionEntry.objects.get()
    assert (entry.reason, entry.channel, entry.dealer_group_id) == ("bounced", "email", world.rooftop.dealer_group_id)
    assert address_is_suppressed(dealer_group_id=world.rooftop.dealer_group_id, channel="email", address=EMAIL)
    recipient.refresh_from_db()
    assert recipient.bounced_at == datetime(2026, 11, 24, 17, 5, tzinfo=timezone.utc)
    # Any message to the address from any store of the group, even about the customer's own business.
    twin = make_customer(RooftopFactory(dealer_group=world.rooftop.dealer_group))
    add_contact(twin, email=EMAIL)
    nxt = outbound_message_queue(customer=twin, rooftop=world.other_rooftop, channel="email", kind="staff",
                                 to_address=EMAIL, subject="Hi", body="Hi", idempotency_key="after-bounce", now=NOON)
    assert (nxt.status, nxt.error) == (OutboundMessage.Status.SUPPRESSED, SUPPRESSED_ADDRESS)


def test_a_bounce_delivered_twice_lists_the_address_once(client, sent):
    _, message = sent
    assert post(client, bounce(message.provider_id)).status_code == 200
    assert post(client, bounce(message.provider_id)).status_code == 200
    assert SuppressionEntry.objects.count() == 1


def test_a_soft_bounce_lists_nothing(client, sent):
    recipient, message = sent
    assert post(client, bounce(message.provider_id, "SoftBounce")).status_code == 200
    assert not SuppressionEntry.objects.exists()
    recipient.refresh_from_db()
    assert recipient.bounced_at is None


def test_a_spam_complaint_lists_the_address_as_complained(client, sent):
    recipient, message = sent
    payload = {**bounce(message.provider_id, "SpamComplaint"), "RecordType": "SpamComplaint", "TypeCode": 100001,
               "Name": "Spam complaint", "Details": "Test spam complaint details"}
    assert post(client, payload).status_code == 200
    assert SuppressionEntry.objects.get().reason == "complained"
    recipient.refresh_from_db()
    assert recipient.complained_at is not None and recipient.bounced_at is None


def test_delivered_and_opened_stamp_the_results_once(client, sent):
    recipient, message = sent
    delivery = {"RecordType": "Delivery", "ServerID": 23, "MessageID": message.provider_id, "Recipient": EMAIL,
                "Tag": "", "DeliveredAt": "2026-11-24T17:00:04Z", "Details": "Test delivery webhook details",
                "MessageStream": "outbound", "Metadata": {}}
    assert post(client, delivery).status_code == 200
    assert post(client, {**delivery, "DeliveredAt": "2026-11-24T18:00:00Z"}).status_code == 200
    opened = {"RecordType": "Open", "MessageID": message.provider_id, "Recipient": EMAIL, "FirstOpen": True,
              "ReceivedAt": "2026-11-24T17:30:00Z", "Platform": "WebMail", "UserAgent": "Mozilla/5.0",
              "MessageStream": "outbound", "Metadata": {}, "Tag": ""}
    assert post(client, opened).status_code == 200
    recipient.refresh_from_db()
    assert recipient.delivered_at == datetime(2026, 11, 24, 17, 0, 4, tzinfo=timezone.utc)
    assert recipient.opened_at == datetime(2026, 11, 24, 17, 30, tzinfo=timezone.utc)
    assert not SuppressionEntry.objects.exists()


def test_an_unsubscribe_at_the_service_refuses_marketing_for_the_address_like_the_link(client, sent, world):
    recipient, message = sent
    change = {"RecordType": "SubscriptionChange", "MessageID": message.provider_id, "ServerID": 23,
              "MessageStream": "outbound", "ChangedAt": "2026-11-24T17:10:00Z", "Recipient": EMAIL,
              "Origin": "Recipient", "SuppressSending": True, "SuppressionReason": "ManualSuppression", "Tag": "",
              "Metadata": {}}
    assert post(client, change).status_code == 200
    refusal = ConsentRecord.objects.get(channel="email", purpose="marketing")
    assert refusal.granted is False and refusal.source == "unsubscribed at the email service (Postmark)"
    recipient.refresh_from_db()
    assert recipient.unsubscribed_at is not None
    assert not SuppressionEntry.objects.exists()  # their own business still reaches them


def test_an_event_for_a_message_we_never_sent_is_ignored_without_naming_it(client, service, caplog):
    with caplog.at_level(logging.INFO, logger="marketing.receivers"):
        assert post(client, bounce("7c8f0a2e-0000-4000-8000-000000000000")).status_code == 200
    assert not SuppressionEntry.objects.exists()
    assert "did not send" in caplog.text
    assert EMAIL not in caplog.text and "7c8f0a2e" not in caplog.text


@pytest.mark.parametrize("headers", [{}, auth("postmark:wrong"), {"HTTP_AUTHORIZATION": "Basic !!!"}])
def test_a_post_without_the_secret_changes_nothing(client, sent, headers):
    _, message = sent
    response = client.post(URL, data=json.dumps(bounce(message.provider_id)), content_type="application/json",
                           **headers)
    assert response.status_code == 400
    assert not SuppressionEntry.objects.exists()


def test_with_no_secret_configured_the_webhooks_are_off(client, sent, settings):
    _, message = sent
    settings.ANYMAIL = {"WEBHOOK_SECRET": ""}
    assert post(client, bounce(message.provider_id)).status_code == 403
    assert not SuppressionEntry.objects.exists()


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"a string"', "\u00e9".encode("latin-1"),
                                  json.dumps({"FromFull": {}}).encode()])
def test_a_body_the_parser_cannot_read_is_a_400_not_a_500(client, service, body):
    response = client.post(URL, data=body, content_type="application/json", **auth())
    assert response.status_code == 400
