from django.urls import include, path

from customers import api

urlpatterns = [
    path("customers/search/", api.CustomerSearchApi.as_view(), name="api-customer-search"),
    path("customers/<int:customer_id>/", api.CustomerDetailApi.as_view(), name="api-customer-detail"),
    path("customers/<int:customer_id>/timeline/", api.CustomerTimelineApi.as_view(), name="api-customer-timeline"),
    path("customers/<int:customer_id>/notes/", api.CustomerNoteApi.as_view(), name="api-customer-note"),
    # ADF export (leads/intake_api_urls.py), wired here to leave leads/api_urls.py to routing.
    path("", include("leads.intake_api_urls")),
]
