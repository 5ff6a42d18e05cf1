"""The service lane page for service advisors (and managers), and its check-in."""

from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from customers.models import Appointment
from customers.services import ActionRefused, appointment_mark
from rooftops.audit import Kind as Read, access_record_rows
from rooftops.models import Role, Rooftop
from rooftops.selectors import staff_access
from service.selectors import service_lane
from service.services import service_visit_started

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
