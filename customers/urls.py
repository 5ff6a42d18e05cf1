from django.urls import path  # noqa: F401

urlpatterns: list = []

# Messaging (lead routing branch): inbound texts from the SMS provider.
from customers import messaging_views  # noqa: E402

urlpatterns += [path("webhooks/sms/inbound/", messaging_views.sms_inbound, name="sms-inbound")]
