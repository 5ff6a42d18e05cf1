"""Reads for the DMS import pages and API: a store's imports, for its managers only (anyone else: nothing)."""

from django.db.models import QuerySet

from dms.models import DmsImport
from rooftops.models import Role
from rooftops.tenancy import StaffAccess, get_scoped_or_404


def dms_imports(*, access: StaffAccess, rooftop_id: int) -> QuerySet:
    if not access.has_role(rooftop_id, Role.MANAGER):
        return DmsImport.objects.for_rooftops([]).none()
    return (DmsImport.objects.for_access(access).filter(rooftop_id=rooftop_id).select_related("created_by")
            .order_by("-created_at", "-id"))


def access_dms_import(*, access: StaffAccess, import_id: int) -> DmsImport:
    """One import, for a manager of its store; anyone else (and a missing id) gets the same 404."""
    managed = sorted(access.rooftops_with_role(Role.MANAGER))
    return get_scoped_or_404(DmsImport.objects.filter(rooftop_id__in=managed).select_related("rooftop", "created_by"),
                             access, id=import_id)
