from django.urls import path

from dms import views

urlpatterns = [
    path("dms/imports/", views.dms_imports_page, name="dms-imports"),
    path("dms/imports/<int:import_id>/", views.dms_import_page, name="dms-import"),
    path("dms/imports/<int:import_id>/progress/", views.dms_import_progress, name="dms-import-progress"),
    path("dms/imports/<int:import_id>/refused-rows.csv", views.dms_import_errors, name="dms-import-errors"),
]
