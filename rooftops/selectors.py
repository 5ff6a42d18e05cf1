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


def access_records(*, rooftop_id: int, user_id: int | None = None, start=None, end=None, kind: str = ""):
    """The access log of one store, newest first, narrowed by person, time (start inclusive, end exclusive), kind."""
    from rooftops.models import AccessRecord

    records = AccessRecord.objects.for_rooftops([rooftop_id])
    if user_id is not None:
        records = records.filter(user_id=user_id)
    if start is not None:
        records = records.filter(at__gte=start)
    if end is not None:
        records = records.filter(at__lt=end)
    if kind:
        records = records.filter(kind=kind)
    return records.order_by("-at", "-id")


def rooftop_staff_names(rooftop_id: int) -> dict[int, str]:
    """Everyone holding a role at the store, by user id, with the name staff know them by."""
    rows = (StaffRole.objects.filter(rooftop_id=rooftop_id)
            .values_list("user_id", "user__staff_profile__display_name", "user__username").distinct())
    return {user_id: display or username for user_id, display, username in sorted(rows, key=lambda r: (r[1] or r[2]).lower())}
