from django.urls import path

from kpis import views

urlpatterns = [
    path("dashboards/", views.dashboard, name="kpi-dashboard"),
    path("dashboards/export.csv", views.export_csv, name="kpi-export"),
    path("dashboards/leads/", views.leads_behind, name="kpi-leads"),
]
