"""The service lane page and its check-in for service advisors (and managers); equity mining for sales, BDC
and managers."""

import csv
import io
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from crm.csvread import csv_safe
from crm.db_router import replica_reads
from crm.encrypted_fields import readable
from crm.pagination import paginate
from customers.models import Appointment
from customers.services import ActionRefused, appointment_mark
from leads.models import Lead
from rooftops.audit import Kind as Read, access_record, access_record_rows
from rooftops.models import Role, Rooftop
from rooftops.selectors import staff_access
from service.forms import MiningFilterForm, ThresholdsForm
from service.selectors import MINING_ROLES, equity_mining, service_lane
from service.services import equity_leads_create, service_visit_started, trade_thresholds_save

LANE_ROLES = (Role.SERVICE_ADVISOR, Role.MANAGER)


@login_required
def lane(request):
    access = staff_access(request.user)
    rooftop_ids = sorted(access.rooftops_with_role(*LANE_ROLES))
    if not rooftop_ids:
        raise Http404
    rooftops = list(Rooftop.objects.filter(id__in=rooftop_ids).order_by("name"))
    chosen = request.GET.get("rooftop")
    rooftop = next((r for r in rooftops if str(r.pk) == chosen), rooftops[0])
    today = service_lane(access=access, rooftop=rooftop, now=timezone.now())
    shown = [row.appointment or row.repair_order for row in (*today.appointments, *today.open_ros)]
    access_record_rows(request, kind=Read.SERVICE_LANE, rows=shown)
    return render(request, "service/lane.html", {"lane": today, "rooftops": rooftops})


def _promised(text: str, *, zone: ZoneInfo, now: datetime) -> datetime | None:
    """"11:30" (the store's clock, today) -> an aware datetime; "" -> None (the usual wait)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        at = time.fromisoformat(text)
    except ValueError:
        raise ActionRefused(f"Promised time {text[:20]!r} is not a time like 11:30.") from None
    promised = datetime.combine(now.astimezone(zone).date(), at.replace(tzinfo=None), tzinfo=zone)
    if promised <= now:
        raise ActionRefused("The promised time has already passed today.")
    return promised


@login_required
@require_POST
def check_in(request, appointment_id: int):
    """An advisor checks a customer in from today's appointments: the appointment is shown, the visit starts."""
    access = staff_access(request.user)
    appointment = (Appointment.objects.for_rooftops(access.rooftops_with_role(*LANE_ROLES))
                   .filter(pk=appointment_id)
                   .select_related("customer", "rooftop", "lead").first())
    if appointment is None:
        raise Http404  # missing and another store's look the same
    rooftop = appointment.rooftop
    now = timezone.now()
    try:
        if appointment.department != Appointment.Department.SERVICE:
            raise ActionRefused("Only a service appointment is checked in at the service lane.")
        if appointment.status == Appointment.Status.CANCELLED:
            raise ActionRefused("The appointment was cancelled.")
        promised_at = _promised(request.POST.get("promised", ""), zone=ZoneInfo(rooftop.time_zone), now=now)
        with transaction.atomic():
            if appointment.status != Appointment.Status.SHOWN:
                appointment_mark(appointment=appointment, user=request.user, status=Appointment.Status.SHOWN)
            service_visit_started(rooftop, appointment.customer, appointment=appointment, promised_at=promised_at,
                                  user=request.user, now=now)
    except ActionRefused as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    return redirect(f"{reverse('service-lane')}?rooftop={rooftop.pk}")


MINING_PER_PAGE = 50


@login_required
@replica_reads  # the GET list and its CSV; the POST that makes leads is not in the scope
def equity_mining_page(request):
    """Customers whose car says they may be ready to trade, best first; make leads of them one by one or in bulk."""
    access = staff_access(request.user)
    rooftop_ids = sorted(access.rooftops_with_role(*MINING_ROLES))
    if not rooftop_ids:
        raise Http404
    rooftops = list(Rooftop.objects.filter(id__in=rooftop_ids).order_by("name"))
    if request.method == "POST":
        # "Make a lead" on one row sends `one`; the bulk button sends the ticked rows.
        picked = [request.POST["one"]] if request.POST.get("one") else request.POST.getlist("opportunity")
        ids = [int(v) for v in picked if v.isdigit() and len(v) < 18]
        if not ids:
            messages.error(request, "Tick at least one customer to make leads of.")
        else:
            outcome = equity_leads_create(access=access, opportunity_ids=ids, user=request.user)
            made = len(outcome.made)
            note = f" {outcome.already} already had an open equity-mining lead." if outcome.already else ""
            messages.success(request, f"Made {made} lead{'' if made == 1 else 's'}, routed by the store's rules.{note}")
        return redirect(request.get_full_path())
    form = MiningFilterForm(request.GET or None, rooftops=rooftops)
    status = 200
    if request.GET and not form.is_valid():
        status = 400
        rows = equity_mining(access=access, rooftop_ids=[])
    else:
        data = form.cleaned_data if request.GET else {}
        rows = equity_mining(access=access, rooftop_ids=[data["rooftop"]] if data.get("rooftop") else rooftop_ids,
                             trigger=data.get("trigger", ""), model=data.get("model", ""), band=data.get("band", ""),
                             quiet_days=data.get("quiet"))
    if request.GET.get("format") == "csv" and status == 200:
        return _mining_csv(request, rows)
    page = paginate(rows, per_page=MINING_PER_PAGE, raw_page=request.GET.get("page"))
    access_record_rows(request, kind=Read.EQUITY_MINING, rows=page.object_list)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "service/equity_mining.html", {
        "form": form, "page": page, "rooftops": rooftops, "query": query.urlencode(),
        "open_statuses": list(Lead.OPEN_STATUSES),
    }, status=status)


def _mining_csv(request, rows) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["store", "customer", "vehicle", "reasons", "score", "equity", "equity source",
                     "last contact", "equity mining lead"])
    shown = list(rows[:5000])
    for row in shown:
        equity = readable(row.equity_cents)
        writer.writerow([row.rooftop.name, csv_safe(row.customer.full_name), csv_safe(str(row.vehicle)),
                         csv_safe("; ".join(r["reason"] for r in row.reasons)), row.score,
                         "" if equity is None else f"{equity / 100:.0f}", csv_safe(row.value_source),
                         row.last_contact_at.date().isoformat() if row.last_contact_at else "", row.lead_status or ""])
    access_record(request, kind=Read.EQUITY_MINING_CSV, rooftop_ids={r.rooftop_id for r in shown}, rows=len(shown),
                  object_ids=[r.customer_id for r in shown])
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="equity-mining.csv"'
    return response


@login_required
def trade_thresholds_page(request):
    """Managers set their store's lines for each trade reason; every store starts from the defaults."""
    from rooftops.selectors import managed_rooftop
    from service.models import TradeThresholds
    from service.opportunities import thresholds_for

    rooftop, rooftops = managed_rooftop(request.user, request.POST.get("rooftop") or request.GET.get("rooftop"))
    if request.method == "POST":
        form = ThresholdsForm(request.POST)
        if form.is_valid():
            trade_thresholds_save(rooftop=rooftop, user=request.user, **form.cleaned_data)
            messages.success(request, f"Saved. Tonight's scan of {rooftop.name}'s customers uses these lines.")
            return redirect(f"{reverse('trade-thresholds')}?rooftop={rooftop.id}")
        status = 400
    else:
        now = thresholds_for([rooftop.id])[rooftop.id]
        form = ThresholdsForm(initial={
            "equity_min_dollars": now.equity_min_cents // 100, "repair_bill_min_dollars": now.repair_bill_min_cents // 100,
            "lease_within_days": now.lease_within_days, "over_pace_percent": now.over_pace_percent,
            "payments_left_at_most": now.payments_left_at_most, "warranty_within_days": now.warranty_within_days,
            "warranty_within_miles": now.warranty_within_miles})
        status = 200
    saved = TradeThresholds.unscoped.filter(rooftop=rooftop).select_related("updated_by").first()
    return render(request, "service/trade_thresholds.html", {"form": form, "rooftop": rooftop, "rooftops": rooftops,
                                                              "saved": saved}, status=status)
