from django.urls import path

from service import api

urlpatterns = [
    path("repair-orders/", api.RepairOrdersApi.as_view(), name="api-repair-orders"),
    path("repair-orders/<int:repair_order_id>/", api.RepairOrderDetailApi.as_view(), name="api-repair-order-detail"),
    path("customers/<int:customer_id>/vehicles/", api.CustomerVehiclesApi.as_view(), name="api-customer-vehicles"),
]
