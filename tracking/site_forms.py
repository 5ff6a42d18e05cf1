"""The demo dealer website's forms: what a shopper fills in, validated, turned into a WebLeadInput."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms

from rooftops.models import Rooftop
from customers.contact import InvalidContact, normalize_email, normalize_phone
from tracking.services import WebLeadInput

TIMES = [(f"{h:02d}:{m:02d}", time(h, m).strftime("%-I:%M %p")) for h in range(9, 18) for m in (0, 30)]


def sms_consent_text(rooftop: Rooftop) -> str:
    """The exact words shown next to the SMS box; stored verbatim on the consent record when ticked."""
    return (
        f"Yes, {rooftop.name} may text me about this request at the mobile number above. "
        "Message and data rates may apply. Message frequency varies. Reply STOP to opt out, HELP for help. "
        "Consent is not a condition of purchase."
    )


class ShopperForm(forms.Form):
    form_type = "contact"
    first_name = forms.CharField(max_length=100, label="First name")
    last_name = forms.CharField(max_length=100, required=False, label="Last name")
    email = forms.CharField(max_length=254, required=False, label="Email")
    phone = forms.CharField(max_length=40, required=False, label="Mobile phone")
    comments = forms.CharField(max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 3}),
                               label="Questions or comments")
    sms_consent = forms.BooleanField(required=False)
    submission_id = forms.CharField(max_length=40, required=False, widget=forms.HiddenInput)
    vehicle_id = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, rooftop: Rooftop, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("submission_id", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        self.rooftop = rooftop
        self.fields["sms_consent"].label = sms_consent_text(rooftop)
        self.fields["first_name"].widget.attrs["autocomplete"] = "given-name"
        self.fields["last_name"].widget.attrs["autocomplete"] = "family-name"
        self.fields["email"].widget.attrs.update(autocomplete="email", type="email", inputmode="email")
        self.fields["phone"].widget.attrs.update(autocomplete="tel", type="tel", inputmode="tel")

    def clean_email(self) -> str:
        raw = self.cleaned_data.get("email", "").strip()
        if not raw:
            return ""
        try:
            return normalize_email(raw)
        except InvalidContact:
            raise forms.ValidationError("Enter a valid email address, like name@example.com.") from None

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "").strip()
        if not raw:
            return ""
        try:
            return normalize_phone(raw)
        except InvalidContact:
            raise forms.ValidationError("Enter a valid US phone number, like (617) 555-0123.") from None

    def clean(self):
        cleaned = super().clean()
        if not self.errors.get("email") and not self.errors.get("phone"):
            if not cleaned.get("email") and not cleaned.get("phone"):
                raise forms.ValidationError("Give us an email address or a phone number so we can answer you.")
        if cleaned.get("sms_consent") and not cleaned.get("phone") and not self.errors.get("phone"):
            self.add_error("phone", "Enter a mobile number to get text messages, or untick the box.")
        return cleaned

    def preferred_at(self) -> datetime | None:
        return None

    def extra_comments(self) -> str:
        return ""

    def trade_in(self) -> dict:
        return {}

    def to_input(self) -> WebLeadInput:
        data = self.cleaned_data
        comments = "\n".join(part for part in (self.extra_comments(), data.get("comments", "")) if part)
        return WebLeadInput(
            form_type=self.form_type, first_name=data["first_name"].strip(), last_name=data["last_name"].strip(),
            email=data["email"], phone=data["phone"], comments=comments, vehicle_id=data.get("vehicle_id"),
            preferred_at=self.preferred_at(), trade_in=self.trade_in(),
            sms_consent_text=self.fields["sms_consent"].label if data.get("sms_consent") else "",
            submission_id=data.get("submission_id", "")[:40],
        )


class _PreferredTime(forms.Form):
    preferred_date = forms.DateField(label="Preferred day", widget=forms.DateInput(attrs={"type": "date"}))
    preferred_time = forms.ChoiceField(label="Time", choices=TIMES)

    def clean_preferred_date(self) -> date:
        day = self.cleaned_data["preferred_date"]
        today = datetime.now(ZoneInfo(self.rooftop.time_zone)).date()
        if day < today:
            raise forms.ValidationError("Choose today or a later day.")
        if day > today + timedelta(days=90):
            raise forms.ValidationError("Choose a day in the next three months.")
        return day

    def preferred_at(self) -> datetime | None:
        day, at = self.cleaned_data.get("preferred_date"), self.cleaned_data.get("preferred_time")
        if not day or not at:
            return None
        hour, minute = (int(p) for p in at.split(":"))
        return datetime.combine(day, time(hour, minute), tzinfo=ZoneInfo(self.rooftop.time_zone))


class ContactForm(ShopperForm):
    form_type = "contact"


class TestDriveForm(_PreferredTime, ShopperForm):
    form_type = "test_drive"


class CreditForm(ShopperForm):
    form_type = "credit"
    application_type = forms.ChoiceField(choices=[("individual", "Just me"), ("joint", "With a co-applicant")],
                                         label="Applying")

    def extra_comments(self) -> str:
        return f"Application: {self.cleaned_data['application_type']}"


class PriceAlertForm(ShopperForm):
    form_type = "price_alert"
    target_price = forms.IntegerField(min_value=1000, max_value=500_000, label="Tell me when the price drops below ($)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["first_name"].required = False
        self.fields["email"].required = True

    def extra_comments(self) -> str:
        return f"Price-drop alert below ${self.cleaned_data['target_price']:,}"

    def to_input(self) -> WebLeadInput:
        return replace(super().to_input(), price_alert_below_cents=self.cleaned_data["target_price"] * 100)


class TradeForm(ShopperForm):
    form_type = "trade"
    trade_year = forms.IntegerField(min_value=1990, max_value=2031, label="Year")
    trade_make = forms.CharField(max_length=50, label="Make")
    trade_model = forms.CharField(max_length=80, label="Model")
    trade_mileage = forms.IntegerField(min_value=0, max_value=500_000, label="Mileage")
    trade_condition = forms.ChoiceField(choices=[(c, c.title()) for c in ("excellent", "good", "fair", "poor")],
                                        label="Condition")
    estimated_value = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def trade_in(self) -> dict:
        d = self.cleaned_data
        trade = {"year": d["trade_year"], "make": d["trade_make"].strip(), "model": d["trade_model"].strip(),
                 "mileage": d["trade_mileage"], "condition": d["trade_condition"]}
        if d.get("estimated_value"):
            trade["estimated_value"] = d["estimated_value"]
        return trade


SERVICES = [("oil_change", "Oil change"), ("tires", "Tires and rotation"), ("brakes", "Brakes"),
            ("inspection", "Inspection"), ("recall", "Recall"), ("other", "Something else")]


class ServiceForm(_PreferredTime, ShopperForm):
    form_type = "service"
    vehicle_description = forms.CharField(max_length=120, label="Your vehicle (year, make, model)")
    service_needed = forms.ChoiceField(choices=SERVICES, label="What does it need?")

    def extra_comments(self) -> str:
        label = dict(SERVICES)[self.cleaned_data["service_needed"]]
        return f"{label} for {self.cleaned_data['vehicle_description']}"


FORMS: dict[str, type[ShopperForm]] = {
    f.form_type: f for f in (ContactForm, TestDriveForm, CreditForm, PriceAlertForm, TradeForm, ServiceForm)
}
