"""A marketing email through the outbox to a real SMTP server on loopback (aiosmtpd), headers included, then the
mail provider's RFC 8058 one-click POST to the List-Unsubscribe URL it carried; and a marketing text through the
fake Twilio-compatible API."""

import email
import email.policy
import re
import threading
from datetime import datetime, timezone
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.test import Client

from customers.messaging import outbound_message_queue, outbound_message_send
from customers.models import ConsentRecord, OutboundMessage
from email_world import campaign_message, sms_marketing_consent
from factories import RooftopFactory, add_contact, make_customer
from support import free_port

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 24, 17, 0, tzinfo=timezone.utc)
EMAIL, PHONE = "pat@example.com", "+16175550142"
REFUSED = "gone@example.com"


class Inbox:
    """An aiosmtpd handler keeping what arrives; refuses one address at RCPT, as a server does for a bad mailbox."""

    def __init__(self):
        self.messages: list[tuple[list[str], bytes]] = []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp(settings):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "offers@lakeside.test"
    yield inbox
    controller.stop()



@pytest.fixture
def store(world):
    world.rooftop.address = "100 Shore Rd, Lakeside, MA 01234"
    world.rooftop.save()
    return world.rooftop


def test_a_marketing_email_arrives_with_one_click_unsubscribe_and_the_post_unsubscribes_the_group(
        smtp, store, world):
    pat = make_customer(store, first_name="Pat")
    add_contact(pat, email=EMAIL)
    # The same person is a customer of another store of the group, under another record.
    other_store = RooftopFactory(dealer_group=store.dealer_group, name="Summit Honda")
    twin = make_customer(other_store, first_name="Patricia")
    add_contact(twin, email=EMAIL)
    recipient, message = campaign_message(store, pat, to=EMAIL, now=NOON,
                                          body="Hi Pat,\n\nYour lease ends soon: https://lakeside.test/lease?x=1&y=2")
    assert outbound_message_send(message_id=message.pk, now=NOON) == "sent"

    assert len(smtp.messages) == 1
    rcpt_tos, raw = smtp.messages[0]
    assert rcpt_tos == [EMAIL]
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert received["Subject"] == "Your lease"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # (A header this long is folded before its value; unfolded, the value starts with a space.)
    unsubscribe_url = re.fullmatch(r"<(https?://[^>]+)>", received["List-Unsubscribe"].strip()).group(1)
    assert urlsplit(unsubscribe_url).path.startswith("/m/u/")
    message.refresh_from_db()
    assert received["Message-ID"] == message.provider_id  # what a webhook or a bounce names it by

    text = received.get_body(preferencelist=("plain",)).get_content()
    assert "Your lease ends soon: https://lakeside.test/lease?x=1&y=2" in text
    assert "Lakeside Test Toyota, 100 Shore Rd, Lakeside, MA 01234" in text
    assert f"Unsubscribe: {unsubscribe_url}" in text
    html = received.get_body(preferencelist=("html",)).get_content()
    tracked = re.search(r'<a href="(https?://[^"]+/m/c/[^"]+/)">https://lakeside.test/lease\?x=1&amp;y=2</a>', html)
    assert tracked, html
    assert re.search(r'<img src="https?://[^"]+/m/o/[^"]+/" width="1" height="1"', html)
    assert "100 Shore Rd, Lakeside, MA 01234" in html

    # The mail provider's one-click POST: no cookie, no CSRF token, the body RFC 8058 prescribes.
    provider = Client(enforce_csrf_checks=True)
    response = provider.post(urlsplit(unsubscribe_url).path, data="List-Unsubscribe=One-Click",
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    refused = ConsentRecord.objects.filter(channel="email", purpose="marketing", granted=False)
    assert sorted(refused.values_list("customer_id", flat=True)) == sorted([pat.pk, twin.pk])
    assert refused.first().source == "one-click unsubscribe (RFC 8058)"
    recipient.refresh_from_db()
    assert recipient.unsubscribed_at is not None

    # The other store's record is refused marketing at once; email about the customer's own business still goes.
    _, other_campaign = campaign_message(other_store, twin, to=EMAIL, now=NOON, key="twin")
    assert other_campaign.status == OutboundMessage.Status.SUPPRESSED
    assert other_campaign.error == f"{EMAIL} unsubscribed from marketing email"
    reply = outbound_message_queue(customer=twin, rooftop=other_store, channel="email", kind="staff",
                                   to_address=EMAIL, subject="Your Civic", body="It is ready for pick-up.",
                                   idempotency_key="staff-reply", now=NOON)
    assert outbound_message_send(message_id=reply.pk, now=NOON) == "sent"
    assert len(smtp.messages) == 2
    plain = email.message_from_bytes(smtp.messages[1][1], policy=email.policy.default)
    assert plain["List-Unsubscribe"] is None and plain.get_content_type() == "text/plain"


def test_an_address_the_mail_server_refuses_fails_the_message_and_counts_as_bounced(smtp, store):
    gone = make_customer(store)
    add_contact(gone, email=REFUSED)
    recipient, message = campaign_message(store, gone, to=REFUSED, now=NOON)
    assert outbound_message_send(message_id=message.pk, now=NOON) == "failed"
    message.refresh_from_db()
    assert message.error == "The mail server refused the address: 550"
    assert REFUSED not in message.error
    recipient.refresh_from_db()
    assert recipient.bounced_at == NOON
    assert smtp.messages == []


def test_a_marketing_email_without_its_campaign_recipient_is_never_sent(smtp, store):
    pat = make_customer(store)
    add_contact(pat, email=EMAIL)
    message = outbound_message_queue(customer=pat, rooftop=store, channel="email", kind="marketing",
                                     purpose="marketing", to_address=EMAIL, subject="Deals", body="Deals",
                                     idempotency_key="orphan", now=NOON)
    assert outbound_message_send(message_id=message.pk, now=NOON) == "failed"
    message.refresh_from_db()
    assert "unsubscribe link" in message.error
    assert smtp.messages == []


def test_a_marketing_text_carries_tracked_links_and_the_stop_line_once(fake_twilio, store):
    pat = make_customer(store)
    add_contact(pat, phone=PHONE)
    sms_marketing_consent(pat, NOON)
    recipient, message = campaign_message(store, pat, to=PHONE, now=NOON, channel="sms",
                                          body="Pat, the RAV4 you viewed dropped $1,500: https://lakeside.test/v/9")
    assert outbound_message_send(message_id=message.pk, now=NOON) == "sent"
    assert len(fake_twilio.delivered) == 1
    body = fake_twilio.delivered[0]["body"]
    first, stop = body.split("\n")
    assert re.fullmatch(r"Pat, the RAV4 you viewed dropped \$1,500: https?://[^ ]+/m/c/[^ /]+/", first)
    assert "lakeside.test" not in first  # the store's URL is inside the signed token, not in the clear
    assert stop == "Lakeside Test Toyota: Reply STOP to opt out"
    response = Client().get(urlsplit(first.rsplit(" ", 1)[1]).path)
    assert (response.status_code, response["Location"]) == (302, "https://lakeside.test/v/9")
    recipient.refresh_from_db()
    assert recipient.clicks == 1
