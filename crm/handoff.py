"""Hand hints to Redis (Celery publishes, channel-layer pushes) without a request ever waiting on Redis.

What is handed off here is a hint: the work it starts is already in PostgreSQL and a beat sweep finds it
(unscored events, due outbox messages, unpushed alerts), so a hint may be dropped but never block. Each
process has one daemon publisher thread reading a bounded queue; the caller (usually a `transaction.on_commit`
callback inside a request) only enqueues. A failed publish opens the circuit breaker: for
HANDOFF_BREAKER_SECONDS every hint is skipped at once, so a hung Redis costs one bounded timeout
(REDIS_SOCKET_TIMEOUT_SECONDS) on the publisher thread per period, and nothing at all on requests.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger(__name__)

BACKLOG = 10_000  # hints waiting for the publisher; past this they are dropped (the sweeps still find the work)


class Breaker:
    """Open for `seconds` after a failure; while open, callers skip the call instead of trying it."""

    def __init__(self, name: str, seconds: Callable[[], float], *, failure: str = "Redis did not answer"):
        self.name = name
        self.failure = failure
        self._seconds = seconds
        self._open_until = 0.0
        self._lock = threading.Lock()

    def is_open(self, *, now: float | None = None) -> bool:
        return (now if now is not None else time.monotonic()) < self._open_until

    def trip(self, *, now: float | None = None) -> None:
        with self._lock:
            was_open = self.is_open(now=now)
            self._open_until = (now if now is not None else time.monotonic()) + self._seconds()
        if not was_open:
            logger.warning("%s: %s; skipping for %.0f s", self.name, self.failure, self._seconds())

    def reset(self) -> None:
        with self._lock:
            self._open_until = 0.0


breaker = Breaker("hand-off to Redis", lambda: settings.HANDOFF_BREAKER_SECONDS)
_queue: queue.Queue = queue.Queue(maxsize=BACKLOG)
_state: dict = {"pid": None}
_state_lock = threading.Lock()
skipped = {"count": 0}  # hints dropped since start (breaker open or backlog full); read by tests and logs


def _publisher() -> None:
    while True:
        publish, what = _queue.get()
        try:
            if breaker.is_open():
                skipped["count"] += 1
                continue
            try:
                publish()
            except Exception:  # noqa: BLE001 - Redis down or hung: the sweeps recover the work
                skipped["count"] += 1
                logger.warning("could not hand off %s; the sweep will pick it up", what, exc_info=True)
                breaker.trip()
        finally:
            _queue.task_done()


def _ensure_publisher() -> None:
    with _state_lock:
        if _state["pid"] != os.getpid():  # first use, or the first use after a fork (a prefork worker child)
            threading.Thread(target=_publisher, name="redis-handoff", daemon=True).start()
            _state["pid"] = os.getpid()


def hand_off(publish: Callable[[], object], *, what: str) -> bool:
    """Publish later on this process's publisher thread; False when skipped (breaker open or backlog full)."""
    if breaker.is_open():
        skipped["count"] += 1
        logger.info("skipped %s: Redis failed a moment ago; the sweep will pick it up", what)
        return False
    _ensure_publisher()
    try:
        _queue.put_nowait((publish, what))
    except queue.Full:
        skipped["count"] += 1
        logger.warning("hand-off backlog full; skipped %s (the sweep will pick it up)", what)
        return False
    return True


def wait_for_room(*, below: int, timeout: float) -> bool:
    """Wait until fewer than `below` hints wait for the publisher: a producer of thousands (a campaign's chunks)
    slows to the publisher's pace instead of overflowing the backlog and leaving its work to the sweeps."""
    end = time.monotonic() + timeout
    with _queue.all_tasks_done:
        while _queue.unfinished_tasks >= below:
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            _queue.all_tasks_done.wait(min(remaining, 0.05))
    return True


def flush(timeout: float = 10.0) -> bool:
    """Wait until every hint queued so far was published or skipped (tests and orderly shutdown)."""
    end = time.monotonic() + timeout
    with _queue.all_tasks_done:
        while _queue.unfinished_tasks:
            remaining = end - time.monotonic()
            if remaining <= 0:
                return False
            _queue.all_tasks_done.wait(remaining)
    return True
