"""Staff API for alerts: the replay by last seen id, and the one-click actions. Thin: services decide."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from alerts import audience, services
from alerts.selectors import alerts_replay, alerts_visible
from alerts.serializers import ActInput, AlertOutput, DismissInput, ReplayOutput, ReplayQuery, SnoozeInput
from crm.api import StaffApiView
from rooftops.audit import Kind as Read, access_record_rows
from rooftops.models import Role
from rooftops.selectors import staff_access
from rooftops.tenancy import get_scoped_or_404

WEBSOCKET_DOC = """
**Live delivery: the websocket at `/ws/alerts/`.** Authenticate with the browser session (an `Origin` header of
an allowed host is required) or an API token (`?token=<key>` or `Authorization: Token <key>`; no Origin needed).
Anonymous connections are refused (HTTP 403 at the handshake, or close code 4401 for a bad token).

On every (re)connect send `{"type": "resume", "after": <last alert id you have>}`. The server first replays every
alert addressed to you with a larger id, in id order, then streams new ones as they are committed; on one
connection each id is sent once and in order. Delivery is at least once across reconnects: de-duplicate by
`id` (the push is only a hint; this endpoint, `GET /api/alerts/?after=`, returns the same rows).

Frames from the server:

* `{"type": "alert", "id", "parent_id", "root_id", "html", "alert": <Alert>}`: a new alert, or a follow-up signal
  grouped under alert `parent_id` (then `html` is the parent's updated row). `html` is the feed's row partial.
* `{"type": "update", "id", "parent_id", "root_id", "html", "alert"}`: an alert changed (claimed, acted on,
  snoozed, dismissed, expired). Not replayed: reload `GET /api/alerts/{id}` state from the list if needed.
* `{"type": "notification", ...}`: a notice for you from another part of the CRM (e.g. a lead routed to you).
* `{"type": "pong"}` answers `{"type": "ping"}`; `{"type": "error", "error"}` answers a malformed message.

Other client messages: `{"type": "seen", "ids": [...]}` marks alerts you had on screen as seen.

Who receives what: an alert is addressed to the salesperson on the customer's open lead (if any) and to the
store's BDC feed (the sales floor where the store has no BDC); service-lane alerts (a service customer with
equity, a service form) go to the service advisors. Managers see every alert of their stores.
"""

FRAME_EXAMPLE = OpenApiExample(
    "Websocket frame (server → client)",
    value={
        "type": "alert", "id": 1042, "parent_id": None, "root_id": 1042,
        "html": "<article id=\"alert-1042\" class=\"alert-row alert-p3 state-new\">…</article>",
        "alert": {"id": 1042, "kind": "repeat_vdp_views", "priority": 3, "priority_label": "High", "state": "new",
                  "reasons": ["Viewed the 2024 Toyota RAV4 XLE (stock T1234) 4 times in the last 48 hours"],
                  "suggested_next_step": "Call now: ask if they want to see the RAV4 today"},
    },
    response_only=True,
)


def _error(exc: services.AlertActionError) -> Response:
    code = status.HTTP_409_CONFLICT if isinstance(exc, services.AlertConflict) else status.HTTP_400_BAD_REQUEST
    return Response({"detail": str(exc)}, status=code)


class AlertReplayView(StaffApiView):
    @extend_schema(
        summary="Alerts for me after a given id (the replay), oldest first",
        description="Every alert (and follow-up) addressed to you, to your team feeds, or at the stores you manage, "
                    "with an id larger than `after`, in id order.\n" + WEBSOCKET_DOC,
        parameters=[
            OpenApiParameter("after", OpenApiTypes.INT, description="Last alert id you have (0 for all).", default=0),
            OpenApiParameter("limit", OpenApiTypes.INT, description="At most this many (1–500).", default=100),
        ],
        responses={200: ReplayOutput, 400: OpenApiResponse(description="`after` or `limit` is not valid.")},
        examples=[FRAME_EXAMPLE],
        tags=["alerts"],
    )
    def get(self, request):
        query = ReplayQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        access = staff_access(request.user)
        after, limit = query.validated_data["after"], query.validated_data["limit"]
        alerts = alerts_replay(access=access, after=after, limit=limit + 1)
        page = alerts[:limit]
        access_record_rows(request, kind=Read.ALERTS_API, rows=page)
        return Response(ReplayOutput({
            "results": page, "last_id": page[-1].id if page else after, "has_more": len(alerts) > limit,
        }).data)


class _AlertActionView(StaffApiView):
    input_serializer = None

    def alert(self, request, alert_id: int):
        access = staff_access(request.user)
        return access, get_scoped_or_404(alerts_visible(access), access, pk=alert_id)

    def respond(self, call) -> Response:
        try:
            alert = call()
        except services.AlertActionError as exc:
            return _error(exc)
        return Response(AlertOutput(alert).data)


_ACTION_RESPONSES = {
    200: AlertOutput,
    400: OpenApiResponse(description="The request is not valid; `detail` or the field errors say why."),
    404: OpenApiResponse(description="No such alert for you (missing and another store's are the same)."),
    409: OpenApiResponse(description="The alert moved on: claimed by a colleague, dismissed or expired."),
}


class AlertClaimView(_AlertActionView):
    @extend_schema(request=None, responses=_ACTION_RESPONSES, tags=["alerts"],
                   summary="Claim an alert (a manager may take over a colleague's)")
    def post(self, request, alert_id: int):
        access, alert = self.alert(request, alert_id)
        return self.respond(lambda: services.alert_claim(
            alert=alert, user=request.user, is_manager=access.has_role(alert.rooftop_id, Role.MANAGER)))


class AlertActView(_AlertActionView):
    @extend_schema(request=ActInput, responses=_ACTION_RESPONSES, tags=["alerts"],
                   summary="Log a call, text or email to the shopper (timeline entry; alert becomes acted on)")
    def post(self, request, alert_id: int):
        access, alert = self.alert(request, alert_id)
        data = ActInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self.respond(lambda: services.alert_act(
            alert=alert, user=request.user, channel=data.validated_data["channel"],
            note=data.validated_data["note"], department=audience.timeline_department(access, alert.rooftop_id)))


class AlertSnoozeView(_AlertActionView):
    @extend_schema(request=SnoozeInput, responses=_ACTION_RESPONSES, tags=["alerts"],
                   summary="Hide an alert from the feed until a time (at most 7 days)")
    def post(self, request, alert_id: int):
        _, alert = self.alert(request, alert_id)
        data = SnoozeInput(data=request.data)
        data.is_valid(raise_exception=True)
        until = data.validated_data.get("until") or timezone.now() + timedelta(minutes=data.validated_data["minutes"])
        return self.respond(lambda: services.alert_snooze(alert=alert, user=request.user, until=until))


class AlertDismissView(_AlertActionView):
    @extend_schema(request=DismissInput, responses=_ACTION_RESPONSES, tags=["alerts"],
                   summary="Dismiss an alert with a reason")
    def post(self, request, alert_id: int):
        _, alert = self.alert(request, alert_id)
        data = DismissInput(data=request.data)
        data.is_valid(raise_exception=True)
        return self.respond(lambda: services.alert_dismiss(
            alert=alert, user=request.user, reason=data.validated_data["reason"], note=data.validated_data["note"]))
