"""The website chat's websocket, through the real ASGI stack (crm.asgi: origin check, routing) and the real
channel layer (Redis), with channels' WebsocketCommunicator: open, say, reply, a returning browser, bad frames,
the rate limit."""

import json

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator  # (daphne stub: tests/assistant/conftest.py)

from assistant.models import Conversation, ConversationMessage
from crm.asgi import application
from factories import RooftopFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

ORIGIN = (b"origin", b"http://localhost")
AID = "0b6f7a52-3c1e-4d0e-9a55-6a2f3e1d2c11"


@pytest.fixture
def rooftop(db):
    return RooftopFactory(name="Socket Toyota", address="1 Main St, Springfield")


async def connected(key: str, *, headers=(ORIGIN,), client=("10.0.0.7", 5000)):
    communicator = WebsocketCommunicator(application, f"/ws/assistant/{key}/", headers=list(headers))
    communicator.scope["client"] = client
    ok, code = await communicator.connect(timeout=5)
    return communicator, ok, code


async def ask(communicator, frame) -> dict:
    await communicator.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))
    return json.loads(await communicator.receive_from(timeout=10))


async def test_open_say_and_the_reply_come_back_and_both_lines_are_stored(rooftop):
    ws, ok, _ = await connected(rooftop.tracking_write_key)
    assert ok
    opened = await ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})
    assert opened["type"] == "opened" and opened["messages"] == []
    reply = await ask(ws, {"type": "say", "text": "What time are you open on Saturday?"})
    assert reply["type"] == "reply" and reply["intent"] == "hours"
    assert reply["conversation"] == opened["conversation"]
    assert reply["text"] and isinstance(reply["slots"], dict) and reply["handoff"] is False
    await ws.disconnect()
    conversation = await sync_to_async(Conversation.unscoped.get)(public_id=opened["conversation"])
    assert (conversation.rooftop_id, conversation.channel, conversation.anonymous_id) == (rooftop.pk, "chat", AID)
    authors = await sync_to_async(lambda: list(
        ConversationMessage.objects.filter(conversation=conversation).order_by("id").values_list("author", flat=True)))()
    assert authors == ["shopper", "assistant"]


async def test_a_returning_browser_gets_its_conversation_and_transcript_by_id_or_by_visitor(rooftop):
    ws, _, _ = await connected(rooftop.tracking_write_key)
    first = await ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})
    await ask(ws, {"type": "say", "text": "where are you located?"})
    await ws.disconnect()

    again, _, _ = await connected(rooftop.tracking_write_key)
    by_id = await ask(again, {"type": "open", "conversation": first["conversation"], "anonymous_id": ""})
    assert by_id["conversation"] == first["conversation"]
    assert [m["author"] for m in by_id["messages"]] == ["shopper", "assistant"]
    assert by_id["messages"][0]["text"] == "where are you located?"
    # localStorage cleared, the visitor id (crm_aid) still there: the same conversation.
    by_visitor = await ask(again, {"type": "open", "conversation": None, "anonymous_id": AID})
    assert by_visitor["conversation"] == first["conversation"]
    await again.disconnect()


async def test_another_stores_conversation_id_opens_a_new_chat_and_reveals_nothing(rooftop):
    other = await sync_to_async(RooftopFactory)(dealer_group=rooftop.dealer_group)
    ws, _, _ = await connected(other.tracking_write_key)
    theirs = await ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})
    await ask(ws, {"type": "say", "text": "do you have a white rav4"})
    await ws.disconnect()
    ours, _, _ = await connected(rooftop.tracking_write_key)
    opened = await ask(ours, {"type": "open", "conversation": theirs["conversation"], "anonymous_id": ""})
    assert opened["conversation"] != theirs["conversation"] and opened["messages"] == []
    await ours.disconnect()


@pytest.mark.parametrize("frame, error", [
    ("not json", "malformed"),
    ("[1, 2]", "malformed"),
    ("[" * 2000 + "]" * 2000, "malformed"),
    (json.dumps({"type": "dance"}), "unknown_type"),
    (json.dumps({"type": "say", "text": "x" * 5000}), "too_large"),
    (json.dumps({"type": "say", "text": "x" * 1001}), "too_long"),
    (json.dumps({"type": "open", "conversation": {"$ne": 1}}), "bad_conversation"),
])
async def test_bad_frames_get_an_error_frame_and_the_socket_stays_usable(rooftop, frame, error):
    ws, _, _ = await connected(rooftop.tracking_write_key)
    answer = await ask(ws, frame)
    assert answer["type"] == "error" and answer["error"] == error, answer
    assert (await ask(ws, {"type": "ping"})) == {"type": "pong"}
    await ws.disconnect()


async def test_saying_before_opening_or_an_empty_line_is_refused_with_a_reason(rooftop):
    ws, _, _ = await connected(rooftop.tracking_write_key)
    assert (await ask(ws, {"type": "say", "text": "hello"}))["error"] == "not_open"
    await ask(ws, {"type": "open", "conversation": None, "anonymous_id": "not a visitor id!"})
    assert (await ask(ws, {"type": "say", "text": "   "}))["error"] == "empty"
    assert (await ask(ws, {"type": "say", "text": 42}))["error"] == "empty"
    await ws.send_to(bytes_data=b"\xff\xfe")
    assert json.loads(await ws.receive_from(timeout=5))["error"] == "malformed"
    await ws.disconnect()


async def test_an_unknown_write_key_or_a_foreign_origin_is_refused_at_the_handshake(rooftop):
    _, ok, _ = await connected("no-such-key")
    assert not ok
    _, ok, _ = await connected(rooftop.tracking_write_key, headers=[(b"origin", b"https://evil.example")])
    assert not ok
    _, ok, _ = await connected(rooftop.tracking_write_key, headers=[])
    assert not ok


async def test_one_address_over_the_limit_is_told_to_wait_and_another_address_is_not(rooftop, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "assistant_chat": {"per_key": "1000/60", "per_address": "4/60"}}
    ws, ok, _ = await connected(rooftop.tracking_write_key)  # 1: the connection
    assert ok
    await ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})  # 2
    assert (await ask(ws, {"type": "say", "text": "hours?"}))["type"] == "reply"  # 3
    assert (await ask(ws, {"type": "say", "text": "hours?"}))["type"] == "reply"  # 4
    limited = await ask(ws, {"type": "say", "text": "hours?"})
    assert limited["error"] == "rate_limited" and 1 <= limited["retry_after"] <= 60
    count = await sync_to_async(ConversationMessage.objects.filter(author="shopper").count)()
    assert count == 2  # the limited line never reached the engine
    await ws.disconnect()
    _, ok, _ = await connected(rooftop.tracking_write_key)  # a fifth try from the same address: refused
    assert not ok
    other, ok, _ = await connected(rooftop.tracking_write_key, client=("10.0.0.8", 5000))
    assert ok
    assert (await ask(other, {"type": "open", "conversation": None, "anonymous_id": ""}))["type"] == "opened"
    await other.disconnect()


async def test_an_engine_failure_is_an_error_frame_and_the_socket_stays_open(rooftop, monkeypatch):
    import assistant.services

    def broken(**_):
        raise RuntimeError("the engine fell over")

    ws, _, _ = await connected(rooftop.tracking_write_key)
    await ask(ws, {"type": "open", "conversation": None, "anonymous_id": AID})
    monkeypatch.setattr(assistant.services, "shopper_says", broken)
    assert (await ask(ws, {"type": "say", "text": "hours?"}))["error"] == "unavailable"
    monkeypatch.undo()
    assert (await ask(ws, {"type": "say", "text": "hours?"}))["type"] == "reply"
    await ws.disconnect()
