"""The bases of every staff API view: POSTs are idempotent with a key (crm.idempotency), OPTIONS never fails."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.generics import GenericAPIView
from rest_framework.metadata import SimpleMetadata
from django.utils.decorators import method_decorator
from rest_framework.views import APIView

from crm.db_router import replica_reads
from crm.idempotency import IdempotentPostMixin

# What a cursor-paged list takes besides its filters (the pagination classes read them).
CURSOR_PAGE_PARAMETERS = [OpenApiParameter("cursor", OpenApiTypes.STR), OpenApiParameter("limit", OpenApiTypes.INT)]

# On a list's `get` (under its `extend_schema`): its reads may come from the read replica (crm/db_router.py).
# Authentication and permissions ran before the method, on the primary.
replica_list = method_decorator(replica_reads)


class StaffApiMetadata(SimpleMetadata):
    """OPTIONS names the view and its media types; the fields of each method are in /api/schema/ (DRF's own
    description builds one serializer per view, which views with an input per method do not have: a 500)."""

    def determine_actions(self, request, view):
        return {}


class StaffApiView(IdempotentPostMixin, APIView):
    """The base of every staff API view."""

    metadata_class = StaffApiMetadata


class StaffGenericApiView(IdempotentPostMixin, GenericAPIView):
    """The base of staff API views that page a queryset (cursor pagination)."""

    metadata_class = StaffApiMetadata
