"""A booking and a handoff through the services, on the real database."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from alerts.models import Alert
from assistant.models import Conversation, ConversationMessage
from assistant.services import conversation_open, shopper_says
from customers.models import Appointment, TimelineEntry
from factories import InventoryVehicleFactory
from leads.models import Lead

NY = ZoneInfo("America/New_York")
THURSDAY_NIGHT = datetime(2026, 12, 10, 21, 0, tzinfo=NY)  # the store (09:00–20:00, closed Sunday) is closed
FRIDAY_NOON = datetime(2026, 12, 11, 12, 0, tzinfo=NY)


@pytest.fixture
def store(world):
    InventoryVehicleFactory(rooftop=world.rooftop, stock_number="T5001", exterior_color="White", price_cents=3_450_000)
    InventoryVehicleFactory(rooftop=world.rooftop, stock_number="T5002", exterior_color="Blue", price_cents=3_100_000)
    world.rooftop.address = "100 Lake St, Springfield"
    world.rooftop.save()
    return world


def test_a_booking_transcript(store):
    rooftop = store.rooftop
    conversation = conversation_open(rooftop=rooftop, channel="chat", anonymous_id="aid-1", now=THURSDAY_NIGHT)
    first = shopper_says(conversation=conversation, text="do you have a white rav4?", now=THURSDAY_NIGHT)
    assert first.intent == "inventory" and "$34,500" in first.text and "T5001" in first.text
    assert "T5002" not in first.text  # blue
    second = shopper_says(conversation=conversation, text="can I test drive it saturday morning", now=THURSDAY_NIGHT)
    assert second.intent == "test_drive" and 2 <= len(second.offered_slots) <= 3
    offered = [datetime.fromisoformat(s).astimezone(NY) for s in second.offered_slots]
    assert all(o.date().isoformat() == "2026-12-12" and 9 <= o.hour < 12 for o in offered)
    assert "10:30 AM" in second.text
    third = shopper_says(conversation=conversation, text="10:30 works", now=THURSDAY_NIGHT)
    assert "shall I book it?" in third.text and "name" in third.text
    assert not Appointment.unscoped.filter(rooftop=rooftop).exists()  # nothing before a yes
    fourth = shopper_says(conversation=conversation, text="yes, Ana Ruiz 617-555-0142", now=THURSDAY_NIGHT)
    assert "You're booked, Ana" in fourth.text
    appointment = Appointment.unscoped.get(rooftop=rooftop)
    assert appointment.scheduled_at == datetime(2026, 12, 12, 10, 30, tzinfo=NY)
    assert appointment.kind == "test_drive" and appointment.status == "scheduled"
    assert appointment.assigned_to_id in (store.salesperson.id, store.teammate.id)
    assert appointment.customer.first_name == "Ana" and appointment.customer.last_name == "Ruiz"
    lead = Lead.unscoped.get(rooftop=rooftop)
    assert lead.source == "chat" and lead.customer == appointment.customer and lead.vehicle.stock_number == "T5001"
    conversation.refresh_from_db()
    assert (conversation.customer, conversation.lead, conversation.appointment) == (lead.customer, lead, appointment)
    assert ConversationMessage.objects.filter(conversation=conversation).count() == 8
    print("\n".join(f"{m.author}: {m.text}" for m in conversation.messages.order_by("id")))


def test_a_negotiation_during_hours_goes_to_an_available_salesperson(store):
    rooftop = store.rooftop
    conversation = conversation_open(rooftop=rooftop, channel="api", now=FRIDAY_NOON)
    shopper_says(conversation=conversation, text="how much is the white rav4? I'm Ana Ruiz 617-555-0142",
                 now=FRIDAY_NOON)
    reply = shopper_says(conversation=conversation, text="would you take 30k for it?", now=FRIDAY_NOON)
    assert reply.handoff and reply.intent == "human"
    lead = Lead.unscoped.get(rooftop=rooftop)
    assert lead.source == "chat" and lead.assigned_to_id in (store.salesperson.id, store.teammate.id)
    alert = Alert.unscoped.get(rooftop=rooftop, kind="assistant_handoff")
    assert alert.lead == lead and "30k" in alert.reasons[0] and "RAV4" in " ".join(alert.reasons)
    entry = TimelineEntry.unscoped.get(customer=lead.customer, kind=TimelineEntry.Kind.CHAT)
    assert "would you take 30k" in entry.body and "Vehicles:" in entry.body and "negotiation" in entry.summary
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.HANDED_OFF
    print(reply.text)


def test_after_hours_the_handoff_says_when(store):
    conversation = conversation_open(rooftop=store.rooftop, channel="chat", now=THURSDAY_NIGHT)
    reply = shopper_says(conversation=conversation, text="can I talk to a real person", now=THURSDAY_NIGHT)
    assert reply.handoff and "We open tomorrow at 9:00 AM" in reply.text
    print(reply.text)


def test_a_visitor_id_alone_never_reopens_a_chat_but_a_texters_number_resumes_theirs(store):
    # The visitor id rides in every tracked event: knowing it must not reveal a transcript. A browser resumes by
    # the conversation's own id (assistant.chat); a texter by the number the carrier vouches for.
    first = conversation_open(rooftop=store.rooftop, channel="chat", anonymous_id="aid-2", now=THURSDAY_NIGHT)
    again = conversation_open(rooftop=store.rooftop, channel="chat", anonymous_id="aid-2", now=THURSDAY_NIGHT)
    assert again != first and len(first.public_id) >= 32 and first.public_id != again.public_id
    texting = conversation_open(rooftop=store.rooftop, channel="sms", phone="+16175550142", now=THURSDAY_NIGHT)
    assert conversation_open(rooftop=store.rooftop, channel="sms", phone="+16175550142", now=THURSDAY_NIGHT) == texting
    assert conversation_open(rooftop=store.other_rooftop, channel="sms", phone="+16175550142",
                             now=THURSDAY_NIGHT) != texting


def test_details_given_after_a_handoff_complete_the_lead_and_the_alert(store):
    conversation = conversation_open(rooftop=store.rooftop, channel="chat", now=FRIDAY_NOON)
    reply = shopper_says(conversation=conversation, text="I want to speak to a manager", now=FRIDAY_NOON)
    assert reply.handoff and "number or email" in reply.text
    assert not Lead.unscoped.filter(rooftop=store.rooftop).exists()
    thanks = shopper_says(conversation=conversation, text="Ana Ruiz 617-555-0142", now=FRIDAY_NOON)
    assert thanks.text.startswith("Thanks, Ana") and not thanks.handoff
    lead = Lead.unscoped.get(rooftop=store.rooftop)
    assert lead.assigned_to_id in (store.salesperson.id, store.teammate.id)
    alert = Alert.unscoped.get(rooftop=store.rooftop, kind="assistant_handoff")
    assert (alert.customer, alert.lead) == (lead.customer, lead)
    entry = TimelineEntry.unscoped.get(customer=lead.customer, kind=TimelineEntry.Kind.CHAT)
    assert "speak to a manager" in entry.body and "617-555-0142" in entry.body


def test_a_chat_with_a_browser_reaches_its_events(store):
    from tracking.models import TrackedEvent

    conversation = conversation_open(rooftop=store.rooftop, channel="chat", anonymous_id="aid-ev", now=FRIDAY_NOON)
    events = TrackedEvent.unscoped.filter(rooftop=store.rooftop, event="chat_started")
    assert events.count() == 1
    assert events.get().visitor == conversation.visitor and conversation.visitor.anonymous_id == "aid-ev"


def test_opt_out_is_acknowledged_and_ends_the_conversation(store):
    conversation = conversation_open(rooftop=store.rooftop, channel="sms", phone="+16175550142", now=FRIDAY_NOON)
    reply = shopper_says(conversation=conversation, text="STOP", now=FRIDAY_NOON)
    assert reply.intent == "opt_out" and "won't message you again" in reply.text
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.CLOSED
    assert not Lead.unscoped.exists() and not Alert.unscoped.exists()


def test_a_text_conversation_books_with_the_senders_number(store):
    conversation = conversation_open(rooftop=store.rooftop, channel="sms", phone="+16175550142", now=THURSDAY_NIGHT)
    offer = shopper_says(conversation=conversation, text="I need an oil change saturday morning", now=THURSDAY_NIGHT)
    assert offer.intent == "service_appointment" and len(offer.offered_slots) == 3
    pick = shopper_says(conversation=conversation, text="the first one", now=THURSDAY_NIGHT)
    assert pick.text.endswith("shall I book it? What name should I put it under?")
    booked = shopper_says(conversation=conversation, text="yes, Ana", now=THURSDAY_NIGHT)
    assert "You're booked, Ana" in booked.text
    appointment = Appointment.unscoped.get(rooftop=store.rooftop)
    assert appointment.kind == "service" and appointment.customer.phones.filter(e164="+16175550142").exists()


def test_service_answers_and_books_on_the_service_departments_own_hours(store):
    """Service opens at 7 here, the showroom at 9; the store's holiday closes both."""
    rooftop = store.rooftop
    rooftop.service_hours = {day: [["07:00", "18:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    rooftop.business_hours = {**rooftop.business_hours, "closed_dates": ["2026-12-14"]}
    rooftop.save()
    conversation = conversation_open(rooftop=rooftop, channel="chat", now=THURSDAY_NIGHT)
    hours = shopper_says(conversation=conversation, text="what time does service open tomorrow?", now=THURSDAY_NIGHT)
    assert hours.intent == "hours" and "7:00 AM" in hours.text, hours.text
    booking = shopper_says(conversation=conversation, text="can I bring my car in for an oil change friday at 7:30am",
                           now=THURSDAY_NIGHT)
    offered = [datetime.fromisoformat(s).astimezone(NY) for s in booking.offered_slots]
    assert booking.intent == "service_appointment" and offered, booking.text
    assert offered[0] == datetime(2026, 12, 11, 7, 30, tzinfo=NY)  # before the showroom opens
    later = shopper_says(conversation=conversation, text="what about monday?", now=THURSDAY_NIGHT)
    assert all(datetime.fromisoformat(s).astimezone(NY).date().isoformat() != "2026-12-14"
               for s in later.offered_slots), later.text  # the holiday
    asking = conversation_open(rooftop=rooftop, channel="chat", anonymous_id="aid-2", now=THURSDAY_NIGHT)
    monday = shopper_says(conversation=asking, text="what are your service hours on monday?", now=THURSDAY_NIGHT)
    assert "closed" in monday.text.lower(), monday.text
