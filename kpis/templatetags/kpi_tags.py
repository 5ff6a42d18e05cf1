"""Template helpers of the dashboards: figures as text, changes as arrows, links that keep the filters."""

from functools import lru_cache

from django import template
from django.urls import NoReverseMatch, reverse

from kpis.forms import scope_query
from kpis.presentation import format_change, format_number
from kpis.selectors import EMPTY

register = template.Library()


@register.filter
def kpi_current(value, measure) -> str:
    return format_number((value or EMPTY).current, measure.unit)


@register.filter
def kpi_previous(value, measure) -> str:
    return format_number((value or EMPTY).previous, measure.unit)


@register.filter
def kpi_change(value, measure):
    return format_change(value or EMPTY, measure)


@register.filter
def kpi_get(values: dict, key: str):
    return values.get(key, EMPTY)


@register.filter
def kpi_get_table(tables: dict, key: str) -> str:
    """A breakdown table's body rows (kpis.presentation.breakdown_table, already escaped HTML)."""
    return tables.get(key, "")


@register.filter
def kpi_count(value) -> str:
    return "—" if value is None else f"{int(value):,}"


@register.simple_tag(takes_context=True)
def kpi_leads_url(context, scope, measure, part: str = "") -> str:
    """The drill-down list of the leads behind a figure, for a scope (a row of a table narrows it)."""
    if scope is None or measure.leads is None or (part == "base" and measure.leads_base is None):
        return ""
    query = scope_query(scope, all_rooftops=context.get("rooftop_count", 1), measure=measure.key, part=part or None)
    return f"{_leads_path()}?{query}"


@lru_cache(maxsize=1)
def _leads_path() -> str:
    # A leaderboard has a thousand linked cells; the path never changes within a process.
    return reverse("kpi-leads")


@register.simple_tag(takes_context=True)
def kpi_export_url(context, figure_key: str) -> str:
    query = scope_query(context["scope"], all_rooftops=context.get("rooftop_count", 1), figure=figure_key)
    return f"{reverse('kpi-export')}?{query}"


@register.simple_tag
def optional_url(name: str, *args) -> str:
    """A link to another app's page when that page exists in this installation."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""
