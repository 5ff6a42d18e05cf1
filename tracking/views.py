"""Manager pages for website tracking: the snippet to paste, and a live debugger of what arrives."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from rooftops.models import Rooftop
from rooftops.selectors import managed_rooftop
from tracking.rejections import rejections_recent
from tracking.selectors import events_recent

DEBUGGER_EVENTS = 50
DEBUGGER_REJECTIONS = 20


def _managed_rooftop(request, rooftop_id: int | str | None) -> tuple[Rooftop, list[Rooftop]]:
    return managed_rooftop(request.user, rooftop_id)


def _debugger_context(rooftop: Rooftop) -> dict:
    return {
        "rooftop": rooftop,
        "events": events_recent(rooftop_id=rooftop.id, limit=DEBUGGER_EVENTS),
        "rejections": rejections_recent(rooftop_id=rooftop.id, limit=DEBUGGER_REJECTIONS),
        "refreshed_at": timezone.now(),
    }


@login_required
def tracking_setup(request):
    rooftop, rooftops = _managed_rooftop(request, request.GET.get("rooftop"))
    endpoint = settings.SITE_URL.rstrip("/")
    context = {
        "rooftops": rooftops,
        "endpoint": endpoint,
        "script_url": f"{endpoint}/static/crm/track.js",
        "demo_site_url": reverse("demo-site-srp", args=[rooftop.slug]),
        **_debugger_context(rooftop),
    }
    return render(request, "tracking/setup.html", context)


@login_required
def tracking_debugger(request, rooftop_id: int):
    rooftop, _ = _managed_rooftop(request, rooftop_id)
    return render(request, "tracking/_debugger.html", _debugger_context(rooftop))
