"""Staff API for the customer story: detail, timeline pages, search, and adding a note."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from crm.idempotency import StaffApiView

from crm.pagination import page_number
from customers import selectors, services
from rooftops.audit import Kind, access_record, customer_rooftop_ids
from rooftops.selectors import staff_access


class TimelineEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    kind = serializers.CharField()
    department = serializers.CharField()
    rooftop_id = serializers.IntegerField(allow_null=True)
    direction = serializers.CharField()
    summary = serializers.CharField()
    body = serializers.CharField()
    lead_id = serializers.IntegerField(allow_null=True)
    actor_id = serializers.IntegerField(allow_null=True)
    detail = serializers.JSONField()


class TimelineOutput(serializers.Serializer):
    entries = TimelineEntryOutput(many=True)
    next_cursor = serializers.CharField()


class ConsentOutput(serializers.Serializer):
    channel = serializers.CharField()
    purpose = serializers.CharField()
    granted = serializers.BooleanField(allow_null=True)
    recorded_at = serializers.DateTimeField(allow_null=True)


class CustomerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    emails = serializers.ListField(child=serializers.CharField())
    phones = serializers.ListField(child=serializers.CharField())
    consent = ConsentOutput(many=True)
    merged_into_id = serializers.IntegerField(allow_null=True)


class SearchHitOutput(serializers.Serializer):
    id = serializers.IntegerField(source="customer.id")
    name = serializers.CharField(source="customer.full_name")
    score = serializers.FloatField()
    matched = serializers.CharField()
    phone = serializers.CharField()
    email = serializers.CharField()


class SearchOutput(serializers.Serializer):
    results = SearchHitOutput(many=True)
    total = serializers.IntegerField()
    page = serializers.IntegerField()
    has_next = serializers.BooleanField()


class NoteInput(serializers.Serializer):
    text = serializers.CharField(max_length=5000)


class CustomerDetailApi(StaffApiView):
    @extend_schema(responses=CustomerOutput, summary="A customer known at your rooftops")
    def get(self, request, customer_id: int):
        access = staff_access(request.user)
        customer = selectors.customer_for_access(access=access, customer_id=customer_id)
        consent, _ = selectors.consent_lines(customer)
        access_record(request, kind=Kind.CUSTOMER_API, rooftop_ids=customer_rooftop_ids(access, customer), rows=1,
                      object_ids=[customer.pk])
        data = {
            "id": customer.pk, "first_name": customer.first_name, "last_name": customer.last_name,
            "emails": list(customer.emails.order_by("-is_primary", "id").values_list("email", flat=True)),
            "phones": list(customer.phones.order_by("-is_primary", "id").values_list("e164", flat=True)),
            "consent": [c.__dict__ for c in consent], "merged_into_id": customer.merged_into_id,
        }
        return Response(CustomerOutput(data).data)


class CustomerTimelineApi(StaffApiView):
    @extend_schema(
        responses=TimelineOutput, summary="One page of the customer's timeline, newest first",
        parameters=[OpenApiParameter("cursor", str), OpenApiParameter("kind", str, many=True),
                    OpenApiParameter("department", str, many=True)],
    )
    def get(self, request, customer_id: int):
        access = staff_access(request.user)
        customer = selectors.customer_for_access(access=access, customer_id=customer_id)
        page = selectors.timeline_page(
            customer=customer, access=access, cursor=request.query_params.get("cursor", ""),
            kinds=request.query_params.getlist("kind"), departments=request.query_params.getlist("department"),
        )
        access_record(request, kind=Kind.CUSTOMER_API, rooftop_ids=customer_rooftop_ids(access, customer),
                      rows=len(page.entries), object_ids=[customer.pk])
        return Response(TimelineOutput({"entries": page.entries, "next_cursor": page.next_cursor}).data)


class CustomerSearchApi(StaffApiView):
    @extend_schema(responses=SearchOutput, summary="Search customers by name, phone, email, VIN or stock number",
                   parameters=[OpenApiParameter("q", str), OpenApiParameter("page", int)])
    def get(self, request):
        access = staff_access(request.user)
        page = page_number(request.query_params.get("page"))
        results = selectors.customer_search(access=access, query=request.query_params.get("q", ""), page=page)
        if results.hits:
            access_record(request, kind=Kind.CUSTOMER_SEARCH, rooftop_ids=access.rooftop_ids,
                          rows=len(results.hits), object_ids=[hit.customer.pk for hit in results.hits])
        return Response(SearchOutput({"results": results.hits, "total": results.total, "page": results.page,
                                      "has_next": results.has_next}).data)


class CustomerNoteApi(StaffApiView):
    @extend_schema(request=NoteInput, responses={201: TimelineEntryOutput}, summary="Add a note to the customer's timeline")
    def post(self, request, customer_id: int):
        access = staff_access(request.user)
        customer = selectors.customer_for_access(access=access, customer_id=customer_id)
        payload = NoteInput(data=request.data)
        payload.is_valid(raise_exception=True)
        rooftop = services.rooftop_for_action(customer=customer, rooftop_ids=sorted(access.rooftop_ids))
        try:
            entry = services.note_add(customer=customer, rooftop=rooftop, user=request.user, text=payload.validated_data["text"])
        except services.ActionRefused as exc:
            return Response({"detail": str(exc)}, status=422)
        return Response(TimelineEntryOutput(entry).data, status=status.HTTP_201_CREATED)
