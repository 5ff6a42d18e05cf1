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
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from alerts import audience
from alerts.frames import replay_frames, update_frame
from alerts.selectors import alerts_visible
from alerts.services import alerts_mark_seen
from rooftops.selectors import staff_access

REPLAY_BATCH = 100
CLOSE_UNAUTHENTICATED = 4401


class AlertFeedConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: list[str] = []
    after: int | None = None

    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Closing before accept answers the handshake with 403: no session, no feed.
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user = user
        self.access = await database_sync_to_async(staff_access)(user)
        self.groups_joined = audience.groups_for_access(self.access)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

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
            self.after = last
            if not more:
                return

    def _mark_seen(self, ids: list[int]) -> None:
        visible = set(alerts_visible(self.access).filter(id__in=ids).values_list("id", flat=True))
        alerts_mark_seen(alert_ids=ids, user=self.user, visible_ids=visible)
