from django.urls import path

from tracking import api

urlpatterns = [
    path("events/", api.EventListView.as_view(), name="api-events"),
]
