from django.contrib.auth.models import AnonymousUser, User

from rooftops.models import ApiToken, Role, Rooftop, StaffRole, hash_token
from rooftops.tenancy import StaffAccess


def staff_access(user: User | AnonymousUser) -> StaffAccess:
    """The rooftops and roles this user holds; a granted manager sees the whole dealer group."""
    if not user.is_authenticated:
        return StaffAccess(user_id=0, dealer_group_id=None, roles={})
    cached = getattr(user, "_staff_access", None)
    if cached is not None:
        return cached
    roles: dict[int, set[str]] = {}
    for rooftop_id, role in StaffRole.objects.filter(user=user).values_list("rooftop_id", "role"):
        roles.setdefault(rooftop_id, set()).add(role)
    profile = getattr(user, "staff_profile", None)
    group_id = profile.dealer_group_id if profile else None
    if profile and profile.sees_whole_group and any(Role.MANAGER in r for r in roles.values()):
        for rooftop_id in Rooftop.objects.filter(dealer_group_id=group_id).values_list("id", flat=True):
            roles.setdefault(rooftop_id, set()).add(Role.MANAGER)
    access = StaffAccess(
        user_id=user.pk, dealer_group_id=group_id, roles={k: frozenset(v) for k, v in roles.items()}
    )
    user._staff_access = access
    return access


def accessible_rooftops(access: StaffAccess):
    return Rooftop.objects.filter(id__in=access.rooftop_ids).order_by("name")


def api_token_user(key: str) -> User | None:
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
    if token is None or not token.user.is_active:
        return None
    return token.user
