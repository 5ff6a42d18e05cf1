from django.urls import path

from assistant import api

urlpatterns = [
    path("assistant/conversations/", api.ConversationListView.as_view(), name="api-assistant-conversations"),
    path("assistant/conversations/<str:public_id>/messages/", api.ConversationMessagesView.as_view(),
         name="api-assistant-messages"),
]
