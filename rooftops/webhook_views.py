"""The manager's webhook pages: a store's endpoints with the create form, one endpoint with its delivery log
(redeliver, enable/disable, rotate the secret, delete with confirmation).

Managers of the store only: anyone else, and a manager of another store, gets the 404 of a page that does not
exist. Writes go through rooftops.webhooks. The signing secret is shown once, in the answer to the POST that made
or rotated it (never in a URL, a message cookie or a log).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from crm.pagination import paginate
from rooftops.models import Role, Rooftop, WebhookDelivery, WebhookEndpoint, WebhookEvent
from rooftops.selectors import staff_access
from rooftops.tenancy import get_scoped_or_404
from rooftops.webhooks import (
    WebhookRefused, webhook_delivery_redeliver, webhook_endpoint_create, webhook_endpoint_delete,
    webhook_endpoint_rotate_secret, webhook_endpoint_set_active,
)

UNPROCESSABLE = 422
DELIVERIES_PER_PAGE = 25


def managed_rooftop(request: HttpRequest, rooftop_slug: str) -> Rooftop:
    """The store named in the path, if the signed-in user manages it; else 404 (not 403: nothing to learn)."""
    access = staff_access(request.user)
    rooftop = Rooftop.objects.filter(slug=rooftop_slug).first()
    if rooftop is None:
        raise Http404
    access.require_role(rooftop.id, Role.MANAGER)
    return rooftop


def access_endpoint(request: HttpRequest, rooftop: Rooftop, webhook_id: int) -> WebhookEndpoint:
    return get_scoped_or_404(WebhookEndpoint.objects.filter(rooftop=rooftop), staff_access(request.user),
                             pk=webhook_id)


@login_required
def webhooks_home(request: HttpRequest) -> HttpResponse:
    """The menu's link: the first store the user manages."""
    managed = staff_access(request.user).rooftops_with_role(Role.MANAGER)
    rooftop = Rooftop.objects.filter(id__in=sorted(managed)).order_by("name").first()
    if rooftop is None:
        raise Http404
    return redirect("webhooks", rooftop_slug=rooftop.slug)


@login_required
def webhooks_page(request: HttpRequest, rooftop_slug: str) -> HttpResponse:
    rooftop = managed_rooftop(request, rooftop_slug)
    errors: dict[str, str] = {}
    posted = {"url": "", "description": "", "events": []}
    if request.method == "POST":
        posted = {"url": request.POST.get("url", "").strip(), "description": request.POST.get("description", ""),
                  "events": request.POST.getlist("events")}
        try:
            endpoint, secret = webhook_endpoint_create(rooftop=rooftop, url=posted["url"], events=posted["events"],
                                                       description=posted["description"], user=request.user)
        except WebhookRefused as exc:
            errors[exc.field or "url"] = exc.reason
        else:
            return _detail(request, rooftop, endpoint, new_secret=secret, status=201)
    access = staff_access(request.user)
    managed = Rooftop.objects.filter(id__in=sorted(access.rooftops_with_role(Role.MANAGER))).order_by("name")
    endpoints = WebhookEndpoint.objects.for_access(access).filter(rooftop=rooftop).order_by("-created_at")
    return render(request, "rooftops/webhooks.html", {
        "rooftop": rooftop, "rooftops": managed, "endpoints": endpoints, "errors": errors, "posted": posted,
        "event_choices": WebhookEvent.choices,
    }, status=UNPROCESSABLE if errors else 200)


def _detail(request: HttpRequest, rooftop: Rooftop, endpoint: WebhookEndpoint, *, new_secret: str = "",
            confirm_delete: bool = False, status: int = 200) -> HttpResponse:
    deliveries = WebhookDelivery.objects.for_access(staff_access(request.user)).filter(endpoint=endpoint).order_by("-id")
    page = paginate(deliveries, per_page=DELIVERIES_PER_PAGE, raw_page=request.GET.get("page"))
    return render(request, "rooftops/webhook_detail.html", {
        "rooftop": rooftop, "endpoint": endpoint, "page": page, "new_secret": new_secret,
        "confirm_delete": confirm_delete, "event_labels": dict(WebhookEvent.choices),
    }, status=status)


@login_required
def webhook_detail(request: HttpRequest, rooftop_slug: str, webhook_id: int) -> HttpResponse:
    rooftop = managed_rooftop(request, rooftop_slug)
    endpoint = access_endpoint(request, rooftop, webhook_id)
    if request.method != "POST":
        return _detail(request, rooftop, endpoint)
    action = request.POST.get("action")
    here = reverse("webhook-detail", kwargs={"rooftop_slug": rooftop.slug, "webhook_id": endpoint.pk})
    if action in ("enable", "disable"):
        webhook_endpoint_set_active(endpoint=endpoint, active=action == "enable", user=request.user)
        return redirect(here)
    if action == "rotate":
        secret = webhook_endpoint_rotate_secret(endpoint=endpoint)
        return _detail(request, rooftop, endpoint, new_secret=secret)
    if action == "delete":
        if request.POST.get("confirm") != "yes":
            return _detail(request, rooftop, endpoint, confirm_delete=True)
        webhook_endpoint_delete(endpoint=endpoint)
        return redirect("webhooks", rooftop_slug=rooftop.slug)
    return HttpResponse("Unknown action.", status=400, content_type="text/plain")


@login_required
@require_POST
def webhook_redeliver(request: HttpRequest, rooftop_slug: str, webhook_id: int, delivery_id: int) -> HttpResponse:
    """Send a delivery again as a new one; htmx gets the new row for the top of the log."""
    rooftop = managed_rooftop(request, rooftop_slug)
    endpoint = access_endpoint(request, rooftop, webhook_id)
    delivery = get_scoped_or_404(WebhookDelivery.objects.filter(endpoint=endpoint), staff_access(request.user),
                                 pk=delivery_id)
    copy = webhook_delivery_redeliver(delivery=delivery)
    if request.headers.get("HX-Request"):
        return render(request, "rooftops/_webhook_delivery_row.html",
                      {"rooftop": rooftop, "endpoint": endpoint, "d": copy})
    return redirect("webhook-detail", rooftop_slug=rooftop.slug, webhook_id=endpoint.pk)
