"""The website chat's websocket (static/crm/chat.js): a thin door to the assistant's services.

Path /ws/assistant/<write key>/: the rooftop's public write key (the one track.js carries) says which store the
shopper is talking to. No login: shoppers have none; a staff session in the same browser changes nothing.
Browsers are held to the Origin check every websocket of the site has (crm.ws_auth: AllowedHostsOriginValidator).

Protocol, one JSON object per frame:
  client → {"type": "open", "conversation": <id> | null, "anonymous_id": <crm_aid> | ""}
  server → {"type": "opened", "conversation": <id>, "messages": [{"author", "text", "at"}, ...]}
  client → {"type": "say", "text": "..."}
  server → {"type": "reply", "conversation", "text", "intent", "handoff", "slots", "offered_slots"}
  client → {"type": "ping"}  → {"type": "pong"}
  server → {"type": "error", "error": <code>, "reason": "...", ["retry_after": s]}   the socket stays open

An unknown write key closes the handshake (HTTP 403). The connection, each open and each line count against the
"assistant_chat" rate limits (crm.ratelimit), per key and per client address; over them the frame is answered
with error "rate_limited" and nothing reaches the engine. Oversized, non-JSON or unknown frames get an error
frame; an engine failure gets error "unavailable" (the browser may retry over HTTP), never a closed socket.
"""

from __future__ import annotations

import json
import logging

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from assistant.chat import DOOR, ChatRefused, chat_open, chat_say, parse_frame, rooftop_for_key
from crm.ratelimit import client_address_of_scope, retry_after

logger = logging.getLogger(__name__)

CLOSE_UNKNOWN_KEY = 4404
CLOSE_RATE_LIMITED = 4429  # the widget falls back to HTTP, which answers 429 with Retry-After


class ChatConsumer(AsyncWebsocketConsumer):
    rooftop = None
    conversation: str | None = None

    async def connect(self):
        self.write_key = self.scope["url_route"]["kwargs"].get("write_key", "")
        self.address = client_address_of_scope(self.scope)
        if await self._limited() is not None:
            await self.close(code=CLOSE_RATE_LIMITED)
            return
        self.rooftop = await database_sync_to_async(rooftop_for_key)(self.write_key)
        if self.rooftop is None:
            await self.close(code=CLOSE_UNKNOWN_KEY)
            return
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        try:
            content = parse_frame(text_data if text_data is not None else bytes_data)
            kind = content.get("type")
            if kind == "ping":
                await self._send({"type": "pong"})
                return
            if kind not in ("open", "say"):
                raise ChatRefused("unknown_type", "expected open, say or ping")
            wait = await self._limited()
            if wait is not None:
                await self._send({"type": "error", "error": "rate_limited", "retry_after": wait,
                                  "reason": f"too many messages; retry in {wait} s"})
                return
            if kind == "open":
                frame = await database_sync_to_async(chat_open)(
                    rooftop=self.rooftop, conversation=content.get("conversation"),
                    anonymous_id=content.get("anonymous_id"))
                self.conversation = frame["conversation"]
            else:
                frame = await database_sync_to_async(chat_say)(
                    rooftop=self.rooftop, conversation=self.conversation, text=content.get("text"))
        except ChatRefused as refused:
            await self._send(refused.as_dict())
            return
        except Exception:  # noqa: BLE001 - the engine or the database failed: say so, keep the socket
            logger.exception("assistant chat could not answer a frame")
            await self._send({"type": "error", "error": "unavailable", "reason": "could not answer; try again"})
            return
        await self._send(frame)

    async def _limited(self) -> int | None:
        # A Redis round trip with a 0.1 s timeout, off the event loop; it fails open (crm.ratelimit).
        return await sync_to_async(retry_after, thread_sensitive=False)(
            DOOR, key=self.write_key[:64] or None, address=self.address)

    async def _send(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame))
