from rooftops.models import Role
from rooftops.selectors import staff_access


def staff_context(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    access = staff_access(user)
    profile = getattr(user, "staff_profile", None)
    return {
        "access": access,
        "staff_profile": profile,
        "is_salesperson": access.any_role(Role.SALESPERSON),
        "is_bdc": access.any_role(Role.BDC_AGENT),
        "is_service": access.any_role(Role.SERVICE_ADVISOR),
        "is_manager": access.any_role(Role.MANAGER),
    }
