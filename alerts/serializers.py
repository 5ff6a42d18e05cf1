"""Input and output shapes of the alerts API (also used for the JSON part of websocket frames)."""

from __future__ import annotations

from rest_framework import serializers

from alerts.models import Alert
from alerts.services import ACT_CHANNELS, DISMISS_REASONS


class CustomerBrief(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="full_name")


class VehicleBrief(serializers.Serializer):
    id = serializers.IntegerField()
    vin = serializers.CharField()
    stock_number = serializers.CharField()
    title = serializers.CharField()
    price_cents = serializers.IntegerField()


class AlertOutput(serializers.ModelSerializer):
    priority_label = serializers.CharField(source="get_priority_display")
    state_label = serializers.CharField(source="get_state_display")
    customer = CustomerBrief(allow_null=True)
    vehicle = VehicleBrief(allow_null=True)

    class Meta:
        model = Alert
        fields = [
            "id", "parent_id", "rooftop_id", "kind", "priority", "priority_label", "state", "state_label", "reasons",
            "suggested_next_step", "score", "customer", "visitor_id", "lead_id", "vehicle", "for_user_id", "for_team",
            "claimed_by_id", "claimed_at", "acted_at", "dismissed_reason", "snoozed_until", "follow_up_count", "priority_rose",
            "created_at", "last_signal_at", "expires_at",
        ]
        read_only_fields = fields


class ReplayOutput(serializers.Serializer):
    results = AlertOutput(many=True)
    last_id = serializers.IntegerField(help_text="Pass as `after` next time (equals `after` when nothing is new).")
    has_more = serializers.BooleanField(help_text="More alerts wait after `last_id`: ask again at once.")


class ReplayQuery(serializers.Serializer):
    after = serializers.IntegerField(min_value=0, default=0, help_text="Last alert id you have seen (0 for all).")
    limit = serializers.IntegerField(min_value=1, max_value=500, default=100)


class ActInput(serializers.Serializer):
    channel = serializers.ChoiceField(choices=sorted(ACT_CHANNELS))
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class SnoozeInput(serializers.Serializer):
    until = serializers.DateTimeField(required=False, help_text="Hide until this time (at most 7 days ahead).")
    minutes = serializers.IntegerField(required=False, min_value=1, max_value=7 * 24 * 60,
                                       help_text="Or: hide for this many minutes.")

    def validate(self, data):
        if ("until" in data) == ("minutes" in data):
            raise serializers.ValidationError("Give either `until` or `minutes`.")
        return data


class DismissInput(serializers.Serializer):
    reason = serializers.ChoiceField(choices=sorted(DISMISS_REASONS), help_text="Why the alert is not worth acting on.")
    note = serializers.CharField(required=False, allow_blank=True, max_length=150, default="",
                                 help_text="Free text; required when reason is `other`.")
