"""Staff API for leads and inventory. Thin: reads through `leads.selectors`, writes through `leads.services` and
`leads.inventory`; every lead shown is recorded in the access log."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from crm.api import CURSOR_PAGE_PARAMETERS, StaffApiView, StaffGenericApiView, replica_list
from crm.pagination import NewestFirst
from customers.contact import InvalidContact, normalize_phone
from customers.api import TimelineEntryOutput
from leads import inventory, selectors
from leads.services import LeadError
from leads.services.actions import ACTIVITY_KINDS, lead_assign, lead_claim, lead_log_activity, lead_set_status
from leads.services.new_leads import lead_create
from leads.models import InventoryVehicle, Lead
from leads.vin import InvalidVin
from rooftops.api_inputs import PersonOutput, id_field, person, rooftop_filter, rooftop_for_write
from rooftops.audit import Kind as Read, access_record_rows
from rooftops.models import Role
from rooftops.selectors import staff_access
from rooftops.tenancy import get_scoped_or_404

# --------------------------------------------------------------------------- leads


class LeadQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=["all", "open", *Lead.Status.values], default="all",
                                     help_text="A status, `open` (new, working, appointment set, shown) or `all`.")
    source = serializers.ChoiceField(choices=Lead.Source.values, required=False)
    assigned_to = serializers.RegexField(r"^(me|pool|[1-9][0-9]{0,17})$", required=False,
                                         error_messages={"invalid": "Use a user id, `me` or `pool` (unassigned)."},
                                         help_text="A user id, `me`, or `pool` for unassigned leads.")
    rooftop = id_field(required=False)
    created_after = serializers.DateTimeField(required=False, help_text="ISO 8601; leads received at or after.")
    created_before = serializers.DateTimeField(required=False, help_text="ISO 8601; leads received before.")
    q = serializers.CharField(required=False, max_length=100, help_text="Name, email, phone digits or vehicle.")

    def validate(self, data):
        after, before = data.get("created_after"), data.get("created_before")
        if after and before and before <= after:
            raise ValidationError({"created_before": ["Must be after created_after."]})
        return data


class LeadVehicleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    stock_number = serializers.CharField()
    vin = serializers.CharField()


class LeadOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rooftop = serializers.IntegerField(source="rooftop_id")
    customer = PersonOutput()
    source = serializers.CharField()
    provider = serializers.CharField()
    status = serializers.CharField()
    lost_reason = serializers.CharField()
    assigned_to = PersonOutput(allow_null=True)
    vehicle = LeadVehicleOutput(allow_null=True)
    vehicle_description = serializers.CharField()
    created_at = serializers.DateTimeField()
    status_changed_at = serializers.DateTimeField(allow_null=True)


class ClockOutput(serializers.Serializer):
    running = serializers.BooleanField()
    owner = PersonOutput(allow_null=True)
    urgent = serializers.BooleanField()
    started_at = serializers.DateTimeField()
    opens_at = serializers.DateTimeField(allow_null=True, help_text="Started while closed: counts from this opening.")
    warn_at = serializers.DateTimeField(allow_null=True)
    deadline_at = serializers.DateTimeField()
    seconds_left = serializers.IntegerField(allow_null=True, help_text="Until the deadline (negative: overdue); "
                                                                       "null once stopped.")
    hops = serializers.IntegerField()
    stopped_at = serializers.DateTimeField(allow_null=True)
    stop_reason = serializers.CharField()


class SpeedStepOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)
    seconds_after_created = serializers.FloatField(allow_null=True)


class SpeedToLeadOutput(serializers.Serializer):
    created_at = serializers.DateTimeField()
    assigned_at = serializers.DateTimeField(allow_null=True)
    first_response_at = serializers.DateTimeField(allow_null=True, help_text="The automated first response.")
    first_attempt_at = serializers.DateTimeField(allow_null=True, help_text="The first human call, text or email.")
    first_contact_at = serializers.DateTimeField(allow_null=True, help_text="The customer answered.")
    deadline_at = serializers.DateTimeField(allow_null=True, help_text="The response clock's deadline.")
    steps = SpeedStepOutput(many=True)
    clock = ClockOutput(allow_null=True)


class LeadDetailOutput(LeadOutput):
    comments = serializers.CharField()
    trade_in = serializers.JSONField()
    sold_at = serializers.DateTimeField(allow_null=True)
    speed_to_lead = SpeedToLeadOutput()
    warnings = serializers.ListField(child=serializers.CharField(), required=False)


def _lead_row(lead: Lead) -> dict:
    vehicle = lead.vehicle
    return {
        "id": lead.pk, "rooftop_id": lead.rooftop_id,
        "customer": {"id": lead.customer_id, "name": str(lead.customer)}, "source": lead.source,
        "provider": lead.provider, "status": lead.status, "lost_reason": lead.lost_reason,
        "assigned_to": person(lead.assigned_to),
        "vehicle": None if vehicle is None else {"id": vehicle.pk, "title": vehicle.title,
                                                 "stock_number": vehicle.stock_number, "vin": vehicle.vin},
        "vehicle_description": lead.vehicle_description, "created_at": lead.created_at,
        "status_changed_at": lead.status_changed_at,
    }


def _lead_detail(lead: Lead, *, warnings: tuple[str, ...] = ()) -> dict:
    now = timezone.now()
    clock = getattr(lead, "clock", None)
    clock_data = None
    if clock is not None:
        clock_data = {
            "running": clock.running, "owner": person(clock.owner), "urgent": clock.urgent,
            "started_at": clock.started_at, "opens_at": clock.opens_at, "warn_at": clock.warn_at,
            "deadline_at": clock.deadline_at,
            "seconds_left": int((clock.deadline_at - now).total_seconds()) if clock.running else None,
            "hops": clock.hops, "stopped_at": clock.stopped_at, "stop_reason": clock.stop_reason,
        }
    steps = [{"key": s.key, "label": s.label, "at": s.at,
              "seconds_after_created": None if s.after is None else s.after.total_seconds()}
             for s in selectors.speed_to_lead_steps(lead)]
    return {
        **_lead_row(lead), "comments": lead.comments, "trade_in": lead.trade_in, "sold_at": lead.sold_at,
        "speed_to_lead": {
            "created_at": lead.created_at, "assigned_at": lead.assigned_at, "first_response_at": lead.first_response_at,
            "first_attempt_at": lead.first_attempt_at, "first_contact_at": lead.first_contact_at,
            "deadline_at": clock.deadline_at if clock else None, "steps": steps, "clock": clock_data,
        },
        "warnings": list(warnings),
    }


def _fetch_lead(request, lead_id: int) -> Lead:
    access = staff_access(request.user)
    return get_scoped_or_404(
        Lead.objects.select_related("rooftop", "customer", "vehicle", "assigned_to__staff_profile",
                                    "clock__owner__staff_profile"), access, pk=lead_id)


def _shown(request, lead: Lead, *, code: int = status.HTTP_200_OK, warnings: tuple[str, ...] = ()) -> Response:
    """A lead's detail as the answer, recorded as a read of its customer."""
    lead = _fetch_lead(request, lead.pk)  # as stored now, with its clock
    access_record_rows(request, kind=Read.LEADS_API, rows=[lead])
    return Response(LeadDetailOutput(_lead_detail(lead, warnings=warnings)).data, status=code)


def _refused(exc: Exception) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)


class LeadCreateInput(serializers.Serializer):
    rooftop = id_field(required=False, help_text="Required when you work at more than one rooftop.")
    source = serializers.ChoiceField(choices=Lead.Source.values)
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254, default="")
    phone = serializers.CharField(required=False, allow_blank=True, max_length=40, default="")
    vehicle = id_field(required=False, allow_null=True, help_text="An inventory vehicle of that rooftop.")
    vehicle_description = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    provider = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    comments = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    urgent = serializers.BooleanField(required=False, default=False)

    def validate_phone(self, value: str) -> str:
        if value.strip():
            try:
                normalize_phone(value)
            except InvalidContact:
                raise ValidationError("Not a phone number we can dial; give it with its area code (or +country "
                                      "code).") from None
        return value

    def validate(self, data):
        if not any(data[f].strip() for f in ("first_name", "last_name", "email", "phone")):
            raise ValidationError({"non_field_errors": ["A lead needs at least a name, an email address or a phone "
                                                        "number."]})
        return data


class LeadsApi(StaffGenericApiView):
    pagination_class = NewestFirst

    @extend_schema(
        summary="Leads at your rooftops, newest first (cursor pages)",
        parameters=[LeadQuery, OpenApiParameter("cursor", OpenApiTypes.STR),
                    OpenApiParameter("limit", OpenApiTypes.INT, description="Page size (default 50, at most 200).")],
        responses=LeadOutput(many=True), tags=["leads"],
    )
    @replica_list
    def get(self, request):
        query = LeadQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        access = staff_access(request.user)
        filters = selectors.LeadFilters(
            status=data["status"], source=data.get("source", ""), owner=str(data.get("assigned_to", "")),
            rooftop_id=rooftop_filter(access, data.get("rooftop")), q=data.get("q", ""),
            created_after=data.get("created_after"), created_before=data.get("created_before"),
        )
        leads = selectors.leads_search(access=access, user=request.user, filters=filters, now=timezone.now())
        page = self.paginate_queryset(leads)
        access_record_rows(request, kind=Read.LEADS_API, rows=page)
        return self.get_paginated_response(LeadOutput([_lead_row(lead) for lead in page], many=True).data)

    @extend_schema(
        summary="Take a lead in by hand: matched to the customer, routed, its clock started, first response sent",
        request=LeadCreateInput, tags=["leads"],
        responses={201: LeadDetailOutput, 422: OpenApiResponse(description="lead_create refused it; `detail` says why.")},
    )
    def post(self, request):
        payload = LeadCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        access = staff_access(request.user)
        rooftop = rooftop_for_write(access, data.pop("rooftop", None))
        vehicle_id = data.pop("vehicle", None)
        vehicle = None
        if vehicle_id is not None:
            vehicle = InventoryVehicle.objects.for_rooftops([rooftop.pk]).filter(pk=vehicle_id).first()
            if vehicle is None:
                raise ValidationError({"vehicle": ["No such vehicle in this rooftop's inventory."]})
        try:
            result = lead_create(rooftop=rooftop, vehicle=vehicle, created_by=request.user, **data)
        except LeadError as exc:
            return _refused(exc)
        return _shown(request, result.lead, code=status.HTTP_201_CREATED, warnings=result.warnings)


class LeadDetailApi(StaffApiView):
    @extend_schema(summary="A lead with its speed-to-lead stamps and response clock", responses=LeadDetailOutput,
                   tags=["leads"])
    def get(self, request, lead_id: int):
        return _shown(request, _fetch_lead(request, lead_id))


class StatusInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=Lead.Status.values)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="",
                                   help_text="Required for `lost`.")


_WRITE_RESPONSES = {
    200: LeadDetailOutput,
    422: OpenApiResponse(description="The lead cannot be changed so (already in that status, closed, the person "
                                     "cannot take it); `detail` says why."),
}


class LeadStatusApi(StaffApiView):
    @extend_schema(summary="Change a lead's status (stops its response clock)", request=StatusInput,
                   responses=_WRITE_RESPONSES, tags=["leads"])
    def post(self, request, lead_id: int):
        lead = _fetch_lead(request, lead_id)
        payload = StatusInput(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            lead_set_status(lead=lead, by=request.user, **payload.validated_data)
        except LeadError as exc:
            return _refused(exc)
        return _shown(request, lead)


class AssignInput(serializers.Serializer):
    user = serializers.RegexField(r"^(me|[1-9][0-9]{0,17})$", error_messages={"invalid": "A user id, or `me`."},
                                  help_text="`me` claims a lead from the pool (salespeople); a user id gives it to "
                                            "that salesperson (managers).")
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class LeadAssignApi(StaffApiView):
    @extend_schema(summary="Claim a lead from the pool (`me`) or give it to a salesperson (managers)",
                   request=AssignInput, responses=_WRITE_RESPONSES, tags=["leads"])
    def post(self, request, lead_id: int):
        lead = _fetch_lead(request, lead_id)
        payload = AssignInput(data=request.data)
        payload.is_valid(raise_exception=True)
        access = staff_access(request.user)
        who = payload.validated_data["user"]
        try:
            if who == "me" or int(who) == request.user.pk and not access.has_role(lead.rooftop_id, Role.MANAGER):
                if not access.has_role(lead.rooftop_id, Role.SALESPERSON):
                    raise PermissionDenied("Only a salesperson at this rooftop may claim its leads.")
                lead_claim(lead=lead, by=request.user)
            else:
                if not access.has_role(lead.rooftop_id, Role.MANAGER):
                    raise PermissionDenied("Only a manager may give a lead to someone; claim it with `me`.")
                to_user = User.objects.filter(pk=int(who)).first()
                if to_user is None:
                    raise ValidationError({"user": ["No such salesperson at this rooftop."]})
                lead_assign(lead=lead, to_user=to_user, by=request.user,
                                     reason=payload.validated_data["reason"])
        except LeadError as exc:
            return _refused(exc)
        return _shown(request, lead)


class ActivityInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=sorted(ACTIVITY_KINDS))
    note = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")
    reached = serializers.BooleanField(required=False, default=False, help_text="The customer answered.")


class LeadActivityApi(StaffApiView):
    @extend_schema(summary="Log a call, text, email or note (a call, text or email stops the response clock)",
                   request=ActivityInput, tags=["leads"],
                   responses={201: TimelineEntryOutput, 422: _WRITE_RESPONSES[422]})
    def post(self, request, lead_id: int):
        lead = _fetch_lead(request, lead_id)
        payload = ActivityInput(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            entry = lead_log_activity(lead=lead, by=request.user, **payload.validated_data)
        except LeadError as exc:
            return _refused(exc)
        return Response(TimelineEntryOutput(entry).data, status=status.HTTP_201_CREATED)


# --------------------------------------------------------------------------- inventory

INVENTORY_WRITERS = (Role.MANAGER,)


class InventoryQuery(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=100, help_text="Make, model, trim, stock number or VIN.")
    make = serializers.CharField(required=False, max_length=50)
    model = serializers.CharField(required=False, max_length=80)
    condition = serializers.ChoiceField(choices=InventoryVehicle.Condition.values, required=False)
    status = serializers.ChoiceField(choices=InventoryVehicle.Status.values, required=False)
    price_min = serializers.IntegerField(required=False, min_value=0, max_value=10**12, help_text="Cents.")
    price_max = serializers.IntegerField(required=False, min_value=0, max_value=10**12, help_text="Cents.")
    stock_number = serializers.CharField(required=False, max_length=20)
    vin = serializers.CharField(required=False, max_length=17, help_text="The whole VIN or its last characters.")
    rooftop = id_field(required=False)

    def validate(self, data):
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and high < low:
            raise ValidationError({"price_max": ["Must be at least price_min."]})
        return data


class VehicleOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rooftop = serializers.IntegerField(source="rooftop_id")
    vin = serializers.CharField()
    stock_number = serializers.CharField()
    year = serializers.IntegerField()
    make = serializers.CharField()
    model = serializers.CharField()
    trim = serializers.CharField()
    title = serializers.CharField()
    body_style = serializers.CharField()
    exterior_color = serializers.CharField()
    interior_color = serializers.CharField()
    condition = serializers.CharField()
    mileage = serializers.IntegerField()
    price_cents = serializers.IntegerField()
    msrp_cents = serializers.IntegerField(allow_null=True)
    status = serializers.CharField()
    photo_url = serializers.CharField()
    photo_urls = serializers.ListField(child=serializers.CharField())
    received_at = serializers.DateTimeField(help_text="When it came into stock (the feed's in-stock date, else when added)")
    updated_at = serializers.DateTimeField()


class PriceChangeOutput(serializers.Serializer):
    old_price_cents = serializers.IntegerField()
    new_price_cents = serializers.IntegerField()
    changed_at = serializers.DateTimeField()


class VehicleDetailOutput(VehicleOutput):
    price_history = PriceChangeOutput(many=True)


class VehicleInput(serializers.Serializer):
    """Create (every field but trim, colour, body, photo and mileage required) or update (any of them)."""

    rooftop = id_field(required=False, help_text="Create only; required when you manage more than one rooftop.")
    vin = serializers.CharField(max_length=20)
    stock_number = serializers.CharField(max_length=20)
    year = serializers.IntegerField(min_value=1900, max_value=2100)
    make = serializers.CharField(max_length=50)
    model = serializers.CharField(max_length=80)
    trim = serializers.CharField(required=False, allow_blank=True, max_length=80)
    body_style = serializers.CharField(required=False, allow_blank=True, max_length=40)
    exterior_color = serializers.CharField(required=False, allow_blank=True, max_length=40)
    condition = serializers.ChoiceField(choices=InventoryVehicle.Condition.values)
    mileage = serializers.IntegerField(required=False, min_value=0, max_value=2_000_000)
    price_cents = serializers.IntegerField(min_value=1, max_value=10**12)
    status = serializers.ChoiceField(choices=InventoryVehicle.Status.values, required=False)
    photo_url = serializers.URLField(required=False, allow_blank=True, max_length=200)

    def validate_vin(self, value: str) -> str:
        try:
            return inventory.normalize_vin(value)
        except InvalidVin as exc:
            raise ValidationError(str(exc)) from None


class PriceInput(serializers.Serializer):
    price_cents = serializers.IntegerField(min_value=1, max_value=10**12)


def _vehicle_detail(vehicle: InventoryVehicle) -> dict:
    out = VehicleOutput(vehicle).data
    out["price_history"] = PriceChangeOutput(vehicle.price_history.order_by("-changed_at", "-id")[:50], many=True).data
    return out


def _unique_refusal(exc: IntegrityError) -> ValidationError:
    field = "stock_number" if "stock_number" in str(exc) else "vin"
    return ValidationError({field: [f"This rooftop already has a vehicle with this {field.replace('_', ' ')}."]})


class InventoryApi(StaffGenericApiView):
    pagination_class = NewestFirst

    @extend_schema(summary="Search the inventory of your rooftops (cursor pages, newest first)",
                   parameters=[InventoryQuery, *CURSOR_PAGE_PARAMETERS],
                   responses=VehicleOutput(many=True), tags=["inventory"])
    @replica_list
    def get(self, request):
        query = InventoryQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        access = staff_access(request.user)
        vehicles = selectors.inventory_search(access=access, rooftop_id=rooftop_filter(access, query.validated_data.pop(
            "rooftop", None)), **query.validated_data)
        page = self.paginate_queryset(vehicles)
        return self.get_paginated_response(VehicleOutput(page, many=True).data)

    @extend_schema(summary="Add a vehicle to a rooftop's inventory (managers)", request=VehicleInput,
                   responses={201: VehicleDetailOutput}, tags=["inventory"])
    def post(self, request):
        payload = VehicleInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        rooftop = rooftop_for_write(staff_access(request.user), data.pop("rooftop", None), *INVENTORY_WRITERS)
        try:
            with transaction.atomic():
                vehicle = inventory.vehicle_create(rooftop=rooftop, **data)
        except IntegrityError as exc:
            raise _unique_refusal(exc) from None
        return Response(_vehicle_detail(vehicle), status=status.HTTP_201_CREATED)


def _fetch_vehicle(request, vehicle_id: int, *, write: bool = False) -> InventoryVehicle:
    access = staff_access(request.user)
    vehicle = get_scoped_or_404(InventoryVehicle.objects.all(), access, pk=vehicle_id)
    if write and not access.has_role(vehicle.rooftop_id, *INVENTORY_WRITERS):
        raise PermissionDenied("Only a manager of this rooftop may change its inventory.")
    return vehicle


class InventoryDetailApi(StaffApiView):
    @extend_schema(summary="A vehicle with its price history", responses=VehicleDetailOutput, tags=["inventory"])
    def get(self, request, vehicle_id: int):
        return Response(_vehicle_detail(_fetch_vehicle(request, vehicle_id)))

    @extend_schema(summary="Change a vehicle (managers); a new price is kept as a price change",
                   request=VehicleInput(partial=True), responses=VehicleDetailOutput, tags=["inventory"])
    def patch(self, request, vehicle_id: int):
        vehicle = _fetch_vehicle(request, vehicle_id, write=True)
        payload = VehicleInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        if "rooftop" in data:
            raise ValidationError({"rooftop": ["A vehicle stays at its rooftop."]})
        try:
            with transaction.atomic():
                vehicle = inventory.vehicle_update(vehicle=vehicle, **data)
        except IntegrityError as exc:
            raise _unique_refusal(exc) from None
        return Response(_vehicle_detail(vehicle))


class InventoryPriceApi(StaffApiView):
    @extend_schema(summary="Change a vehicle's price (managers): kept as a price change, which price-drop alerts read",
                   request=PriceInput, responses=VehicleDetailOutput, tags=["inventory"])
    def post(self, request, vehicle_id: int):
        vehicle = _fetch_vehicle(request, vehicle_id, write=True)
        payload = PriceInput(data=request.data)
        payload.is_valid(raise_exception=True)
        inventory.vehicle_set_price(vehicle=vehicle, price_cents=payload.validated_data["price_cents"])
        return Response(_vehicle_detail(vehicle))
