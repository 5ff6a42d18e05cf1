"""Marketing pages: campaigns for managers (marketing.views) and the customer's own links (marketing.public_views:
unsubscribe, preferences, tracked links, the open pixel), which work without login."""

from django.urls import path

urlpatterns: list = []
