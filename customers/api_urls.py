from django.urls import include, path

from customers import api

urlpatterns = [
    path("customers/", api.CustomersApi.as_view(), name="api-customers"),
    path("customers/search/", api.CustomerSearchApi.as_view(), name="api-customer-search"),
    path("customers/<int:customer_id>/", api.CustomerDetailApi.as_view(), name="api-customer-detail"),
    path("customers/<int:customer_id>/timeline/", api.CustomerTimelineApi.as_view(), name="api-customer-timeline"),
    path("customers/<int:customer_id>/notes/", api.CustomerNoteApi.as_view(), name="api-customer-note"),
    path("customers/<int:customer_id>/duplicates/", api.CustomerDuplicatesApi.as_view(),
         name="api-customer-duplicates"),
    path("duplicates/<int:candidate_id>/merge/", api.DuplicateMergeApi.as_view(), name="api-duplicate-merge"),
    path("duplicates/<int:candidate_id>/dismiss/", api.DuplicateDismissApi.as_view(), name="api-duplicate-dismiss"),
    path("merges/<int:merge_id>/undo/", api.MergeUndoApi.as_view(), name="api-merge-undo"),
    path("appointments/", api.AppointmentsApi.as_view(), name="api-appointments"),
    path("appointments/<int:appointment_id>/", api.AppointmentDetailApi.as_view(), name="api-appointment-detail"),
    path("appointments/<int:appointment_id>/shown/", api.AppointmentShownApi.as_view(), name="api-appointment-shown"),
    path("appointments/<int:appointment_id>/no-show/", api.AppointmentNoShowApi.as_view(),
         name="api-appointment-no-show"),
    # ADF export (leads/intake_api_urls.py), wired here to leave leads/api_urls.py to routing.
    path("", include("leads.intake_api_urls")),
]
