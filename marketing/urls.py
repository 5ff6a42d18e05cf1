"""Marketing pages: campaigns for managers (marketing.views) and the customer's own links (marketing.public_views:
unsubscribe, preferences, tracked links, the open pixel), which work without login."""

from django.urls import path

from marketing import public_views

urlpatterns = [
    path("m/c/<str:token>/", public_views.click, name="marketing-click"),
    path("m/o/<str:token>/", public_views.open_pixel, name="marketing-open"),
    path("m/u/<str:token>/", public_views.unsubscribe, name="marketing-unsubscribe"),
    path("m/p/<str:token>/", public_views.preferences, name="marketing-preferences"),
]
