from django.urls import path

from leads import feed_views, views

urlpatterns = [
    path("my-day/", views.my_day, name="my-day"),
    path("my-day/notifications/", views.my_notifications, name="my-notifications"),
    path("my-day/notifications/read/", views.notifications_read, name="notifications-read"),
    path("leads/", views.leads_list, name="leads-list"),
    path("leads/<int:lead_id>/", views.lead_detail, name="lead-detail"),
    path("leads/<int:lead_id>/activity/", views.lead_activity, name="lead-activity"),
    path("leads/<int:lead_id>/status/", views.lead_status, name="lead-status"),
    path("leads/<int:lead_id>/assign/", views.lead_assign_view, name="lead-assign"),
    path("leads/<int:lead_id>/claim/", views.lead_claim_view, name="lead-claim"),
    path("routing/", views.routing_settings_view, name="routing-settings"),
    path("routing/<int:rooftop_id>/rules/<str:source>/", views.routing_rule_save_view, name="routing-rule-save"),
    path("routing/<int:rooftop_id>/email-quiet-hours/", views.email_quiet_hours_save_view, name="email-quiet-hours-save"),
    path("routing/<int:rooftop_id>/roster/<int:user_id>/", views.roster_save_view, name="roster-save"),
    path("routing/templates/", views.templates_view, name="response-templates"),
    path("routing/templates/preview/", views.template_preview_view, name="response-template-preview"),
    path("routing/templates/<int:rooftop_id>/<str:source>/<str:channel>/", views.template_save_view,
         name="response-template-save"),
    path("availability/", views.availability_board_view, name="availability-board"),
    path("availability/<int:rooftop_id>/<int:user_id>/", views.availability_set_view, name="availability-set"),
    path("speed-to-lead/", views.speed_to_lead_view, name="speed-to-lead"),
    path("inventory/feed/", feed_views.inventory_feed_page, name="inventory-feed"),
    path("inventory/feed/runs/<int:feed_run_id>/", feed_views.inventory_feed_run_view, name="inventory-feed-run"),
    path("inventory/feed/runs/<int:feed_run_id>/errors.csv", feed_views.inventory_feed_run_errors,
         name="inventory-feed-run-errors"),
]
