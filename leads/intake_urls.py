"""ADF intake pages. Included from customers/urls.py so that leads/urls.py (routing engineer) stays untouched;
the lead engineer may move the include there."""

from django.urls import path

from leads import intake_views

urlpatterns = [
    path("intake/adf/<str:token>/", intake_views.adf_intake, name="adf-intake"),
    path("leads/needs-review/", intake_views.adf_review, name="adf-review"),
    path("leads/needs-review/<int:review_id>/", intake_views.adf_review_detail, name="adf-review-detail"),
    path("leads/<int:lead_id>/adf/", intake_views.lead_adf_export, name="lead-adf-export"),
]
