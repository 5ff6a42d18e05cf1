"""Who an alert is for, and which Channels groups carry it. Pure: plain values in, names out.

An alert row names one person (`for_user`: the salesperson on the customer's open lead) and one team feed
(`for_team` at its rooftop). Staff join `user-<id>` and, per rooftop, the team groups of their roles;
managers join every team group of their rooftops. The push through these groups is only a hint: the
websocket consumer reloads what the staff member may see from PostgreSQL (see alerts.selectors).
"""

from __future__ import annotations

from rooftops.models import Role
from rooftops.tenancy import StaffAccess

BDC, SALES, SERVICE, MANAGERS = "bdc", "sales", "service", "managers"
# MANAGERS: the store's own upkeep (a webhook endpoint disabled after a day of failures), no shopper behind it.
TEAMS = (BDC, SALES, SERVICE, MANAGERS)
TEAM_ROLE = {BDC: Role.BDC_AGENT, SALES: Role.SALESPERSON, SERVICE: Role.SERVICE_ADVISOR, MANAGERS: Role.MANAGER}

EQUITY_SIGNAL = "equity_shopper"


def user_group(user_id: int) -> str:
    return f"user-{user_id}"


def team_group(rooftop_id: int, team: str) -> str:
    if team not in TEAMS:
        raise ValueError(f"unknown team {team!r}")
    return f"rooftop-{rooftop_id}-{team}"


def groups_for_access(access: StaffAccess) -> list[str]:
    """Every group a signed-in staff member listens on."""
    groups = [user_group(access.user_id)]
    for rooftop_id in sorted(access.rooftop_ids):
        for team in TEAMS:
            if access.has_role(rooftop_id, Role.MANAGER, TEAM_ROLE[team]):
                groups.append(team_group(rooftop_id, team))
    return groups


def groups_for_alert(*, rooftop_id: int, team: str, for_user_id: int | None) -> list[str]:
    groups = [team_group(rooftop_id, team)]
    if for_user_id:
        groups.append(user_group(for_user_id))
    return groups


def is_service_lane(*, kind: str, form_type: str | None) -> bool:
    """A service customer with equity, or a service form, is the service advisors' conversation to start."""
    return kind == EQUITY_SIGNAL or "service" in (form_type or "").casefold()


def choose_team(*, kind: str, form_type: str | None, rooftop_has_bdc: bool) -> str:
    if is_service_lane(kind=kind, form_type=form_type):
        return SERVICE
    # A store without a BDC works its alerts from the sales floor.
    return BDC if rooftop_has_bdc else SALES


def timeline_department(access: StaffAccess, rooftop_id: int) -> str:
    """Which department's voice a staff member's call or text is logged in on the customer timeline."""
    if access.has_role(rooftop_id, Role.BDC_AGENT):
        return "bdc"
    if access.has_role(rooftop_id, Role.SERVICE_ADVISOR) and not access.has_role(rooftop_id, Role.SALESPERSON):
        return "service"
    return "sales"
