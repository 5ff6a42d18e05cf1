from django.urls import include, path, re_path

from tracking import collector, views

urlpatterns = [
    # Segment's HTTP Tracking API paths, exactly (clients append /v1/batch to the host they are given).
    re_path(r"^v1/(?P<path_type>batch|track|page|screen|identify|alias|group)$", collector.collect,
            name="tracking-collect"),
    path("tracking/setup/", views.tracking_setup, name="tracking-setup"),
    path("tracking/setup/<int:rooftop_id>/debugger/", views.tracking_debugger, name="tracking-debugger"),
    path("", include("tracking.site_urls")),
]
