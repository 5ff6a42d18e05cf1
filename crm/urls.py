from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from crm import health

# The API docs pages load Swagger UI and ReDoc from their CDN with their own inline styles; only these two pages
# widen the Content-Security-Policy for that (Swagger's start-up script is served as a file by the split view).
_DOCS_CDN = "https://cdn.jsdelivr.net"
api_docs_csp = csp_update({
    "script-src": [_DOCS_CDN], "style-src": [_DOCS_CDN, "'unsafe-inline'"], "img-src": [_DOCS_CDN],
    "font-src": ["https://fonts.gstatic.com"], "worker-src": ["blob:"],
})

# Each app owns its pages (`<app>/urls.py`) and its API (`<app>/api_urls.py`).
APPS = ["rooftops", "customers", "leads", "service", "alerts", "tracking", "kpis", "dms", "marketing", "assistant"]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs_csp(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("api/redoc/", api_docs_csp(SpectacularRedocView.as_view(url_name="api-schema")), name="api-redoc"),
    # An email service's delivery events (django-anymail's tracking webhooks, guarded): marketing.receivers.
    path("webhooks/email/", include("marketing.provider_webhooks")),
]
for app in APPS:
    urlpatterns.append(path("api/", include(f"{app}.api_urls")))
for app in APPS:
    urlpatterns.append(path("", include(f"{app}.urls")))
# The website chat's HTTP fallback (public, keyed by the write key; the websocket is assistant/ws_urls.py).
urlpatterns.append(path("", include("assistant.chat_urls")))


def not_found(request, exception=None):
    """404 outside any view (a path that does not route, e.g. a negative id): JSON under /api/, a page elsewhere."""
    from django.http import JsonResponse
    from django.views.defaults import page_not_found

    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return page_not_found(request, exception)


handler404 = not_found
