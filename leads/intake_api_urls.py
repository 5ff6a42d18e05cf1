"""ADF export in the staff API. Included from customers/api_urls.py (see leads/intake_urls.py)."""

from django.urls import path

from leads import intake_views

urlpatterns = [
    path("leads/<int:lead_id>/adf/", intake_views.LeadAdfExportApi.as_view(), name="api-lead-adf"),
]
