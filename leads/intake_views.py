"""Doors for ADF intake: the provider POST endpoint, the needs-review queue, and ADF export of a lead."""

from __future__ import annotations

import io
import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse, extend_schema

from crm.api import StaffApiView
from crm.pagination import paginate
from crm.ratelimit import client_address, retry_after
from leads.intake import MAX_ADF_BYTES, AdfUnreadable, adf_lead_accept, adf_review_accept, adf_review_discard, lead_as_adf
from leads.models import AdfReview, Lead
from rooftops.audit import Kind, access_record
from rooftops.models import Role, Rooftop
from rooftops.selectors import staff_access
from rooftops.tenancy import get_scoped_or_404

logger = logging.getLogger(__name__)

RAW_TYPES = ("application/xml", "text/xml", "text/plain", "application/adf+xml", "")
FORM_FIELDS = ("adf", "xml")


def _error(status: int, reason: str, **extra) -> JsonResponse:
    return JsonResponse({"status": "rejected", "reason": reason, **extra}, status=status)


def _read_body(request) -> bytes | None:
    """At most MAX_ADF_BYTES + 1 bytes, whatever the Content-Length says; None when over the limit."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_ADF_BYTES:
        return None
    try:
        body = request.read(MAX_ADF_BYTES + 1)
    except RequestDataTooBig:
        return None
    return None if len(body) > MAX_ADF_BYTES else body


def _document_from(request, body: bytes) -> bytes | str | None:
    content_type = (request.content_type or "").lower()
    if content_type == "application/x-www-form-urlencoded":
        form = QueryDict(body, encoding=request.encoding or "utf-8")
        return next((form[f] for f in FORM_FIELDS if form.get(f)), None)
    if content_type == "multipart/form-data":
        meta = {**request.META, "CONTENT_LENGTH": str(len(body))}
        try:
            fields, files = MultiPartParser(meta, io.BytesIO(body), request.upload_handlers, request.encoding).parse()
        except MultiPartParserError as exc:
            raise ValueError(f"the multipart form could not be read: {exc}") from None
        for name in FORM_FIELDS:
            if fields.get(name):
                return fields[name]
            if name in files:
                return files[name].read(MAX_ADF_BYTES + 1)
        return None
    return body


@csrf_exempt
def adf_intake(request, token: str):
    """POST an ADF document: raw body (application/xml, text/xml, text/plain) or form field `adf`/`xml`."""
    wait = retry_after("adf", key=token, address=client_address(request))
    if wait is not None:
        response = _error(429, f"too many requests; retry in {wait} s")
        response["Retry-After"] = str(wait)
        return response
    rooftop = Rooftop.objects.filter(lead_intake_token=token).first() if token else None
    if rooftop is None:
        return _error(404, "unknown intake address: check the URL the dealership gave you")
    if request.method != "POST":
        response = _error(405, "POST the ADF document to this address")
        response["Allow"] = "POST"
        return response
    body = _read_body(request)
    if body is None:
        return _error(413, f"the document is larger than {MAX_ADF_BYTES // 1_000_000} MB; an ADF lead is a few KB")
    try:
        document = _document_from(request, body)
    except ValueError as exc:
        return _error(400, str(exc))
    if document is None:
        return _error(400, f"no ADF document: send it as the body or in a form field named {' or '.join(FORM_FIELDS)}")
    if isinstance(document, bytes) and len(document) > MAX_ADF_BYTES:
        return _error(413, "the document is larger than 1 MB")
    try:
        result = adf_lead_accept(rooftop=rooftop, raw=document, received_via="http")
    except AdfUnreadable as exc:
        if exc.refused:
            logger.warning("refused unsafe ADF document for rooftop %s: %s", rooftop.slug, exc.reason)
        return _error(400, exc.reason, review_id=exc.review.pk if exc.review else None)
    return JsonResponse(result.as_json(), status=201)


# ---------------------------------------------------------------------------------------------------------
# Needs-review queue (staff)
# ---------------------------------------------------------------------------------------------------------

REVIEW_ROLES = (Role.MANAGER, Role.BDC_AGENT)


def _review_rooftops(access) -> list[int]:
    return sorted(access.rooftops_with_role(*REVIEW_ROLES))


@login_required
def adf_review(request):
    access = staff_access(request.user)
    rooftop_ids = _review_rooftops(access)
    if not rooftop_ids:
        raise Http404
    status = request.GET.get("status", AdfReview.Status.OPEN)
    if status not in AdfReview.Status.values:
        status = AdfReview.Status.OPEN
    reviews = (AdfReview.objects.for_rooftops(rooftop_ids).filter(status=status)
               .select_related("rooftop", "lead", "resolved_by").order_by("-received_at", "-id"))
    page = paginate(reviews, per_page=25, raw_page=request.GET.get("page"))
    return render(request, "leads/intake_review_list.html", {
        "page": page, "status": status, "statuses": AdfReview.Status.choices,
    })


@login_required
def adf_review_detail(request, review_id: int):
    access = staff_access(request.user)
    review = get_scoped_or_404(AdfReview.objects.for_rooftops(_review_rooftops(access)), access, pk=review_id)
    error = ""
    if request.method == "POST":
        if review.status != AdfReview.Status.OPEN:
            messages.error(request, "This delivery was already handled.")
            return redirect("adf-review-detail", review_id=review.pk)
        if request.POST.get("action") == "discard":
            adf_review_discard(review=review, user=request.user)
            messages.success(request, "Discarded. It stays in the Discarded list.")
            return redirect("adf-review")
        raw = request.POST.get("raw", "")
        if len(raw.encode()) > MAX_ADF_BYTES:
            error = "The document is larger than 1 MB."
        else:
            result = adf_review_accept(review=review, raw=raw, user=request.user)
            if result.status == "needs_review":
                error = result.reason
            else:
                verb = "Created" if result.status == "created" else "Matched the existing"
                messages.success(request, f"{verb} lead #{result.lead.pk} for {result.customer}.")
                return redirect(reverse("customer-detail", args=[result.customer.pk]))
        review.raw = raw
    return render(request, "leads/intake_review_detail.html", {"review": review, "error": error},
                  status=422 if error else 200)


# ---------------------------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------------------------


def _xml_response(request, lead: Lead) -> HttpResponse:
    access_record(request, kind=Kind.LEAD_ADF_EXPORT, rooftop_ids=[lead.rooftop_id], rows=1, object_ids=[lead.pk])
    response = HttpResponse(lead_as_adf(lead), content_type="application/xml; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="lead-{lead.pk}.adf.xml"'
    return response


@login_required
def lead_adf_export(request, lead_id: int):
    access = staff_access(request.user)
    lead = get_scoped_or_404(Lead.objects.select_related("customer", "vehicle", "rooftop"), access, pk=lead_id)
    return _xml_response(request, lead)


class LeadAdfExportApi(StaffApiView):
    @extend_schema(summary="A lead as ADF 1.0 XML", responses={(200, "application/xml"): OpenApiResponse(description="ADF XML")})
    def get(self, request, lead_id: int):
        access = staff_access(request.user)
        lead = get_scoped_or_404(Lead.objects.select_related("customer", "vehicle", "rooftop"), access, pk=lead_id)
        return _xml_response(request, lead)


