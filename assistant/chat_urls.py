from django.urls import path

from assistant import chat_views

# The website chat's HTTP fallback (public, keyed by the rooftop's write key): see assistant.chat_views.
urlpatterns = [
    path("assistant/chat/<str:write_key>/open/", chat_views.chat_open_view, name="assistant-chat-open"),
    path("assistant/chat/<str:write_key>/say/", chat_views.chat_say_view, name="assistant-chat-say"),
]
