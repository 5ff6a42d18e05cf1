from django import forms

from rooftops.models import AccessRecord


class AccessLogFilterForm(forms.Form):
    """Who read what, between which times (on the store's clock), of which kind. Validate under the store's zone."""

    person = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    start = forms.DateTimeField(required=False, label="From",
                                widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    end = forms.DateTimeField(required=False, label="To",
                              widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    kind = forms.ChoiceField(required=False, choices=[("", "Any")] + AccessRecord.Kind.choices)

    def __init__(self, *args, staff_names: dict[int, str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "Anyone")] + list(staff_names.items())

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["end"] <= cleaned["start"]:
            raise forms.ValidationError("“To” must be after “From”.")
        return cleaned
