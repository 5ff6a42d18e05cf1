from django.urls import path

from kpis import api

urlpatterns = [
    path("kpis/", api.KpiApi.as_view(), name="api-kpis"),
]
