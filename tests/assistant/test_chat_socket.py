"""The website chat's websocket over a real socket: uvicorn serving crm.asgi (the `live_server_url` fixture) and a
real client (the `websockets` package's synchronous API), so the origin check, the routing, the consumer, the rate
limiter in Redis and the database are the deployed ones, each answer read with a deadline.

The in-process communicator tests these replace passed alone but hung the whole suite at an event loop's teardown
(8317c65): here no event loop runs in the test process at all. The server is another process, so nothing in it
can be patched; an engine failure is brought about through the database it reads (see the engine failure test).
"""

import json
import time
from datetime import datetime
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from alerts.models import Alert
from assistant.models import Conversation, ConversationMessage
from assistant.services import conversation_open, shopper_says
from crm.ratelimit import Limit
from customers.models import Appointment, TimelineEntry
from factories import InventoryVehicleFactory, RooftopFactory
from leads.models import Lead
from tracking.models import TrackedEvent

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = "http://127.0.0.1"  # the CRM's own pages (the demo dealer site): an allowed host
AID = "0b6f7a52-3c1e-4d0e-9a55-6a2f3e1d2c11"  # the browser's crm_aid, as track.js writes it
DEADLINE = 20  # seconds for one answer: a bound that proves an answer came, not a speed target


@pytest.fixture
def rooftop(world):
    world.rooftop.address = "1 Main St, Springfield"
    world.rooftop.save(update_fields=["address"])
    return world.rooftop


def ws_url(live_server_url: str, key: str) -> str:
    return f"ws://{urlsplit(live_server_url).netloc}/ws/assistant/{key}/"


def chat(live_server_url: str, key: str, *, origin: str | None = ORIGIN, address: str = "127.0.0.1"):
    """A browser's socket to the chat. `address` is the client's own loopback address (127.0.0.2 is another
    shopper as far as the per-address limit can tell); no proxy from the environment, ever."""
    return connect(ws_url(live_server_url, key), origin=origin, proxy=None, open_timeout=DEADLINE,
                   source_address=(address, 0))


def ask(ws, frame) -> dict:
    ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))
    return json.loads(ws.recv(timeout=DEADLINE))


def still_usable(ws) -> None:
    assert ask(ws, {"type": "ping"}) == {"type": "pong"}


def lines_of(public_id: str) -> list[tuple[str, str]]:
    return list(ConversationMessage.objects.filter(conversation__public_id=public_id).order_by("id")
                .values_list("author", "text"))


def refused_at_the_handshake(live_server_url: str, key: str, **kwargs) -> int:
    with pytest.raises(InvalidStatus) as refused:
        chat(live_server_url, key, **kwargs).close()
    return refused.value.response.status_code


def test_open_gives_a_conversation_and_say_answers_with_intent_slots_and_handoff(rooftop, live_server_url):
    with chat(live_server_url, rooftop.tracking_write_key) as ws:
        opened = ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})
        assert opened["type"] == "opened" and len(opened["conversation"]) >= 32
        assert opened["messages"] == []  # a new conversation: nothing to show yet
        reply = ask(ws, {"type": "say", "text": "What time are you open on Saturday?"})
        assert reply["type"] == "reply" and reply["conversation"] == opened["conversation"]
        assert reply["intent"] == "hours" and reply["handoff"] is False and reply["offered_slots"] == []
        assert reply["text"].startswith("Sales hours") and "9:00 AM–8:00 PM" in reply["text"]  # any day of the week
        assert isinstance(reply["slots"], dict) and reply["slots"]
        assert ask(ws, {"type": "say", "text": "where are you located?"})["intent"] == "location"
    conversation = Conversation.unscoped.get(public_id=opened["conversation"])
    assert (conversation.rooftop_id, conversation.channel, conversation.anonymous_id) == (rooftop.pk, "chat", AID)
    assert [author for author, _ in lines_of(opened["conversation"])] == ["shopper", "assistant"] * 2
    assert lines_of(opened["conversation"])[0] == ("shopper", "What time are you open on Saturday?")
    # The chat reached the shopper's website events, once, on their visitor.
    started = TrackedEvent.unscoped.get(rooftop=rooftop, event="chat_started")
    assert started.visitor_id == conversation.visitor_id and conversation.visitor.anonymous_id == AID


def test_a_returning_browser_gets_its_transcript_and_goes_on_with_the_same_conversation(rooftop, live_server_url):
    with chat(live_server_url, rooftop.tracking_write_key) as ws:
        first = ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})
        said = ask(ws, {"type": "say", "text": "where are you located?"})
    with chat(live_server_url, rooftop.tracking_write_key) as again:
        back = ask(again, {"type": "open", "conversation": first["conversation"], "anonymous_id": ""})
        assert back["conversation"] == first["conversation"]
        assert [(m["author"], m["text"]) for m in back["messages"]] == [
            ("shopper", "where are you located?"), ("assistant", said["text"])]
        assert all(m["at"] for m in back["messages"])
        more = ask(again, {"type": "say", "text": "and are you open on Saturday?"})
        assert more["type"] == "reply" and more["conversation"] == first["conversation"]
        # localStorage cleared, the visitor id (crm_aid) still there: a new chat. The visitor id rides in every
        # tracked event, so it never reopens a transcript; only the conversation's own id does.
        by_visitor = ask(again, {"type": "open", "conversation": None, "anonymous_id": AID})
        assert by_visitor["conversation"] != first["conversation"] and by_visitor["messages"] == []
    assert Conversation.unscoped.filter(rooftop=rooftop).count() == 2
    assert len(lines_of(first["conversation"])) == 4
    assert TrackedEvent.unscoped.filter(rooftop=rooftop, event="chat_started").count() == 2


def test_another_stores_or_a_text_conversations_id_opens_a_new_chat_and_reveals_nothing(rooftop, live_server_url):
    other = RooftopFactory(dealer_group=rooftop.dealer_group)
    with chat(live_server_url, other.tracking_write_key) as ws:
        theirs = ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})
        ask(ws, {"type": "say", "text": "my name is Jo, 617-555-0199"})
    texter = conversation_open(rooftop=rooftop, channel="sms", phone="+16175550142")
    shopper_says(conversation=texter, text="is the white rav4 still there?")
    with chat(live_server_url, rooftop.tracking_write_key) as ws:
        for foreign in (theirs["conversation"], texter.public_id):
            opened = ask(ws, {"type": "open", "conversation": foreign, "anonymous_id": ""})
            assert opened["conversation"] not in (theirs["conversation"], texter.public_id)
            assert opened["messages"] == []
    assert len(lines_of(theirs["conversation"])) == 2 and len(lines_of(texter.public_id)) == 2


BAD_FRAMES = [
    ("not json", "malformed"),
    ("[1, 2]", "malformed"),
    ('"a string"', "malformed"),
    ("[" * 2000 + "]" * 2000, "malformed"),  # nested deep enough to blow the parser's recursion
    (b"\xff\xfe", "malformed"),  # a binary frame that is not UTF-8
    (json.dumps({"type": "dance"}), "unknown_type"),
    (json.dumps({"kind": "say", "text": "hi"}), "unknown_type"),
    (json.dumps({"type": ["say"]}), "unknown_type"),
    (json.dumps({"type": "say", "text": "x" * 5000}), "too_large"),
    (json.dumps({"type": "say", "text": "x" * 1001}), "too_long"),
    (json.dumps({"type": "say", "text": "hello"}), "not_open"),  # before any open on this socket
    (json.dumps({"type": "open", "conversation": {"$ne": 1}}), "bad_conversation"),
    (json.dumps({"type": "open", "conversation": "../../etc"}), "bad_conversation"),
]
BAD_LINES = [
    ({"type": "say", "text": "   "}, "empty"),
    ({"type": "say", "text": 42}, "empty"),
    ({"type": "say"}, "empty"),
    ({"type": "say", "text": "hi\u0000there"}, "malformed"),
    ({"type": "say", "text": "x" * 1001}, "too_long"),
    ({"type": "say", "text": "hi \ud800 there"}, "malformed"),  # a lone surrogate: no UTF-8 can carry it
]


def test_bad_frames_get_an_error_frame_with_a_reason_and_the_socket_stays_usable(rooftop, live_server_url):
    with chat(live_server_url, rooftop.tracking_write_key) as ws:
        for frame, error in BAD_FRAMES:
            answer = ask(ws, frame)
            assert (answer["type"], answer["error"]) == ("error", error), (frame[:40], answer)
            assert answer["reason"], frame[:40]
            still_usable(ws)
        opened = ask(ws, {"type": "open", "conversation": None, "anonymous_id": "not a visitor id!"})
        assert opened["type"] == "opened"  # an odd visitor id is ignored: the chat works, tied to no visitor
        for frame, error in BAD_LINES:
            answer = ask(ws, frame)
            assert (answer["type"], answer["error"]) == ("error", error), (frame, answer)
            assert answer["reason"]
        # After all of that, the same socket still answers a shopper.
        assert ask(ws, {"type": "say", "text": "are you open on Saturday?"})["intent"] == "hours"
    assert [author for author, _ in lines_of(opened["conversation"])] == ["shopper", "assistant"]
    assert Conversation.unscoped.get(public_id=opened["conversation"]).visitor_id is None


def test_an_unknown_write_key_and_a_foreign_or_missing_origin_are_refused_at_the_handshake(rooftop, live_server_url):
    assert refused_at_the_handshake(live_server_url, "no-such-key") == 403
    assert refused_at_the_handshake(live_server_url, "k" * 65) == 403
    # A page on another site cannot ride a shopper's browser into the CRM's socket; a client with no Origin at all
    # is not a browser on the store's page either.
    assert refused_at_the_handshake(live_server_url, rooftop.tracking_write_key, origin="https://evil.example") == 403
    assert refused_at_the_handshake(live_server_url, rooftop.tracking_write_key, origin=None) == 403
    with chat(live_server_url, rooftop.tracking_write_key) as ws:  # the same key from the store's page: in
        still_usable(ws)
    assert not Conversation.unscoped.exists()


def _a_fresh_window(limit: Limit) -> None:
    """The limiter counts in fixed windows: start near a window's beginning, so the count is not reset halfway."""
    into = time.time() % limit.window_seconds
    if limit.window_seconds - into < 15:
        time.sleep(limit.window_seconds - into + 0.1)


def _refused_within_the_breaker(live_server_url: str, key: str) -> int:
    """The limiter fails open for a few seconds when Redis is slow to answer (crm.ratelimit); on a busy machine one
    handshake may pass unchecked, so the refusal is awaited for that long, never longer."""
    end = time.monotonic() + 2 * settings.HANDOFF_BREAKER_SECONDS + 5
    while True:
        try:
            chat(live_server_url, key).close()
        except InvalidStatus as refused:
            return refused.response.status_code
        assert time.monotonic() < end, "a socket from an address over its limit was let in"
        time.sleep(0.5)


def test_an_address_over_the_limit_gets_an_error_frame_and_keeps_its_socket_and_another_address_does_not(
        rooftop, live_server_url):
    limit = Limit.parse(settings.RATE_LIMITS["assistant_chat"]["per_address"])  # the server reads the same settings
    _a_fresh_window(limit)
    with chat(live_server_url, rooftop.tracking_write_key) as ws:  # the connection counts once
        opened = ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})  # and the open
        assert ask(ws, {"type": "say", "text": "are you open on Saturday?"})["type"] == "reply"
        # Cheap frames that count: an open with a bad id is counted, then refused before any database work.
        answers, end = [], time.monotonic() + DEADLINE
        while not answers or answers[-1]["error"] != "rate_limited":
            assert time.monotonic() < end, f"never limited after {len(answers)} frames"
            answers.append(ask(ws, {"type": "open", "conversation": ["bad"]}))
        assert {a["error"] for a in answers[:-1]} <= {"bad_conversation"}
        limited = ask(ws, {"type": "say", "text": "are you open on Sunday?"})
        assert limited["type"] == "error" and limited["error"] == "rate_limited" and limited["reason"]
        assert 1 <= limited["retry_after"] <= limit.window_seconds
        still_usable(ws)  # an error frame, not a closed socket
        # The same address may not open another socket in this window: refused at the handshake.
        assert _refused_within_the_breaker(live_server_url, rooftop.tracking_write_key) == 403
        # Another shopper (another address) is not held up by this one.
        with chat(live_server_url, rooftop.tracking_write_key, address="127.0.0.2") as other:
            assert ask(other, {"type": "open", "conversation": None, "anonymous_id": ""})["type"] == "opened"
            assert ask(other, {"type": "say", "text": "where are you located?"})["type"] == "reply"
    # The limited line never reached the engine.
    assert [text for author, text in lines_of(opened["conversation"]) if author == "shopper"] == [
        "are you open on Saturday?"]


def test_an_engine_failure_is_an_error_frame_and_the_socket_goes_on_answering(rooftop, live_server_url):
    with chat(live_server_url, rooftop.tracking_write_key) as ws:
        opened = ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})
        assert ask(ws, {"type": "say", "text": "are you open on Saturday?"})["type"] == "reply"
        # The server is another process: nothing in it can be patched. Its engine reads the conversation's memory
        # from the database on every line; a memory it cannot read (here `asked`, a list, made a number) makes it
        # raise, as any bug in it would.
        conversation = Conversation.unscoped.get(public_id=opened["conversation"])
        healthy = conversation.state
        Conversation.unscoped.filter(pk=conversation.pk).update(state={**healthy, "asked": 7})
        failed = ask(ws, {"type": "say", "text": "where are you located?"})
        assert failed == {"type": "error", "error": "unavailable", "reason": "could not answer; try again"}
        still_usable(ws)
        Conversation.unscoped.filter(pk=conversation.pk).update(state=healthy)
        again = ask(ws, {"type": "say", "text": "where are you located?"})
        assert again["type"] == "reply" and again["intent"] == "location"
    # The failed line was written in the engine's transaction and went with it: no half-answered line is kept.
    assert [author for author, _ in lines_of(opened["conversation"])] == ["shopper", "assistant"] * 2


def test_a_handoff_over_the_socket_makes_the_lead_the_alert_and_the_timeline(world, rooftop, live_server_url):
    with chat(live_server_url, rooftop.tracking_write_key) as ws:
        opened = ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})
        handoff = ask(ws, {"type": "say", "text": "I want to speak to a manager"})
        assert handoff["type"] == "reply" and handoff["handoff"] is True and handoff["intent"] == "human"
        assert "number or email" in handoff["text"]
        thanks = ask(ws, {"type": "say", "text": "Ana Ruiz 617-555-0142"})
        assert thanks["handoff"] is False and thanks["text"].startswith("Thanks, Ana")
    conversation = Conversation.unscoped.get(public_id=opened["conversation"])
    assert conversation.status == Conversation.Status.HANDED_OFF and conversation.handed_off_at is not None
    lead = Lead.unscoped.get(rooftop=rooftop)
    assert lead.source == "chat" and (lead.customer.first_name, lead.customer.last_name) == ("Ana", "Ruiz")
    assert conversation.lead == lead and conversation.customer == lead.customer
    alert = Alert.unscoped.get(rooftop=rooftop, kind="assistant_handoff")
    assert (alert.customer, alert.lead) == (lead.customer, lead) and "speak to a manager" in alert.reasons[0]
    entry = TimelineEntry.unscoped.get(customer=lead.customer, kind=TimelineEntry.Kind.CHAT)
    assert "speak to a manager" in entry.body and "617-555-0142" in entry.body
    assert [a for a, _ in lines_of(opened["conversation"])] == ["shopper", "assistant"] * 2
    assert TrackedEvent.unscoped.filter(rooftop=rooftop, event="chat_started", visitor=conversation.visitor).count() == 1


def test_a_booking_over_the_socket_makes_the_appointment_and_the_lead(world, rooftop, live_server_url):
    InventoryVehicleFactory(rooftop=rooftop, stock_number="T5001", exterior_color="White", price_cents=3_450_000)
    with chat(live_server_url, rooftop.tracking_write_key) as ws:
        opened = ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})
        found = ask(ws, {"type": "say", "text": "do you have a white rav4?"})
        assert found["intent"] == "inventory" and "T5001" in found["text"]
        # A weekday a week or so ahead, in the morning: open whatever today is.
        offer = ask(ws, {"type": "say", "text": "can I test drive it next tuesday morning"})
        assert offer["intent"] == "test_drive" and 2 <= len(offer["offered_slots"]) <= 3, offer
        picked = ask(ws, {"type": "say", "text": "the first one"})
        assert "shall I book it?" in picked["text"]
        booked = ask(ws, {"type": "say", "text": "yes, Ana Ruiz 617-555-0142"})
        assert "You're booked, Ana" in booked["text"]
    appointment = Appointment.unscoped.get(rooftop=rooftop)
    assert appointment.scheduled_at == datetime.fromisoformat(offer["offered_slots"][0])
    assert appointment.kind == "test_drive" and appointment.status == "scheduled"
    assert appointment.assigned_to_id in (world.salesperson.id, world.teammate.id)
    lead = Lead.unscoped.get(rooftop=rooftop)
    assert lead.source == "chat" and lead.customer == appointment.customer and lead.vehicle.stock_number == "T5001"
    conversation = Conversation.unscoped.get(public_id=opened["conversation"])
    assert (conversation.customer, conversation.lead, conversation.appointment) == (lead.customer, lead, appointment)
    assert len(lines_of(opened["conversation"])) == 8
    assert TrackedEvent.unscoped.filter(rooftop=rooftop, event="chat_started").count() == 1
