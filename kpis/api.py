"""Staff API for the manager dashboards: the same figures as the page, as JSON.

The filter is the page's form (`kpis.forms.dashboard_filter`) and the numbers come from the page's one builder
(`kpis.selectors.dashboard_build`, over `kpis.definitions`): nothing is computed here.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from crm.api import StaffApiView, replica_list
from kpis.forms import PRESETS, dashboard_filter
from kpis.selectors import EMPTY, Dashboard, Value, dashboard_build
from leads.models import Lead
from rooftops.selectors import staff_access


class KpiQuery(serializers.Serializer):
    """What the API adds to the page's filter: whether to compare, and whether to send the breakdowns."""

    compare = serializers.ChoiceField(choices=["previous", "none"], default="none",
                                      help_text="`previous`: also the period of equal length just before.")
    figures = serializers.BooleanField(default=True, help_text="Send the breakdown tables too (else only the "
                                                               "headline figures).")


class ValueOutput(serializers.Serializer):
    value = serializers.FloatField(allow_null=True)
    previous = serializers.FloatField(allow_null=True, required=False)
    change = serializers.FloatField(allow_null=True, required=False)
    change_ratio = serializers.FloatField(allow_null=True, required=False)
    numerator = serializers.FloatField(allow_null=True)
    denominator = serializers.FloatField(allow_null=True)


class CardOutput(ValueOutput):
    key = serializers.CharField()
    label = serializers.CharField()
    unit = serializers.CharField()
    better = serializers.CharField(allow_null=True)
    definition = serializers.CharField()


class RowOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    values = serializers.DictField(child=ValueOutput())


class FigureOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    dimension = serializers.CharField(allow_null=True)
    dimension_label = serializers.CharField()
    measures = serializers.ListField(child=serializers.CharField())
    rows = RowOutput(many=True)


class SectionOutput(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    cards = CardOutput(many=True)
    figures = FigureOutput(many=True, required=False)


class ScopeRooftopOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    time_zone = serializers.CharField()


class KpiScopeOutput(serializers.Serializer):
    rooftops = ScopeRooftopOutput(many=True)
    start = serializers.DateField()
    end = serializers.DateField()
    previous_start = serializers.DateField(allow_null=True)
    previous_end = serializers.DateField(allow_null=True)
    source = serializers.CharField(allow_null=True)
    person = serializers.IntegerField(allow_null=True)


class KpiOutput(serializers.Serializer):
    scope = KpiScopeOutput()
    refreshed_at = serializers.DateTimeField(allow_null=True)
    sections = SectionOutput(many=True)


def _value(value: Value, compare: bool) -> dict:
    out = {"value": value.current, "numerator": value.numerator, "denominator": value.denominator}
    if compare:
        out.update(previous=value.previous, change=value.change, change_ratio=value.change_ratio)
    return out


def dashboard_json(result: Dashboard, *, compare: bool, figures: bool) -> dict:
    """The dashboard as plain data: every section's headline figures (and breakdowns), as the page shows them."""
    scope = result.scope
    sections = []
    for section in result.sections:
        entry = {
            "key": section.section.key, "title": section.section.title,
            "cards": [{"key": m.key, "label": m.label, "unit": m.unit, "better": m.better, "definition": m.definition,
                       **_value(v, compare)} for m, v in section.cards],
        }
        if figures:
            entry["figures"] = [{
                "key": f.figure.key, "title": f.figure.title, "dimension": f.figure.dimension,
                "dimension_label": f.dimension_label, "measures": [m.key for m in f.measures],
                "rows": [{"key": str(row.key), "label": row.label,
                          "values": {m.key: _value(row.values.get(m.key, EMPTY), compare) for m in f.measures}}
                         for row in f.rows],
            } for f in section.figures]
        sections.append(entry)
    return {
        "scope": {
            "rooftops": [{"id": r.id, "name": r.name, "time_zone": r.time_zone} for r in scope.rooftops],
            "start": scope.start, "end": scope.end,
            "previous_start": scope.previous.start if compare else None,
            "previous_end": scope.previous.end if compare else None,
            "source": scope.source, "person": scope.person_id,
        },
        "refreshed_at": result.refreshed_at, "sections": sections,
    }


def _form_errors(form) -> dict:
    return {("non_field_errors" if field == "__all__" else field): [e["message"] for e in errors]
            for field, errors in form.errors.get_json_data().items()}


class KpiApi(StaffApiView):
    @extend_schema(
        summary="The manager dashboards' figures as JSON (managers)",
        description="The same filter and the same numbers as the dashboard page: stores you manage, local days "
                    "`start`..`end` (default the last 30) or a `preset`, optionally one `source` or `person` "
                    "(`0`: unassigned). Percentages are 0–100, times in minutes.",
        parameters=[
            OpenApiParameter("rooftop", OpenApiTypes.INT, description="One store you manage (default: all of them)."),
            OpenApiParameter("start", OpenApiTypes.DATE), OpenApiParameter("end", OpenApiTypes.DATE),
            OpenApiParameter("preset", OpenApiTypes.STR, enum=[p for p, _ in PRESETS]),
            OpenApiParameter("source", OpenApiTypes.STR, enum=Lead.Source.values),
            OpenApiParameter("person", OpenApiTypes.INT, description="A salesperson's user id; 0 for unassigned."),
            KpiQuery,
        ],
        responses={200: KpiOutput, 404: OpenApiResponse(description="Not a manager, or not your store.")},
        tags=["kpis"],
    )
    @replica_list
    def get(self, request):
        query = KpiQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        asked = request.query_params.get("rooftop", "")
        if asked and not asked.isdigit():
            raise ValidationError({"rooftop": ["Must be a rooftop id."]})
        params = request.query_params.copy()
        for name in ("compare", "figures"):
            params.pop(name, None)
        form, _ = dashboard_filter(staff_access(request.user), params)
        if not form.is_bound:
            form = type(form)({}, rooftops=form.rooftops)
        if not form.is_valid():
            raise ValidationError(_form_errors(form))
        compare, figures = query.validated_data["compare"] == "previous", query.validated_data["figures"]
        result = dashboard_build(scope=form.scope(), figures=figures)
        return Response(KpiOutput(dashboard_json(result, compare=compare, figures=figures)).data)
