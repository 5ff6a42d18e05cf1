from django.urls import include, path

from customers import views

urlpatterns = [
    path("customers/", views.customer_search, name="customer-search"),
    path("customers/duplicates/", views.duplicates_list, name="customer-duplicates"),
    path("customers/duplicates/<int:candidate_id>/", views.duplicate_review, name="customer-duplicate"),
    path("customers/duplicates/<int:candidate_id>/merge/", views.duplicate_merge, name="customer-duplicate-merge"),
    path("customers/duplicates/<int:candidate_id>/dismiss/", views.duplicate_dismiss, name="customer-duplicate-dismiss"),
    path("customers/merges/<int:merge_id>/undo/", views.merge_undo, name="customer-merge-undo"),
    path("customers/erasures/", views.erasure_list, name="customer-erasures"),
    path("customers/erasures/<int:record_id>/", views.erasure_detail, name="customer-erasure"),
    path("customers/erasures/<int:record_id>/progress/", views.erasure_progress, name="customer-erasure-progress"),
    path("customers/<int:customer_id>/erase/", views.customer_erase, name="customer-erase"),
    path("customers/<int:customer_id>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:customer_id>/timeline/", views.customer_timeline, name="customer-timeline"),
    path("customers/<int:customer_id>/identity/", views.customer_identity, name="customer-identity"),
    # One route per revealable value (no field name from the client): the access record's path says which.
    path("customers/<int:customer_id>/reveal/date-of-birth/", views.customer_reveal, {"field": "date_of_birth"},
         name="customer-reveal-date-of-birth"),
    path("customers/<int:customer_id>/reveal/licence/", views.customer_reveal, {"field": "drivers_licence_number"},
         name="customer-reveal-licence"),
    path("customers/<int:customer_id>/vehicles/<int:owned_vehicle_id>/reveal/account/", views.vehicle_reveal,
         {"field": "finance_account_number"}, name="customer-vehicle-reveal-account"),
    path("customers/<int:customer_id>/calls/", views.action_call, name="customer-call"),
    path("customers/<int:customer_id>/notes/", views.action_note, name="customer-note"),
    path("customers/<int:customer_id>/messages/", views.action_message, name="customer-message"),
    path("customers/<int:customer_id>/appointments/", views.action_appointment, name="customer-appointment"),
    path("customers/<int:customer_id>/appointments/<int:appointment_id>/mark/", views.action_appointment_mark,
         name="customer-appointment-mark"),
    path("customers/<int:customer_id>/leads/<int:lead_id>/sold/", views.action_lead_outcome, {"outcome": "sold"},
         name="customer-lead-sold"),
    path("customers/<int:customer_id>/leads/<int:lead_id>/lost/", views.action_lead_outcome, {"outcome": "lost"},
         name="customer-lead-lost"),
    # ADF intake lives in leads/ (see leads/intake_urls.py); wired here to leave leads/urls.py to routing.
    path("", include("leads.intake_urls")),
]

# Messaging (lead routing branch): inbound texts from the SMS provider.
from customers import messaging_views  # noqa: E402

urlpatterns += [path("webhooks/sms/inbound/", messaging_views.sms_inbound, name="sms-inbound")]
