"""Request gates for signed-in staff: the second factor, and sliding session renewal."""

from __future__ import annotations

import time

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from rooftops.second_factor import Gate, second_factor_gate
from rooftops.selectors import second_factor_facts

# Paths a signed-in person reaches before their second factor is verified: signing in and out, enrolling and
# verifying, static files, and the public doors that never use a staff session (collector, intake, webhooks,
# the demo dealer website a staff browser may have open).
OPEN_PREFIXES = (
    "/login/", "/logout/", "/account/second-factor/", "/static/", "/healthz",
    "/v1/", "/intake/", "/webhooks/", "/demo-site/",
)


class SecondFactorMiddleware:
    """Where the dealer group requires a second factor (or the person enrolled one), a session without a verified
    factor reaches no customer data: pages redirect to enrolment or verification, session API calls get 403."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        # A verified session passes whatever the rest says: ask the database only for one that is not.
        if user.is_authenticated and not request.path.startswith(OPEN_PREFIXES) and not user.is_verified():
            required, enrolled = second_factor_facts(user)
            gate = second_factor_gate(required=required, enrolled=enrolled, verified=False)
            if gate is not Gate.PASS:
                return self._refuse(request, gate)
        return self.get_response(request)

    def _refuse(self, request, gate: Gate):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": gate.reason, "code": gate.value}, status=403)
        url_name = "second-factor-enrol" if gate is Gate.ENROL else "second-factor-verify"
        target = reverse(url_name)
        if request.method == "GET" and not request.headers.get("HX-Request"):
            target += "?" + urlencode({"next": request.get_full_path()})
        if request.headers.get("HX-Request"):
            response = JsonResponse({"detail": gate.reason}, status=403)
            response["HX-Redirect"] = target
            return response
        return redirect(target)


class SlidingSessionMiddleware:
    """Renews a signed-in session's expiry on activity, at most once every SESSION_RENEW_SECONDS: cheaper than
    SESSION_SAVE_EVERY_REQUEST (the feed and progress bars poll), and still ends a session idle for
    SESSION_COOKIE_AGE."""

    KEY = "_renewed_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            if now - int(request.session.get(self.KEY, 0)) >= settings.SESSION_RENEW_SECONDS:
                request.session[self.KEY] = now  # a modified session is saved with a fresh expiry and cookie
        return self.get_response(request)
