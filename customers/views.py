"""Customer page (one story across departments), search, duplicates and merge. Thin doors over services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.utils.html import escape
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from crm.db_router import replica_reads
from crm.pagination import page_number, paginate
from customers import erasure, forms, selectors, sensitive, services
from customers.models import Appointment, Customer, DuplicateCandidate, ErasureRecord, MergeRecord, TimelineEntry
from customers.outbound import delivery_connected, message_send_from_staff
from leads.models import Lead
from rooftops.audit import Kind, access_record, customer_rooftop_ids
from rooftops.models import Role, Rooftop
from rooftops.selectors import staff_access, staff_time_zone
from rooftops.tenancy import get_scoped_or_404

KIND_CHOICES = TimelineEntry.Kind.choices
DEPARTMENT_CHOICES = TimelineEntry.Department.choices


def _customer(request, customer_id):
    access = staff_access(request.user)
    return access, selectors.customer_for_access(access=access, customer_id=customer_id)


def _filters(request) -> dict:
    return {
        "kinds": [k for k in request.GET.getlist("kind") if k],
        "departments": [d for d in request.GET.getlist("department") if d],
    }


def _action_rooftop(access, customer: Customer) -> Rooftop:
    rooftop = services.rooftop_for_action(customer=customer, rooftop_ids=sorted(access.rooftop_ids))
    if rooftop is None:
        raise Http404
    return rooftop


@login_required
@require_GET
def customer_detail(request, customer_id: int):
    access, customer = _customer(request, customer_id)
    if customer.merged_into_id:
        survivor = selectors.survivor_of(customer)
        messages.info(request, f"Customer #{customer.pk} was merged into this record.")
        return redirect("customer-detail", customer_id=survivor.pk)
    panel = selectors.customer_panel(customer=customer, access=access)
    if panel.any_web_events:  # (most customers never browsed: then there is nothing to fold and no read for it)
        # Web sessions are folded in on open, bounded to events since the latest session (see services).
        services.web_sessions_refresh(customer_id=customer.pk)
    filters = _filters(request)
    page = selectors.timeline_page(customer=customer, access=access, **filters)
    rooftop = panel.action_rooftop  # _action_rooftop's answer, read with the panel
    if rooftop is None:
        raise Http404
    access_record(request, kind=Kind.CUSTOMER_PAGE, rooftop_ids=[rooftop.pk], rows=1, object_ids=[customer.pk])
    return render(request, "customers/detail.html", {
        **forms.quick_action_widgets(panel.open_leads), **_identity_context(customer),
        "customer": customer, "page": page, "panel": panel, "filters": filters, "rooftop": rooftop,
        "kind_choices": KIND_CHOICES, "department_choices": DEPARTMENT_CHOICES,
        "delivery_connected": delivery_connected(),
        "can_erase": not customer.erased_at and bool(access.rooftops_with_role(Role.MANAGER) & set(panel.known_rooftop_ids)),
    })


@login_required
@require_GET
def customer_timeline(request, customer_id: int):
    """The htmx "load more" and filter partial: one page of entries after a cursor."""
    access, customer = _customer(request, customer_id)
    page = selectors.timeline_page(customer=customer, access=access, cursor=request.GET.get("cursor", ""), **_filters(request))
    rooftop = _action_rooftop(access, customer)
    access_record(request, kind=Kind.CUSTOMER_PAGE, rooftop_ids=[rooftop.pk], rows=len(page.entries),
                  object_ids=[customer.pk])
    return render(request, "customers/_timeline_page.html", {
        "customer": customer, "page": page, "filters": _filters(request), "rooftop": rooftop,
    })


# ---------------------------------------------------------------------------------------------------------
# Quick actions: each answers with a status line and, on success, the new timeline row (htmx out-of-band)
# ---------------------------------------------------------------------------------------------------------


def _lead_of(access, customer, lead_id):
    if not lead_id:
        return None
    return get_scoped_or_404(Lead.objects, access, pk=lead_id, customer=customer)


def _result(request, *, customer, rooftop, ok: str = "", error: str = "", form_name: str, form=None, entries=()):
    context = {"customer": customer, "ok": ok, "error": error, "entries": entries, "form": form,
               "form_name": form_name, "rooftop": rooftop}
    return render(request, "customers/_action_result.html", context, status=422 if error else 200)


def _refresh_with(request, text: str) -> HttpResponse:
    """Status changes touch the lead and appointment lists too: reload the page, the message says what happened."""
    messages.success(request, text)
    response = HttpResponse(f'<p class="action-status ok" role="status">{escape(text)}</p>')
    response["HX-Refresh"] = "true"
    return response


def _first_error(form) -> str:
    for errors in form.errors.values():
        return errors[0]
    return "Check the form."


@login_required
@require_POST
def action_call(request, customer_id: int):
    access, customer = _customer(request, customer_id)
    rooftop = _action_rooftop(access, customer)
    form = forms.CallForm(request.POST)
    form.set_leads(Lead.objects.for_access(access).filter(customer=customer))
    if not form.is_valid():
        return _result(request, customer=customer, rooftop=rooftop, error=_first_error(form), form_name="call")
    try:
        entry = services.call_log(
            customer=customer, rooftop=rooftop, user=request.user, direction=form.cleaned_data["direction"],
            outcome=form.cleaned_data["outcome"], notes=form.cleaned_data["notes"],
            lead=_lead_of(access, customer, form.cleaned_data["lead"]),
        )
    except services.ActionRefused as exc:
        return _result(request, customer=customer, rooftop=rooftop, error=str(exc), form_name="call")
    return _result(request, customer=customer, rooftop=rooftop, ok="Call logged.", form_name="call", entries=[entry])


@login_required
@require_POST
def action_note(request, customer_id: int):
    access, customer = _customer(request, customer_id)
    rooftop = _action_rooftop(access, customer)
    form = forms.NoteForm(request.POST)
    form.set_leads(Lead.objects.for_access(access).filter(customer=customer))
    if not form.is_valid():
        return _result(request, customer=customer, rooftop=rooftop, error=_first_error(form), form_name="note")
    try:
        entry = services.note_add(customer=customer, rooftop=rooftop, user=request.user, text=form.cleaned_data["text"],
                                  lead=_lead_of(access, customer, form.cleaned_data["lead"]))
    except services.ActionRefused as exc:
        return _result(request, customer=customer, rooftop=rooftop, error=str(exc), form_name="note")
    return _result(request, customer=customer, rooftop=rooftop, ok="Note added.", form_name="note", entries=[entry])


@login_required
@require_POST
def action_message(request, customer_id: int):
    access, customer = _customer(request, customer_id)
    rooftop = _action_rooftop(access, customer)
    form = forms.MessageForm(request.POST)
    form.set_leads(Lead.objects.for_access(access).filter(customer=customer))
    if not form.is_valid():
        return _result(request, customer=customer, rooftop=rooftop, error=_first_error(form), form_name="message")
    kind = form.cleaned_data["kind"]
    try:
        entry = message_send_from_staff(
            customer=customer, rooftop=rooftop, user=request.user, kind=kind, body=form.cleaned_data["body"],
            subject=form.cleaned_data["subject"], lead=_lead_of(access, customer, form.cleaned_data["lead"]),
        )
    except services.ActionRefused as exc:
        return _result(request, customer=customer, rooftop=rooftop, error=str(exc), form_name="message")
    ok = f"{'Text' if kind == 'text' else 'Email'} recorded on the timeline."
    if not delivery_connected():
        ok += " Delivery is not connected yet: it was not sent to the customer."
    return _result(request, customer=customer, rooftop=rooftop, ok=ok, form_name="message", entries=[entry])


@login_required
@require_POST
def action_appointment(request, customer_id: int):
    access, customer = _customer(request, customer_id)
    rooftop = _action_rooftop(access, customer)
    form = forms.AppointmentForm(request.POST, time_zone=rooftop.time_zone)
    form.set_leads(Lead.objects.for_access(access).filter(customer=customer))
    if not form.is_valid():
        return _result(request, customer=customer, rooftop=rooftop, error=_first_error(form), form_name="appointment")
    try:
        appointment = services.appointment_set(
            customer=customer, rooftop=rooftop, user=request.user, kind=form.cleaned_data["kind"],
            scheduled_at=form.cleaned_data["scheduled_at"], notes=form.cleaned_data["notes"],
            lead=_lead_of(access, customer, form.cleaned_data["lead"]),
        )
    except services.ActionRefused as exc:
        return _result(request, customer=customer, rooftop=rooftop, error=str(exc), form_name="appointment")
    entry = TimelineEntry.unscoped.filter(customer=customer, detail__appointment_id=appointment.pk).order_by("-id").first()
    local = timezone.localtime(appointment.scheduled_at, appointment_zone(rooftop))
    return _result(request, customer=customer, rooftop=rooftop, form_name="appointment", entries=[entry] if entry else [],
                   ok=f"Appointment set for {local:%a %b %-d, %-I:%M %p} ({rooftop.time_zone}).")


def appointment_zone(rooftop: Rooftop):
    from zoneinfo import ZoneInfo

    return ZoneInfo(rooftop.time_zone)


@login_required
@require_POST
def action_appointment_mark(request, customer_id: int, appointment_id: int):
    access, customer = _customer(request, customer_id)
    appointment = get_scoped_or_404(Appointment.objects, access, pk=appointment_id, customer=customer)
    rooftop = appointment.rooftop
    try:
        services.appointment_mark(appointment=appointment, user=request.user, status=request.POST.get("status", ""))
    except services.ActionRefused as exc:
        return _result(request, customer=customer, rooftop=rooftop, error=str(exc), form_name="appointment")
    return _refresh_with(request, f"Appointment marked {appointment.get_status_display().lower()}.")


@login_required
@require_POST
def action_lead_outcome(request, customer_id: int, lead_id: int, outcome: str):
    access, customer = _customer(request, customer_id)
    lead = get_scoped_or_404(Lead.objects.select_related("vehicle"), access, pk=lead_id, customer=customer)
    rooftop = lead.rooftop
    try:
        if outcome == "sold":
            form = forms.SoldForm(request.POST)
            form.is_valid()
            services.lead_mark_sold(lead=lead, user=request.user, note=form.cleaned_data.get("note", ""))
        else:
            form = forms.LostForm(request.POST)
            if not form.is_valid():
                raise services.ActionRefused(_first_error(form))
            services.lead_mark_lost(lead=lead, user=request.user, reason=form.cleaned_data["reason"])
    except services.ActionRefused as exc:
        return _result(request, customer=customer, rooftop=rooftop, error=str(exc), form_name=f"lead-{lead.pk}")
    return _refresh_with(request, f"Lead #{lead.pk} marked {outcome}.")


# ---------------------------------------------------------------------------------------------------------
# Search
# ---------------------------------------------------------------------------------------------------------


@login_required
@require_GET
@replica_reads
def customer_search(request):
    access = staff_access(request.user)
    query = request.GET.get("q", "")
    page = page_number(request.GET.get("page"))
    results = selectors.customer_search(access=access, query=query, page=page)
    if results.hits:
        # The hits may be known at any of the user's stores: each store's managers see the search.
        access_record(request, kind=Kind.CUSTOMER_SEARCH, rooftop_ids=access.rooftop_ids, rows=len(results.hits),
                      object_ids=[hit.customer.pk for hit in results.hits])
    template = "customers/_search_results.html" if request.headers.get("HX-Request") else "customers/search.html"
    return render(request, template, {"q": query, "results": results, "store_zone": staff_time_zone(access)})


# ---------------------------------------------------------------------------------------------------------
# Duplicates and merge
# ---------------------------------------------------------------------------------------------------------


@login_required
@require_GET
def duplicates_list(request):
    access = staff_access(request.user)
    page = page_number(request.GET.get("page"))
    rows, total = selectors.duplicates_open(access=access, limit=25, offset=(page - 1) * 25)
    if not rows and page > 1:  # past the end: the last page
        page = max(1, -(-total // 25))
        rows, total = selectors.duplicates_open(access=access, limit=25, offset=(page - 1) * 25)
    return render(request, "customers/duplicates.html", {
        "candidates": rows, "total": total, "page": page, "has_next": page * 25 < total,
    })


@login_required
def duplicate_review(request, candidate_id: int):
    """Both records side by side; staff choose which one stays."""
    access = staff_access(request.user)
    candidate = get_scoped_or_404(DuplicateCandidate.objects.select_related("customer_a", "customer_b"), access, pk=candidate_id)
    sides = []
    for customer in (candidate.customer_a, candidate.customer_b):
        sides.append({
            "customer": customer, "panel": selectors.customer_panel(customer=customer, access=access),
            "entries": TimelineEntry.unscoped.filter(customer=customer).count(),
            "leads": customer.leads.count(),
        })
    return render(request, "customers/duplicate_review.html", {"candidate": candidate, "sides": sides})


@login_required
@require_POST
def duplicate_merge(request, candidate_id: int):
    access = staff_access(request.user)
    candidate = get_scoped_or_404(DuplicateCandidate.objects, access, pk=candidate_id)
    keep = request.POST.get("keep")
    pair = {str(candidate.customer_a_id): candidate.customer_b_id, str(candidate.customer_b_id): candidate.customer_a_id}
    if keep not in pair:
        messages.error(request, "Choose which record to keep.")
        return redirect("customer-duplicate", candidate_id=candidate.pk)
    survivor = selectors.customer_for_access(access=access, customer_id=int(keep))
    merged = selectors.customer_for_access(access=access, customer_id=pair[keep])
    try:
        record = services.customer_merge(survivor=survivor, merged=merged, user=request.user, candidate=candidate)
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
        return redirect("customer-duplicates")
    messages.success(request, f"Merged #{merged.pk} into this record. Everything of both is here; you can undo it below.")
    return redirect(reverse("customer-detail", args=[record.survivor_id]))


@login_required
@require_POST
def duplicate_dismiss(request, candidate_id: int):
    access = staff_access(request.user)
    candidate = get_scoped_or_404(DuplicateCandidate.objects, access, pk=candidate_id)
    services.duplicate_dismiss(candidate=candidate, user=request.user)
    messages.success(request, "Marked as different people; this pair will not be offered again.")
    return redirect("customer-duplicates")


@login_required
@require_POST
def merge_undo(request, merge_id: int):
    access = staff_access(request.user)
    record = get_scoped_or_404(MergeRecord.objects, access, pk=merge_id)
    # Both records must be the user's to see; the merged one is known at its old rooftops again after undo.
    selectors.customer_for_access(access=access, customer_id=record.survivor_id)
    try:
        services.merge_undo(record=record, user=request.user)
    except services.ActionRefused as exc:
        messages.error(request, str(exc))
        return redirect("customer-detail", customer_id=record.survivor_id)
    messages.success(request, f"Merge undone: customer #{record.merged_id} has their own record again.")
    return redirect("customer-detail", customer_id=record.survivor_id)


# ---------------------------------------------------------------------------------------------------------
# Sensitive fields (encrypted at rest): masked on the page, revealed one at a time and recorded
# ---------------------------------------------------------------------------------------------------------


def _identity_context(customer: Customer, **extra) -> dict:
    lines = [
        {"field": name, "label": label, "dom_id": f"sensitive-{name}",
         "masked": sensitive.mask(name, getattr(customer, name)), "present": getattr(customer, name) is not None,
         "reveal_url": reverse(sensitive.REVEAL_URL_NAMES[name], args=[customer.pk])}
        for name, label in sensitive.CUSTOMER_REVEALABLE.items()
    ]
    return {"identity_lines": lines, "identity_form": extra.pop("identity_form", forms.IdentityForm()), **extra}


@login_required
@require_POST
def customer_identity(request, customer_id: int):
    """The identity card's edit form: date of birth and licence, answered with the card (masked again)."""
    access, customer = _customer(request, customer_id)
    form = forms.IdentityForm(request.POST)
    if not form.is_valid():
        return render(request, "customers/_identity.html", {
            "customer": customer, **_identity_context(customer, identity_form=form, error=_first_error(form)),
        }, status=422)
    data = form.cleaned_data
    services.customer_identity_update(customer=customer, date_of_birth=data["date_of_birth"],
                                      licence_number=data["drivers_licence_number"],
                                      licence_state=data["drivers_licence_state"], remove=data["remove"])
    ok = "Date of birth and licence removed." if data["remove"] else "Saved."
    return render(request, "customers/_identity.html", {"customer": customer, **_identity_context(customer, ok=ok)})


def _reveal(request, access, customer: Customer, *, value, field: str, dom_id: str) -> HttpResponse:
    # Recorded before the value leaves: a reveal nobody can account for must not happen (rooftops/audit.py).
    access_record(request, kind=Kind.SENSITIVE_REVEAL, rooftop_ids=customer_rooftop_ids(access, customer), rows=1,
                  object_ids=[customer.pk])
    response = render(request, "customers/_sensitive_revealed.html",
                      {"dom_id": dom_id, "text": sensitive.reveal_text(field, value)})
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def customer_reveal(request, customer_id: int, field: str):
    """One masked value of the customer in full (htmx), for staff who may open this customer."""
    if field not in sensitive.CUSTOMER_REVEALABLE:
        raise Http404
    access = staff_access(request.user)
    customer = get_scoped_or_404(Customer.objects, access, pk=customer_id)
    return _reveal(request, access, customer, value=getattr(customer, field), field=field, dom_id=f"sensitive-{field}")


@login_required
@require_POST
def vehicle_reveal(request, customer_id: int, owned_vehicle_id: int, field: str):
    """A masked value of one of the customer's vehicles (the finance account number) in full."""
    if field not in sensitive.VEHICLE_REVEALABLE:
        raise Http404
    access = staff_access(request.user)
    customer = get_scoped_or_404(Customer.objects, access, pk=customer_id)
    vehicle = customer.vehicles.filter(pk=owned_vehicle_id).first()
    if vehicle is None:
        raise Http404
    return _reveal(request, access, customer, value=getattr(vehicle, field), field=field,
                   dom_id=f"sensitive-{field}-{vehicle.pk}")
# Erasure (deletion requests): managers only; anyone else gets the same 404 as for another store's customer
# ---------------------------------------------------------------------------------------------------------

ERASURES_PER_PAGE = 25


def _managed_rooftop_ids(request) -> frozenset[int]:
    ids = staff_access(request.user).rooftops_with_role(Role.MANAGER)
    if not ids:
        raise Http404
    return ids


def _erasure_record(request, record_id: int) -> ErasureRecord:
    try:
        return ErasureRecord.objects.for_rooftops(_managed_rooftop_ids(request)).get(pk=record_id)
    except ErasureRecord.DoesNotExist:
        raise Http404 from None


@login_required
def customer_erase(request, customer_id: int):
    """The confirmation page: what goes, that it cannot be undone, a reason, and the name typed to confirm."""
    managed = _managed_rooftop_ids(request)
    customer = Customer.objects.for_rooftops(managed).filter(pk=customer_id).first()
    if customer is None:
        raise Http404
    if customer.merged_into_id:
        return redirect("customer-erase", customer_id=selectors.survivor_of(customer).pk)
    if customer.erased_at:
        messages.info(request, "This customer's personal data was already erased.")
        return redirect("customer-detail", customer_id=customer.pk)
    expected = customer.full_name or f"#{customer.pk}"
    form = forms.ErasureForm(request.POST or None, expected_name=expected)
    if request.method == "POST" and form.is_valid():
        try:
            record = erasure.erasure_request(customer=customer, source=ErasureRecord.Source.STAFF,
                                             reason=form.cleaned_data["reason"], user=request.user)
        except erasure.ErasureRefused as exc:
            messages.error(request, str(exc))
            return redirect("customer-detail", customer_id=customer.pk)
        return redirect("customer-erasure", record_id=record.pk)
    return render(request, "customers/erase_confirm.html", {"customer": customer, "form": form},
                  status=422 if form.is_bound else 200)


@login_required
@require_GET
def erasure_detail(request, record_id: int):
    record = _erasure_record(request, record_id)
    return render(request, "customers/erasure_detail.html", {"record": record})


@login_required
@require_GET
def erasure_progress(request, record_id: int):
    """Polled by htmx every 2 s while the erasure runs; the finished markup has no trigger, so polling stops."""
    record = _erasure_record(request, record_id)
    return render(request, "customers/_erasure_progress.html", {"record": record})


@login_required
@require_GET
def erasure_list(request):
    managed = _managed_rooftop_ids(request)
    page = paginate(selectors.erasure_records_for_managers(manager_rooftop_ids=managed),
                    per_page=ERASURES_PER_PAGE, raw_page=request.GET.get("page"))
    return render(request, "customers/erasures.html", {"page": page})
