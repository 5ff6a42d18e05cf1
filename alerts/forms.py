"""The managers' scoring-rules form: every tunable of alerts.scoring.ScoringRules, checked by ScoringRules itself."""

from __future__ import annotations

from django import forms

from alerts.labels import EVENT_LABELS, SIGNAL_LABELS
from alerts.scoring import EVENT_KINDS, SIGNAL_KINDS, ScoringRules
from alerts.selectors import ScoringConfig

# (field, label, help, whole number?)
CORE_FIELDS = [
    ("half_life_hours", "Score half-life (hours)", "How fast interest fades: after this long a point counts half.", False),
    ("repeat_vdp_count", "Repeat views of one vehicle", "Views of the same vehicle that make an alert.", True),
    ("repeat_vdp_window_hours", "…within (hours)", "The window those views must fall in.", False),
    ("same_model_vehicle_count", "Different vehicles of one model", "Listings of one make and model that make an alert.", True),
    ("same_model_window_hours", "…within (hours)", "", False),
    ("return_after_days", "Return after silence (days)", "A visit after this many quiet days is a return.", False),
    ("form_abandon_minutes", "Form abandoned after (minutes)", "A started form not submitted for this long.", False),
    ("form_abandon_max_hours", "…but not older than (hours)", "Older unfinished forms are too stale to call about.", False),
    ("warm_score", "Warm from score", "", False),
    ("hot_score", "Hot from score", "", False),
    ("reason_ttl_hours", "Reasons stay on the shopper page (hours)", "", False),
]


def _signal_field(kind: str) -> str:
    return f"signal_weight__{kind}"


def _cooldown_field(kind: str) -> str:
    return f"cooldown__{kind}"


def _event_field(kind: str) -> str:
    return f"event_weight__{kind}"


class ScoringSettingsForm(forms.Form):
    alert_anonymous_shoppers = forms.BooleanField(
        required=False, label="Alert on anonymous shoppers",
        help_text="Off: shoppers we cannot name are scored, but alert no one until they identify themselves.")
    alert_expiry_hours = forms.IntegerField(
        min_value=1, max_value=24 * 14, label="Unclaimed alerts expire after (hours)")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, label, help_text, whole in CORE_FIELDS:
            field_class = forms.IntegerField if whole else forms.FloatField
            self.fields[name] = field_class(label=label, help_text=help_text, min_value=0 if not whole else 1)
        for kind in SIGNAL_KINDS:
            self.fields[_signal_field(kind)] = forms.FloatField(label=SIGNAL_LABELS[kind], min_value=0)
            self.fields[_cooldown_field(kind)] = forms.FloatField(label=SIGNAL_LABELS[kind], min_value=0)
        for kind in EVENT_KINDS:
            self.fields[_event_field(kind)] = forms.FloatField(label=EVENT_LABELS[kind], min_value=0)
        self.rules: ScoringRules | None = None

    @classmethod
    def from_config(cls, config: ScoringConfig) -> ScoringSettingsForm:
        rules = config.rules
        initial = {name: getattr(rules, name) for name, *_ in CORE_FIELDS}
        initial.update({_signal_field(k): rules.signal_weights[k] for k in SIGNAL_KINDS})
        initial.update({_cooldown_field(k): rules.cooldown_minutes[k] for k in SIGNAL_KINDS})
        initial.update({_event_field(k): rules.event_weights.get(k, 0) for k in EVENT_KINDS})
        initial.update(alert_anonymous_shoppers=config.alert_anonymous_shoppers,
                       alert_expiry_hours=config.alert_expiry_hours)
        return cls(initial=initial)

    # Grouped for the template.
    def core_fields(self):
        return [self[name] for name, *_ in CORE_FIELDS]

    def signal_rows(self):
        return [(SIGNAL_LABELS[k], self[_signal_field(k)], self[_cooldown_field(k)]) for k in SIGNAL_KINDS]

    def event_fields(self):
        return [self[_event_field(k)] for k in EVENT_KINDS]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        values = {name: data[name] for name, *_ in CORE_FIELDS}
        values["signal_weights"] = {k: data[_signal_field(k)] for k in SIGNAL_KINDS}
        values["cooldown_minutes"] = {k: data[_cooldown_field(k)] for k in SIGNAL_KINDS}
        values["event_weights"] = {k: data[_event_field(k)] for k in EVENT_KINDS}
        try:
            self.rules = ScoringRules(**values)
        except ValueError as exc:
            message = str(exc)
            field = message.split(" ", 1)[0].split("[", 1)[0]
            # Point at the field the rule names, so the manager sees the message next to it.
            if field in self.fields:
                self.add_error(field, message)
            elif field == "hot_score" or "hot_score" in message:
                self.add_error("hot_score", message)
            else:
                raise forms.ValidationError(message) from None
        return data
