import csv
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from crm.pagination import paginate
from rooftops.audit import Kind, access_record
from rooftops.forms import AccessLogFilterForm
from rooftops.models import Availability, Role, Rooftop, TokenScope
from rooftops.selectors import (
    access_records, accessible_rooftops, recovery_codes_left, rooftop_staff_names, second_factor_enrolled,
    second_factor_required, staff_access,
)
from rooftops.services import api_token_create, api_token_revoke, staff_set_availability

# Tokens made on the profile page always expire; only the command line makes one that never does.
TOKEN_LIFETIME_DAYS = [7, 30, 90, 365]

# Where each role starts its day; the first page that exists wins (apps add their pages over time).
LANDING_BY_ROLE = {
    Role.BDC_AGENT: ["alert-feed"],
    Role.SALESPERSON: ["my-day", "alert-feed"],
    Role.SERVICE_ADVISOR: ["service-lane"],
    Role.MANAGER: ["kpi-dashboard", "alert-feed"],
}


@login_required
def home(request):
    access = staff_access(request.user)
    for role, url_names in LANDING_BY_ROLE.items():
        if access.any_role(role):
            for name in url_names:
                try:
                    return redirect(reverse(name))
                except NoReverseMatch:
                    continue
    return render(request, "rooftops/home.html", {"rooftops": accessible_rooftops(access)})


@login_required
def profile(request):
    access = staff_access(request.user)
    return render(
        request,
        "rooftops/profile.html",
        {
            "rooftops": [
                (r, [Role(role).label for role in sorted(access.roles[r.id])]) for r in accessible_rooftops(access)
            ],
            "tokens": request.user.api_tokens.order_by("-created_at"),
            "token_scopes": TokenScope.choices,
            "token_lifetimes": TOKEN_LIFETIME_DAYS,
            "now": timezone.now(),
            "availability_choices": Availability.choices,
            "new_token_key": request.session.pop("new_token_key", None),
            "second_factor_enrolled": second_factor_enrolled(request.user),
            "second_factor_required": second_factor_required(request.user),
            "recovery_codes_left": recovery_codes_left(request.user),
        },
    )


@login_required
@require_POST
def set_availability(request):
    profile = getattr(request.user, "staff_profile", None)
    if profile is None:
        return HttpResponseBadRequest("Only staff members have an availability.")
    try:
        staff_set_availability(profile=profile, availability=request.POST.get("availability", ""))
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    if request.headers.get("HX-Request"):
        return render(request, "rooftops/_availability.html", {"staff_profile": profile,
                                                              "availability_choices": Availability.choices})
    messages.success(request, f"You are now {profile.get_availability_display().lower()}.")
    return redirect("profile")


@login_required
@require_POST
def token_create(request):
    name = (request.POST.get("name") or "API token").strip()[:100]
    scope = request.POST.get("scope") or TokenScope.READ
    try:
        days = int(request.POST.get("lifetime_days") or 90)
    except ValueError:
        days = 0
    if scope not in TokenScope.values or days not in TOKEN_LIFETIME_DAYS:
        return HttpResponseBadRequest(
            f"Choose an access ({', '.join(TokenScope.values)}) and a lifetime of {TOKEN_LIFETIME_DAYS} days."
        )
    _, key = api_token_create(user=request.user, name=name, scope=scope, lifetime=timedelta(days=days))
    # Shown once, on the next page load only.
    request.session["new_token_key"] = key
    return redirect("profile")


@login_required
@require_POST
def token_revoke(request, token_id: int):
    if api_token_revoke(user=request.user, token_id=token_id):
        messages.success(request, "Token revoked. Scripts using it will get 401 from now on.")
    return redirect("profile")


ACCESS_LOG_PAGE_SIZE = 50


class _Echo:
    def write(self, value):
        return value


@login_required
@require_GET
def access_log(request):
    """A manager's answer to "what did this person read between these times", as a page or a CSV file."""
    access = staff_access(request.user)
    rooftops = list(Rooftop.objects.filter(id__in=access.rooftops_with_role(Role.MANAGER)).order_by("name"))
    if not rooftops:
        raise Http404
    asked = request.GET.get("rooftop")
    rooftop = next((r for r in rooftops if str(r.id) == asked), None) if asked else rooftops[0]
    if rooftop is None:
        raise Http404  # another store's log: the same answer as a store that does not exist
    zone = ZoneInfo(rooftop.time_zone)
    names = rooftop_staff_names(rooftop.id)
    with timezone.override(zone):  # "From" and "To" are read on the store's clock
        form = AccessLogFilterForm(request.GET or None, staff_names=names)
        valid = form.is_valid() if form.is_bound else True
    context = {"form": form, "rooftops": rooftops, "rooftop": rooftop}
    if not valid:
        return render(request, "rooftops/access_log.html", context, status=400)
    filters = form.cleaned_data if form.is_bound else {}
    records = access_records(rooftop_id=rooftop.id, user_id=filters.get("person"), start=filters.get("start"),
                             end=filters.get("end"), kind=filters.get("kind", ""))
    if request.GET.get("format") == "csv":
        access_record(request, kind=Kind.ACCESS_LOG_CSV, rooftop_ids=[rooftop.id], rows=records.count())
        return _access_log_csv(records, rooftop=rooftop, zone=zone)
    page = paginate(records, per_page=ACCESS_LOG_PAGE_SIZE, raw_page=request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    context.update({
        "page": page, "query": query.urlencode(),
        "rows": [(r, timezone.localtime(r.at, zone), names.get(r.user_id, r.username)) for r in page.object_list],
    })
    return render(request, "rooftops/access_log.html", context)


def _access_log_csv(records, *, rooftop: Rooftop, zone: ZoneInfo) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines():
        yield writer.writerow(["at", "user_id", "username", "client_address", "kind", "path", "query", "rows",
                               "object_ids"])
        for r in records.iterator(chunk_size=2000):
            yield writer.writerow([timezone.localtime(r.at, zone).isoformat(), r.user_id or "", r.username,
                                   r.client_address, r.kind, r.path, r.query, r.rows,
                                   " ".join(str(i) for i in r.object_ids)])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-log-{rooftop.slug}.csv"'
    return response
