from django.urls import path

from assistant.consumers import ChatConsumer

websocket_urlpatterns = [
    path("ws/assistant/<str:write_key>/", ChatConsumer.as_asgi()),
]
