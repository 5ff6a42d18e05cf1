import io
import os

from django.conf import settings as django_settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.handlers.exception import convert_exception_to_response  # noqa: E402
from django.middleware.clickjacking import XFrameOptionsMiddleware  # noqa: E402
from django.middleware.security import SecurityMiddleware  # noqa: E402
from django.urls import resolve, reverse  # noqa: E402

from crm.ws_auth import TokenOrSessionAuthMiddlewareStack  # noqa: E402
from crm.ws_routing import websocket_urlpatterns  # noqa: E402
from tracking import collector  # noqa: E402
from tracking import urls as tracking_urls  # noqa: E402
from tracking.intake import MAX_ENCODED_BYTES  # noqa: E402


class CollectorDoor:
    """The Segment collector's paths straight to tracking.collector.collect, without Django's middleware stack.

    Every middleware in settings.MIDDLEWARE is synchronous, so under ASGI Django runs a request's whole chain,
    the async collector view included, while holding the process's one thread for sync code: one collector
    request at a time per process, and nothing for group commit (tracking.group_commit) to group. The
    collector needs none of that stack (no session, cookie, CSRF, login or page): it is the same view, reached
    by the same URLconf entry, with the checks it relies on kept here: ALLOWED_HOSTS, the HTTPS redirect and
    security headers (SecurityMiddleware, X-Frame-Options), and an exception answered as Django would.
    Every other path goes to Django as before.
    """

    def __init__(self, django_app):
        self.django_app = django_app
        # The collector's own URLconf entry, matched directly: resolving through the whole URLconf walked every
        # app's patterns first and cost more than the rest of the door. Checked once against the whole URLconf.
        self.route = next(p for p in tracking_urls.urlpatterns if getattr(p, "name", "") == "tracking-collect")
        assert resolve(reverse("tracking-collect", kwargs={"path_type": "batch"})).func is collector.collect
        self.security = SecurityMiddleware(lambda request: None)
        self.frame_options = XFrameOptionsMiddleware(lambda request: None)
        self.view = convert_exception_to_response(self._respond)

    async def __call__(self, scope, receive, send):
        path = scope["path"]
        if path.startswith("/v1/") and scope["type"] == "http":
            match = self.route.resolve(path[1:])
            if match is not None:
                await self._serve(scope, receive, send, match)
                return
        await self.django_app(scope, receive, send)

    async def _serve(self, scope, receive, send, match):
        body = await self._bounded_body(receive)
        if body is None:  # the client went away
            return
        request, error_response = self.django_app.create_request(scope, body)
        if request is None:
            await self.django_app.send_response(error_response, send)
            return
        request.resolver_match = match
        response = await self.view(request)
        response = self.security.process_response(request, response)
        response = self.frame_options.process_response(request, response)
        await self.django_app.send_response(response, send)

    async def _respond(self, request):
        request.get_host()  # ALLOWED_HOSTS, as CommonMiddleware checks it: DisallowedHost is a 400
        redirect = self.security.process_request(request)
        if redirect is not None:
            return redirect
        return await collector.collect(request, **request.resolver_match.kwargs)

    @staticmethod
    async def _bounded_body(receive):
        """The body up to one byte past the collector's bound (the view answers 413 past it); None: gone."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            if size <= MAX_ENCODED_BYTES:
                chunks.append(chunk)
                size += len(chunk)
            if not message.get("more_body", False):
                return io.BytesIO(b"".join(chunks))


application = ProtocolTypeRouter(
    {
        "http": CollectorDoor(django_asgi_app),
        "websocket": TokenOrSessionAuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)

if django_settings.ASSISTANT_WARM_AT_START:
    # The chat and the assistant API answer from this process: load the assistant's reader now, off the event loop.
    import threading

    from assistant import learned

    threading.Thread(target=learned.warm, name="assistant-warm", daemon=True).start()
