"""Marketing pages: campaigns for managers (marketing.views) and the customer's own links (marketing.public_views:
unsubscribe, preferences, tracked links, the open pixel), which work without login."""

from django.urls import path
from django.views.generic import RedirectView

from marketing import public_views, views

urlpatterns = [
    path("m/c/<str:token>/", public_views.click, name="marketing-click"),
    path("m/o/<str:token>/", public_views.open_pixel, name="marketing-open"),
    path("m/u/<str:token>/", public_views.unsubscribe, name="marketing-unsubscribe"),
    path("m/p/<str:token>/", public_views.preferences, name="marketing-preferences"),
    path("marketing/", RedirectView.as_view(pattern_name="marketing-campaigns"), name="marketing"),
    path("marketing/campaigns/", views.campaigns_page, name="marketing-campaigns"),
    path("marketing/campaigns/new/", views.campaign_new, name="marketing-campaign-new"),
    path("marketing/campaigns/audience/", views.campaign_audience, name="marketing-campaign-audience"),
    path("marketing/campaigns/preview/", views.campaign_preview, name="marketing-campaign-preview"),
    path("marketing/campaigns/<int:campaign_id>/", views.campaign_page, name="marketing-campaign"),
    path("marketing/campaigns/<int:campaign_id>/edit/", views.campaign_edit, name="marketing-campaign-edit"),
    path("marketing/campaigns/<int:campaign_id>/progress/", views.campaign_progress,
         name="marketing-campaign-progress"),
    path("marketing/campaigns/<int:campaign_id>/action/", views.campaign_action, name="marketing-campaign-action"),
    path("marketing/rules/", views.rules_page, name="marketing-rules"),
]
