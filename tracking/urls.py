from django.urls import re_path

from tracking import collector

urlpatterns = [
    # Segment's HTTP Tracking API paths, exactly (clients append /v1/batch to the host they are given).
    re_path(r"^v1/(?P<path_type>batch|track|page|screen|identify|alias|group)$", collector.collect,
            name="tracking-collect"),
]
