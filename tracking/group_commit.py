"""Group commit for the collector under ASGI: one committer thread per web process stores the messages of
every request waiting at that moment in one transaction (tracking.services.events_record_many), then answers
each request. A lone request is stored at once; under load a commit carries as many requests as arrived during
the previous one, so the per-request cost of BEGIN/COMMIT and its WAL flush is shared.

A request is answered only after its group's COMMIT returned; a database error fails every request of the
group (the collector answers 503 with Retry-After and the senders retry; messageIds store a retry once).
Validation happens before a request joins a group, so one sender's bad input never reaches it.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from dataclasses import dataclass

from django.db import connection

from tracking.services import RooftopBatch, events_record_many

logger = logging.getLogger(__name__)

# Bounds one transaction (and so one request's wait behind it): 20 full /v1/batch requests.
GROUP_MAX_MESSAGES = 2000


@dataclass
class _Waiting:
    batch: RooftopBatch
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


_queue: queue.SimpleQueue[_Waiting] = queue.SimpleQueue()
_started = threading.Lock()
_thread: list[threading.Thread] = []


async def events_store_grouped(batch: RooftopBatch) -> None:
    """Returns once the messages are committed (with whatever other requests shared the transaction)."""
    _ensure_committer()
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    _queue.put(_Waiting(batch, loop, future))
    # Not cancelled with its request: a sender that hung up is still stored (its retry is then a duplicate).
    await asyncio.shield(future)


def _ensure_committer() -> None:
    if _thread and _thread[0].is_alive():
        return
    with _started:
        if not (_thread and _thread[0].is_alive()):
            thread = threading.Thread(target=_commit_forever, name="collector-committer", daemon=True)
            thread.start()
            _thread[:] = [thread]


def _next_group() -> list[_Waiting]:
    group = [_queue.get()]
    size = len(group[0].batch.messages)
    while size < GROUP_MAX_MESSAGES:
        try:
            waiting = _queue.get_nowait()
        except queue.Empty:
            break
        group.append(waiting)
        size += len(waiting.batch.messages)
    return group


def _commit_forever() -> None:
    while True:
        group = _next_group()
        try:
            events_record_many(batches=[w.batch for w in group])
        except Exception as exc:  # noqa: BLE001 - every waiting request learns of it; the thread goes on
            # The committer keeps its one connection from group to group (no pool round trip per commit);
            # after an error it starts the next group on a fresh one (PostgreSQL may have restarted).
            _answer_all(group, exc)
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close; it is dropped either way
                logger.debug("committer connection close failed", exc_info=True)
        else:
            _answer_all(group, None)


def _answer_all(group: list[_Waiting], exc: Exception | None) -> None:
    for waiting in group:
        try:
            waiting.loop.call_soon_threadsafe(_settle, waiting.future, exc)
        except RuntimeError:  # its event loop is closed (the process is shutting down)
            pass


def _settle(future: asyncio.Future, exc: Exception | None) -> None:
    if future.done():
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)
