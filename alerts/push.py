"""Hand hints to the channel layer from synchronous code (Celery workers, views) over a long-lived connection.

`async_to_sync(layer.group_send)` would start an event loop and open a new Redis connection for every push;
under load that costs more than the push itself. Each process instead keeps one loop in a daemon thread
(created lazily, and again after a fork) whose channel-layer connection pool stays open.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence

from channels.layers import get_channel_layer

_lock = threading.Lock()
_state: dict = {"pid": None, "loop": None}


def _loop() -> asyncio.AbstractEventLoop:
    with _lock:
        loop = _state["loop"]
        if _state["pid"] != os.getpid() or loop is None or not loop.is_running():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer-push", daemon=True).start()
            _state.update(pid=os.getpid(), loop=loop)
        return loop


def group_send_many(groups: Sequence[str], message: dict, *, timeout: float = 3.0) -> None:
    """Send one message to each group; raises if the channel layer does not take it within `timeout`.

    The groups are sent to side by side, and a failed one does not stop the others: with the layer spread over
    several Redis servers (CHANNEL_REDIS_URLS) each group lives on one of them, and a server that is down or hung
    must not keep the hint from the listeners on the servers that answer. The first failure is raised after all
    were tried, so the caller still counts the push as failed (and the sweep pushes it again)."""
    layer = get_channel_layer()

    async def send_all() -> None:
        results = await asyncio.gather(*(layer.group_send(group, dict(message)) for group in groups),
                                       return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    future = asyncio.run_coroutine_threadsafe(send_all(), _loop())
    try:
        future.result(timeout)
    except BaseException:
        future.cancel()  # a hung Redis must not leave sends piling up on the loop
        raise
