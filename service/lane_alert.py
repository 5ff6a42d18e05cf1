"""What sales is told when a customer checks in at the service lane. Pure: plain values in, sentences out.

The advisor says how long the car will be in ("oil change until about 11:30"); without that, the appointment's
kind gives the usual wait. The alert leads with who and where and how long, then the car's reasons to trade
(strongest first, from service.triggers via VehicleOpportunity), then an open sales lead, then one next step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

KIND = "service_lane"  # alerts.models.Alert.kind
# How long a visit of each appointment kind usually keeps the customer in the store.
USUAL_WAIT = {"service": timedelta(hours=1)}
DEFAULT_WAIT = timedelta(hours=1)
MAX_REASONS = 4
NEXT_STEP_TRADE = "Walk over to say hello and offer an appraisal while the car is in service"
NEXT_STEP_LEAD = "Walk over to say hello and pick up where the sales conversation left off while the car is in service"


def promised_default(*, started_at: datetime, appointment_kind: str | None) -> datetime:
    return started_at + USUAL_WAIT.get(appointment_kind or "", DEFAULT_WAIT)


def clock(at: datetime) -> str:
    """11:30 AM, 9:05 AM: the time as a person says it (in the zone `at` already carries)."""
    return f"{at.hour % 12 or 12}:{at.minute:02d} {'AM' if at.hour < 12 else 'PM'}"


@dataclass(frozen=True)
class LaneAlertText:
    reasons: list[str]
    suggested_next_step: str


def lane_alert_text(*, customer_name: str, what: str, promised_at: datetime | None, trade_reasons: list[str],
                    open_lead_with: str | None) -> LaneAlertText:
    """`promised_at` in the store's zone; `open_lead_with` is the salesperson on the open lead ("" if nobody)."""
    wait = f", {what.strip() or 'service'} until about {clock(promised_at)}" if promised_at else ""
    first = f"{customer_name or 'A customer'} is in the service lane now{wait}"
    reasons = [first, *trade_reasons[:MAX_REASONS]]
    if open_lead_with is not None:
        reasons.append(f"Open sales lead{f' with {open_lead_with}' if open_lead_with else ''}")
    return LaneAlertText(reasons=reasons, suggested_next_step=NEXT_STEP_TRADE if trade_reasons else NEXT_STEP_LEAD)
