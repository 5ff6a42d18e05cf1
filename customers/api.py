"""Staff API for the customer story: create (matched first), detail, update, timeline pages, search, merge
suggestions, adding a note, and appointments."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from crm.api import CURSOR_PAGE_PARAMETERS, StaffApiView, StaffGenericApiView, replica_list
from crm.pagination import CheckedCursorPagination, page_number
from customers import selectors, services
from customers.contact import InvalidContact, normalize_phone
from customers.matching import ArrivingContact, customer_match_or_create
from customers.models import Appointment, Customer, DuplicateCandidate, MergeRecord
from rooftops.api_inputs import PersonOutput, id_field, person, rooftop_filter, rooftop_for_write
from rooftops.audit import Kind, access_record, access_record_rows, customer_rooftop_ids
from customers.sensitive import mask_date_of_birth, mask_last4
from rooftops.selectors import staff_access
from rooftops.tenancy import get_scoped_or_404


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
    street = serializers.CharField()
    city = serializers.CharField()
    region = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()
    time_zone = serializers.CharField()
    preferred_contact = serializers.CharField()
    emails = serializers.ListField(child=serializers.CharField())
    phones = serializers.ListField(child=serializers.CharField())
    consent = ConsentOutput(many=True)
    merged_into_id = serializers.IntegerField(allow_null=True)
    # Encrypted at rest and masked here, always: the API has no reveal (README "Privacy").
    date_of_birth_masked = serializers.CharField(help_text='Year only ("••/••/1987"); empty when not on file')
    drivers_licence_masked = serializers.CharField(help_text='Last four ("••••1234"); empty when not on file')
    drivers_licence_state = serializers.CharField()


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


class CustomerCreatedOutput(CustomerOutput):
    matched = serializers.BooleanField(help_text="True: an existing customer had this email or phone (answered 200, "
                                                 "nothing created); false: a new customer (201).")


def _customer_data(customer) -> dict:
    consent, _ = selectors.consent_lines(customer)
    return {
        "id": customer.pk, "first_name": customer.first_name, "last_name": customer.last_name,
        "street": customer.street, "city": customer.city, "region": customer.region,
        "postal_code": customer.postal_code, "country": customer.country, "time_zone": customer.time_zone,
        "preferred_contact": customer.preferred_contact,
        "emails": list(customer.emails.order_by("-is_primary", "id").values_list("email", flat=True)),
        "phones": list(customer.phones.order_by("-is_primary", "id").values_list("e164", flat=True)),
        "consent": [c.__dict__ for c in consent], "merged_into_id": customer.merged_into_id,
        "date_of_birth_masked": mask_date_of_birth(customer.date_of_birth),
        "drivers_licence_masked": mask_last4(customer.drivers_licence_number),
        "drivers_licence_state": customer.drivers_licence_state,
    }


class CustomerUpdateInput(serializers.Serializer):
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    street = serializers.CharField(required=False, allow_blank=True, max_length=200)
    city = serializers.CharField(required=False, allow_blank=True, max_length=100)
    region = serializers.CharField(required=False, allow_blank=True, max_length=50)
    postal_code = serializers.CharField(required=False, allow_blank=True, max_length=20)
    country = serializers.RegexField(r"^[A-Z]{2}$", required=False, help_text="Two-letter code, e.g. US.")
    time_zone = serializers.CharField(required=False, allow_blank=True, max_length=64, help_text="e.g. America/Denver")
    preferred_contact = serializers.ChoiceField(choices=["", *Customer.ContactMethod.values], required=False)

    def validate_time_zone(self, value: str) -> str:
        if value:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValidationError("Not a time zone name (use one like America/Denver).") from None
        return value


class CustomerCreateInput(CustomerUpdateInput):
    rooftop = id_field(required=False, help_text="Where the customer is known from; required when you work at more "
                                                 "than one rooftop.")
    emails = serializers.ListField(child=serializers.EmailField(max_length=254), required=False, max_length=10,
                                   default=list)
    phones = serializers.ListField(child=serializers.CharField(max_length=40), required=False, max_length=10,
                                   default=list, help_text="Numbers as written; +country code outside the US.")
    dms_customer_number = serializers.CharField(max_length=40, required=False, default="", help_text=(
        "The store's DMS number for this customer; it matches before email and phone do."))

    def validate(self, data):
        for number in data.get("phones", []):
            try:
                normalize_phone(number, region=data.get("country") or "US")
            except InvalidContact:
                raise ValidationError({"phones": [f"{number!r} is not a phone number we can dial."]}) from None
        if not (data.get("emails") or data.get("phones") or data.get("first_name", "").strip()
                or data.get("dms_customer_number", "").strip()
                or data.get("last_name", "").strip()):
            raise ValidationError({"non_field_errors": ["A customer needs a name, an email address or a phone number."]})
        return data


class CustomersApi(StaffApiView):
    @extend_schema(
        summary="Add a customer, or find the one who has this email or phone",
        description="Matched by the one customer matcher every intake uses (DMS customer number at the rooftop, "
                    "then email, then phone, within the dealer group): an "
                    "existing customer is answered with 200 and `matched: true` (their missing details and new "
                    "contact points are added) instead of a duplicate; otherwise 201.",
        request=CustomerCreateInput, responses={200: CustomerCreatedOutput, 201: CustomerCreatedOutput},
    )
    def post(self, request):
        payload = CustomerCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        access = staff_access(request.user)
        rooftop = rooftop_for_write(access, data.pop("rooftop", None))
        contact = ArrivingContact(
            first_name=data.get("first_name", ""), last_name=data.get("last_name", ""), emails=tuple(data["emails"]),
            phones=tuple((p, "mobile") for p in data["phones"]), street=data.get("street", ""),
            city=data.get("city", ""), region=data.get("region", ""), postal_code=data.get("postal_code", ""),
            country=data.get("country", ""), dms_customer_number=data.get("dms_customer_number", ""),
        )
        matched = customer_match_or_create(rooftop=rooftop, contact=contact, source="api")
        customer, created = matched.customer, matched.created
        # As intake does for a matched customer: fill in what was blank, never overwrite what staff set.
        extra = {k: data[k] for k in ("time_zone", "preferred_contact")
                 if data.get(k) and (created or not getattr(customer, k))}
        if extra:
            customer = services.customer_update(customer=customer, user=request.user, **extra)
        access_record(request, kind=Kind.CUSTOMER_API, rooftop_ids=[rooftop.pk], rows=1, object_ids=[customer.pk])
        body = CustomerCreatedOutput({**_customer_data(customer), "matched": not created}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CustomerDetailApi(StaffApiView):
    @extend_schema(responses=CustomerOutput, summary="A customer known at your rooftops")
    def get(self, request, customer_id: int):
        access = staff_access(request.user)
        customer = selectors.customer_for_access(access=access, customer_id=customer_id)
        access_record(request, kind=Kind.CUSTOMER_API, rooftop_ids=customer_rooftop_ids(access, customer), rows=1,
                      object_ids=[customer.pk])
        return Response(CustomerOutput(_customer_data(customer)).data)

    @extend_schema(request=CustomerUpdateInput, responses=CustomerOutput,
                   summary="Correct a customer's name, address or contact preferences")
    def patch(self, request, customer_id: int):
        access = staff_access(request.user)
        customer = selectors.customer_for_access(access=access, customer_id=customer_id)
        payload = CustomerUpdateInput(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        try:
            customer = services.customer_update(customer=customer, user=request.user, **payload.validated_data)
        except services.ActionRefused as exc:
            return Response({"detail": str(exc)}, status=422)
        access_record(request, kind=Kind.CUSTOMER_API, rooftop_ids=customer_rooftop_ids(access, customer), rows=1,
                      object_ids=[customer.pk])
        return Response(CustomerOutput(_customer_data(customer)).data)


class DuplicateOtherOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    emails = serializers.ListField(child=serializers.CharField())
    phones = serializers.ListField(child=serializers.CharField())


class DuplicateOutput(serializers.Serializer):
    id = serializers.IntegerField()
    other = DuplicateOtherOutput()
    reasons = serializers.ListField(child=serializers.CharField())
    found_at = serializers.DateTimeField()


class CustomerDuplicatesApi(StaffApiView):
    @extend_schema(responses=DuplicateOutput(many=True),
                   summary="Merge suggestions: other records that may be this customer (open, both visible to you)")
    def get(self, request, customer_id: int):
        access = staff_access(request.user)
        customer = selectors.customer_for_access(access=access, customer_id=customer_id)
        rows = []
        for candidate in selectors.customer_duplicates(access=access, customer=customer):
            other = candidate.customer_b if candidate.customer_a_id == customer.pk else candidate.customer_a
            rows.append({
                "id": candidate.pk, "reasons": candidate.reasons, "found_at": candidate.found_at,
                "other": {"id": other.pk, "name": other.full_name,
                          "emails": list(other.emails.order_by("-is_primary", "id").values_list("email", flat=True)),
                          "phones": list(other.phones.order_by("-is_primary", "id").values_list("e164", flat=True))},
            })
        access_record(request, kind=Kind.CUSTOMER_API, rooftop_ids=customer_rooftop_ids(access, customer),
                      rows=1 + len(rows), object_ids=[customer.pk, *(r["other"]["id"] for r in rows)])
        return Response(DuplicateOutput(rows, many=True).data)


class MergeInput(serializers.Serializer):
    keep = serializers.IntegerField(help_text="The id of the record to keep: one of the pair. The other forwards to it.")


class MergeOutput(serializers.Serializer):
    merge_id = serializers.IntegerField(help_text="Undo with POST /api/merges/<merge_id>/undo/.")
    survivor_id = serializers.IntegerField()
    merged_id = serializers.IntegerField()


class DuplicateMergeApi(StaffApiView):
    @extend_schema(request=MergeInput, responses={200: MergeOutput, 422: OpenApiResponse(description="Refused, with why")},
                   summary="Act on a merge suggestion: merge the pair into the record to keep (undoable)")
    def post(self, request, candidate_id: int):
        access = staff_access(request.user)
        candidate = get_scoped_or_404(DuplicateCandidate.objects, access, pk=candidate_id)
        payload = MergeInput(data=request.data)
        payload.is_valid(raise_exception=True)
        pair = {candidate.customer_a_id: candidate.customer_b_id, candidate.customer_b_id: candidate.customer_a_id}
        keep = payload.validated_data["keep"]
        if keep not in pair:
            raise ValidationError({"keep": [f"Keep one of the pair: {candidate.customer_a_id} or {candidate.customer_b_id}."]})
        survivor = selectors.customer_for_access(access=access, customer_id=keep)
        merged = selectors.customer_for_access(access=access, customer_id=pair[keep])
        try:
            record = services.customer_merge(survivor=survivor, merged=merged, user=request.user, candidate=candidate)
        except services.ActionRefused as exc:
            return Response({"detail": str(exc)}, status=422)
        access_record(request, kind=Kind.CUSTOMER_API, rooftop_ids=customer_rooftop_ids(access, survivor), rows=2,
                      object_ids=[survivor.pk, merged.pk])
        return Response(MergeOutput({"merge_id": record.pk, "survivor_id": survivor.pk, "merged_id": merged.pk}).data)


class DuplicateDismissApi(StaffApiView):
    @extend_schema(request=None, responses={204: None},
                   summary="Act on a merge suggestion: they are different people (not offered again)")
    def post(self, request, candidate_id: int):
        access = staff_access(request.user)
        candidate = get_scoped_or_404(DuplicateCandidate.objects, access, pk=candidate_id)
        services.duplicate_dismiss(candidate=candidate, user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MergeUndoApi(StaffApiView):
    @extend_schema(request=None, responses={204: None, 422: OpenApiResponse(description="Refused, with why")},
                   summary="Undo a merge: both records as they were before it")
    def post(self, request, merge_id: int):
        access = staff_access(request.user)
        record = get_scoped_or_404(MergeRecord.objects, access, pk=merge_id)
        selectors.customer_for_access(access=access, customer_id=record.survivor_id)
        try:
            services.merge_undo(record=record, user=request.user)
        except services.ActionRefused as exc:
            return Response({"detail": str(exc)}, status=422)
        return Response(status=status.HTTP_204_NO_CONTENT)


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
    @replica_list
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


# --------------------------------------------------------------------------- appointments


class AppointmentPages(CheckedCursorPagination):
    """Cursor pages, latest scheduled first."""

    ordering = ("-scheduled_at", "-id")
    page_size = 50
    page_size_query_param = "limit"
    max_page_size = 200


class AppointmentQuery(serializers.Serializer):
    rooftop = id_field(required=False)
    status = serializers.ChoiceField(choices=Appointment.Status.values, required=False)
    department = serializers.ChoiceField(choices=Appointment.Department.values, required=False)
    kind = serializers.ChoiceField(choices=Appointment.Kind.values, required=False)
    customer = id_field(required=False)
    lead = id_field(required=False)
    scheduled_after = serializers.DateTimeField(required=False, help_text="ISO 8601; at or after.")
    scheduled_before = serializers.DateTimeField(required=False, help_text="ISO 8601; before.")


class AppointmentCustomerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AppointmentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rooftop = serializers.IntegerField(source="rooftop_id")
    customer = AppointmentCustomerOutput()
    lead = serializers.IntegerField(source="lead_id", allow_null=True)
    department = serializers.CharField()
    kind = serializers.CharField()
    scheduled_at = serializers.DateTimeField()
    status = serializers.CharField()
    assigned_to = PersonOutput(allow_null=True)
    notes = serializers.CharField()
    created_at = serializers.DateTimeField()
    status_changed_at = serializers.DateTimeField(allow_null=True)


def _appointment_row(appointment: Appointment) -> dict:
    return {
        "id": appointment.pk, "rooftop_id": appointment.rooftop_id, "lead_id": appointment.lead_id,
        "customer": {"id": appointment.customer_id, "name": str(appointment.customer)},
        "department": appointment.department, "kind": appointment.kind, "scheduled_at": appointment.scheduled_at,
        "status": appointment.status, "assigned_to": person(appointment.assigned_to), "notes": appointment.notes,
        "created_at": appointment.created_at, "status_changed_at": appointment.status_changed_at,
    }


def _appointment_shown(request, appointment: Appointment, code: int = status.HTTP_200_OK) -> Response:
    access_record_rows(request, kind=Kind.APPOINTMENTS_API, rows=[appointment])
    return Response(AppointmentOutput(_appointment_row(appointment)).data, status=code)


def _action_refused(exc: services.ActionRefused) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)


_APPOINTMENT_REFUSED = OpenApiResponse(description="The appointment cannot be changed so (a time in the past, "
                                                   "already marked); `detail` says why.")


class AppointmentCreateInput(serializers.Serializer):
    customer = id_field()
    kind = serializers.ChoiceField(choices=Appointment.Kind.values, help_text="`service` books the service "
                                                                             "department; the others sales.")
    scheduled_at = serializers.DateTimeField(help_text="ISO 8601, from now on.")
    rooftop = id_field(required=False, help_text="Default: the first of your rooftops that knows the customer.")
    lead = id_field(required=False, allow_null=True, help_text="A lead of this customer it is for.")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class AppointmentsApi(StaffGenericApiView):
    pagination_class = AppointmentPages

    @extend_schema(summary="Appointments at your rooftops (cursor pages, latest first)",
                   parameters=[AppointmentQuery, *CURSOR_PAGE_PARAMETERS],
                   responses=AppointmentOutput(many=True), tags=["appointments"])
    @replica_list
    def get(self, request):
        query = AppointmentQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        access = staff_access(request.user)
        appointments = selectors.appointments_search(
            access=access, rooftop_id=rooftop_filter(access, data.pop("rooftop", None)),
            customer_id=data.pop("customer", None), lead_id=data.pop("lead", None), **data)
        page = self.paginate_queryset(appointments)
        access_record_rows(request, kind=Kind.APPOINTMENTS_API, rows=page)
        return self.get_paginated_response(AppointmentOutput([_appointment_row(a) for a in page], many=True).data)

    @extend_schema(summary="Set an appointment for a customer (a lead's status moves to appointment set)",
                   request=AppointmentCreateInput, responses={201: AppointmentOutput, 422: _APPOINTMENT_REFUSED},
                   tags=["appointments"])
    def post(self, request):
        from leads.models import Lead

        payload = AppointmentCreateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        access = staff_access(request.user)
        customer = Customer.objects.for_access(access).filter(pk=data["customer"]).first()
        if customer is None:
            raise ValidationError({"customer": ["No such customer at your rooftops."]})
        asked = [rooftop_for_write(access, data["rooftop"]).pk] if data.get("rooftop") is not None else None
        rooftop = services.rooftop_for_action(customer=customer, rooftop_ids=asked or sorted(access.rooftop_ids))
        if rooftop is None:
            raise ValidationError({"rooftop": ["This customer is not known at that rooftop."]})
        lead = None
        if data.get("lead") is not None:
            lead = Lead.objects.for_rooftops([rooftop.pk]).filter(pk=data["lead"], customer=customer).first()
            if lead is None:
                raise ValidationError({"lead": ["No such lead of this customer at this rooftop."]})
        try:
            appointment = services.appointment_set(customer=customer, rooftop=rooftop, user=request.user,
                                                   kind=data["kind"], scheduled_at=data["scheduled_at"], lead=lead,
                                                   notes=data["notes"])
        except services.ActionRefused as exc:
            return _action_refused(exc)
        return _appointment_shown(request, appointment, status.HTTP_201_CREATED)


class AppointmentUpdateInput(serializers.Serializer):
    scheduled_at = serializers.DateTimeField(required=False, help_text="ISO 8601, from now on.")
    notes = serializers.CharField(required=False, allow_blank=True, max_length=5000)


def _fetch_appointment(request, appointment_id: int) -> Appointment:
    return get_scoped_or_404(Appointment.objects.select_related("customer", "rooftop", "lead",
                                                                "assigned_to__staff_profile"),
                             staff_access(request.user), pk=appointment_id)


class AppointmentDetailApi(StaffApiView):
    @extend_schema(summary="One appointment", responses=AppointmentOutput, tags=["appointments"])
    def get(self, request, appointment_id: int):
        return _appointment_shown(request, _fetch_appointment(request, appointment_id))

    @extend_schema(summary="Move a scheduled appointment or change its notes", request=AppointmentUpdateInput,
                   responses={200: AppointmentOutput, 422: _APPOINTMENT_REFUSED}, tags=["appointments"])
    def patch(self, request, appointment_id: int):
        appointment = _fetch_appointment(request, appointment_id)
        payload = AppointmentUpdateInput(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            appointment = services.appointment_update(appointment=appointment, user=request.user,
                                                      **payload.validated_data)
        except services.ActionRefused as exc:
            return _action_refused(exc)
        return _appointment_shown(request, appointment)


class _AppointmentMarkApi(StaffApiView):
    mark = ""

    def post(self, request, appointment_id: int):
        appointment = _fetch_appointment(request, appointment_id)
        try:
            appointment = services.appointment_mark(appointment=appointment, user=request.user, status=self.mark)
        except services.ActionRefused as exc:
            return _action_refused(exc)
        return _appointment_shown(request, appointment)


class AppointmentShownApi(_AppointmentMarkApi):
    mark = Appointment.Status.SHOWN

    @extend_schema(summary="The customer came (a lead moves to shown; a test drive is on the timeline)", request=None,
                   responses={200: AppointmentOutput, 422: _APPOINTMENT_REFUSED}, tags=["appointments"])
    def post(self, request, appointment_id: int):
        return super().post(request, appointment_id)


class AppointmentNoShowApi(_AppointmentMarkApi):
    mark = Appointment.Status.NO_SHOW

    @extend_schema(summary="The customer did not come", request=None,
                   responses={200: AppointmentOutput, 422: _APPOINTMENT_REFUSED}, tags=["appointments"])
    def post(self, request, appointment_id: int):
        return super().post(request, appointment_id)
