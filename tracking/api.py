"""Staff API: read stored website events (GET /api/events/)."""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.mixins import ListModelMixin

from crm.api import StaffGenericApiView
from crm.pagination import NewestFirst
from customers.models import Customer
from rooftops.audit import Kind, access_record
from rooftops.selectors import staff_access
from tracking.models import TrackedEvent


class EventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rooftop = serializers.IntegerField(source="rooftop_id")
    anonymous_id = serializers.CharField(source="visitor.anonymous_id")
    user_id = serializers.CharField(source="visitor.user_id")
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    message_id = serializers.CharField()
    type = serializers.CharField(help_text="track, page, identify, alias, screen or group")
    event = serializers.CharField(help_text="the event name of a track (ASC or CRM vocabulary), the page name of a page")
    occurred_at = serializers.DateTimeField(help_text="when it happened, corrected for the device's clock")
    received_at = serializers.DateTimeField()
    vin = serializers.CharField(help_text="the vehicle of the event, when its properties name one")
    properties = serializers.JSONField()
    traits = serializers.JSONField()
    context = serializers.JSONField()


def _int_param(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationError({name: "must be a whole number"}) from None


class EventListView(ListModelMixin, StaffGenericApiView):
    serializer_class = EventOutput
    pagination_class = NewestFirst

    @extend_schema(
        summary="Website events, newest first",
        description=(
            "Events the dealer websites sent to the collector, at the rooftops where you hold a role. "
            "Filter by the browser (`anonymous_id`) or the customer it was joined to (`customer`). "
            "A customer you cannot see is 404. Pages follow `next` (cursor pagination)."
        ),
        parameters=[
            OpenApiParameter("anonymous_id", OpenApiTypes.STR, description="the visitor's first-party id (crm_aid)"),
            OpenApiParameter("customer", OpenApiTypes.INT, description="customer id"),
            OpenApiParameter("rooftop", OpenApiTypes.INT, description="only this rooftop"),
            OpenApiParameter("event", OpenApiTypes.STR, description="event name, e.g. asc_item_pageview"),
            OpenApiParameter("type", OpenApiTypes.STR, description="message type, e.g. track"),
            OpenApiParameter("limit", OpenApiTypes.INT, description="page size (default 50, at most 200)"),
        ],
    )
    def get(self, request, *args, **kwargs):
        response = self.list(request, *args, **kwargs)
        events = getattr(self, "_page_events", [])
        if events:
            access_record(request, kind=Kind.EVENTS_API, rooftop_ids={e.rooftop_id for e in events}, rows=len(events),
                          object_ids=[e.id for e in events])
        return response

    def paginate_queryset(self, queryset):
        self._page_events = page = super().paginate_queryset(queryset)
        return page

    def get_queryset(self):
        access = staff_access(self.request.user)
        params = self.request.query_params
        events = TrackedEvent.objects.for_access(access).select_related("visitor")
        customer_id = _int_param(self.request, "customer")
        if customer_id is not None:
            if not Customer.objects.for_access(access).filter(id=customer_id).exists():
                raise Http404
            events = events.filter(customer_id=customer_id)
        rooftop_id = _int_param(self.request, "rooftop")
        if rooftop_id is not None:
            events = events.filter(rooftop_id=rooftop_id)
        if params.get("anonymous_id"):
            events = events.filter(visitor__anonymous_id=params["anonymous_id"][:100])
        if params.get("event"):
            events = events.filter(event=params["event"][:200])
        if params.get("type"):
            events = events.filter(type=params["type"][:10])
        return events
