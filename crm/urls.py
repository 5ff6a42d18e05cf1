from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from crm import health

# Each app owns its pages (`<app>/urls.py`) and its API (`<app>/api_urls.py`).
APPS = ["rooftops", "customers", "leads", "service", "alerts", "tracking", "kpis"]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
for app in APPS:
    urlpatterns.append(path("api/", include(f"{app}.api_urls")))
for app in APPS:
    urlpatterns.append(path("", include(f"{app}.urls")))
