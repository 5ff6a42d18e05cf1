from django.urls import path

from rooftops import api_views, webhook_api

urlpatterns = [
    path("me/", api_views.MeView.as_view(), name="api-me"),
    path("webhooks/", webhook_api.WebhookEndpointsApi.as_view(), name="api-webhooks"),
    path("webhooks/<int:webhook_id>/", webhook_api.WebhookEndpointDetailApi.as_view(), name="api-webhook-detail"),
    path("webhooks/<int:webhook_id>/rotate-secret/", webhook_api.WebhookRotateSecretApi.as_view(),
         name="api-webhook-rotate-secret"),
    path("webhooks/<int:webhook_id>/deliveries/", webhook_api.WebhookDeliveriesApi.as_view(),
         name="api-webhook-deliveries"),
    path("webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver/", webhook_api.WebhookRedeliverApi.as_view(),
         name="api-webhook-redeliver"),
]
