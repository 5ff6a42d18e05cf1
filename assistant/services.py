"""The assistant's writes: opening a conversation and answering one shopper message.

`shopper_says` reads the message (assistant.understanding), looks up the store's facts for it from the
rooftop alone (assistant.selectors), lets the pure dialogue decide (assistant.dialogue), and applies its
actions in one transaction: a booking makes the customer (the one matcher), the appointment and the CHAT lead;
a handoff makes or updates the lead, routes it, raises an alert and writes the transcript on the timeline.
A conversation touches only its own customer, lead and appointment; nothing a shopper writes picks a record.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from alerts.models import Alert
from customers.matching import ArrivingContact, customer_match_or_create
from customers.models import Appointment, Customer, TimelineEntry
from leads.models import InventoryVehicle, Lead
from rooftops.models import Rooftop

from assistant import dialogue, phrasing, selectors
from assistant.models import Conversation, ConversationMessage
from assistant.understanding import Understanding, understand

logger = logging.getLogger(__name__)

SLOT_LOCK = 15_001  # advisory lock class for booking a rooftop's slots
MAX_TEXT = 2000  # characters of one shopper message the API accepts (understanding reads the first 2000)


class ConversationError(ValueError):
    """A message that cannot be taken; `reason` is what the sender is told."""


@dataclass(frozen=True)
class Reply:
    text: str
    intent: str
    slots: dict[str, Any] = field(default_factory=dict)
    handoff: bool = False
    offered_slots: list[str] = field(default_factory=list)  # ISO instants offered for a booking


def conversation_open(*, rooftop: Rooftop, channel: str, anonymous_id: str = "", phone: str = "",
                      now: datetime | None = None) -> Conversation:
    """A new conversation, or a texter's open one so a returning shopper picks up where they left. (A browser
    resumes its chat by the conversation's own id, kept in the browser: `assistant.chat.chat_open`.)"""
    now = now or timezone.now()
    if channel not in Conversation.Channel.values:
        raise ConversationError(f"Unknown channel {channel!r}; use one of {', '.join(Conversation.Channel.values)}")
    anonymous_id, phone = (anonymous_id or "").strip()[:100], (phone or "").strip()[:20]
    existing = selectors.open_text_conversation_for(rooftop=rooftop, phone=phone) if channel == "sms" else None
    if existing is not None:
        return existing
    with transaction.atomic():
        visitor = None
        if anonymous_id:
            from tracking.services import visitor_for_browser

            visitor = visitor_for_browser(rooftop=rooftop, anonymous_id=anonymous_id, at=now)
        conversation = Conversation.unscoped.create(
            rooftop=rooftop, public_id=secrets.token_urlsafe(24), channel=channel, anonymous_id=anonymous_id,
            # No customer from the browser: a shared computer's earlier visitor is not who is chatting now; the
            # customer is matched from the details the shopper gives.
            visitor=visitor, phone=phone, created_at=now,
            state={"phone": phone} if phone else {},  # a text's number is how to reach them: never asked again
        )
        if visitor is not None:
            _chat_started_event(conversation, now)
    return conversation


def _chat_started_event(conversation: Conversation, now: datetime) -> None:
    """`chat_started` among the shopper's website events, stored by the collector's own storage."""
    from tracking.messages import Message
    from tracking.services import events_record

    message = Message(
        type="track", event="chat_started", anonymous_id=conversation.anonymous_id, user_id="", previous_id="",
        message_id=f"chat-started:{conversation.public_id}", occurred_at=now, sent_at=None, vin="",
        properties={"channel": conversation.channel}, traits={}, context={"source": "assistant"},
    )
    events_record(rooftop=conversation.rooftop, messages=[message], received_at=now)


def shopper_says(*, conversation: Conversation, text: str, now: datetime | None = None) -> Reply:
    """Answer one message: both lines are stored, and a booking or handoff is written in the same transaction."""
    now = now or timezone.now()
    text = text if isinstance(text, str) else ""
    text = text.replace("\x00", "").strip()
    if not text:
        raise ConversationError("Write a message.")
    if len(text) > MAX_TEXT:
        raise ConversationError(f"Keep a message under {MAX_TEXT} characters.")
    rooftop = conversation.rooftop
    with transaction.atomic():
        conversation = Conversation.unscoped.select_for_update().select_related("rooftop").get(pk=conversation.pk)
        known = selectors.known_models(rooftop)
        u = understand(text, now=now, time_zone=rooftop.time_zone, known_models=known)
        state = dict(conversation.state or {})
        facts = selectors.store_facts(rooftop=rooftop, understanding=u, state=state, now=now)
        turn = dialogue.respond(state, u, facts, now, message=text)
        state = turn.state
        reply_text, handoff = turn.text, False
        for action in turn.actions:
            if isinstance(action, dialogue.Book):
                reply_text = _book(conversation, action, state, facts, now) or reply_text
            elif isinstance(action, dialogue.Handoff):
                _handoff(conversation, action, state, u, now)
                handoff = True
        if (state.get("handed_off") and not handoff and conversation.lead_id is None
                and (state.get("phone") or state.get("email"))):
            _handoff_details(conversation, state, text, now)
        ConversationMessage.objects.create(conversation=conversation, author=ConversationMessage.Author.SHOPPER,
                                           text=text, intent=u.intent, slots=_public_slots(u), created_at=now)
        conversation.state = state
        conversation.last_message_at = now
        if state.get("opted_out"):
            conversation.status = Conversation.Status.CLOSED
        conversation.save(update_fields=["state", "last_message_at", "status", "customer", "lead", "appointment",
                                         "handed_off_at"])
    # The language model only rephrases, after the decisions are stored; it never sees data beyond the reply.
    phrased = phrasing.rephrase(reply_text, shopper_message=text) if not u.slots.suspicious else reply_text
    ConversationMessage.objects.create(conversation=conversation, author=ConversationMessage.Author.ASSISTANT,
                                       text=phrased, intent=u.intent, created_at=now)
    booking = state.get("booking") or {}
    offered = booking.get("offered", []) if booking.get("chosen") is None else []
    return Reply(text=phrased, intent=u.intent, slots=_public_slots(u), handoff=handoff, offered_slots=list(offered))


def _public_slots(u: Understanding) -> dict[str, Any]:
    return u.slots.flat()


# --------------------------------------------------------------------------- booking


def _customer(conversation: Conversation, state: dict, now: datetime) -> Customer | None:
    """The conversation's own customer, or the one the shopper's name and phone/email match (the one matcher)."""
    if conversation.customer_id:
        return conversation.customer
    name = (state.get("name") or "").split()
    phone = state.get("phone") or conversation.phone
    if not (state.get("email") or phone):
        return None
    contact = ArrivingContact(first_name=name[0] if name else "", last_name=" ".join(name[1:]),
                              emails=(state["email"],) if state.get("email") else (),
                              phones=((phone, "mobile"),) if phone else ())
    matched = customer_match_or_create(rooftop=conversation.rooftop, contact=contact, source="assistant", at=now)
    if matched is None:
        return None
    conversation.customer = matched.customer
    if conversation.visitor_id:
        from tracking.services import visitors_link_customer

        visitors_link_customer(rooftop=conversation.rooftop, visitor_ids=[conversation.visitor_id],
                               customer_id=matched.customer.pk, at=now, reason="gave their details to the assistant")
    return matched.customer


def _book(conversation: Conversation, action: dialogue.Book, state: dict, facts: dialogue.StoreFacts,
          now: datetime) -> str | None:
    """Create the appointment and the lead; if the slot went in the meantime, offer others (the reply changes)."""
    rooftop = conversation.rooftop
    department = action.department
    with connection.cursor() as cursor:
        # Two conversations must not both take the store's last free salesperson at 10:30: one at a time.
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [SLOT_LOCK, rooftop.pk])
    still_free = selectors.slot_free(rooftop=rooftop, department=department, at=action.at, now=now)
    if still_free is None:
        state.pop("booked", None)
        state["booking"] = None
        return "Sorry — that time was just taken. Tell me another day or time and I'll find the next openings."
    customer = _customer(conversation, state, now)
    if customer is None:
        return None
    staff_id = still_free.staff_id
    vehicle = (InventoryVehicle.unscoped.filter(rooftop=rooftop, stock_number=action.stock_number).first()
               if action.stock_number else None)
    lead = _lead(conversation, customer, state, now, vehicle=vehicle, reason="booking")
    appointment = Appointment.unscoped.create(
        rooftop=rooftop, customer=customer, lead=lead if action.kind == "test_drive" else None,
        department=department,
        kind=Appointment.Kind.TEST_DRIVE if action.kind == "test_drive" else Appointment.Kind.SERVICE,
        scheduled_at=action.at, status=Appointment.Status.SCHEDULED,
        assigned_to_id=staff_id if action.kind == "test_drive" else None, created_at=now,
        notes=f"Booked by the assistant ({conversation.get_channel_display()})."
              + (f" Vehicle: {vehicle.title}, stock {vehicle.stock_number}." if vehicle else ""),
    )
    conversation.appointment = appointment
    TimelineEntry.unscoped.create(
        customer=customer, rooftop=rooftop,
        department=TimelineEntry.Department.SERVICE if department == "service" else TimelineEntry.Department.SALES,
        kind=TimelineEntry.Kind.TEST_DRIVE if action.kind == "test_drive" else TimelineEntry.Kind.APPOINTMENT,
        occurred_at=now, lead=lead,
        summary=f"Booked through the assistant: {appointment.get_kind_display()} "
                f"{dialogue.slot_label(action.at, dialogue.ZoneInfo(rooftop.time_zone), now)}",
        detail={"conversation": conversation.pk, "appointment": appointment.pk},
    )
    return None


def _lead(conversation: Conversation, customer: Customer, state: dict, now: datetime, *,
          vehicle: InventoryVehicle | None = None, reason: str) -> Lead:
    """The conversation's lead: made once through the one lead intake (routing, clock, first response)."""
    if conversation.lead_id:
        lead = conversation.lead
        if vehicle is not None and lead.vehicle_id is None:
            lead.vehicle = vehicle
            lead.save(update_fields=["vehicle"])
        return lead
    from leads.services.new_leads import lead_create

    result = lead_create(
        rooftop=conversation.rooftop, source=Lead.Source.CHAT, customer=customer, vehicle=vehicle,
        vehicle_description=", ".join(state.get("vehicles", []))[:200] if vehicle is None else "",
        provider="Assistant", comments=summary_text(state, reason=reason), trade_in=state.get("trade_in") or {},
        dedupe_key=f"assistant:{conversation.public_id}", now=now,
    )
    conversation.lead = result.lead
    return result.lead


# --------------------------------------------------------------------------- handoff


def summary_text(state: dict, *, reason: str) -> str:
    """The short structured summary a salesperson reads instead of asking again."""
    lines = [f"From the assistant ({reason.replace('_', ' ')})."]
    if state.get("asked"):
        lines.append("Asked about: " + ", ".join(a.replace("_", " ") for a in state["asked"]))
    if state.get("vehicles"):
        lines.append("Vehicles: " + "; ".join(state["vehicles"]))
    if state.get("booked"):
        b = state["booked"]
        lines.append(f"Booked: {b['kind'].replace('_', ' ')} at {b['at']}" + (f" ({b['vehicle']})" if b.get("vehicle") else ""))
    if state.get("trade_in"):
        t = state["trade_in"]
        lines.append("Trade-in: " + " ".join(str(t[k]) for k in ("year", "make", "model") if t.get(k))
                     + (f", {t['mileage']:,} miles" if t.get("mileage") else ""))
    contact = [c for c in (state.get("phone"), state.get("email")) if c]
    if contact:
        lines.append("Preferred contact: " + " / ".join(contact))
    if state.get("preferred_time"):
        lines.append(f"Preferred time: {state['preferred_time']}")
    return "\n".join(lines)


def _handoff(conversation: Conversation, action: dialogue.Handoff, state: dict, u: Understanding,
             now: datetime) -> None:
    rooftop = conversation.rooftop
    state["handoff_reason"] = action.reason
    if u.slots.when is not None:
        state["preferred_time"] = u.slots.when.start.isoformat()
    customer = _customer(conversation, state, now)
    lead = _lead(conversation, customer, state, now, reason=action.reason) if customer is not None else None
    if lead is not None:
        lead.refresh_from_db(fields=["assigned_to"])
    conversation.status = Conversation.Status.HANDED_OFF
    conversation.handed_off_at = conversation.handed_off_at or now
    summary = summary_text(state, reason=action.reason)
    asked = action.asked or "a question"
    from alerts.services import alert_notify

    alert = alert_notify(
        rooftop=rooftop, kind="assistant_handoff", now=now,
        reasons=[f"Asked the assistant: “{asked[:150]}”", summary.replace("\n", " · ")[:300]],
        suggested_next_step=("Reply in the conversation" if customer is None else
                             "Call or text them back; the transcript is on their timeline")[:300],
        customer_id=customer.pk if customer else None, lead_id=lead.pk if lead else None,
        for_user_id=lead.assigned_to_id if lead else None,
        for_team=Alert.Team.SERVICE if u.slots.department == "service" else Alert.Team.SALES,
    )
    state["alert_id"] = alert.pk
    if customer is not None:
        transcript = selectors.transcript_text(conversation, extra=(("shopper", action.asked),))
        TimelineEntry.unscoped.create(
            customer=customer, rooftop=rooftop, department=TimelineEntry.Department.WEB,
            kind=TimelineEntry.Kind.CHAT, occurred_at=now, lead=lead,
            summary=f"Assistant handed off ({action.reason.replace('_', ' ')})", body=f"{summary}\n\n{transcript}",
            detail={"conversation": conversation.pk, "reason": action.reason, "summary": summary},
        )


def _handoff_details(conversation: Conversation, state: dict, text: str, now: datetime) -> None:
    """Contact details given after a handoff: the customer, the lead (routed as any lead) and the transcript."""
    customer = _customer(conversation, state, now)
    if customer is None:
        return
    reason = state.get("handoff_reason", "asked_for_person")
    lead = _lead(conversation, customer, state, now, reason=reason)
    if state.get("alert_id"):  # the handoff's alert now points at who they are
        Alert.unscoped.filter(pk=state["alert_id"], rooftop=conversation.rooftop, customer__isnull=True).update(
            customer=customer, lead=lead, for_user_id=lead.assigned_to_id)
    summary = summary_text(state, reason=reason)
    transcript = selectors.transcript_text(conversation, extra=(("shopper", text),))
    TimelineEntry.unscoped.create(
        customer=customer, rooftop=conversation.rooftop, department=TimelineEntry.Department.WEB,
        kind=TimelineEntry.Kind.CHAT, occurred_at=now, lead=lead,
        summary=f"Assistant handed off ({reason.replace('_', ' ')})", body=f"{summary}\n\n{transcript}",
        detail={"conversation": conversation.pk, "reason": reason, "summary": summary},
    )
