from django.urls import path

from leads import api

urlpatterns = [
    path("leads/", api.LeadsApi.as_view(), name="api-leads"),
    path("leads/<int:lead_id>/", api.LeadDetailApi.as_view(), name="api-lead-detail"),
    path("leads/<int:lead_id>/status/", api.LeadStatusApi.as_view(), name="api-lead-status"),
    path("leads/<int:lead_id>/assign/", api.LeadAssignApi.as_view(), name="api-lead-assign"),
    path("leads/<int:lead_id>/activities/", api.LeadActivityApi.as_view(), name="api-lead-activities"),
    path("inventory/", api.InventoryApi.as_view(), name="api-inventory"),
    path("inventory/<int:vehicle_id>/", api.InventoryDetailApi.as_view(), name="api-inventory-detail"),
    path("inventory/<int:vehicle_id>/price/", api.InventoryPriceApi.as_view(), name="api-inventory-price"),
]
