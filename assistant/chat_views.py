"""The website chat's HTTP fallback (static/crm/chat.js uses it when the websocket cannot connect or drops).

Same moves and answers as the websocket (assistant.consumers), through assistant.chat:
  POST /assistant/chat/<write key>/open/  {"conversation": <id> | null, "anonymous_id": "..."}  → the `opened` frame
  POST /assistant/chat/<write key>/say/   {"conversation": <id>, "text": "..."}                 → the `reply` frame
Errors are the websocket's error frame with a status: 400 (bad input), 404 (unknown key or conversation),
413, 429 (with Retry-After), 503 (the engine failed; retry).

No session, no CSRF: like the collector, the write key is public and the browser sends no cookies; the body may
be text/plain so a dealer's own domain posts without a CORS preflight.
"""

from __future__ import annotations

import logging

from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from assistant.chat import DOOR, MAX_FRAME_CHARS, ChatRefused, chat_open, chat_say, parse_frame, rooftop_for_key
from crm.ratelimit import client_address, retry_after

logger = logging.getLogger(__name__)

STATUS_OF = {"too_large": 413, "unknown_conversation": 404, "unknown_key": 404, "rate_limited": 429,
             "unavailable": 503, "method_not_allowed": 405}


def _answer(body: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-store"
    return response


def _error(code: str, reason: str, **extra) -> JsonResponse:
    return _answer({"type": "error", "error": code, "reason": reason, **extra}, STATUS_OF.get(code, 400))


def _door(move):
    @csrf_exempt
    def view(request, write_key: str):
        if request.method == "OPTIONS":
            response = HttpResponse(status=204)
            response["Access-Control-Allow-Origin"] = "*"
            response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
            response["Access-Control-Allow-Headers"] = "Content-Type"
            response["Access-Control-Max-Age"] = "86400"
            return response
        if request.method != "POST":
            response = _error("method_not_allowed", "use POST")
            response["Allow"] = "POST, OPTIONS"
            return response
        wait = retry_after(DOOR, key=write_key[:64], address=client_address(request))
        if wait is not None:
            response = _error("rate_limited", f"too many messages; retry in {wait} s", retry_after=wait)
            response["Retry-After"] = str(wait)
            return response
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > MAX_FRAME_CHARS * 4:
            return _error("too_large", f"a message is at most {MAX_FRAME_CHARS} characters")
        rooftop = rooftop_for_key(write_key)
        if rooftop is None:
            return _error("unknown_key", "unknown write key")
        try:
            return _answer(move(rooftop, parse_frame(request.read(MAX_FRAME_CHARS * 4 + 1))))
        except ChatRefused as refused:
            return _answer(refused.as_dict(), STATUS_OF.get(refused.code, 400))
        except Exception:  # noqa: BLE001 - the engine or the database failed; the widget says so and keeps the text
            logger.exception("assistant chat could not answer a request")
            return _error("unavailable", "could not answer; try again")

    return view


chat_open_view = _door(lambda rooftop, body: chat_open(
    rooftop=rooftop, conversation=body.get("conversation"), anonymous_id=body.get("anonymous_id")))
chat_say_view = _door(lambda rooftop, body: chat_say(
    rooftop=rooftop, conversation=body.get("conversation"), text=body.get("text")))
