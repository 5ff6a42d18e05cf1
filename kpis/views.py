"""Manager dashboards: the page (and its htmx body), CSV exports, and the leads behind a figure."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET

from crm.db_router import replica_reads, replica_reads_streamed
from crm.pagination import paginate
from kpis import conf
from kpis.definitions import available_measures
from kpis.forms import PRESETS, DashboardFilterForm, dashboard_filter, scope_query
from kpis.presentation import breakdown_table, chart_data, format_change, plain_number
from kpis.selectors import EMPTY, dashboard_build, drilldown_leads, figure_lookup
from rooftops.audit import Kind, access_record
from rooftops.selectors import staff_access


def _filter_form(request: HttpRequest) -> tuple[DashboardFilterForm, list]:
    """The filter form over the rooftops this manager manages; anyone else, or another store, is a 404."""
    return dashboard_filter(staff_access(request.user), request.GET)


def _bound(form: DashboardFilterForm) -> bool:
    if not form.is_bound:
        form.data = {}
        form.is_bound = True
    return form.is_valid()


@login_required
@require_GET
@replica_reads
def dashboard(request: HttpRequest) -> HttpResponse:
    form, rooftops = _filter_form(request)
    partial = request.headers.get("HX-Request") == "true" and request.headers.get("HX-Target") == "kpi-body"
    template = "kpis/_page.html" if partial else "kpis/dashboard.html"
    context = {"form": form, "rooftop_count": len(rooftops), "preset_links": _preset_links(request)}
    if not _bound(form):
        return render(request, template, context, status=400)
    scope = form.scope()
    # Show the dates a preset stands for in the date boxes.
    shown = request.GET.copy()
    shown["start"], shown["end"] = scope.start.isoformat(), scope.end.isoformat()
    context["form"] = form = DashboardFilterForm(shown, rooftops=rooftops, people=form.people)
    form.is_valid()
    result = dashboard_build(scope=scope)
    charts = {
        figure.figure.key: chart_data(figure) for section in result.sections for figure in section.figures
    }
    leads_path = reverse("kpi-leads")
    row_queries: dict[int, str] = {}

    def leads_url(row_scope, measure) -> str:
        if row_scope is None or measure.leads is None:
            return ""
        # One query string per row (its cells differ only by the measure).
        query = row_queries.get(id(row_scope))
        if query is None:
            query = row_queries[id(row_scope)] = scope_query(row_scope, all_rooftops=len(rooftops))
        return f"{leads_path}?{query}&measure={measure.key}"

    tables = {
        figure.figure.key: breakdown_table(figure, leads_url=leads_url)
        for section in result.sections for figure in section.figures if figure.figure.dimension
    }
    context.update({
        "scope": scope, "dashboard": result, "charts": {k: v for k, v in charts.items() if v}, "tables": tables,
        "query": scope_query(scope, all_rooftops=len(rooftops)),
    })
    return render(request, template, context)


def _preset_links(request: HttpRequest) -> list[tuple[str, str]]:
    keep = {k: request.GET[k] for k in ("rooftop", "source", "person") if request.GET.get(k)}
    base = reverse("kpi-dashboard")
    return [(f"{base}?{urlencode({**keep, 'preset': value})}", label) for value, label in PRESETS]


@login_required
@require_GET
@replica_reads
def export_csv(request: HttpRequest) -> HttpResponse:
    """One figure (or the summary of every headline figure) as CSV, with the filters of the page."""
    form, rooftops = _filter_form(request)
    if not _bound(form):
        return HttpResponse("; ".join(_errors(form)), status=400, content_type="text/plain")
    scope = form.scope()
    response = _figure_csv(request, scope)
    if response.status_code == 200:
        # Data lines: all but the line naming the period and the column headings.
        lines = sum(1 for _ in csv.reader(io.StringIO(response.content.decode())))
        access_record(request, kind=Kind.KPI_CSV, rooftop_ids=[r.id for r in scope.rooftops], rows=max(0, lines - 2))
    return response


def _figure_csv(request: HttpRequest, scope) -> HttpResponse:
    """The file for one figure, or a 400 naming what was unknown."""
    key = request.GET.get("figure", "summary")
    found = figure_lookup(key) if key != "summary" else None
    if key != "summary" and found is None:
        return HttpResponse(f"Unknown figure {key!r}.", status=400, content_type="text/plain")
    # Compute only what this file holds: the headline figures, or the one section of the figure.
    result = dashboard_build(scope=scope, figures=False) if found is None else dashboard_build(
        scope=scope, sections=[found[0]])
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"{key}_{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    person = scope.person_id if scope.person_id is not None else "all"
    writer.writerow(["# Period", f"{scope.start}..{scope.end}", "Previous period",
                     f"{scope.previous.start}..{scope.previous.end}", "Stores",
                     "; ".join(r.name for r in scope.rooftops), "Source", scope.source or "all", "Person", person])
    if key == "summary":
        writer.writerow(["section", "measure", "value", "previous", "change", "unit", "numerator", "denominator",
                         "definition"])
        for section in result.sections:
            for measure, value in section.cards:
                change = format_change(value, measure)
                writer.writerow([
                    section.section.title, measure.label, plain_number(value.current, measure.unit),
                    plain_number(value.previous, measure.unit), change["text"] if change else "", measure.unit,
                    "" if value.numerator is None else value.numerator,
                    "" if value.denominator is None else value.denominator, measure.definition,
                ])
        return response
    figure = next(f for s in result.sections for f in s.figures if f.figure.key == key) if any(
        f.figure.key == key for s in result.sections for f in s.figures) else None
    if figure is None:  # a figure that does not apply here (e.g. "by rooftop" for one store)
        writer.writerow(["no data"])
        return response
    if figure.figure.dimension is None:
        writer.writerow(["measure", "value", "previous", "unit", "definition"])
        for row in figure.rows:
            measure = next(m for m in figure.measures if m.key == row.key)
            value = row.values[row.key]
            writer.writerow([measure.label, plain_number(value.current, measure.unit),
                             plain_number(value.previous, measure.unit), measure.unit, measure.definition])
        return response
    with_previous = figure.figure.dimension != "trend"
    header = [figure.dimension_label]
    for m in figure.measures:
        header.append(m.heading)
        if with_previous:
            header.append(f"{m.heading} (previous)")
    writer.writerow(header)
    for row in figure.rows:
        line = [row.label]
        for m in figure.measures:
            value = row.values.get(m.key, EMPTY)
            line.append(plain_number(value.current, m.unit))
            if with_previous:
                line.append(plain_number(value.previous, m.unit))
        writer.writerow(line)
    return response


def _errors(form) -> list[str]:
    return [f"{field}: {error}" if field != "__all__" else str(error)
            for field, errors in form.errors.items() for error in errors]


class _Echo:
    def write(self, value):
        return value


@login_required
@require_GET
@replica_reads
def leads_behind(request: HttpRequest) -> HttpResponse:
    """The leads behind one figure, paginated (or all of them as CSV)."""
    form, rooftops = _filter_form(request)
    measures = available_measures()
    measure = measures.get(request.GET.get("measure", ""))
    part = request.GET.get("part", "")
    if measure is None or measure.leads is None or part not in ("", "base") or (
            part == "base" and measure.leads_base is None):
        return HttpResponse("Unknown figure: pick a figure on the dashboard and open its leads from there.",
                            status=400, content_type="text/plain")
    if not _bound(form):
        return render(request, "kpis/leads.html", {"form": form, "measure": measure, "rooftop_count": len(rooftops)},
                      status=400)
    scope = form.scope()
    leads = drilldown_leads(scope=scope, measure=measure, base=part == "base")
    if request.GET.get("format") == "csv":
        # Recorded before streaming, with the count of what the file holds: a download cut short still counts.
        access_record(request, kind=Kind.LEADS_CSV, rooftop_ids=[r.id for r in scope.rooftops], rows=leads.count())
        writer = csv.writer(_Echo())

        def rows() -> Iterator[str]:
            yield writer.writerow(["lead_id", "received", "rooftop", "customer", "source", "owner", "status",
                                   "first_attempt_minutes"])
            for lead in leads.iterator(chunk_size=2000):
                yield writer.writerow([
                    lead.id, timezone.localtime(lead.created_at, _zone(lead.rooftop.time_zone)).isoformat(),
                    lead.rooftop.name, str(lead.customer), lead.get_source_display(), _owner(lead),
                    lead.get_status_display(),
                    "" if lead.first_attempt_at is None else f"{_speed_minutes(lead):.2f}",
                ])

        response = StreamingHttpResponse(replica_reads_streamed(rows()), content_type="text/csv; charset=utf-8")
        filename = f"leads_{measure.key}_{scope.start:%Y%m%d}-{scope.end:%Y%m%d}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    page = paginate(leads, per_page=conf.DRILLDOWN_PAGE_SIZE, raw_page=request.GET.get("page"))
    rows = [
        {"lead": lead, "received": timezone.localtime(lead.created_at, _zone(lead.rooftop.time_zone)),
         "owner": _owner(lead), "speed": None if lead.first_attempt_at is None else _speed_minutes(lead)}
        for lead in page.object_list
    ]
    query = scope_query(scope, all_rooftops=len(rooftops), measure=measure.key, part=part or None)
    return render(request, "kpis/leads.html", {
        "form": form, "scope": scope, "measure": measure, "part": part, "page": page, "rows": rows,
        "query": query, "dashboard_query": scope_query(scope, all_rooftops=len(rooftops)),
        "rooftop_count": len(rooftops),
    })


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def _owner(lead) -> str:
    if lead.assigned_to is None:
        return "Unassigned"
    profile = getattr(lead.assigned_to, "staff_profile", None)
    return profile.display_name if profile else lead.assigned_to.get_username()


def _speed_minutes(lead) -> float:
    return max(0.0, (lead.first_attempt_at - lead.created_at).total_seconds()) / 60
