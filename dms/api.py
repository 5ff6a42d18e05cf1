"""Staff API for DMS imports (managers): upload a file and start it, watch its progress, cancel, read refused rows.

Thin: reads through `dms.selectors`, writes through `dms.services`, the same as the import pages.
"""

from __future__ import annotations

import json

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from crm.api import CURSOR_PAGE_PARAMETERS, StaffApiView, StaffGenericApiView
from crm.input_guard import CONTROL_CHARACTERS
from crm.pagination import CheckedCursorPagination, NewestFirst
from dms import selectors, services
from dms.models import DmsImport, DmsImportError, Kind
from dms.presets import FIELDS, PRESETS
from rooftops.api_inputs import id_field, rooftop_for_write
from rooftops.audit import access_record
from rooftops.models import AccessRecord, Role
from rooftops.selectors import staff_access


class ByLine(CheckedCursorPagination):
    ordering = "line"
    page_size = 100
    page_size_query_param = "limit"
    max_page_size = 1000


class ImportQuery(serializers.Serializer):
    rooftop = id_field(required=False, help_text="One of your rooftops where you are a manager.")


class ImportInput(serializers.Serializer):
    file = serializers.FileField(help_text="The DMS export: CSV (UTF-8) or Excel .xlsx.")
    kind = serializers.ChoiceField(choices=Kind.choices)
    rooftop = id_field(required=False)
    preset = serializers.ChoiceField(choices=list(PRESETS), required=False,
                                     help_text="The export layout; without it, the store's saved mapping or the "
                                               "layout that fits the file's header best.")
    columns = serializers.CharField(required=False, max_length=20000,
                                    help_text='JSON object: our field -> the header in your file, e.g. '
                                              '{"deal_number": "Deal #"}. Overrides the layout.')
    start = serializers.BooleanField(default=True, help_text="False: keep the upload as a draft to preview in the "
                                                             "browser before starting.")

    def validate_columns(self, text):
        try:
            columns = json.loads(text)
        except ValueError:
            raise ValidationError("Not JSON: give an object of field -> header.") from None
        if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str) and len(v) <= 100
                                                    for k, v in columns.items()):
            raise ValidationError("Give an object of field name -> header text (up to 100 characters).")
        return columns

    def validate(self, data):
        unknown = sorted(set(data.get("columns") or {}) - {f.name for f in FIELDS[data["kind"]]})
        if unknown:
            raise ValidationError({"columns": [f"Not fields of {data['kind']}: {', '.join(unknown)}."]})
        return data


class ImportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    rooftop = serializers.IntegerField(source="rooftop_id")
    kind = serializers.CharField()
    status = serializers.CharField()
    source = serializers.CharField()
    file_name = serializers.CharField()
    file_bytes = serializers.IntegerField()
    preset = serializers.CharField()
    columns = serializers.DictField(child=serializers.CharField())
    total_rows = serializers.IntegerField(allow_null=True)
    rows_done = serializers.IntegerField()
    percent = serializers.IntegerField()
    added = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    cancel_requested = serializers.BooleanField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class RefusedRowOutput(serializers.Serializer):
    line = serializers.IntegerField()
    key = serializers.CharField()
    reason = serializers.CharField()


class DmsImportsApi(StaffGenericApiView):
    pagination_class = NewestFirst
    parser_classes = [MultiPartParser]

    @extend_schema(summary="A rooftop's DMS imports, newest first (managers)", parameters=[ImportQuery,
                   *CURSOR_PAGE_PARAMETERS], responses=ImportOutput(many=True), tags=["dms"])
    def get(self, request):
        query = ImportQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        rooftop = rooftop_for_write(staff_access(request.user), query.validated_data.get("rooftop"), Role.MANAGER)
        page = self.paginate_queryset(selectors.dms_imports(access=staff_access(request.user), rooftop_id=rooftop.id))
        return self.get_paginated_response(ImportOutput(page, many=True).data)

    @extend_schema(summary="Upload a DMS export and start importing it (managers); 202 with the import to poll",
                   request={"multipart/form-data": ImportInput}, responses={202: ImportOutput, 201: ImportOutput},
                   tags=["dms"])
    def post(self, request):
        payload = ImportInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        rooftop = rooftop_for_write(staff_access(request.user), data.get("rooftop"), Role.MANAGER)
        upload = data["file"]
        name = CONTROL_CHARACTERS.sub("", upload.name or "dms-export.csv")[:200]
        try:
            dms_import = services.dms_upload(rooftop=rooftop, kind=data["kind"], upload=upload, file_name=name,
                                             user=request.user, source=DmsImport.Source.API)
        except services.ImportRefused as exc:
            raise ValidationError({"file": [exc.reason]}) from None
        columns = data.get("columns")
        if columns is None and data.get("preset"):
            columns = dict(PRESETS[data["preset"]].get(data["kind"], {}))
        if columns is not None:
            dms_import.columns = columns
            dms_import.preset = data.get("preset", "")
            dms_import.save(update_fields=["columns", "preset"])
        if not data["start"]:
            return Response(ImportOutput(dms_import).data, status=status.HTTP_201_CREATED)
        try:
            start = services.dms_import_start(dms_import=dms_import, columns=dms_import.columns,
                                              preset=dms_import.preset, user=request.user)
        except services.ImportRefused as exc:
            services.dms_import_cancel(dms_import=dms_import)
            raise ValidationError({"columns": [exc.reason]}) from None
        if not start.started:
            services.dms_import_cancel(dms_import=dms_import)
            return Response({"detail": "Another import is running at this rooftop; try again when it has finished.",
                             "running": start.run.id}, status=status.HTTP_409_CONFLICT)
        dms_import.refresh_from_db()
        return Response(ImportOutput(dms_import).data, status=status.HTTP_202_ACCEPTED)


def _import(request, import_id: int) -> DmsImport:
    return selectors.access_dms_import(access=staff_access(request.user), import_id=import_id)


class DmsImportDetailApi(StaffApiView):
    @extend_schema(summary="One DMS import: progress while it runs, the summary after (managers)",
                   responses=ImportOutput, tags=["dms"])
    def get(self, request, import_id: int):
        return Response(ImportOutput(_import(request, import_id)).data)


class DmsImportCancelApi(StaffApiView):
    @extend_schema(summary="Cancel a DMS import: a running one stops after its current chunk (rows in stay)",
                   request=None, responses=ImportOutput, tags=["dms"])
    def post(self, request, import_id: int):
        dms_import = services.dms_import_cancel(dms_import=_import(request, import_id))
        return Response(ImportOutput(dms_import).data)


class DmsImportErrorsApi(StaffGenericApiView):
    pagination_class = ByLine

    @extend_schema(summary="The rows a DMS import refused, with line and reason (managers)",
                   parameters=CURSOR_PAGE_PARAMETERS, responses=RefusedRowOutput(many=True), tags=["dms"])
    def get(self, request, import_id: int):
        dms_import = _import(request, import_id)
        page = self.paginate_queryset(DmsImportError.objects.filter(dms_import=dms_import))
        access_record(request, kind=AccessRecord.Kind.DMS_IMPORT_ERRORS, rooftop_ids=[dms_import.rooftop_id],
                      rows=len(page))
        return self.get_paginated_response(RefusedRowOutput(page, many=True).data)
