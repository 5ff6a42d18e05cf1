"""The manager's inventory feed page: the feed's settings, "Load now", an upload, and each load's progress and result.

Managers only, like the routing and scoring pages: anyone else gets the 404 of a page that does not exist, and
another store's load is the same 404 as a missing one. The load itself runs on a Celery worker
(leads.inventory_feed); the run row is polled by htmx every 2 s until it has finished.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from crm.input_guard import CONTROL_CHARACTERS
from crm.pagination import paginate
from leads import selectors
from leads.feed import DEFAULT_COLUMNS, FIELD_LABELS, FeedRefused, column_map_from_text, column_map_text, row_errors_csv
from leads.inventory_feed import display_url, feed_run_start, feed_settings, feed_settings_save
from leads.models import InventoryFeed, InventoryFeedRun
from rooftops.models import Rooftop
from rooftops.selectors import managed_rooftop, staff_access

UNPROCESSABLE = 422
TOO_LARGE = 413
RUNS_PER_PAGE = 20


def _managed_rooftop(request: HttpRequest) -> tuple[Rooftop, list[Rooftop]]:
    return managed_rooftop(request.user, request.POST.get("rooftop") or request.GET.get("rooftop"))


@login_required
def inventory_feed_page(request: HttpRequest) -> HttpResponse:
    rooftop, rooftops = _managed_rooftop(request)
    here = f"{reverse('inventory-feed')}?rooftop={rooftop.id}"
    feed = feed_settings(rooftop=rooftop)
    errors: dict[str, str] = {}
    posted: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "settings":
            posted = {"url": request.POST.get("url", "").strip(), "column_map": request.POST.get("column_map", ""),
                      "gone_status": request.POST.get("gone_status", "")}
            try:
                feed_settings_save(rooftop=rooftop, url=_checked_url(posted["url"]),
                                   column_map=column_map_from_text(posted["column_map"]),
                                   gone_status=posted["gone_status"], user=request.user)
            except FeedRefused as exc:
                errors["settings"] = exc.reason
            except ValueError as exc:
                errors["settings"] = str(exc)
            else:
                messages.success(request, f"Saved. {rooftop.name}'s next load uses these settings.")
                return redirect(here)
        elif action == "run":
            try:
                start = feed_run_start(rooftop=rooftop, source=InventoryFeedRun.Source.URL, user=request.user)
            except FeedRefused as exc:
                errors["run"] = exc.reason
            else:
                if not start.started:
                    messages.info(request, "A load is already running at this store: its progress is below.")
                return redirect(here + "#latest-run")
        elif action == "upload":
            upload = request.FILES.get("file")
            if upload is None:
                errors["upload"] = "Choose the CSV file to upload."
            elif upload.size > settings.INVENTORY_FEED_MAX_BYTES:
                errors["upload"] = (f"The file is {upload.size:,} bytes; the limit is "
                                    f"{settings.INVENTORY_FEED_MAX_BYTES:,} bytes.")
                status = TOO_LARGE
            else:
                name = CONTROL_CHARACTERS.sub("", upload.name or "upload.csv")[:200]
                try:
                    start = feed_run_start(rooftop=rooftop, source=InventoryFeedRun.Source.UPLOAD, user=request.user,
                                           data=upload.read(), source_name=name,
                                           allow_shrink=request.POST.get("complete") == "on")
                except FeedRefused as exc:
                    errors["upload"] = f"{name} was not loaded: {exc.reason}"
                else:
                    if not start.started:
                        messages.info(request, "A load is already running at this store: wait for it to finish, "
                                               "then upload again.")
                    return redirect(here + "#latest-run")
        else:
            errors["settings"] = "Unknown action."
        status = status if status != 200 else UNPROCESSABLE
    access = staff_access(request.user)
    runs = selectors.feed_runs(access=access, rooftop_id=rooftop.id)
    page = paginate(runs, per_page=RUNS_PER_PAGE, raw_page=request.GET.get("page"))
    latest = runs.first()
    return render(request, "leads/inventory_feed.html", {
        "rooftop": rooftop, "rooftops": rooftops, "feed": feed, "errors": errors, "page": page,
        "url_value": posted.get("url", feed.url),
        "column_map_value": posted.get("column_map", column_map_text(feed.column_map)),
        "gone_value": posted.get("gone_status", feed.gone_status), "gone_choices": InventoryFeed.GoneStatus.choices,
        "columns": [(FIELD_LABELS[name], aliases, name) for name, aliases in DEFAULT_COLUMNS.items()],
        "max_mb": settings.INVENTORY_FEED_MAX_BYTES // (1024 * 1024),
        **_run_context(latest),
    }, status=status)


def _checked_url(url: str) -> str:
    if not url:
        return ""
    if len(url) > 1000:
        raise ValueError("The feed URL is longer than 1,000 characters.")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise ValueError("The feed URL must be a web address starting with https:// (or http://).") from None
    return url


def _run_context(run: InventoryFeedRun | None) -> dict:
    stale = run is not None and run.is_stale(now=timezone.now())
    return {"run": run, "run_stale": stale, "polling": run is not None and run.active and not stale,
            "run_source": display_url(run.source_name) if run is not None and run.source == "url" else
            (run.source_name if run is not None else "")}


@login_required
@require_GET
def inventory_feed_run_view(request: HttpRequest, feed_run_id: int) -> HttpResponse:
    """One load's progress and result: the partial htmx polls while it runs (polling stops once it has finished)."""
    run = selectors.access_feed_run(access=staff_access(request.user), feed_run_id=feed_run_id)
    return render(request, "leads/_feed_run.html", {"rooftop": run.rooftop, **_run_context(run), "polled": True})


@login_required
@require_GET
def inventory_feed_run_errors(request: HttpRequest, feed_run_id: int) -> HttpResponse:
    """The rows a load refused, as CSV, to send back to the vendor (no customer data: no access record)."""
    run = selectors.access_feed_run(access=staff_access(request.user), feed_run_id=feed_run_id)
    response = HttpResponse(row_errors_csv(run.row_errors or []), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="feed-errors-{run.rooftop.slug}-{run.id}.csv"'
    return response
