from django.urls import path

from dms import api

urlpatterns = [
    path("dms/imports/", api.DmsImportsApi.as_view(), name="api-dms-imports"),
    path("dms/imports/<int:import_id>/", api.DmsImportDetailApi.as_view(), name="api-dms-import"),
    path("dms/imports/<int:import_id>/cancel/", api.DmsImportCancelApi.as_view(), name="api-dms-import-cancel"),
    path("dms/imports/<int:import_id>/refused-rows/", api.DmsImportErrorsApi.as_view(),
         name="api-dms-import-refused-rows"),
]
