"""The live feed's websocket: membership and delivery only.

Protocol (also described in the OpenAPI schema under GET /api/alerts/):
  client → {"type": "resume", "after": <last alert id seen>}   on every (re)connect; replays what was missed
  client → {"type": "seen", "ids": [...]}                     alerts that were on screen (new → seen)
  client → {"type": "ping"}                                   answered with {"type": "pong"}
  server → {"type": "alert", "id", "parent_id", "root_id", "html", "alert"}   a new alert, in id order, each once
  server → {"type": "update", "id", "root_id", "html", "alert"}   a row changed (claimed, snoozed, dismissed ...)
           with "seq", "follow_up_ids", "moved": true and "renotify" when signals folded into it (one shopper,
           one row: the row moves to the top; sound and notification only if "renotify", the priority rose)
  server → {"type": "notification", ...}                      other apps' notices (e.g. a lead was routed to you)

The channel-layer push is only a hint: on each hint the consumer reads "id > last sent" from PostgreSQL, so a
frame is never skipped or sent twice on one connection, and a reconnecting client loses nothing.

A feed whose channel layer failed would stay open and silent (Redis hung, restarted without its group
memberships, or the receive loop gone), so every ALERT_FEED_LIVENESS_SECONDS the consumer sends itself a probe
through a group it joined with its others; when the probe does not come back in time it closes with 1011 and
the browser reconnects and replays by id. With the layer spread over several Redis servers there is one probe
group on each server that holds one of the feed's groups: a server that restarted empty loses exactly the
memberships it held, and only a probe through that server notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from alerts import audience
from alerts.frames import replay_frames, update_frame
from alerts.selectors import alerts_visible
from alerts.services import alerts_mark_seen
from rooftops.audit import Kind as Read, Reader, access_record_by
from rooftops.selectors import staff_access

logger = logging.getLogger(__name__)

REPLAY_BATCH = 100
CLOSE_UNAUTHENTICATED = 4401
CLOSE_LAYER_FAILED = 1011  # "internal error": the browser reconnects (with backoff) and replays by id
LAYER_TIMEOUT_SECONDS = 3.0  # one channel-layer call, or a probe's round trip


def probe_groups_for(layer, groups: list[str]) -> list[str]:
    """Private probe group names, one on each channel-layer server that holds one of `groups`.

    channels-redis places a group by a hash of its name; random names are drawn until each needed server has one
    (a couple of draws for two servers). One server: one name, as before."""
    place = getattr(layer, "consistent_hash", None)
    if place is None:
        return [f"feed-live-{uuid.uuid4().hex}"]
    needed = {place(group) for group in groups} or {0}
    probes: dict[int, str] = {}
    while not needed <= probes.keys():
        name = f"feed-live-{uuid.uuid4().hex}"
        if place(name) in needed:
            probes.setdefault(place(name), name)
    return [probes[server] for server in sorted(needed)]


class AlertFeedConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str] = []
    after: int | None = None
    _watcher: asyncio.Task | None = None
    _closed = False

    async def close(self, code=None, reason=None):
        self._closed = True
        await super().close(code=code, reason=reason)

    async def send(self, text_data=None, bytes_data=None, close=False):
        # A hint can arrive between our close (the liveness probe failed) and the disconnect that removes us from
        # the groups; the ASGI server refuses a send after close with an error, and the browser replays anyway.
        if not self._closed:
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Closing before accept answers the handshake with 403: no session, no feed.
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.access = await database_sync_to_async(staff_access)(user)
        audience_groups = audience.groups_for_access(self.access)
        self.probe_groups = probe_groups_for(self.channel_layer, audience_groups)
        self._probes_back = asyncio.Event()
        self._probes_pending: set[tuple[int, str]] = set()
        self._probe_nonce = 0
        self.groups_joined = [*audience_groups, *self.probe_groups]
        try:
            for group in self.groups_joined:
                await asyncio.wait_for(self.channel_layer.group_add(group, self.channel_name), LAYER_TIMEOUT_SECONDS)
        except Exception:  # noqa: BLE001 - Redis down or hung: refuse now, the browser retries with backoff
            logger.warning("alert feed refused: the channel layer did not answer")
            await self.close(code=CLOSE_LAYER_FAILED)
            return
        await self.accept()
        self._watcher = asyncio.create_task(self._watch_layer())

    async def disconnect(self, code):
        if self._watcher is not None:
            self._watcher.cancel()
        for group in self.groups_joined:
            with contextlib.suppress(Exception):  # Redis may be the reason we are closing
                await asyncio.wait_for(self.channel_layer.group_discard(group, self.channel_name),
                                       LAYER_TIMEOUT_SECONDS)

    async def _watch_layer(self):
        """Probe the subscription every ALERT_FEED_LIVENESS_SECONDS; close with 1011 when it no longer works."""
        while True:
            await asyncio.sleep(settings.ALERT_FEED_LIVENESS_SECONDS)
            if not await self._probe():
                logger.info("alert feed closed: its channel-layer subscription stopped answering")
                await self.close(code=CLOSE_LAYER_FAILED)
                return

    async def _probe(self) -> bool:
        self._probe_nonce += 1
        self._probes_back.clear()
        self._probes_pending = {(self._probe_nonce, group) for group in self.probe_groups}
        try:
            async with asyncio.timeout(LAYER_TIMEOUT_SECONDS):
                for group in self.probe_groups:
                    await self.channel_layer.group_send(
                        group, {"type": "feed.probe", "nonce": self._probe_nonce, "group": group})
                await self._probes_back.wait()
        except Exception:  # noqa: BLE001 - timeout, refused connection, lost membership: all the same to us
            return False
        return True

    async def feed_probe(self, event):
        self._probes_pending.discard((event.get("nonce"), event.get("group")))
        if not self._probes_pending:
            self._probes_back.set()

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "resume":
            after = content.get("after", 0)
            if isinstance(after, bool) or not isinstance(after, int) or after < 0:
                await self.send_json({"type": "error", "error": "resume needs `after`: the last alert id seen (0 for all)"})
                return
            self.after = after
            await self._catch_up()
        elif kind == "seen":
            if self.scope.get("token_read_only"):
                return  # a read-only API token changes nothing, not even an alert's seen mark
            ids = content.get("ids")
            if isinstance(ids, list) and all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
                await database_sync_to_async(self._mark_seen)(ids[:200])
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "error": "unknown message type; expected resume, seen or ping"})

    # --- channel layer events ---------------------------------------------------------------

    async def alert_hint(self, event):
        """A new alert (or follow-up) was committed: send everything after what this connection has sent."""
        if self.after is None or event.get("id", 0) <= self.after:
            return
        await self._catch_up()

    async def alert_changed(self, event):
        frame = await database_sync_to_async(update_frame)(access=self.access, alert_id=event["id"])
        if frame is not None:
            await self.send_json(frame)

    async def notify(self, event):
        """Notices from other apps to `user-<id>` (lead routing); forwarded for the browser to show."""
        await self.send_json({**{k: v for k, v in event.items() if k != "type"}, "type": "notification"})

    # --- helpers ------------------------------------------------------------------------------

    async def _catch_up(self):
        shown_roots: dict[int, int] = {}  # one frame per alert per catch-up, however many signals folded in
        while True:
            frames, last, more = await database_sync_to_async(replay_frames)(
                access=self.access, after=self.after, limit=REPLAY_BATCH, shown_roots=shown_roots)
            for frame in frames:
                await self.send_json(frame)
            if frames:
                await database_sync_to_async(self._record_shown)(frames)
            self.after = last
            if not more:
                return

    def _record_shown(self, frames: list[dict]) -> None:
        """The access log gets the rows this connection showed, after they went out (a record never delays a
        frame). A row re-rendered in place (claimed, snoozed) was already recorded when it was first shown."""
        shown = [frame["alert"] for frame in frames]
        access_record_by(Reader.of_scope(self.scope), kind=Read.ALERT_FEED, rows=len(shown),
                         rooftop_ids={a["rooftop_id"] for a in shown},
                         object_ids=list(dict.fromkeys(a["customer"]["id"] for a in shown if a.get("customer"))))

    def _mark_seen(self, ids: list[int]) -> None:
        visible = set(alerts_visible(self.access).filter(id__in=ids).values_list("id", flat=True))
        alerts_mark_seen(alert_ids=ids, user=self.user, visible_ids=visible)
