from django.urls import path

from alerts import api

urlpatterns = [
    path("alerts/", api.AlertReplayView.as_view(), name="api-alerts"),
    path("alerts/<int:alert_id>/claim/", api.AlertClaimView.as_view(), name="api-alert-claim"),
    path("alerts/<int:alert_id>/act/", api.AlertActView.as_view(), name="api-alert-act"),
    path("alerts/<int:alert_id>/snooze/", api.AlertSnoozeView.as_view(), name="api-alert-snooze"),
    path("alerts/<int:alert_id>/dismiss/", api.AlertDismissView.as_view(), name="api-alert-dismiss"),
]
