"""The inbound SMS webhook: signatures, STOP for the whole dealer group, replies counting as contact."""

from datetime import datetime, timedelta, timezone

import pytest
from zoneinfo import ZoneInfo
from django.utils import timezone as dj_timezone

from customers.messaging import outbound_message_queue, outbound_message_send
from customers.models import ConsentRecord, InboundMessage, OutboundMessage, TimelineEntry
from customers.sms import twilio_signature
from factories import RooftopFactory, add_contact, make_customer
from leads.models import LeadClock, LeadNotification
from leads.services.new_leads import lead_create

pytestmark = pytest.mark.django_db

URL = "http://testserver/webhooks/sms/inbound/"
PHONE = "+16175550142"
OPEN = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)


def _post(client, body, sid="SM1", from_number=PHONE, to="+16175550100", token="test-auth-token", signature=None):
    params = {"MessageSid": sid, "AccountSid": "ACtest", "From": from_number, "To": to, "Body": body}
    signature = signature if signature is not None else twilio_signature(URL, params.items(), token)
    return client.post("/webhooks/sms/inbound/", params, HTTP_X_TWILIO_SIGNATURE=signature)


def _consented(rooftop, **names):
    customer = make_customer(rooftop, **names)
    add_contact(customer, phone=PHONE)
    ConsentRecord.objects.create(customer=customer, dealer_group=rooftop.dealer_group, channel="sms",
                                 purpose="transactional", granted=True, source="web form",
                                 recorded_at=dj_timezone.now() - timedelta(days=2))
    return customer


def _sms_granted(customer) -> bool:
    latest = ConsentRecord.objects.filter(customer=customer, channel="sms", purpose="transactional") \
        .order_by("-recorded_at", "-id").first()
    return bool(latest and latest.granted)


def test_a_bad_or_missing_signature_is_refused_with_403_and_nothing_is_stored(client, world, fake_twilio):
    assert _post(client, "STOP", signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    assert _post(client, "STOP", signature="").status_code == 403
    assert _post(client, "STOP", token="someone-elses-token").status_code == 403
    assert not InboundMessage.objects.exists()


def test_a_get_is_not_allowed(client, fake_twilio):
    assert client.get("/webhooks/sms/inbound/").status_code == 405


def test_missing_fields_are_a_clear_400(client, fake_twilio):
    params = {"Body": "hi"}
    response = client.post("/webhooks/sms/inbound/", params,
                           HTTP_X_TWILIO_SIGNATURE=twilio_signature(URL, params.items(), "test-auth-token"))
    assert response.status_code == 400 and b"Missing MessageSid, From, To" in response.content


@pytest.mark.parametrize("body", ["STOP", "unsubscribe", "Stop please", "Please stop texting me", "OPT OUT"])
def test_stop_revokes_text_consent_at_once_for_every_store_of_the_group(client, world, fake_twilio, body):
    at_lakeside = _consented(world.rooftop)
    at_summit = _consented(world.other_rooftop)
    # Sent from the shared provider number, the text cannot say which group it answers: all of them stop.
    other_group = _consented(RooftopFactory())
    response = _post(client, body)
    assert response.status_code == 200 and b"<Response></Response>" in response.content
    assert not _sms_granted(at_lakeside) and not _sms_granted(at_summit)
    assert not _sms_granted(other_group)
    for customer in (at_lakeside, at_summit):
        revoked = ConsentRecord.objects.filter(customer=customer, granted=False)
        assert set(revoked.values_list("purpose", flat=True)) == {"transactional", "marketing", "service_reminders"}
        assert TimelineEntry.unscoped.filter(customer=customer, kind="consent").count() == 1


def test_stop_to_a_stores_own_number_leaves_other_dealer_groups_alone(client, world, fake_twilio):
    world.rooftop.phone = "+16175550199"
    world.rooftop.save()
    ours = _consented(world.rooftop)
    theirs = _consented(RooftopFactory())
    _post(client, "STOP", to="+16175550199")
    assert not _sms_granted(ours)
    assert _sms_granted(theirs)


def test_one_confirmation_is_sent_without_marketing_however_often_they_text_stop(client, world, fake_twilio):
    _consented(world.rooftop)
    _post(client, "STOP", sid="SM1")
    _post(client, "stop", sid="SM2")
    confirmations = OutboundMessage.unscoped.filter(kind="opt_out_confirmation")
    assert confirmations.count() == 1
    confirmation = confirmations.get()
    assert confirmation.body.startswith(f"{world.rooftop.dealer_group.name}: you are unsubscribed")
    assert "Reply START" in confirmation.body
    # The customer just revoked consent and it is 23:00 at the store: the confirmation still goes out.
    late = confirmation.send_after.astimezone(ZoneInfo("America/New_York")).replace(hour=23, minute=0)
    if late < confirmation.send_after:
        late += timedelta(days=1)
    assert outbound_message_send(message_id=confirmation.pk, now=late) == "sent"
    assert len(fake_twilio.delivered) == 1


def test_texts_waiting_to_go_out_are_stopped_by_a_stop(client, world, fake_twilio):
    customer = _consented(world.rooftop)
    night = dj_timezone.now().replace(hour=3)  # 22:00 or 23:00 in New York: waits for the morning
    waiting = outbound_message_queue(customer=customer, rooftop=world.rooftop, channel="sms", kind="staff",
                                     to_address=PHONE, body="Still interested?", idempotency_key="w", now=night)
    assert waiting.status == "waiting_quiet_hours"
    _post(client, "STOP")
    waiting.refresh_from_db()
    assert waiting.status == "suppressed"


def test_the_same_webhook_delivered_twice_is_handled_once(client, world, fake_twilio):
    customer = _consented(world.rooftop)
    _post(client, "STOP", sid="SMdup")
    _post(client, "STOP", sid="SMdup")
    assert InboundMessage.objects.count() == 1
    assert ConsentRecord.objects.filter(customer=customer, granted=False).count() == 3  # every purpose, once


def test_start_after_stop_opts_back_in_to_texts_about_inquiries_only(client, world, fake_twilio):
    customer = _consented(world.rooftop)
    _post(client, "STOP", sid="SM1")
    _post(client, "START", sid="SM2")
    assert _sms_granted(customer)
    marketing = ConsentRecord.objects.filter(customer=customer, purpose="marketing").order_by("-recorded_at").first()
    assert marketing.granted is False


def test_a_reply_goes_on_the_timeline_counts_as_contact_and_tells_the_salesperson_but_keeps_the_clock(
        client, world, fake_twilio):
    lead = lead_create(rooftop=world.rooftop, source="web_form", first_name="Pat", phone=PHONE,
                       sms_consent_text="Text me", now=OPEN).lead
    response = _post(client, "Yes, is the RAV4 still there? I can come Saturday")
    assert response.status_code == 200
    lead.refresh_from_db()
    assert lead.first_contact_at is not None
    entry = TimelineEntry.unscoped.get(lead=lead, kind="text", direction="in")
    assert entry.body.startswith("Yes, is the RAV4")
    assert LeadClock.unscoped.get(lead=lead).stopped_at is None  # a person still has to answer
    assert LeadNotification.unscoped.filter(user=lead.assigned_to, kind="reply").exists()
    assert _sms_granted(lead.customer)  # "Yes" inside a message is conversation, not an opt-in


def test_a_text_from_an_unknown_number_is_kept_but_touches_nobody(client, world, fake_twilio):
    assert _post(client, "STOP", from_number="+13035550111").status_code == 200
    inbound = InboundMessage.objects.get()
    assert inbound.is_opt_out and inbound.customer_ids == []
    assert not OutboundMessage.unscoped.exists()
