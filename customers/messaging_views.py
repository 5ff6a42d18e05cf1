"""The inbound SMS webhook (Twilio's format): check the signature, store the text once, answer with empty TwiML."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from crm.ratelimit import client_address, retry_after
from customers.messaging import sms_inbound_receive
from customers.sms import twilio_signature_valid
from customers.contact import InvalidContact, normalize_phone

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _candidate_urls(request) -> list[str]:
    """The URL the provider signed: as this server sees it, and as SITE_URL says it is reached (behind a proxy)."""
    seen = request.build_absolute_uri()
    public = settings.SITE_URL.rstrip("/") + request.get_full_path()
    return list(dict.fromkeys([seen, public]))


@csrf_exempt  # the provider cannot send a CSRF token; the HMAC signature proves who sent it
@require_POST
def sms_inbound(request):
    wait = retry_after("sms", key=request.POST.get("To", "")[:40], address=client_address(request))
    if wait is not None:
        response = HttpResponse(f"Too many requests; retry in {wait} s", status=429, content_type="text/plain")
        response["Retry-After"] = str(wait)
        return response
    params = [(name, value) for name in request.POST for value in request.POST.getlist(name)]
    if not twilio_signature_valid(urls=_candidate_urls(request), params=params,
                                  signature=request.headers.get("X-Twilio-Signature", ""),
                                  auth_token=settings.TWILIO_AUTH_TOKEN):
        return HttpResponseForbidden("Invalid or missing X-Twilio-Signature", content_type="text/plain")
    missing = [name for name in ("MessageSid", "From", "To") if not request.POST.get(name)]
    if missing:
        return HttpResponse(f"Missing {', '.join(missing)}", status=400, content_type="text/plain")
    try:
        from_number = normalize_phone(request.POST["From"])
    except InvalidContact as exc:
        return HttpResponse(f"From is not a valid phone number: {exc}", status=400, content_type="text/plain")
    try:
        to_number = normalize_phone(request.POST["To"])
    except InvalidContact:
        to_number = request.POST["To"][:20]  # a short code or provider alias: kept as sent
    sms_inbound_receive(
        provider_id=request.POST["MessageSid"][:100], from_number=from_number, to_number=to_number,
        body=request.POST.get("Body", "")[:1600],
    )
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")
