from django.urls import path

from tracking import site_views

# The demo dealer website (public): /demo-site/<rooftop slug>/...
urlpatterns = [
    path("demo-site/<slug:slug>/", site_views.srp, name="demo-site-srp"),
    path("demo-site/<slug:slug>/vehicles/<str:stock>/", site_views.vdp, name="demo-site-vdp"),
    path("demo-site/<slug:slug>/service/", site_views.service, name="demo-site-service"),
    path("demo-site/<slug:slug>/contact/", site_views.contact, name="demo-site-contact"),
    path("demo-site/<slug:slug>/forms/<str:form_type>/", site_views.form_submit, name="demo-site-form"),
    path("demo-site/<slug:slug>/thanks/", site_views.thanks, name="demo-site-thanks"),
]
