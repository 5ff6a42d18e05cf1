"""The dashboard filter: which rooftops (only those the manager manages), which local days, which source and
person. Turns a query string into a `Scope`, or into a clear reason why not."""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.models import User
from django.http import Http404
from django.utils import timezone

from kpis import conf
from kpis.scope import UNASSIGNED, Scope, ScopeRooftop
from kpis.services import local_today
from leads.models import Lead
from rooftops.models import Role, Rooftop, StaffRole
from rooftops.tenancy import StaffAccess

PRESETS = [("7", "Last 7 days"), ("30", "Last 30 days"), ("90", "Last 90 days"), ("mtd", "This month"),
           ("last_month", "Last month"), ("ytd", "Year to date"), ("365", "Last 12 months")]


def managed_rooftops(access: StaffAccess) -> list[Rooftop]:
    """The rooftops whose numbers this person may see: where they are a manager (the whole group when granted)."""
    ids = access.rooftops_with_role(Role.MANAGER)
    return list(Rooftop.objects.filter(id__in=ids).select_related("dealer_group").order_by("name"))


def dashboard_filter(access: StaffAccess, params) -> tuple[DashboardFilterForm, list[Rooftop]]:
    """The filter form of the dashboards (page, exports, API) over the rooftops this person manages; anyone else,
    or another store asked for, is a 404 (the answer for a store that does not exist). `params` empty: unbound."""
    rooftops = managed_rooftops(access)
    if not rooftops:
        raise Http404
    asked = params.get("rooftop")
    if asked and asked not in {str(r.id) for r in rooftops}:
        raise Http404
    return DashboardFilterForm(params or None, rooftops=rooftops), rooftops


def today_for(rooftops: list[Rooftop]) -> date:
    # Across time zones "today" is the latest local date, so the newest local day is never cut off.
    now = timezone.now()
    return max(local_today(tz=r.time_zone, now=now) for r in rooftops)


def preset_range(preset: str, today: date) -> tuple[date, date]:
    if preset == "mtd":
        return today.replace(day=1), today
    if preset == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return last.replace(day=1), last
    if preset == "ytd":
        return today.replace(month=1, day=1), today
    return today - timedelta(days=int(preset) - 1), today


class DashboardFilterForm(forms.Form):
    rooftop = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Store")
    start = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    preset = forms.ChoiceField(required=False, choices=[("", "Custom")] + PRESETS, label="Period")
    source = forms.ChoiceField(required=False, label="Source")
    person = forms.TypedChoiceField(required=False, coerce=int, empty_value=None, label="Person")
    kind = forms.RegexField(required=False, regex=r"^[a-z0-9_]{1,40}$", widget=forms.HiddenInput)

    def __init__(self, data, *, rooftops: list[Rooftop], people: list[tuple[int, str]] | None = None):
        super().__init__(data)
        self.rooftops = rooftops
        self.today = today_for(rooftops)
        choices = [(r.id, r.name) for r in rooftops]
        if len(rooftops) > 1:
            group = rooftops[0].dealer_group.name
            choices = [("", f"All {len(rooftops)} stores ({group})")] + choices
        self.fields["rooftop"].choices = choices
        self.fields["source"].choices = [("", "All sources")] + list(Lead.Source.choices)
        # `people` from a form already built for the same rooftops (the page re-shows the dates of a preset).
        self.people = self._people() if people is None else people
        self.fields["person"].choices = [("", "Everyone")] + self.people + [(UNASSIGNED, "Unassigned")]
        self.fields["end"].widget.attrs["max"] = self.today.isoformat()

    def _people(self) -> list[tuple[int, str]]:
        user_ids = StaffRole.objects.filter(rooftop__in=self.rooftops).exclude(role=Role.SERVICE_ADVISOR).values(
            "user_id")
        people = User.objects.filter(id__in=user_ids).select_related("staff_profile")
        named = [(u.id, getattr(getattr(u, "staff_profile", None), "display_name", "") or u.get_username())
                 for u in people]
        return sorted(named, key=lambda p: p[1])

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        preset = data.get("preset")
        start, end = data.get("start"), data.get("end")
        if preset:
            start, end = preset_range(preset, self.today)
        else:
            end = end or self.today
            start = start or end - timedelta(days=29)
        if end < start:
            raise forms.ValidationError("The period ends before it starts: pick a 'To' date on or after 'From'.")
        if end > self.today:
            raise forms.ValidationError(f"The period cannot end after today ({self.today:%b %-d, %Y}).")
        if (end - start).days + 1 > conf.MAX_RANGE_DAYS:
            raise forms.ValidationError(f"Pick at most {conf.MAX_RANGE_DAYS} days.")
        data["start"], data["end"] = start, end
        return data

    def scope(self) -> Scope:
        data = self.cleaned_data
        chosen = [r for r in self.rooftops if data["rooftop"] in (None, r.id)]
        return Scope(
            rooftops=tuple(ScopeRooftop(id=r.id, name=r.name, time_zone=r.time_zone) for r in chosen),
            start=data["start"], end=data["end"], source=data.get("source") or None,
            person_id=data.get("person"), kind=data.get("kind") or None,
        )


def scope_query(scope: Scope, *, all_rooftops: int, **extra) -> str:
    """The query string that selects this scope again (drill-down, export and comparison links)."""
    params: dict = {"start": scope.start.isoformat(), "end": scope.end.isoformat()}
    if len(scope.rooftops) == 1 and all_rooftops != 1:
        params["rooftop"] = scope.rooftops[0].id
    if scope.source is not None:
        params["source"] = scope.source
    if scope.person_id is not None:
        params["person"] = scope.person_id
    if scope.kind:
        params["kind"] = scope.kind
    params.update({k: v for k, v in extra.items() if v is not None})
    return urlencode(params)
