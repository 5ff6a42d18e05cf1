"""The assistant on texts: an inbound text (customers.messaging, after STOP/START are handled) is answered by the
same engine as the chat, through the outbox, when nobody is working the shopper.

Who answers (`assistant_may_answer`, pure):
- A STOP-type text never reaches here (customers.messaging revokes consent group-wide and confirms, as before);
  an opt-in keyword neither. Should the engine itself read a text as an opt-out that the opt-out rules did not,
  nothing is sent and a person sees the text on the timeline.
- A person is working the shopper when one of the texting customer's open leads (any store of the group: a text
  is filed on the newest open lead, leads.receivers) is assigned to someone and has a human attempt recorded
  (`first_attempt_at`: a call, text or email by a person). Then the text goes to that salesperson exactly as
  before and the assistant stays silent. An assigned lead nobody has touched yet is still the assistant's: at
  night that is the case it is for. A text conversation the assistant already handed off stays with the person.
- The store is the one that owns the number texted; a number no store owns (a shared short code) is not answered.

Consent: texting needs prior express consent. A shopper who texts us a question gives it for a reply to that
inquiry, so when the number has no transactional text consent and none was ever refused, a ConsentRecord
(transactional, granted, source "texted us first", their words as the text shown) is recorded first. A number
that refused once (STOP) and never opted back in gets no answer: its text waits for a person. The reply is an
OutboundMessage of kind "assistant", so the outbox checks consent again and holds it in quiet hours as any text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from customers.matching import ArrivingContact, customer_match_or_create
from customers.messaging import outbound_message_queue, sms_consent_granted
from customers.models import ConsentRecord, Customer, InboundMessage, OutboundMessage
from leads.models import Lead
from rooftops.models import Rooftop

logger = logging.getLogger(__name__)

CONSENT_SOURCE = "texted us first"
MAX_SMS_CHARS = 1600  # Twilio's limit for one message body


@dataclass(frozen=True)
class TextFacts:
    opted_out_or_in: bool
    store_known: bool
    worked_by_person: bool
    handed_off: bool
    consent_refused_never_restored: bool


def assistant_may_answer(facts: TextFacts) -> str:
    """'' when the assistant answers this text, else why not (logged and returned by the task)."""
    if facts.opted_out_or_in:
        return "opt-out or opt-in keyword: handled by the opt-out rules"
    if not facts.store_known:
        return "no store owns the number texted"
    if facts.worked_by_person:
        return "a salesperson is working this shopper"
    if facts.handed_off:
        return "the conversation was handed to a person"
    if facts.consent_refused_never_restored:
        return "the number refused texts"
    return ""


def worked_by_person(customers: list[Customer]) -> bool:
    return Lead.unscoped.filter(
        customer__in=customers, status__in=Lead.OPEN_STATUSES, assigned_to__isnull=False,
        first_attempt_at__isnull=False,
    ).exists()


def _sms_refused(*, dealer_group_id: int, phone: str) -> bool:
    return ConsentRecord.objects.filter(
        dealer_group_id=dealer_group_id, channel=ConsentRecord.Channel.SMS,
        purpose=ConsentRecord.Purpose.TRANSACTIONAL, customer__phones__e164=phone, granted=False,
    ).exists()


def _handed_off(rooftop: Rooftop, phone: str) -> bool:
    from assistant.models import Conversation

    newest = (Conversation.unscoped.filter(rooftop=rooftop, phone=phone, channel=Conversation.Channel.SMS)
              .order_by("-created_at", "-id").values_list("status", flat=True).first())
    return newest == Conversation.Status.HANDED_OFF


def text_answer(*, inbound_id: int, now: datetime | None = None) -> str:
    """Answer one inbound text with the assistant when it may; returns 'answered' or why not. Idempotent."""
    from assistant.services import conversation_open, shopper_says

    now = now or timezone.now()
    with transaction.atomic():
        # The row lock makes a task delivered twice answer once.
        inbound = InboundMessage.objects.select_for_update().filter(pk=inbound_id).first()
        if inbound is None:
            return "no such text"
        if not inbound.body.strip():
            return "an empty text (a picture alone): left to a person"
        key = f"assistant-text:{inbound.provider_id}"[:120]
        if OutboundMessage.unscoped.filter(idempotency_key=key).exists():
            return "already answered"
        rooftop = Rooftop.objects.filter(phone=inbound.to_number).first()
        phone = inbound.from_number
        customers = list(Customer.unscoped.filter(pk__in=inbound.customer_ids or []))
        store_known = rooftop is not None
        refused = store_known and _sms_refused(dealer_group_id=rooftop.dealer_group_id, phone=phone)
        granted = store_known and sms_consent_granted(dealer_group_id=rooftop.dealer_group_id, phone=phone)
        why_not = assistant_may_answer(TextFacts(
            opted_out_or_in=inbound.is_opt_out or inbound.is_opt_in,
            store_known=store_known,
            worked_by_person=bool(customers) and worked_by_person(customers),
            handed_off=store_known and _handed_off(rooftop, phone),
            consent_refused_never_restored=refused and not granted,
        ))
        if why_not:
            logger.info("assistant leaves text %s to people: %s", inbound_id, why_not)
            return why_not
        match = customer_match_or_create(rooftop=rooftop, source="sms", at=now,
                                         contact=ArrivingContact(phones=((phone, "mobile"),)))
        customer = match.customer
        if not granted:
            ConsentRecord.objects.create(
                customer=customer, dealer_group_id=rooftop.dealer_group_id, channel=ConsentRecord.Channel.SMS,
                purpose=ConsentRecord.Purpose.TRANSACTIONAL, granted=True, source=CONSENT_SOURCE,
                text_shown=f'Customer texted "{inbound.body.strip()[:200]}"', recorded_at=now,
            )
        conversation = conversation_open(rooftop=rooftop, channel="sms", phone=phone, now=now)
        reply = shopper_says(conversation=conversation, text=inbound.body[:1000], now=now)
        if reply.intent == "opt_out" or not (reply.text or "").strip():
            return "the engine read an opt-out the rules did not; left to a person"
        outbound_message_queue(
            customer=customer, rooftop=rooftop, channel=OutboundMessage.Channel.SMS,
            kind=OutboundMessage.Kind.ASSISTANT, to_address=phone, body=reply.text[:MAX_SMS_CHARS],
            idempotency_key=key, now=now, lead=getattr(conversation, "lead", None),
        )
    return "answered"
