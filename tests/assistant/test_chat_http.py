"""The chat widget's HTTP fallback: the same moves as the websocket, public, keyed by the write key; bad input is a
4xx with a reason, never a 500."""

import json

import pytest

from assistant.models import ConversationMessage
from factories import RooftopFactory

pytestmark = pytest.mark.django_db

AID = "5d1c2b3a-1111-4a2b-8c3d-0e0f1a2b3c4d"


@pytest.fixture
def rooftop(db):
    return RooftopFactory(name="Fallback Honda")


def post(client, key, move, body, **extra):
    raw = body if isinstance(body, (str, bytes)) else json.dumps(body)
    # text/plain, as the widget sends it: a "simple" request, no CORS preflight from a dealer's own domain.
    return client.post(f"/assistant/chat/{key}/{move}/", raw, content_type="text/plain", **extra)


def test_open_then_say_answers_like_the_socket_and_a_reopen_shows_the_transcript(client, rooftop):
    opened = post(client, rooftop.tracking_write_key, "open", {"conversation": None, "anonymous_id": AID})
    assert opened.status_code == 200 and opened["Access-Control-Allow-Origin"] == "*"
    conversation = opened.json()["conversation"]
    reply = post(client, rooftop.tracking_write_key, "say", {"conversation": conversation, "text": "are you open sunday?"})
    assert reply.status_code == 200
    assert reply.json()["type"] == "reply" and reply.json()["intent"] == "hours" and reply.json()["text"]
    again = post(client, rooftop.tracking_write_key, "open", {"conversation": conversation})
    assert [m["author"] for m in again.json()["messages"]] == ["shopper", "assistant"]


@pytest.mark.parametrize("move, body, status, error", [
    ("open", "{not json", 400, "malformed"),
    ("open", "[]", 400, "malformed"),
    ("open", b"\xff\xfe", 400, "malformed"),
    ("open", "[" * 2000 + "]" * 2000, 400, "malformed"),
    ("open", {"conversation": ["x"]}, 400, "bad_conversation"),
    ("say", {"conversation": None, "text": "hi"}, 400, "not_open"),
    ("say", {"conversation": "a" * 30, "text": "hi"}, 404, "unknown_conversation"),
    ("say", {"conversation": "a" * 30, "text": ""}, 400, "empty"),
    ("say", {"conversation": "a" * 30, "text": "x" * 1001}, 400, "too_long"),
    ("say", {"conversation": "a" * 30, "text": "hi \ud800"}, 400, "malformed"),  # a lone surrogate: not a 503
    ("say", "x" * 20000, 413, "too_large"),
])
def test_bad_input_is_a_4xx_with_a_reason(client, rooftop, move, body, status, error):
    response = post(client, rooftop.tracking_write_key, move, body)
    assert response.status_code == status, response.content
    assert response.json()["error"] == error and response.json()["reason"]


def test_an_unknown_key_is_404_a_get_is_405_and_a_preflight_is_answered(client, rooftop):
    assert post(client, "no-such-key", "open", {}).status_code == 404
    assert client.get(f"/assistant/chat/{rooftop.tracking_write_key}/open/").status_code == 405
    preflight = client.options(f"/assistant/chat/{rooftop.tracking_write_key}/say/")
    assert preflight.status_code == 204 and "POST" in preflight["Access-Control-Allow-Methods"]


def test_over_the_limit_is_429_with_retry_after_and_nothing_reaches_the_engine(client, rooftop, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "assistant_chat": {"per_key": "1000/60", "per_address": "2/60"}}
    conversation = post(client, rooftop.tracking_write_key, "open", {}).json()["conversation"]
    assert post(client, rooftop.tracking_write_key, "say", {"conversation": conversation, "text": "hi"}).status_code == 200
    limited = post(client, rooftop.tracking_write_key, "say", {"conversation": conversation, "text": "hi"})
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert ConversationMessage.objects.filter(author="shopper").count() == 1


def test_the_demo_site_loads_the_widget_with_the_stores_write_key(client, rooftop):
    page = client.get(f"/demo-site/{rooftop.slug}/").content.decode()
    assert f'src="/static/crm/chat.js" data-write-key="{rooftop.tracking_write_key}"' in page
    assert 'data-css="/static/crm/chat.css"' in page


def test_another_stores_conversation_is_404_for_a_line_and_a_fresh_chat_for_an_open(client, rooftop):
    other = RooftopFactory(dealer_group=rooftop.dealer_group)
    theirs = post(client, other.tracking_write_key, "open", {"anonymous_id": AID}).json()["conversation"]
    post(client, other.tracking_write_key, "say", {"conversation": theirs, "text": "my name is Jo, 617-555-0199"})
    said = post(client, rooftop.tracking_write_key, "say", {"conversation": theirs, "text": "what did I say?"})
    assert said.status_code == 404 and said.json()["error"] == "unknown_conversation"
    opened = post(client, rooftop.tracking_write_key, "open", {"conversation": theirs}).json()
    assert opened["conversation"] != theirs and opened["messages"] == []
