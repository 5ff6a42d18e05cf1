"""Websocket routes of every app, in one list for crm.asgi."""

import importlib
import importlib.util

websocket_urlpatterns: list = []
for _app in ["rooftops", "customers", "leads", "service", "alerts", "tracking", "kpis", "assistant"]:
    if importlib.util.find_spec(f"{_app}.ws_urls") is not None:
        websocket_urlpatterns += importlib.import_module(f"{_app}.ws_urls").websocket_urlpatterns
