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


def replay_frames(*, access: StaffAccess, after: int, limit: int = 100) -> tuple[list[dict], int]:
    """Alerts after `after` in id order as frames, and the id to resume after next time."""
    alerts = alerts_replay(access=access, after=after, limit=limit)
    if not alerts:
        return [], after
    rows = alert_rows(alerts, viewer_id=access.user_id)
    frames = [_frame("alert", alert, row) for alert, row in zip(alerts, rows)]
    return frames, alerts[-1].id


def update_frame(*, access: StaffAccess, alert_id: int) -> dict | None:
    """A root alert's row as it is now (claimed, snoozed, dismissed ...), if this person may see it."""
    alert = alerts_visible(access).select_related("rooftop", "customer", "vehicle").filter(pk=alert_id).first()
    if alert is None:
        return None
    row = alert_rows([alert], viewer_id=access.user_id)[0]
    return _frame("update", alert, row)
