"""The Segment-compatible collector: POST /v1/batch, /v1/track, /v1/page, /v1/identify, /v1/alias.

A thin door: decode and check the request (tracking.intake, pure), find the rooftop by write key, store
with tracking.services.events_record, answer Segment's `{"success": true}`. No session, no CSRF: the write
key is public by design and only lets a sender add events for its store.
"""

from __future__ import annotations

import logging

from asgiref.sync import sync_to_async
from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from crm.middleware import RETRY_AFTER_SECONDS
from crm.ratelimit import client_address, retry_after, retry_after_async
from tracking.intake import (
    MAX_ENCODED_BYTES, IntakeError, check_content_type, decode_body, messages_from, parse_json, too_large,
    write_key_from_authorization, write_key_from_body,
)
from tracking.group_commit import events_store_grouped
from tracking.messages import MAX_BATCH_BYTES
from tracking.rejections import preview, rejection_record
from tracking.selectors import rooftop_for_write_key, rooftop_for_write_key_cached
from tracking.services import RooftopBatch, events_record

logger = logging.getLogger(__name__)

CORS_HEADERS = {
    # Browsers on the dealer's own domain send here; nothing is read with cookies, so any origin may send.
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "86400",
}


def _answer(status: int, body: dict) -> JsonResponse:
    response = JsonResponse(body, status=status)
    response["Access-Control-Allow-Origin"] = "*"
    response["Cache-Control"] = "no-store"
    return response


def _rate_limited(wait: int) -> JsonResponse:
    # Not recorded as a rejection: a flood must not become a flood of writes.
    response = _answer(429, {"success": False, "code": "rate_limited",
                             "message": f"too many requests; retry in {wait} s"})
    response["Retry-After"] = str(wait)
    return response


def _read_body(request: HttpRequest) -> bytes:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_ENCODED_BYTES:
        raise too_large(f"request body is larger than {MAX_BATCH_BYTES // 1024} KB")
    # Read one byte past the bound: a body without Content-Length (chunked) is bounded the same way.
    raw = request.read(MAX_ENCODED_BYTES + 1)
    if len(raw) > MAX_ENCODED_BYTES:
        raise too_large(f"request body is larger than {MAX_BATCH_BYTES // 1024} KB")
    return raw


@csrf_exempt
async def collect(request: HttpRequest, path_type: str) -> HttpResponse:
    """Async door: checks on the event loop, storage by group commit.

    Under ASGI a plain sync view runs in a new thread per request, and Django opens a new database
    connection in each one (and keeps it until CONN_MAX_AGE), so a burst of single-event requests exhausts
    PostgreSQL's connections. Here the checks run on the loop (see _intake), the little that may block runs in
    a small shared pool whose threads keep their connections, and the accepted messages are stored by
    tracking.group_commit with those of the other requests waiting then.
    crm.asgi serves /v1/* with this same view without Django's middleware stack (see there).
    """
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        for name, value in CORS_HEADERS.items():
            response[name] = value
        return response
    if request.method != "POST":
        response = _answer(405, {"success": False, "code": "method_not_allowed", "message": "use POST"})
        response["Allow"] = "POST, OPTIONS"
        return response

    if isinstance(request, ASGIRequest):
        accepted = await _intake(request, path_type, limit=retry_after_async, in_thread=_in_pool)
        if isinstance(accepted, HttpResponse):
            return accepted
        try:
            await events_store_grouped(accepted)
        except DatabaseError as exc:
            return _unavailable(exc)
        return _answer(200, {"success": True})
    # WSGI servers and Django's test client: the request's own thread and connection, as for any view.
    accepted = await _intake(request, path_type, limit=_limit_in_request_thread, in_thread=_in_request_thread)
    if isinstance(accepted, HttpResponse):
        return accepted
    return await _in_request_thread(_store, accepted)


async def _intake(request: HttpRequest, path_type: str, *, limit, in_thread) -> RooftopBatch | HttpResponse:
    """Rate limits, body, write key and messages (what is left is storing them); a refusal is answered (and
    recorded) here.

    On the event loop: the checks are pure and short (a single event's are cheaper than the hop to a thread
    and back that doing them in one cost), the limiter has an asyncio client, and a write key is usually in
    the selectors' cache. What may block, a write key to look up and a refusal to record, goes to `in_thread`.
    """
    received_at = timezone.now()
    raw = b""
    body = b""
    rooftop = None
    header_key = write_key_from_authorization(request.headers.get("Authorization", ""))
    wait = await limit("collector", key=header_key, address=client_address(request))
    if wait is not None:
        return _rate_limited(wait)
    try:
        raw = _read_body(request)
        body = decode_body(raw, content_encoding=request.headers.get("Content-Encoding", ""))
        check_content_type(request.headers.get("Content-Type", ""))
        payload = parse_json(body)
        key = header_key or write_key_from_body(payload)
        if key and not header_key and (wait := await limit("collector", key=key, address=None)) is not None:
            return _rate_limited(wait)
        if not key:
            raise IntakeError(401, "unauthorized", "missing write key: send it as the HTTP Basic user name or as writeKey")
        rooftop = rooftop_for_write_key_cached(key) or await in_thread(rooftop_for_write_key, key)
        if rooftop is None:
            raise IntakeError(401, "unauthorized", "unknown write key")
        messages = messages_from(payload, path_type=path_type, received_at=received_at)
    except IntakeError as exc:
        try:
            await in_thread(
                rejection_record, rooftop_id=rooftop.id if rooftop else None, status=exc.status, code=exc.code,
                reason=exc.reason, path=request.path, size=len(raw), body_preview=preview(body or raw),
                received_at=received_at, origin=request.headers.get("Origin", ""),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except DatabaseError as db_exc:  # the pool thread's stale connection, closed on the way in
            return _unavailable(db_exc)
        response = _answer(exc.status, exc.as_json())
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Basic realm="collector"'
        return response
    except DatabaseError as exc:  # the write-key lookup
        return _unavailable(exc)
    return RooftopBatch(rooftop, messages, received_at)


def _unavailable(exc: DatabaseError) -> HttpResponse:
    # Nothing was committed; 503 tells Segment-style clients to retry the same batch later (its messageIds
    # make the retry store each event once).
    if isinstance(exc, (OperationalError, InterfaceError)):  # PostgreSQL down: expected, one line
        logger.warning("collector could not store a batch: %s", str(exc).splitlines()[0][:200] if str(exc) else
                       type(exc).__name__)
    else:
        logger.exception("collector could not store a batch", exc_info=exc)
    response = _answer(503, {"success": False, "code": "unavailable", "message": "storage unavailable, retry"})
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _store(accepted: RooftopBatch) -> HttpResponse:
    try:
        events_record(rooftop=accepted.rooftop, messages=accepted.messages, received_at=accepted.received_at)
    except DatabaseError as exc:
        return _unavailable(exc)
    return _answer(200, {"success": True})


def _with_pool_connection(function, *args, **kwargs):
    # What Django does at each request start, for this pool thread's own connection: drop it if broken or old.
    close_old_connections()
    return function(*args, **kwargs)


# `in_thread` for _intake: run function(*args, **kwargs) in the shared pool, or in the request's own thread.
_in_pool = sync_to_async(_with_pool_connection, thread_sensitive=False)
_in_request_thread = sync_to_async(lambda function, *args, **kwargs: function(*args, **kwargs), thread_sensitive=True)


async def _limit_in_request_thread(door: str, **kwargs) -> int | None:
    return await _in_request_thread(retry_after, door, **kwargs)
