from django.urls import path

from service import views

urlpatterns = [
    path("service/lane/", views.lane, name="service-lane"),
    path("sales/equity-mining/", views.equity_mining_page, name="equity-mining"),
    path("sales/equity-mining/thresholds/", views.trade_thresholds_page, name="trade-thresholds"),
    path("service/lane/check-in/<int:appointment_id>/", views.check_in, name="service-lane-check-in"),
]
