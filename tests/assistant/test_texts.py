"""The assistant on texts: inbound texts through the real webhook reach the engine when nobody is working the
shopper; replies go through the outbox with consent; STOP keeps working exactly as before."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from assistant import receivers
from assistant.models import ConversationMessage
from assistant.texts import CONSENT_SOURCE, TextFacts, assistant_may_answer, text_answer
from customers.models import ConsentRecord, Customer, InboundMessage, OutboundMessage, TimelineEntry
from customers.sms import twilio_signature
from factories import LeadFactory, RooftopFactory, add_contact, make_customer, make_staff
from fake_twilio import FakeTwilio
from support import RedisServer, kill_group, subprocess_env, wait_until, worker_start

URL = "http://testserver/webhooks/sms/inbound/"
STORE_NUMBER = "+16175550100"
PHONE = "+16175550142"
TOKEN = "test-auth-token"


@pytest.fixture
def texting(settings):
    settings.TWILIO_AUTH_TOKEN = TOKEN
    settings.MESSAGING_QUIET_HOURS_CHANNELS = []  # whatever the hour the test runs at (quiet hours: own tests)
    rooftop = RooftopFactory(name="Texting Toyota", phone=STORE_NUMBER)
    return rooftop


def text_in(client, body, *, sid="SM1", from_number=PHONE):
    params = {"MessageSid": sid, "AccountSid": "ACtest", "From": from_number, "To": STORE_NUMBER, "Body": body}
    response = client.post("/webhooks/sms/inbound/", params,
                           HTTP_X_TWILIO_SIGNATURE=twilio_signature(URL, params.items(), TOKEN))
    assert response.status_code == 200
    return InboundMessage.objects.get(provider_id=sid)


def customer_with_phone(rooftop, *, consent: bool | None = True):
    customer = make_customer(rooftop, first_name="Robin")
    add_contact(customer, phone=PHONE)
    if consent is not None:
        ConsentRecord.objects.create(customer=customer, dealer_group=rooftop.dealer_group, channel="sms",
                                     purpose="transactional", granted=consent, source="web form",
                                     recorded_at=timezone.now() - timedelta(days=3))
    return customer


def assistant_texts():
    return OutboundMessage.unscoped.filter(kind=OutboundMessage.Kind.ASSISTANT)


# --------------------------------------------------------------------------- the rule, as a table


FREE = dict(opted_out_or_in=False, store_known=True, worked_by_person=False, handed_off=False,
            consent_refused_never_restored=False)


@pytest.mark.parametrize("change, answers", [
    ({}, True),
    ({"opted_out_or_in": True}, False),
    ({"store_known": False}, False),
    ({"worked_by_person": True}, False),
    ({"handed_off": True}, False),
    ({"consent_refused_never_restored": True}, False),
])
def test_who_answers_a_text(change, answers):
    assert (assistant_may_answer(TextFacts(**{**FREE, **change})) == "") is answers


# --------------------------------------------------------------------------- the service (the task's body)


@pytest.mark.django_db
def test_a_question_from_a_new_number_is_answered_and_their_text_is_the_consent_for_it(client, texting):
    inbound = text_in(client, "Hi, what time do you close tonight?")
    assert text_answer(inbound_id=inbound.pk) == "answered"
    reply = assistant_texts().get()
    assert (reply.to_address, reply.status, reply.rooftop_id) == (PHONE, "queued", texting.pk)
    said = ConversationMessage.objects.filter(author="assistant").get()
    assert reply.body == said.text and said.conversation.channel == "sms" and said.conversation.phone == PHONE
    consent = ConsentRecord.objects.get(source=CONSENT_SOURCE)
    assert consent.granted and consent.purpose == "transactional" and consent.customer_id == reply.customer_id
    assert "what time do you close" in consent.text_shown
    assert Customer.unscoped.filter(phones__e164=PHONE).count() == 1
    # A task delivered twice answers once.
    assert text_answer(inbound_id=inbound.pk) == "already answered"
    assert assistant_texts().count() == 1 and ConversationMessage.objects.filter(author="assistant").count() == 1


@pytest.mark.django_db
def test_a_shopper_with_consent_already_is_answered_without_a_new_consent_record(client, texting):
    customer = customer_with_phone(texting)
    assert text_answer(inbound_id=text_in(client, "do you have any rav4 hybrids?").pk) == "answered"
    assert assistant_texts().get().customer_id == customer.pk
    assert not ConsentRecord.objects.filter(source=CONSENT_SOURCE).exists()


@pytest.mark.django_db
def test_a_text_from_a_shopper_a_salesperson_is_working_goes_to_the_salesperson_not_the_assistant(client, texting):
    sam = make_staff(texting, display_name="Sam Sales")
    customer = customer_with_phone(texting)
    lead = LeadFactory(rooftop=texting, customer=customer, assigned_to=sam, status="working",
                       first_attempt_at=timezone.now() - timedelta(hours=2))
    inbound = text_in(client, "what's your best price on it?")
    assert text_answer(inbound_id=inbound.pk) == "a salesperson is working this shopper"
    assert not assistant_texts().exists() and not ConversationMessage.objects.exists()
    # As before: the text is on the customer's timeline, filed on the salesperson's lead.
    entry = TimelineEntry.unscoped.get(customer=customer, kind="text", direction="in")
    assert entry.lead_id == lead.pk


@pytest.mark.django_db
def test_an_assigned_lead_nobody_has_touched_yet_is_still_the_assistants(client, texting):
    sam = make_staff(texting, display_name="Sam Sales")
    customer = customer_with_phone(texting)
    LeadFactory(rooftop=texting, customer=customer, assigned_to=sam, status="new", first_attempt_at=None)
    assert text_answer(inbound_id=text_in(client, "are you open sunday").pk) == "answered"


@pytest.mark.django_db
def test_stop_still_opts_out_group_wide_and_gets_no_assistant_reply(client, texting):
    sister = RooftopFactory(dealer_group=texting.dealer_group)
    here = customer_with_phone(texting)
    there = customer_with_phone(sister)
    calls = []
    receivers.text_received.connect(lambda **kw: calls.append(kw), weak=False, dispatch_uid="test-spy")
    try:
        inbound = text_in(client, "STOP")
    finally:
        receivers.text_received.disconnect(dispatch_uid="test-spy")
    assert calls == []  # the assistant is not even asked
    for customer in (here, there):
        latest = ConsentRecord.objects.filter(customer=customer, channel="sms", purpose="transactional") \
            .order_by("-recorded_at", "-id").first()
        assert latest.granted is False
    assert OutboundMessage.unscoped.filter(kind="opt_out_confirmation").count() == 1
    assert text_answer(inbound_id=inbound.pk).startswith("opt-out")
    assert not assistant_texts().exists()


@pytest.mark.django_db
def test_a_number_that_refused_texts_is_not_answered_and_no_consent_is_invented(client, texting):
    customer_with_phone(texting, consent=False)
    assert text_answer(inbound_id=text_in(client, "how much is the white camry").pk) == "the number refused texts"
    assert not assistant_texts().exists()
    assert not ConsentRecord.objects.filter(granted=True).exists()


@pytest.mark.django_db
def test_a_text_to_a_number_no_store_owns_is_left_to_people(client, texting):
    texting.phone = "+16175550111"
    texting.save()
    assert text_answer(inbound_id=text_in(client, "hours?").pk) == "no store owns the number texted"


# --------------------------------------------------------------------------- end to end: worker and fake Twilio


@pytest.mark.django_db(transaction=True)
def test_a_texted_question_is_answered_by_the_worker_through_the_outbox_and_twilio(client, texting, tmp_path,
                                                                                 monkeypatch):
    from celery import Celery

    from crm.env import redis_db_url

    fake = FakeTwilio().start()
    redis = RedisServer(tmp_path)  # this test's worker takes only this test's tasks
    redis.start()
    published = []
    # The webhook's hint would go to the suite's broker (where the session's worker, with no fake Twilio, may
    # run it): record it, and publish the same task to this test's own broker below.
    monkeypatch.setattr(receivers, "hand_off", lambda publish, what: published.append(what) or True)
    inbound = text_in(client, "Hi! Do you have a white RAV4 hybrid? And are you open Saturday?", sid="SMworker")
    assert published == ["assistant text answer"]
    connection.close()
    env = {**subprocess_env(), "REDIS_URL": redis.url, "SMS_BACKEND": "customers.sms.TwilioSmsBackend",
           "TWILIO_ACCOUNT_SID": fake.account_sid, "TWILIO_AUTH_TOKEN": fake.auth_token,
           "TWILIO_FROM_NUMBER": STORE_NUMBER, "TWILIO_API_BASE": fake.base_url, "SMS_HTTP_TIMEOUT_SECONDS": "10",
           "MESSAGING_QUIET_HOURS_CHANNELS": ""}
    worker = worker_start(env, tmp_path / "worker.log", queues="messages", concurrency=1, name="texts")
    try:
        broker = Celery("texts-test", broker=redis_db_url(redis.url, django_settings.REDIS_DB_OFFSET),
                        set_as_current=False)
        broker.send_task("assistant.tasks.answer_text", args=[inbound.pk], queue="messages")
        delivered = wait_until(lambda: fake.delivered, timeout=60, what="the assistant's reply at the provider")
        # The provider has it before the worker records it sent: stop the worker only after that.
        wait_until(lambda: assistant_texts().filter(status="sent").exists(), timeout=30, what="the reply marked sent")
    finally:
        kill_group(worker)
        redis.stop()
        fake.stop()
    assert len(delivered) == 1
    reply = assistant_texts().get()
    said = ConversationMessage.objects.filter(author="assistant").get()
    assert delivered[0]["to"] == PHONE and delivered[0]["body"] == said.text == reply.body
    assert reply.status == "sent"
    # The sent reply is on the customer's timeline, as every automated text.
    assert TimelineEntry.unscoped.filter(customer_id=reply.customer_id, kind="text", direction="out").exists()
