"""What the live feed sends down a websocket: the alert id, the row HTML (the page's own partial) and JSON."""

from __future__ import annotations

from django.template.loader import render_to_string

from alerts.models import Alert
from alerts.selectors import alert_rows, alerts_replay, alerts_visible
from alerts.serializers import AlertOutput
from rooftops.tenancy import StaffAccess


def row_html(row) -> str:
    # No request here (a websocket frame): htmx sends the CSRF header from the page, so the forms need no token.
    return render_to_string("alerts/_alert_row.html", {"row": row, "csrf_token": "NOTPROVIDED"}).strip()


def _frame(kind: str, alert: Alert, row) -> dict:
    return {
        "type": kind,
        "id": alert.id,
        "parent_id": alert.parent_id,
        "root_id": row.alert.id,
        "html": row_html(row),
        "alert": AlertOutput(alert).data,
    }


def replay_frames(*, access: StaffAccess, after: int, limit: int = 100,
                  shown_roots: dict[int, int] | None = None) -> tuple[list[dict], int, bool]:
    """What happened after `after`, in id order, as frames; the id to resume after; whether more may wait.

    A new alert is an `alert` frame showing its row as it is now. Signals folded into an alert since are
    not rows of their own: each alert they changed gets one `update` frame (its current state, moved to the
    top, re-notifying only if one of them raised the priority), and none when its `alert` frame was just
    sent. `shown_roots` carries that memory across the batches of one catch-up: alert id → the newest
    follow-up its last rendered row already showed.
    """
    alerts = alerts_replay(access=access, after=after, limit=limit)
    if not alerts:
        return [], after, False
    shown = shown_roots if shown_roots is not None else {}
    folded: dict[int, list[Alert]] = {}
    for alert in alerts:
        if alert.parent_id:
            folded.setdefault(alert.parent_id, []).append(alert)
    # The first row of each alert in this batch that its last frame did not show yet stands for it.
    firsts: dict[int, Alert] = {}
    for alert in alerts:
        root_id = alert.parent_id or alert.id
        if root_id not in firsts and alert.id > shown.get(root_id, 0):
            firsts[root_id] = alert
    frames = []
    for alert, row in zip(firsts.values(), alert_rows(list(firsts.values()), viewer_id=access.user_id)):
        root = row.alert
        # What the rendered row already shows: its follow-ups as read just now, however new.
        shown[root.id] = max([root.id, *(f.id for f in row.follow_ups)])
        if not alert.parent_id:
            frames.append(_frame("alert", alert, row))
            continue
        signals = [f for f in folded[root.id] if f.id >= alert.id]
        frames.append({
            **_frame("update", root, row),
            "seq": signals[-1].id,  # never past what this catch-up read: the browser resumes after it
            "follow_up_ids": sorted({f.id for f in signals} | {f.id for f in row.follow_ups}),
            "moved": True,
            "renotify": any(f.priority_rose for f in signals),
        })
    read_up_to = alerts[-1].id
    return frames, read_up_to, len(alerts) >= limit


def update_frame(*, access: StaffAccess, alert_id: int) -> dict | None:
    """A root alert's row as it is now (claimed, snoozed, dismissed ...), if this person may see it."""
    alert = alerts_visible(access).select_related("rooftop", "customer", "vehicle").filter(pk=alert_id).first()
    if alert is None:
        return None
    row = alert_rows([alert], viewer_id=access.user_id)[0]
    return _frame("update", alert, row)
