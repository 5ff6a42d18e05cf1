"""Reroutes and missed deadlines by person, once lead routing records its history (`leads.LeadReroute`).

Until that model is merged, the measures are hidden; these tests then run against a stand-in model with the
announced fields (lead, from, to, reason, at, kind) created for the test only, so the rollup SQL and the
drill-down are exercised today. When the real model exists they run against it instead.
"""

from datetime import date, timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connection, models

from kpis.definitions import MEASURES, available_measures, model_available
from kpis.selectors import dashboard_build, drilldown_leads, measure_value
from kpis.services import reroute_columns, reroute_model

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 2)
REAL_MODEL = model_available("leads.LeadReroute")


def _stand_in_model():
    from leads.models import Lead

    class Meta:
        app_label = "leads"
        db_table = "kpis_test_stand_in_lead_reroute"

    return type("LeadReroute", (models.Model,), {
        "__module__": "leads.models",
        "Meta": Meta,
        "lead": models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+"),
        "from_user": models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"),
        "to_user": models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"),
        "reason": models.CharField(max_length=200, blank=True),
        "at": models.DateTimeField(),
        "kind": models.CharField(max_length=20, choices=[("deadline_missed", "Deadline missed"),
                                                         ("with_customer", "With a customer"), ("manual", "By hand")]),
    })


@pytest.fixture
def reroutes():
    """The reroute model: the real one when lead routing has landed, else a stand-in for this test only."""
    if REAL_MODEL:
        yield reroute_model()
        return
    model = _stand_in_model()
    with connection.schema_editor() as editor:  # inside the test's transaction: rolled back with it
        editor.create_model(model)
    try:
        yield model
    finally:
        del apps.all_models["leads"]["leadreroute"]
        apps.clear_cache()


def _reroute(model, *, lead, from_user, to_user, at, missed: bool):
    columns = reroute_columns(model)
    fields = {f.column: f for f in model._meta.concrete_fields}
    kind_field = fields[columns.kind]
    other = next((v for v, _ in (kind_field.choices or []) if v not in columns.missed_kinds), "manual")
    values = {
        fields[columns.lead].name: lead, fields[columns.from_person].name: from_user,
        fields[columns.at].name: at, kind_field.name: columns.missed_kinds[0] if missed else other,
    }
    for name in ("to_user", "to_owner", "to_person", "to_assignee", "rerouted_to"):
        if name in {f.name for f in model._meta.concrete_fields}:
            values[name] = to_user
    if "reason" in {f.name for f in model._meta.concrete_fields}:
        values["reason"] = "No response in 15 minutes" if missed else "Busy with a customer"
    return model._default_manager.create(**values)


def test_reroute_measures_are_hidden_until_lead_routing_records_reroutes():
    assert ("reroutes" in available_measures()) == REAL_MODEL
    assert ("missed_deadlines" in available_measures()) == REAL_MODEL


def test_reroutes_and_missed_deadlines_count_against_the_person_who_lost_the_lead(build, world, reroutes):
    assert "reroutes" in available_measures()
    first = build.lead(at=build.at(DAY, 9), owner=world.teammate)
    second = build.lead(at=build.at(DAY, 9), owner=world.teammate)
    # Sam missed two deadlines; Tia handed one lead on while with a customer.
    _reroute(reroutes, lead=first, from_user=world.salesperson, to_user=world.teammate, at=build.at(DAY, 9, 15),
             missed=True)
    _reroute(reroutes, lead=second, from_user=world.salesperson, to_user=world.teammate, at=build.at(DAY, 9, 20),
             missed=True)
    _reroute(reroutes, lead=second, from_user=world.teammate, to_user=world.salesperson, at=build.at(DAY, 11),
             missed=False)
    _reroute(reroutes, lead=second, from_user=world.teammate, to_user=None, at=build.at(DAY + timedelta(days=1), 11),
             missed=True)  # the next day: outside the period
    build.rebuild()
    scope = build.scope(start=DAY, end=DAY)
    assert measure_value(scope=scope, key="reroutes").current == 3
    assert measure_value(scope=scope, key="missed_deadlines").current == 2
    sam = scope.narrowed(person_id=world.salesperson.id)
    assert measure_value(scope=sam, key="missed_deadlines").current == 2
    assert drilldown_leads(scope=sam, measure=MEASURES["missed_deadlines"]).count() == 2
    result = dashboard_build(scope=scope)
    routing = next(s for s in result.sections if s.section.key == "routing")
    rows = {row.label: row.values for row in routing.figures[0].rows}
    assert rows["Sam Sales"]["missed_deadlines"].current == 2
    assert rows["Tia Teammate"]["reroutes"].current == 1
    assert rows["Tia Teammate"]["missed_deadlines"].current == 0
