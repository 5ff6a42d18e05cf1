"""The live alert feed, its one-click actions, and the managers' scoring settings. Thin: services decide."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from alerts import audience, services
from alerts.forms import ScoringSettingsForm
from alerts.labels import EVENT_LABELS
from alerts.models import Alert, ScoringFit, ScoringSettings
from alerts.selectors import (
    FEED_PAGE_SIZE, FeedCursor, ScoringConfig, access_scoring_fit, alert_rows, alerts_visible, feed_alerts,
    feed_high_water, latest_scoring_fit, scoring_config,
)
from rooftops.audit import Kind as Read, access_record_rows
from rooftops.models import Role, Rooftop
from rooftops.selectors import staff_access
from rooftops.tenancy import StaffAccess, get_scoped_or_404


# --- the feed -------------------------------------------------------------------------------------

@login_required
@require_GET
def alert_feed(request: HttpRequest) -> HttpResponse:
    access = staff_access(request.user)
    include_closed = request.GET.get("closed") == "1"
    # The websocket resumes after the newest id that existed when this page was read, so nothing committed
    # while the page loads is lost and nothing on the page is sent again.
    high_water = feed_high_water(access)
    alerts = feed_alerts(access=access, upto=high_water, include_closed=include_closed)
    rows = alert_rows(alerts, viewer_id=request.user.pk)
    access_record_rows(request, kind=Read.ALERT_FEED, rows=alerts)
    return render(request, "alerts/feed.html", {
        "rows": rows, "high_water": high_water, "include_closed": include_closed,
        "has_older": len(alerts) == FEED_PAGE_SIZE, "older_cursor": FeedCursor.after_row(alerts[-1]) if alerts else "",
        "has_feed_role": bool(access.rooftop_ids),
    })


@login_required
@require_GET
def alert_feed_older(request: HttpRequest) -> HttpResponse:
    access = staff_access(request.user)
    try:
        before = FeedCursor.parse(request.GET.get("before", ""))
    except ValueError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    include_closed = request.GET.get("closed") == "1"
    alerts = feed_alerts(access=access, before=before, include_closed=include_closed)
    access_record_rows(request, kind=Read.ALERT_FEED, rows=alerts)
    return render(request, "alerts/_older.html", {
        "rows": alert_rows(alerts, viewer_id=request.user.pk), "include_closed": include_closed,
        "has_older": len(alerts) == FEED_PAGE_SIZE, "older_cursor": FeedCursor.after_row(alerts[-1]) if alerts else before,
    })


@login_required
@require_GET
def alert_row(request: HttpRequest, alert_id: int) -> HttpResponse:
    access = staff_access(request.user)
    alert = _visible_or_404(access, alert_id)
    if request.headers.get("HX-Request"):  # only then is the row shown (else a redirect to the feed)
        access_record_rows(request, kind=Read.ALERT_FEED, rows=[alert])
    return _row_response(request, alert)


# --- actions --------------------------------------------------------------------------------------

def _visible_or_404(access: StaffAccess, alert_id: int) -> Alert:
    return get_scoped_or_404(alerts_visible(access), access, pk=alert_id)


def _row_response(request: HttpRequest, alert: Alert, *, error: str = "", status: int = 200) -> HttpResponse:
    if not request.headers.get("HX-Request"):
        # Without htmx: back to the feed with the outcome as a message.
        if error:
            messages.error(request, error)
        return redirect("alert-feed")
    alert = Alert.unscoped.select_related("rooftop", "customer", "vehicle").get(pk=alert.pk)
    row = alert_rows([alert], viewer_id=request.user.pk)[0]
    return render(request, "alerts/_alert_row.html", {"row": row, "error": error}, status=status)


def _act(request: HttpRequest, alert_id: int, action) -> HttpResponse:
    access = staff_access(request.user)
    alert = _visible_or_404(access, alert_id)
    try:
        alert = action(access, alert)
    except services.AlertActionError as exc:
        # 422 re-renders the row with the reason (htmx swaps it; see feed.html's htmx-config).
        return _row_response(request, alert, error=str(exc), status=422)
    return _row_response(request, alert)


@login_required
@require_POST
def alert_claim(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _act(request, alert_id, lambda access, alert: services.alert_claim(
        alert=alert, user=request.user, is_manager=access.has_role(alert.rooftop_id, Role.MANAGER)))


@login_required
@require_POST
def alert_act(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _act(request, alert_id, lambda access, alert: services.alert_act(
        alert=alert, user=request.user, channel=request.POST.get("channel", ""), note=request.POST.get("note", ""),
        department=audience.timeline_department(access, alert.rooftop_id)))


@login_required
@require_POST
def alert_snooze(request: HttpRequest, alert_id: int) -> HttpResponse:
    def snooze(access, alert):
        try:
            minutes = int(request.POST.get("minutes", ""))
        except ValueError:
            raise services.AlertActionError("Choose how long to snooze.") from None
        if minutes < 1:
            raise services.AlertActionError("Choose how long to snooze.")
        return services.alert_snooze(alert=alert, user=request.user, until=timezone.now() + timedelta(minutes=minutes))
    return _act(request, alert_id, snooze)


@login_required
@require_POST
def alert_dismiss(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _act(request, alert_id, lambda access, alert: services.alert_dismiss(
        alert=alert, user=request.user, reason=request.POST.get("reason", ""), note=request.POST.get("note", "")))


@login_required
@require_POST
def alert_undismiss(request: HttpRequest, alert_id: int) -> HttpResponse:
    return _act(request, alert_id, lambda access, alert: services.alert_undismiss(alert=alert, user=request.user))


# --- scoring settings (managers) ----------------------------------------------------------------------

def _managed_rooftop(request: HttpRequest) -> tuple[Rooftop, list[Rooftop]]:
    access = staff_access(request.user)
    managed = sorted(access.rooftops_with_role(Role.MANAGER))
    if not managed:
        raise Http404
    rooftops = list(Rooftop.objects.filter(id__in=managed).order_by("name"))
    wanted = request.POST.get("rooftop") or request.GET.get("rooftop")
    if wanted:
        try:
            wanted_id = int(wanted)
        except ValueError:
            raise Http404 from None
        access.require_role(wanted_id, Role.MANAGER)
        return next(r for r in rooftops if r.id == wanted_id), rooftops
    return rooftops[0], rooftops


@login_required
def scoring_settings(request: HttpRequest) -> HttpResponse:
    rooftop, rooftops = _managed_rooftop(request)
    config = scoring_config(rooftop_id=rooftop.id)
    here = f"{reverse('scoring-settings')}?rooftop={rooftop.id}"
    if request.method == "POST":
        action = request.POST.get("action", "save")
        if action == "reset":
            services.scoring_settings_reset(rooftop=rooftop, user=request.user)
            messages.success(request, f"{rooftop.name} is back on the default scoring rules. "
                                      "Changed your mind? Use “Undo last change”.")
            return redirect(here)
        if action == "undo":
            if services.scoring_settings_undo(rooftop=rooftop, user=request.user) is None:
                messages.error(request, "There is no earlier version to go back to.")
            else:
                messages.success(request, "The previous scoring rules are back.")
            return redirect(here)
        if action == "fit":
            start = services.scoring_fit_start(rooftop=rooftop, user=request.user)
            if not start.started:
                messages.info(request, "A fit is already running at this store: its progress is below.")
            return redirect(here + "#fit")
        if action == "adopt":
            try:
                services.scoring_fit_adopt(rooftop=rooftop, user=request.user)
            except ValueError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, "The next shopper events are scored with the fitted weights. "
                                          "“Undo last change” goes back to the previous weights.")
            return redirect(here)
        form = ScoringSettingsForm(request.POST)
        if form.is_valid():
            services.scoring_settings_save(
                rooftop=rooftop, rules=form.rules, user=request.user,
                alert_anonymous_shoppers=form.cleaned_data["alert_anonymous_shoppers"],
                alert_expiry_hours=form.cleaned_data["alert_expiry_hours"],
            )
            messages.success(request, f"Saved. {rooftop.name}'s next shopper events are scored with these rules.")
            return redirect(here)
        status = 422
    else:
        form = ScoringSettingsForm.from_config(config)
        status = 200
    run = latest_scoring_fit(access=staff_access(request.user), rooftop_id=rooftop.id)
    return render(request, "alerts/scoring_settings.html", {
        "form": form, "rooftops": rooftops, "customized": config.customized,
        **_fit_context(rooftop, config, run),
    }, status=status)


@login_required
@require_GET
def scoring_fit_progress(request: HttpRequest, fit_id: int) -> HttpResponse:
    """The fit section of the scoring page, polled by htmx while a fit runs; it stops polling once finished."""
    run = access_scoring_fit(access=staff_access(request.user), fit_id=fit_id)
    config = scoring_config(rooftop_id=run.rooftop_id)
    return render(request, "alerts/_scoring_fit.html", {**_fit_context(run.rooftop, config, run), "polled": True})


def _fit_context(rooftop: Rooftop, config: ScoringConfig, run: ScoringFit | None) -> dict:
    """What the fit section shows: the run in progress or how it ended, and the fit "Use" would adopt."""
    settings_row = ScoringSettings.unscoped.filter(rooftop=rooftop).first()
    fit = settings_row.fit_result if settings_row else None
    weight_rows = []
    if fit and fit.get("ok"):
        weight_rows = [(EVENT_LABELS.get(kind, kind), config.rules.event_weight(kind), weight)
                       for kind, weight in fit["event_weights"].items()]
    stale = run is not None and run.is_stale(now=timezone.now())
    return {
        "rooftop": rooftop, "fit": fit, "weight_rows": weight_rows, "run": run, "run_stale": stale,
        "polling": run is not None and run.active and not stale,
        "weights_source": settings_row.weights_source if settings_row else "hand-set",
    }
