"""The equity mining list's filters: one place that cleans them (a bad value is a 400 naming it, never a 500)."""

from __future__ import annotations

from django import forms

from service.models import VehicleOpportunity
from service.triggers import TriggerKind

TRIGGER_LABELS = {
    TriggerKind.EQUITY.value: "Equity", TriggerKind.LEASE_ENDING.value: "Lease ending",
    TriggerKind.OVER_PACE.value: "Over lease miles", TriggerKind.PAYMENTS_LEFT.value: "Few payments left",
    TriggerKind.WARRANTY_ENDING.value: "Warranty ending", TriggerKind.REPAIR_BILL.value: "Big repair bill",
    TriggerKind.NEWER_IN_STOCK.value: "Newer model in stock",
}
QUIET = [("", "Any"), ("30", "Not contacted in 30 days"), ("90", "Not contacted in 90 days"),
         ("180", "Not contacted in 6 months")]


class MiningFilterForm(forms.Form):
    rooftop = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    trigger = forms.ChoiceField(choices=[("", "Any reason"), *TRIGGER_LABELS.items()], required=False)
    model = forms.CharField(max_length=50, required=False, strip=True)
    band = forms.ChoiceField(choices=[("", "Any equity"), *VehicleOpportunity.EquityBand.choices], required=False)
    quiet = forms.TypedChoiceField(choices=QUIET, coerce=int, required=False, empty_value=None)

    def __init__(self, *args, rooftops, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["rooftop"].choices = [("", "All my stores"), *((r.id, r.name) for r in rooftops)]


class ThresholdsForm(forms.Form):
    """A store's lines for "ready to trade", in the units a manager thinks in (dollars, days, miles)."""

    equity_min_dollars = forms.IntegerField(min_value=0, max_value=200_000, label="Equity of at least ($)")
    lease_within_days = forms.IntegerField(min_value=0, max_value=730, label="Lease ends within (days)")
    over_pace_percent = forms.IntegerField(min_value=0, max_value=100, label="Over the lease's miles pace by (%)")
    payments_left_at_most = forms.IntegerField(min_value=0, max_value=120, label="Payments left, at most")
    warranty_within_days = forms.IntegerField(min_value=0, max_value=730, label="Factory warranty ends within (days)")
    warranty_within_miles = forms.IntegerField(min_value=0, max_value=100_000,
                                               label="… or within (miles of its mileage limit)")
    repair_bill_min_dollars = forms.IntegerField(min_value=0, max_value=100_000,
                                                 label="Open repair bill of at least ($)")
