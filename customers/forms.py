"""Quick-action forms on the customer page. Times are typed on the rooftop's wall clock."""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo

from django import forms
from django.utils import timezone, translation
from django.utils.safestring import SafeString

from customers.models import Appointment

CALL_OUTCOMES = [
    ("Talked to customer", "Talked to customer"),
    ("Left voicemail", "Left voicemail"),
    ("No answer", "No answer"),
    ("Wrong number", "Wrong number"),
    ("Customer called in", "Customer called in"),
]


class LeadChoiceMixin:
    def set_leads(self, leads) -> None:
        self.fields["lead"].choices = [("", "No lead")] + [
            (str(lead.pk), f"#{lead.pk} {lead.vehicle.title if lead.vehicle_id else lead.vehicle_description or lead.get_source_display()}")
            for lead in leads
        ]


class CallForm(LeadChoiceMixin, forms.Form):
    direction = forms.ChoiceField(choices=[("out", "Outbound"), ("in", "Inbound")], initial="out")
    outcome = forms.ChoiceField(choices=[("", "How did it go?")] + CALL_OUTCOMES)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=5000)
    lead = forms.ChoiceField(required=False)


class NoteForm(LeadChoiceMixin, forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000,
                           error_messages={"required": "Write something in the note."})
    lead = forms.ChoiceField(required=False)


class MessageForm(LeadChoiceMixin, forms.Form):
    kind = forms.ChoiceField(choices=[("text", "Text"), ("email", "Email")])
    subject = forms.CharField(required=False, max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10000,
                           error_messages={"required": "Write the message first."})
    lead = forms.ChoiceField(required=False)


class AppointmentForm(LeadChoiceMixin, forms.Form):
    kind = forms.ChoiceField(choices=Appointment.Kind.choices)
    scheduled_at = forms.DateTimeField(
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        error_messages={"required": "Pick a day and time.", "invalid": "Pick a day and time."},
    )
    notes = forms.CharField(required=False, max_length=2000)
    lead = forms.ChoiceField(required=False)

    def __init__(self, *args, time_zone: str = "UTC", **kwargs):
        self.zone = ZoneInfo(time_zone)
        super().__init__(*args, **kwargs)

    def clean_scheduled_at(self):
        value = self.cleaned_data["scheduled_at"]
        # The browser sends the wall clock of the store; read it in the store's zone, not the server's.
        naive = timezone.make_naive(value, timezone.get_current_timezone()) if timezone.is_aware(value) else value
        return naive.replace(tzinfo=self.zone)


# The customer page's quick actions: context name -> form. Their posts are checked by these forms in the views.
QUICK_ACTION_FORMS: dict[str, type[forms.Form]] = {
    "call_form": CallForm, "note_form": NoteForm, "message_form": MessageForm, "appointment_form": AppointmentForm,
}


@lru_cache(maxsize=16)
def _unbound_widgets(language: str | None) -> dict[str, dict[str, SafeString]]:
    """Every quick-action field but `lead`, as Django renders it on an unbound form, once per process and language.

    On the page these forms are always blank, and a blank form's widgets depend only on the form's declaration (no
    customer, store or user is in them), so their HTML is that of the first rendering. Rendered per request through
    Django's widget templates they cost ~2.5 ms of a ~13 ms page.
    """
    return {name: {field: SafeString(form[field]) for field in form.fields if field != "lead"}
            for name, form in ((name, form_class()) for name, form_class in QUICK_ACTION_FORMS.items())}


def quick_action_widgets(leads) -> dict[str, dict[str, SafeString]]:
    """The page's quick-action forms as their widgets' HTML (`{{ call_form.outcome }}`); `lead` is the lead picker
    for these open leads, rendered per page by Django (its choices are the customer's), or "" without any."""
    lead = ""
    if leads:
        form = CallForm()  # every quick action's `lead` field is the same one: render it once for all four
        form.set_leads(leads)
        lead = SafeString(form["lead"])
    return {name: {**fields, "lead": lead} for name, fields in _unbound_widgets(translation.get_language()).items()}


class LostForm(forms.Form):
    reason = forms.CharField(max_length=200, error_messages={"required": "Say why the lead was lost."})


class SoldForm(forms.Form):
    note = forms.CharField(max_length=200, required=False)


class IdentityForm(forms.Form):
    """Date of birth and driver's licence. A blank field keeps what is on file (the page never holds the
    current values in plain text, so it cannot pre-fill them); "remove" clears both."""

    date_of_birth = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                    input_formats=["%Y-%m-%d", "%m/%d/%Y"],
                                    error_messages={"invalid": "Enter the date of birth as a date (MM/DD/YYYY)."})
    drivers_licence_number = forms.CharField(required=False, max_length=64, strip=True)
    drivers_licence_state = forms.CharField(required=False, max_length=2, strip=True)
    remove = forms.BooleanField(required=False)

    def __init__(self, *args, today=None, **kwargs):
        self.today = today or timezone.localdate()
        super().__init__(*args, **kwargs)

    def clean_date_of_birth(self):
        from customers.sensitive import date_of_birth_problem

        value = self.cleaned_data["date_of_birth"]
        if value is not None and (problem := date_of_birth_problem(value, today=self.today)):
            raise forms.ValidationError(problem)
        return value

    def clean_drivers_licence_number(self):
        from customers.sensitive import licence_problem

        value = self.cleaned_data["drivers_licence_number"]
        if value and (problem := licence_problem(value)):
            raise forms.ValidationError(problem)
        return value

    def clean_drivers_licence_state(self):
        value = self.cleaned_data["drivers_licence_state"].upper()
        if value and not (len(value) == 2 and value.isalpha()):
            raise forms.ValidationError("The licence state is two letters (e.g. MA).")
        return value
def _folded(text: str) -> str:
    return " ".join((text or "").split()).casefold()


class ErasureForm(forms.Form):
    """A manager confirms a deletion request by typing the customer's name (or number, for a nameless record)."""

    reason = forms.CharField(max_length=500, label="Reason or request reference",
                             error_messages={"required": "Say why: the request reference or the reason."},
                             help_text='For example "CCPA request 2026-114, received by email on Dec 2".')
    confirm_name = forms.CharField(max_length=201, label="Type the customer's name to confirm")

    def __init__(self, *args, expected_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected_name = expected_name

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"]
        if _folded(typed) != _folded(self.expected_name):
            raise forms.ValidationError(
                f"That is not the customer's name. Type “{self.expected_name}” exactly to confirm.")
        return typed
