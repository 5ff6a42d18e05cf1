"""The service lane page for service advisors (and managers)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from rooftops.audit import Kind as Read, access_record_rows
from rooftops.models import Role, Rooftop
from rooftops.selectors import staff_access
from service.selectors import service_lane

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
