"""Staff API for webhooks (managers only): endpoints of the stores you manage, their delivery log, redeliver.

Writes go through rooftops.webhooks. The secret is in the answer to a create or a rotation only. An endpoint or
delivery at a store you do not manage is the same 404 as a missing one.
"""

from __future__ import annotations

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from crm.api import CURSOR_PAGE_PARAMETERS, StaffApiView, StaffGenericApiView
from crm.pagination import NewestFirst
from rooftops.api_inputs import id_field, rooftop_filter, rooftop_for_write
from rooftops.models import Role, WebhookDelivery, WebhookEndpoint, WebhookEvent
from rooftops.selectors import staff_access
from rooftops.tenancy import StaffAccess
from rooftops.webhooks import (
    WebhookRefused, webhook_delivery_redeliver, webhook_endpoint_create, webhook_endpoint_delete,
    webhook_endpoint_rotate_secret, webhook_endpoint_set_active, webhook_endpoint_update,
)

TAGS = ["webhooks"]


class EndpointOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rooftop = serializers.IntegerField(source="rooftop_id")
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    active = serializers.BooleanField()
    disabled_at = serializers.DateTimeField(allow_null=True)
    disabled_reason = serializers.CharField()
    failing_since = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    secret_rotated_at = serializers.DateTimeField(allow_null=True)


class EndpointCreatedOutput(EndpointOutput):
    secret = serializers.CharField(help_text="The signing secret: shown in this answer only.")


class SecretOutput(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret: shown in this answer only; the old one is gone.")


class EndpointInput(serializers.Serializer):
    rooftop = id_field(required=False, help_text="Create only; required when you manage more than one rooftop.")
    url = serializers.CharField(max_length=1000, help_text="HTTPS, on a public host.")
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.values), min_length=1,
                                   max_length=len(WebhookEvent.values))
    description = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    active = serializers.BooleanField(required=False, help_text="Update only: turn the endpoint off or on again.")


class EndpointQuery(serializers.Serializer):
    rooftop = id_field(required=False)


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    endpoint = serializers.IntegerField(source="endpoint_id")
    event = serializers.CharField()
    object_key = serializers.CharField()
    payload = serializers.JSONField()
    status = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    redelivery_of = serializers.IntegerField(source="redelivery_of_id", allow_null=True)


def _managed(access: StaffAccess) -> frozenset[int]:
    managed = access.rooftops_with_role(Role.MANAGER)
    if not managed:
        raise PermissionDenied("Only managers may see or change webhooks.")
    return managed


def _endpoint(request, webhook_id: int) -> WebhookEndpoint:
    access = staff_access(request.user)
    endpoint = WebhookEndpoint.objects.for_rooftops(access.rooftops_with_role(Role.MANAGER)).filter(pk=webhook_id).first()
    if endpoint is None:
        raise Http404
    return endpoint


def _refused(exc: WebhookRefused) -> ValidationError:
    return ValidationError({exc.field or "non_field_errors": [exc.reason]})


class WebhookEndpointsApi(StaffGenericApiView):
    pagination_class = NewestFirst

    @extend_schema(summary="Webhook endpoints of the rooftops you manage (cursor pages, newest first)",
                   parameters=[EndpointQuery, *CURSOR_PAGE_PARAMETERS], responses=EndpointOutput(many=True), tags=TAGS)
    def get(self, request):
        query = EndpointQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        access = staff_access(request.user)
        managed = _managed(access)
        wanted = rooftop_filter(access, query.validated_data.get("rooftop"))
        endpoints = WebhookEndpoint.objects.for_rooftops(managed if wanted is None else managed & {wanted})
        page = self.paginate_queryset(endpoints)
        return self.get_paginated_response(EndpointOutput(page, many=True).data)

    @extend_schema(summary="Register an endpoint (managers); the answer carries its signing secret, once",
                   request=EndpointInput, responses={201: EndpointCreatedOutput}, tags=TAGS)
    def post(self, request):
        access = staff_access(request.user)
        _managed(access)
        payload = EndpointInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if "active" in data:
            raise ValidationError({"active": ["A new endpoint is active; turn it off afterwards if you must."]})
        rooftop = rooftop_for_write(access, data.get("rooftop"), Role.MANAGER)
        try:
            endpoint, secret = webhook_endpoint_create(rooftop=rooftop, url=data["url"], events=data["events"],
                                                       description=data["description"], user=request.user)
        except WebhookRefused as exc:
            raise _refused(exc) from None
        return Response({**EndpointOutput(endpoint).data, "secret": secret}, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailApi(StaffApiView):
    @extend_schema(summary="One webhook endpoint", responses=EndpointOutput, tags=TAGS)
    def get(self, request, webhook_id: int):
        return Response(EndpointOutput(_endpoint(request, webhook_id)).data)

    @extend_schema(summary="Change an endpoint's URL, events or description, or turn it off or on",
                   request=EndpointInput(partial=True), responses=EndpointOutput, tags=TAGS)
    def patch(self, request, webhook_id: int):
        endpoint = _endpoint(request, webhook_id)
        payload = EndpointInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        if "rooftop" in data:
            raise ValidationError({"rooftop": ["An endpoint stays at its rooftop."]})
        active = data.pop("active", None)
        try:
            if data:
                endpoint = webhook_endpoint_update(endpoint=endpoint, **data)
        except WebhookRefused as exc:
            raise _refused(exc) from None
        if active is not None:
            endpoint = webhook_endpoint_set_active(endpoint=endpoint, active=active, user=request.user)
        return Response(EndpointOutput(endpoint).data)

    @extend_schema(summary="Delete an endpoint and its delivery log", responses={204: OpenApiResponse(description="Deleted")},
                   tags=TAGS)
    def delete(self, request, webhook_id: int):
        webhook_endpoint_delete(endpoint=_endpoint(request, webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretApi(StaffApiView):
    @extend_schema(summary="Rotate the signing secret: the new one is in this answer only, the old one is gone",
                   request=None, responses={200: SecretOutput}, tags=TAGS)
    def post(self, request, webhook_id: int):
        secret = webhook_endpoint_rotate_secret(endpoint=_endpoint(request, webhook_id))
        return Response({"secret": secret})


class WebhookDeliveriesApi(StaffGenericApiView):
    pagination_class = NewestFirst

    @extend_schema(summary="An endpoint's deliveries (cursor pages, newest first)", parameters=CURSOR_PAGE_PARAMETERS,
                   responses=DeliveryOutput(many=True), tags=TAGS)
    def get(self, request, webhook_id: int):
        endpoint = _endpoint(request, webhook_id)
        deliveries = WebhookDelivery.objects.for_rooftops([endpoint.rooftop_id]).filter(endpoint=endpoint)
        page = self.paginate_queryset(deliveries)
        return self.get_paginated_response(DeliveryOutput(page, many=True).data)


class WebhookRedeliverApi(StaffApiView):
    @extend_schema(summary="Send a delivery again, as a new delivery (new X-CRM-Delivery id)", request=None,
                   responses={201: DeliveryOutput}, tags=TAGS)
    def post(self, request, webhook_id: int, delivery_id: int):
        endpoint = _endpoint(request, webhook_id)
        delivery = (WebhookDelivery.objects.for_rooftops([endpoint.rooftop_id])
                    .filter(endpoint=endpoint, pk=delivery_id).first())
        if delivery is None:
            raise Http404
        copy = webhook_delivery_redeliver(delivery=delivery)
        return Response(DeliveryOutput(copy).data, status=status.HTTP_201_CREATED)
