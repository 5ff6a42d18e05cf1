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


def not_found(request, exception=None):
    """404 outside any view (a path that does not route, e.g. a negative id): JSON under /api/, a page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


handler404 = not_found
