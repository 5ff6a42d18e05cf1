"""The website chat's two moves, shared by its websocket (assistant.consumers) and its HTTP fallback
(assistant.chat_views), so both doors behave the same: open (or resume) a conversation, and say something.

Both are synchronous (the consumer calls them through database_sync_to_async) and call the assistant's
services; what lives here is only the checking of what a browser sent and the shape of the answer.

A conversation is reached only through its own unguessable public id, and only at the rooftop whose write key
the widget carries: an id from another store, or from a text conversation, opens a new chat instead.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from rooftops.models import Rooftop


MAX_TEXT_CHARS = 1000  # a chat line; longer is refused with a reason, not cut
MAX_FRAME_CHARS = 4096  # a whole frame or request body
# The same shape track.js writes to crm_aid (a UUID, or an id a site set itself).
ANONYMOUS_ID = re.compile(r"^[\w-]{8,64}$")
PUBLIC_ID = re.compile(r"^[\w-]{8,64}$")
DOOR = "assistant_chat"  # settings.RATE_LIMITS
TRANSCRIPT_LIMIT = 200  # the newest lines a returning browser is shown


class ChatRefused(Exception):
    """What the browser sent cannot be answered; `reason` is shown to the developer, not the shopper."""

    def __init__(self, code: str, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason

    def as_dict(self) -> dict:
        return {"type": "error", "error": self.code, "reason": self.reason}


def rooftop_for_key(key: str) -> Rooftop | None:
    """The rooftop whose website carries this public write key (the collector's key), or None."""
    if not isinstance(key, str) or not key or len(key) > 64:
        return None
    return Rooftop.objects.filter(tracking_write_key=key).first()


def parse_frame(raw: str | bytes | None) -> dict:
    """A browser frame or request body as a dict, or ChatRefused saying why not."""
    if raw is None:
        raise ChatRefused("malformed", "send a JSON object")
    if len(raw) > MAX_FRAME_CHARS:
        raise ChatRefused("too_large", f"a message is at most {MAX_FRAME_CHARS} characters")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ChatRefused("malformed", "send UTF-8 JSON") from None
    try:
        content = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: arrays nested a few thousand deep
        raise ChatRefused("malformed", "send a JSON object") from None
    if not isinstance(content, dict):
        raise ChatRefused("malformed", "send a JSON object")
    return content


def _conversation_id(value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not PUBLIC_ID.match(value):
        raise ChatRefused("bad_conversation", "`conversation` is the id from an earlier `opened`, or null")
    return value


def _anonymous_id(value) -> str:
    # A browser that blocks track.js or opted out sends none: the chat still works, tied to no visitor.
    return value if isinstance(value, str) and ANONYMOUS_ID.match(value) else ""


def _text(value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ChatRefused("empty", "`text` is what the shopper wrote, a non-empty string")
    text = value.strip()
    if len(text) > MAX_TEXT_CHARS:
        raise ChatRefused("too_long", f"a message is at most {MAX_TEXT_CHARS} characters")
    if "\x00" in text:
        raise ChatRefused("malformed", "`text` has a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (the JSON escape \ud800): PostgreSQL cannot store it, and the failed insert would be
        # answered as the engine being unavailable (503 over HTTP) for what is the browser's bad input.
        raise ChatRefused("malformed", "`text` is not valid Unicode (a lone surrogate)") from None
    return text


def _own_chat(rooftop: Rooftop, public_id: str | None):
    """The chat conversation with this id at this rooftop, or None (unknown, another store's, or a text)."""
    from assistant.models import Conversation
    from assistant.selectors import conversation_by_public_id

    found = conversation_by_public_id(rooftop=rooftop, public_id=public_id) if public_id else None
    return found if found is not None and found.channel == Conversation.Channel.CHAT else None


def _jsonable(value):
    # Slots may hold dates and decimals; the browser gets ISO strings.
    return json.loads(json.dumps(value, default=str))


def _transcript(conversation) -> list[dict]:
    from assistant.selectors import conversation_messages

    return [{"author": m.author, "text": m.text, "at": m.created_at.isoformat()}
            for m in conversation_messages(conversation)][-TRANSCRIPT_LIMIT:]


def chat_open(*, rooftop: Rooftop, conversation: str | None, anonymous_id, now: datetime | None = None) -> dict:
    """Resume the browser's conversation by its own id, or start one; answers `opened`."""
    from assistant.services import conversation_open

    found = _own_chat(rooftop, _conversation_id(conversation))
    if found is None:
        found = conversation_open(rooftop=rooftop, channel="chat", anonymous_id=_anonymous_id(anonymous_id), now=now)
    return {"type": "opened", "conversation": found.public_id, "messages": _transcript(found)}


def chat_say(*, rooftop: Rooftop, conversation: str | None, text, now: datetime | None = None) -> dict:
    """The shopper's line to the engine; answers `reply` with what it understood."""
    from assistant.services import ConversationError, shopper_says

    text = _text(text)
    public_id = _conversation_id(conversation)
    if public_id is None:
        raise ChatRefused("not_open", "open a conversation first")
    found = _own_chat(rooftop, public_id)
    if found is None:
        raise ChatRefused("unknown_conversation", "no such conversation here; open a new one")
    try:
        reply = shopper_says(conversation=found, text=text, now=now)
    except ConversationError as refused:
        raise ChatRefused("bad_text", str(refused)) from None
    return {"type": "reply", "conversation": found.public_id, "text": reply.text, "intent": reply.intent,
            "handoff": bool(reply.handoff), "slots": _jsonable(reply.slots or {}),
            "offered_slots": _jsonable(getattr(reply, "offered_slots", None) or [])}
