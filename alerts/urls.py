from django.urls import path

from alerts import views

urlpatterns = [
    path("alerts/", views.alert_feed, name="alert-feed"),
    path("alerts/older/", views.alert_feed_older, name="alert-feed-older"),
    path("alerts/<int:alert_id>/", views.alert_row, name="alert-row"),
    path("alerts/<int:alert_id>/claim/", views.alert_claim, name="alert-claim"),
    path("alerts/<int:alert_id>/act/", views.alert_act, name="alert-act"),
    path("alerts/<int:alert_id>/snooze/", views.alert_snooze, name="alert-snooze"),
    path("alerts/<int:alert_id>/dismiss/", views.alert_dismiss, name="alert-dismiss"),
    path("alerts/<int:alert_id>/undismiss/", views.alert_undismiss, name="alert-undismiss"),
    path("settings/scoring/", views.scoring_settings, name="scoring-settings"),
    path("settings/scoring/fit/<int:fit_id>/", views.scoring_fit_progress, name="scoring-fit-progress"),
]
