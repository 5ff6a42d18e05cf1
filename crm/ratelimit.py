"""Rate limits for the public doors (collector, ADF intake, SMS webhook): per key and per client address.

A fixed window counted in Redis (the cache database): INCR and EXPIRE of one key per limit and window, both
limits in one round trip. Over a limit the door answers 429 with Retry-After (seconds to the window's end).
Redis is a guard here, not a dependency: its calls have a short timeout (RATE_LIMIT_REDIS_TIMEOUT_SECONDS)
and a failure opens a breaker for a few seconds during which requests pass unchecked (fail open), so a down
or hung Redis never slows or refuses a dealer's leads and events. Limits live in settings.RATE_LIMITS.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import threading
import time
import weakref
from dataclasses import dataclass

import redis
import redis.asyncio
from django.conf import settings
from django.http import HttpRequest

from crm.handoff import Breaker

logger = logging.getLogger(__name__)

KEY_PREFIX = "ratelimit"


@dataclass(frozen=True)
class Limit:
    requests: int
    window_seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """"600/60": 600 requests per 60 seconds."""
        requests, _, seconds = str(text).partition("/")
        return cls(int(requests), int(seconds or 60))


breaker = Breaker("rate limiter", lambda: settings.HANDOFF_BREAKER_SECONDS)
_client: dict = {}
_async_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_client_lock = threading.Lock()


def _redis_async() -> redis.asyncio.Redis:
    """The running event loop's client (an asyncio connection belongs to the loop that opened it)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        timeout = settings.RATE_LIMIT_REDIS_TIMEOUT_SECONDS
        client = redis.asyncio.Redis.from_url(settings.CACHE_URL, socket_timeout=timeout,
                                              socket_connect_timeout=timeout, retry_on_timeout=False)
        _async_clients[loop] = client
    return client


def _redis() -> redis.Redis:
    with _client_lock:
        if "client" not in _client:
            timeout = settings.RATE_LIMIT_REDIS_TIMEOUT_SECONDS
            _client["client"] = redis.Redis.from_url(settings.CACHE_URL, socket_timeout=timeout,
                                                     socket_connect_timeout=timeout, retry_on_timeout=False)
        return _client["client"]


def client_address(request: HttpRequest) -> str:
    """The sender's address: the one the TLS proxy saw (last X-Forwarded-For hop) behind one, else the peer."""
    if settings.BEHIND_PROXY:
        forwarded = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
        if forwarded:
            return forwarded[-1][:64]
    return (request.META.get("REMOTE_ADDR") or "unknown")[:64]


def client_address_of_scope(scope: dict) -> str:
    """The same address for a websocket (an ASGI scope): the last X-Forwarded-For hop behind a proxy, else the peer."""
    if settings.BEHIND_PROXY:
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                forwarded = [hop.strip() for hop in value.decode("latin-1").split(",") if hop.strip()]
                if forwarded:
                    return forwarded[-1][:64]
    client = scope.get("client") or ("unknown",)
    return str(client[0] or "unknown")[:64]


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def retry_after(door: str, *, key: str | None, address: str | None, now: float | None = None) -> int | None:
    """Seconds until the sender may send again when a limit of `door` is passed; None when within its limits."""
    counted = _counted(door, key=key, address=address, now=now)
    if counted is None:
        return None
    pipe, windows, now = counted
    try:
        replies = pipe(_redis()).execute()
    except redis.RedisError:
        breaker.trip()  # fail open: limits are a guard, not a reason to refuse a lead
        return None
    return _wait(door, windows, replies, now)


async def retry_after_async(door: str, *, key: str | None, address: str | None,
                            now: float | None = None) -> int | None:
    """retry_after for a door served on the event loop (the collector under ASGI): the same counts and breaker,
    sent by the loop's own client, so the check costs no hop to a thread and back."""
    counted = _counted(door, key=key, address=address, now=now)
    if counted is None:
        return None
    pipe, windows, now = counted
    try:
        replies = await pipe(_redis_async()).execute()
    except (redis.RedisError, OSError, asyncio.TimeoutError):
        breaker.trip()
        return None
    return _wait(door, windows, replies, now)


def _counted(door: str, *, key: str | None, address: str | None, now: float | None):
    """The commands counting this request against each limit of `door` (a pipeline filler), the windows'
    ends, and now; None when nothing is to be counted (limits off, breaker open, no limit applies)."""
    if not settings.RATE_LIMIT_ENABLED or breaker.is_open():
        return None
    limits = settings.RATE_LIMITS.get(door, {})
    checks = [(kind, value, Limit.parse(limits[kind])) for kind, value in (("per_key", key), ("per_address", address))
              if value and limits.get(kind)]
    if not checks:
        return None
    now = time.time() if now is None else now
    names, windows = [], []
    for kind, value, limit in checks:
        window = int(now // limit.window_seconds)
        names.append((f"{KEY_PREFIX}:{door}:{kind}:{_digest(value)}:{window}", limit.window_seconds + 1))
        windows.append((limit, (window + 1) * limit.window_seconds))

    def pipe(client):
        pipeline = client.pipeline(transaction=False)
        for name, expiry in names:
            pipeline.incr(name)
            pipeline.expire(name, expiry)
        return pipeline

    return pipe, windows, now


def _wait(door: str, windows, replies, now: float) -> int | None:
    waits = [math.ceil(window_end - now) for (limit, window_end), count in zip(windows, replies[::2])
             if count > limit.requests]
    if waits:
        logger.info("rate limited on %s for %s s", door, max(waits))
        return max(1, max(waits))
    return None
