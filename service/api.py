"""Staff API for service: repair orders (read, and open one: the customer's visit starts) and a customer's owned
vehicles (read). Equity is shown as `service.equity` decides it; what a customer owes on their loan is not sent."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from crm.api import CURSOR_PAGE_PARAMETERS, StaffApiView, StaffGenericApiView, replica_list
from crm.pagination import NewestFirst
from customers import selectors as customer_selectors
from customers.models import Customer
from rooftops.api_inputs import PersonOutput, id_field, person, rooftop_filter, rooftop_for_write
from rooftops.models import Role
from rooftops.audit import Kind as Read, access_record, access_record_rows, customer_rooftop_ids
from rooftops.selectors import staff_access
from rooftops.tenancy import get_scoped_or_404
from service import selectors
from service.equity import EquityPosition
from service.models import RepairOrder
from service.services import RepairOrderRefused, repair_order_open


class RepairOrderQuery(serializers.Serializer):
    rooftop = id_field(required=False)
    status = serializers.ChoiceField(choices=RepairOrder.Status.values, required=False)
    customer = id_field(required=False)
    opened_after = serializers.DateTimeField(required=False, help_text="ISO 8601; opened at or after.")
    opened_before = serializers.DateTimeField(required=False, help_text="ISO 8601; opened before.")


class EquityOutput(serializers.Serializer):
    position = serializers.ChoiceField(choices=[p.value for p in EquityPosition])
    equity_cents = serializers.IntegerField(allow_null=True, help_text="Trade value minus payoff; null if unknown.")
    label = serializers.CharField()


class OwnedVehicleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    vin = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    make = serializers.CharField()
    model = serializers.CharField()
    trim = serializers.CharField()
    mileage = serializers.IntegerField(allow_null=True)
    valued_at = serializers.DateTimeField(allow_null=True)
    equity = EquityOutput()


class RepairOrderLineOutput(serializers.Serializer):
    op_code = serializers.CharField(required=False)
    description = serializers.CharField(required=False)
    cents = serializers.IntegerField(required=False)


class RoVehicleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    vin = serializers.CharField()
    title = serializers.CharField()


class RepairOrderOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rooftop = serializers.IntegerField(source="rooftop_id")
    ro_number = serializers.CharField()
    customer = PersonOutput()
    vehicle = RoVehicleOutput(allow_null=True)
    advisor = PersonOutput(allow_null=True)
    status = serializers.CharField()
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    mileage_in = serializers.IntegerField(allow_null=True)
    total_cents = serializers.IntegerField()


class RepairOrderDetailOutput(RepairOrderOutput):
    lines = RepairOrderLineOutput(many=True)


def _ro_row(ro: RepairOrder, *, lines: bool = False) -> dict:
    row = {
        "id": ro.pk, "rooftop_id": ro.rooftop_id, "ro_number": ro.ro_number,
        "customer": {"id": ro.customer_id, "name": str(ro.customer)},
        "vehicle": None if ro.vehicle is None else {"id": ro.vehicle.pk, "vin": ro.vehicle.vin, "title": str(ro.vehicle)},
        "advisor": person(ro.advisor), "status": ro.status, "opened_at": ro.opened_at, "closed_at": ro.closed_at,
        "mileage_in": ro.mileage_in, "total_cents": ro.total_cents,
    }
    if lines:
        row["lines"] = [line for line in ro.lines if isinstance(line, dict)] if isinstance(ro.lines, list) else []
    return row


class RepairOrderLineInput(serializers.Serializer):
    op_code = serializers.CharField(max_length=20, allow_blank=True, default="")
    description = serializers.CharField(max_length=500, allow_blank=True, default="")
    cents = serializers.IntegerField(min_value=-10_000_000, max_value=100_000_000, default=0)


class RepairOrderInput(serializers.Serializer):
    rooftop = id_field(required=False)
    customer = id_field()
    ro_number = serializers.CharField(max_length=20)
    vehicle = id_field(required=False, help_text="One of the customer's owned vehicles.")
    mileage_in = serializers.IntegerField(min_value=0, max_value=2_000_000, required=False)
    promised_at = serializers.DateTimeField(required=False, help_text="ISO 8601; when the car should be ready.")
    lines = RepairOrderLineInput(many=True, required=False)


class RepairOrdersApi(StaffGenericApiView):
    pagination_class = NewestFirst

    @extend_schema(summary="Open a repair order (service advisors, managers): the customer's visit starts and, "
                           "when their car has a reason to trade or a sales lead is open, sales is told once",
                   request=RepairOrderInput, responses={201: RepairOrderDetailOutput}, tags=["service"])
    def post(self, request):
        payload = RepairOrderInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        access = staff_access(request.user)
        rooftop = rooftop_for_write(access, data.get("rooftop"), Role.SERVICE_ADVISOR, Role.MANAGER)
        customer = Customer.objects.for_access(access).filter(pk=data["customer"], known_at__rooftop=rooftop).first()
        if customer is None:
            raise ValidationError({"customer": ["No customer with this id is known at this rooftop."]})
        vehicle = None
        if data.get("vehicle"):
            vehicle = customer.vehicles.filter(pk=data["vehicle"]).first()
            if vehicle is None:
                raise ValidationError({"vehicle": ["Not one of this customer's vehicles."]})
        try:
            ro = repair_order_open(rooftop=rooftop, customer=customer, ro_number=data["ro_number"].strip(),
                                   vehicle=vehicle, mileage_in=data.get("mileage_in"), lines=data.get("lines"),
                                   promised_at=data.get("promised_at"), user=request.user)
        except RepairOrderRefused as exc:
            raise ValidationError({exc.field: [str(exc)]}) from None
        return Response(RepairOrderDetailOutput(_ro_row(ro, lines=True)).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Repair orders at your rooftops (cursor pages, newest first)",
                   parameters=[RepairOrderQuery, *CURSOR_PAGE_PARAMETERS],
                   responses=RepairOrderOutput(many=True), tags=["service"])
    @replica_list
    def get(self, request):
        query = RepairOrderQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        access = staff_access(request.user)
        ros = selectors.repair_orders_search(access=access, rooftop_id=rooftop_filter(access, data.pop("rooftop", None)),
                                             customer_id=data.pop("customer", None), **data)
        page = self.paginate_queryset(ros)
        access_record_rows(request, kind=Read.SERVICE_API, rows=page)
        return self.get_paginated_response(RepairOrderOutput([_ro_row(ro) for ro in page], many=True).data)


class RepairOrderDetailApi(StaffApiView):
    @extend_schema(summary="One repair order with its lines", responses=RepairOrderDetailOutput, tags=["service"])
    def get(self, request, repair_order_id: int):
        access = staff_access(request.user)
        ro = get_scoped_or_404(RepairOrder.objects.select_related("customer", "vehicle", "advisor__staff_profile"),
                               access, pk=repair_order_id)
        access_record_rows(request, kind=Read.SERVICE_API, rows=[ro])
        return Response(RepairOrderDetailOutput(_ro_row(ro, lines=True)).data)


class CustomerVehiclesApi(StaffApiView):
    @extend_schema(summary="The vehicles a customer owns, with their equity", responses=OwnedVehicleOutput(many=True),
                   tags=["service"])
    def get(self, request, customer_id: int):
        access = staff_access(request.user)
        customer = customer_selectors.customer_for_access(access=access, customer_id=customer_id)
        rows = [{
            "id": line.vehicle.pk, "vin": line.vehicle.vin, "year": line.vehicle.year, "make": line.vehicle.make,
            "model": line.vehicle.model, "trim": line.vehicle.trim, "mileage": line.vehicle.mileage,
            "valued_at": line.vehicle.valued_at,
            "equity": {"position": line.equity.position.value, "equity_cents": line.equity.equity_cents,
                       "label": line.equity.label},
        } for line in customer_selectors.vehicle_lines(customer)]
        access_record(request, kind=Read.SERVICE_API, rooftop_ids=customer_rooftop_ids(access, customer),
                      rows=len(rows), object_ids=[customer.pk])
        return Response(OwnedVehicleOutput(rows, many=True).data)
