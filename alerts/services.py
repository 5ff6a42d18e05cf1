"""Writes for scoring and alerts. Each service owns its transaction; pushes happen only after commit.

Ordering guarantee the live feed relies on: every Alert row (root or follow-up) is inserted while holding one
transaction-scoped advisory lock, so alert ids become visible to readers in id order. A websocket consumer
that has sent everything up to id N can therefore ask PostgreSQL for "id > N" on each push hint and never
skip a row that commits later with a smaller id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from alerts import audience
from alerts.facts import event_fact
from alerts.folding import FOLD, NEW, FoldDecision, LastOfKind, OpenAlert, place_signal
from alerts.labels import DISMISS_REASONS
from alerts.models import Alert, AlertAction, ScoringFit, ScoringSettings, ShopperIntent
from alerts.scoring import (
    ScoringRules, ScoreUpdate, ShopperContext, ShopperState, Signal, apply_event, check_idle, describe_reasons,
)
from alerts.push import group_send_many
from alerts.selectors import (
    OUTCOME_CHUNK, ScoringConfig, outcome_row_chunks, outcome_shopper_count, scoring_config_from_row,
)
from crm import crypto
from customers.models import TimelineEntry
from leads.models import Lead, PriceChange
from rooftops.runs import RunStart, run_claimed, run_start
from rooftops.models import Role, Rooftop

logger = logging.getLogger(__name__)

ALERT_SEQUENCE_LOCK = 0x616C657274  # "alert": serializes alert inserts so ids commit in order
SCORING_BATCH = 500
MAX_ROOT_REASONS = 10
PRICE_DROP_LOOKBACK = timedelta(days=7)
MAX_SNOOZE = timedelta(days=7)
MAX_ALERT_DELAY = timedelta(hours=24)

ACT_CHANNELS = {"call": TimelineEntry.Kind.CALL, "text": TimelineEntry.Kind.TEXT, "email": TimelineEntry.Kind.EMAIL}


class AlertActionError(ValueError):
    """The request cannot be done as asked; the message says why (HTTP 400)."""


class AlertConflict(AlertActionError):
    """The alert moved on (claimed by a colleague, dismissed); the message says how (HTTP 409)."""


# --- scoring ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScoringOutcome:
    visitor_id: int
    events_scored: int
    score: float
    alert_ids: tuple[int, ...]
    more: bool  # a full batch was scored: more unscored events are waiting
    busy: bool = False  # another transaction held the batch's events: left unscored, that writer hints it again


def visitor_score_events(*, visitor_id: int, now: datetime | None = None, batch_size: int = SCORING_BATCH) -> ScoringOutcome:
    """Fold the visitor's unscored events (oldest first, one bounded batch) into their intent and raise alerts.

    The intent row is locked for the whole batch, so two workers never fold the same shopper at once, and the
    work per event depends on the compact state only, never on how long the shopper's history is.
    """
    with transaction.atomic():
        return _shoppers_score([visitor_id], now=now or timezone.now(), batch_size=batch_size, whole_chunk=True)[0]


def visitors_score_events(*, visitor_ids: Sequence[int], batch_size: int = SCORING_BATCH) -> list[ScoringOutcome]:
    """Score several shoppers (the drainer's chunk), as visitor_score_events each, sharing transactions.

    A transaction locks the shoppers' intents, reads every shopper's batch in one statement and folds them all;
    a shopper whose events raise an alert is written first and alone, and the transaction ends there, so its push
    waits for nobody (the others are read again in the next one); otherwise all are written and committed
    together. When a transaction fails, the shoppers still waiting are scored again one per transaction, so one
    shopper's failure undoes nobody else's; a shopper that fails alone is logged and left to the beat sweep of
    unscored events. A shopper whose events another transaction holds comes back `busy`, unscored
    (INTENT_SAVE_SQL).
    """
    outcomes: list[ScoringOutcome] = []
    waiting = list(visitor_ids)
    while waiting:
        try:
            with transaction.atomic():
                done = _shoppers_score(waiting, now=timezone.now(), batch_size=batch_size, whole_chunk=False)
        except DatabaseError:
            for visitor_id in waiting:
                try:
                    outcomes.append(visitor_score_events(visitor_id=visitor_id, batch_size=batch_size))
                except DatabaseError:
                    logger.exception("scoring visitor %s failed; the sweep of unscored events will try again",
                                     visitor_id)
            break
        outcomes.extend(done)
        finished = {o.visitor_id for o in done}
        waiting = [v for v in waiting if v not in finished]
    return outcomes


@dataclass
class _Fold:
    """One shopper's batch folded in memory, not yet written."""

    visitor_id: int
    intent: ShopperIntent | None
    config: ScoringConfig | None = None
    rows: list[tuple] | None = None
    update: ScoreUpdate | None = None
    fired: list[Signal] | None = None

    @property
    def raises(self) -> bool:
        """Whether writing it raises an alert."""
        return self.intent is not None and _raises(self.intent, self.fired, self.config)


def _shoppers_score(visitor_ids: Sequence[int], *, now: datetime, batch_size: int,
                    whole_chunk: bool) -> list[ScoringOutcome]:
    """Inside the caller's transaction: lock, read and fold the shoppers; write the first whose events raise an
    alert alone (unless `whole_chunk`), else write them all. Returns the outcomes of the shoppers written."""
    locked = _intents_for_update(visitor_ids)
    states = {visitor_id: _load_state(intent) for visitor_id, intent in locked.items()}
    batches = _batches_read(locked.values(), states=states, batch_size=batch_size, now=now)
    folds = [_fold(visitor_id, locked.get(visitor_id), states.get(visitor_id), batches.get(visitor_id, ([], ())),
                   now=now) for visitor_id in visitor_ids]
    alerting = next((f for f in folds if f.raises), None)
    if alerting is not None and not whole_chunk:
        folds = [alerting]
    return [_fold_write(fold, now=now, batch_size=batch_size) for fold in folds]


def _fold(visitor_id: int, intent: ShopperIntent | None, state: ShopperState | None,
          batch: tuple[list[tuple], tuple], *, now: datetime) -> _Fold:
    """The shopper's batch (from _batches_read) folded into their state, in memory (no statement)."""
    if intent is None:
        return _Fold(visitor_id, None)
    config = _config_of(intent)
    rows, known = batch
    if not rows:
        return _Fold(visitor_id, intent, config, rows=[])
    facts = [
        f for f in (event_fact(type=r[2], event=r[3], occurred_at=r[4], vin=r[5], properties=r[6]) for r in rows)
        if f is not None
    ]
    context = _context_from(known, first_seen=_first_seen(
        state, {(f.vin or "").upper(): f.occurred_at for f in reversed(facts) if f.vin}), now=now)
    fired: list[Signal] = []
    update: ScoreUpdate | None = None
    for fact in facts:
        update = apply_event(state, fact, rules=config.rules, context=context, now=now)
        state = update.state
        # An event that arrives a day late (imported history, a device clock far off) still shapes the
        # score and the reasons, but "act now" about it would be wrong.
        if now - fact.occurred_at <= MAX_ALERT_DELAY:
            fired.extend(update.fired)
    return _Fold(visitor_id, intent, config, rows=rows, update=update, fired=fired)


def _fold_write(fold: _Fold, *, now: datetime, batch_size: int) -> ScoringOutcome:
    """Write one folded shopper in the caller's transaction: their state, their events marked, their alerts."""
    intent, rows, visitor_id = fold.intent, fold.rows, fold.visitor_id
    if intent is None:
        return ScoringOutcome(visitor_id, 0, 0.0, (), False)
    if not rows:
        if intent.customer_id != intent.visitor.customer_id:
            # Queued because the browser was just joined to a customer: the shopper page should know.
            intent.customer_id = intent.visitor.customer_id
            intent.save(update_fields=["customer"])
        return ScoringOutcome(visitor_id, 0, intent.score, (), False)
    saved = (
        _intent_save(intent, fold.update, customer_id=intent.visitor.customer_id, config=fold.config, now=now,
                     scored=rows)
        if fold.update is not None else _mark_scored(visitor_id=visitor_id, rows=rows, now=now)
    )
    if not saved:
        # A link or a merge holds the shopper's events (INTENT_SAVE_SQL): nothing folded, alerts unraised; its
        # commit hints the shopper again.
        return ScoringOutcome(visitor_id, 0, intent.score, (), False, busy=True)
    alert_ids = _raise_all(intent, fold.fired, config=fold.config, score=intent.score, now=now)
    return ScoringOutcome(visitor_id, len(rows), intent.score, alert_ids, len(rows) == batch_size)


def intent_check_idle(*, intent_id: int, now: datetime | None = None, only_vins: Iterable[str] | None = None) -> tuple[int, ...]:
    """Let time-driven signals fire for one shopper: a form left unfinished, a price drop on a viewed vehicle."""
    now = now or timezone.now()
    with transaction.atomic():
        intent = (
            ShopperIntent.unscoped.select_for_update(of=("self",))
            .select_related("visitor", "rooftop", "rooftop__scoring_settings").filter(pk=intent_id).first()
        )
        if intent is None:
            return ()
        config = _config_of(intent)
        state = _load_state(intent)
        context = shopper_context(
            rooftop_id=intent.rooftop_id, customer_id=intent.visitor.customer_id, state=state, batch_views={},
            now=now, only_vins=only_vins,
        )
        update = check_idle(state, rules=config.rules, context=context, now=now)
        _intent_save(intent, update, customer_id=intent.visitor.customer_id, config=config, now=now)
        return _raise_all(intent, list(update.fired), config=config, score=intent.score, now=now)


CONTEXT_SQL = """
SELECT
    -- payoff_cents is encrypted at rest (a Fernet token): the rows come back and equity is computed in Python.
    (SELECT coalesce(json_agg(json_build_array(trade_value_cents, payoff_cents)), '[]'::json)
       FROM customers_ownedvehicle
      WHERE customer_id = %(customer)s AND trade_value_cents IS NOT NULL AND payoff_cents IS NOT NULL),
    EXISTS (SELECT 1 FROM service_repairorder WHERE customer_id = %(customer)s AND rooftop_id = %(rooftop)s),
    (SELECT coalesce(json_agg(json_build_array(vin, old_price_cents, new_price_cents, changed_at)), '[]'::json)
       FROM (SELECT DISTINCT ON (pc.vehicle_id) v.vin, pc.old_price_cents, pc.new_price_cents, pc.changed_at
               FROM leads_pricechange pc JOIN leads_inventoryvehicle v ON v.id = pc.vehicle_id
              WHERE v.rooftop_id = %(rooftop)s AND v.vin = ANY(%(vins)s) AND pc.changed_at >= %(since)s
              ORDER BY pc.vehicle_id, pc.changed_at DESC, pc.id DESC) AS latest)
"""


def shopper_context(*, rooftop_id: int, customer_id: int | None, state: ShopperState,
                    batch_views: dict[str, datetime], now: datetime,
                    only_vins: Iterable[str] | None = None) -> ShopperContext:
    """What the CRM knows beyond the clickstream: equity in their car, service history, price drops they saw.

    One round trip. The scoring of stored events reads the same in the statement that reads its batch
    (`_batches_read`); this is for the idle and price-drop checks, which have no batch.
    """
    first_seen = _first_seen(state, batch_views)
    vins = set(first_seen) if only_vins is None else set(first_seen) & {v.upper() for v in only_vins}
    if not customer_id and not vins:
        return ShopperContext()
    with connection.cursor() as cursor:
        cursor.execute(CONTEXT_SQL, {"customer": customer_id, "rooftop": rooftop_id, "vins": sorted(vins),
                                     "since": now - PRICE_DROP_LOOKBACK})
        known = cursor.fetchone()
    return _context_from(known, first_seen=first_seen, now=now)


def _first_seen(state: ShopperState, batch_views: dict[str, datetime]) -> dict[str, datetime]:
    """When the shopper first looked at each vehicle (VIN upper-cased), from the state and the batch."""
    first_seen: dict[str, datetime] = {}
    for track in state.vehicles.values():
        if track.vin:
            seen = [t for t in (min(track.views) if track.views else None, track.last_seen_at) if t is not None]
            if seen:
                first_seen[track.vin.upper()] = min(seen)
    for vin, at in batch_views.items():
        if vin and (vin not in first_seen or at < first_seen[vin]):
            first_seen[vin] = at
    return first_seen


def _context_from(known: Sequence, *, first_seen: dict[str, datetime], now: datetime) -> ShopperContext:
    """CONTEXT_SQL's three columns (owned vehicles, service customer, latest price changes) as a ShopperContext."""
    owned, is_service, latest = known
    if isinstance(latest, str):
        latest = json.loads(latest)
    equity_cents = _best_equity_cents(json.loads(owned) if isinstance(owned, str) else owned)
    # A drop counts only if it happened after the shopper first looked: a car that was already cheaper
    # when they found it has no news for them (a VIN they never looked at has no first look: never news).
    drops: dict[str, tuple[int, int]] = {}
    for vin, old, new, changed_at in latest or ():
        changed = datetime.fromisoformat(changed_at) if isinstance(changed_at, str) else changed_at
        if 0 < new < old and changed > first_seen.get(vin.upper(), now):
            drops[vin.upper()] = (int(old), int(new))
    return ShopperContext(
        has_positive_equity=bool(equity_cents and equity_cents > 0), equity_cents=equity_cents,
        is_service_customer=bool(is_service), price_drops=drops,
    )


# Each shopper's batch and what the CRM knows about them, for a whole chunk in one round trip (the hot path runs
# it for every transaction). The price changes are read for every VIN the state knows and every VIN the batch may
# name (its vin column and item_id, which facts.event_fact falls back on): a superset, since _context_from keeps
# only drops after a first look. `batch` is referenced twice, so PostgreSQL materializes it once: both see the
# same rows. A shopper with nothing unscored has no row.
BATCH_SQL = """
SELECT s.visitor, x.*
  FROM unnest(%(visitors)s::bigint[], %(rooftops)s::bigint[], %(customers)s::bigint[], %(vins)s::text[])
       AS s(visitor, rooftop, customer, vins)
 CROSS JOIN LATERAL (
    WITH batch AS (
        SELECT id, received_at, type, event, occurred_at, vin, properties FROM tracking_event
         WHERE visitor_id = s.visitor AND scored_at IS NULL
         ORDER BY occurred_at, id LIMIT %(limit)s
    ), vins AS (
        SELECT unnest(string_to_array(s.vins, ' '))
        UNION SELECT upper(vin) FROM batch WHERE vin <> ''
        UNION SELECT upper(btrim(properties ->> 'item_id')) FROM batch
               WHERE jsonb_typeof(properties -> 'item_id') = 'string'
    ), known AS (""" + (CONTEXT_SQL.replace("v.vin = ANY(%(vins)s)", "v.vin IN (SELECT * FROM vins)")
                                   .replace("%(customer)s", "s.customer").replace("%(rooftop)s", "s.rooftop")) + """)
    SELECT batch.*, known.* FROM batch, known
 ) AS x
 ORDER BY x.occurred_at, x.id
"""


def _batches_read(intents: Iterable[ShopperIntent], *, states: dict[int, ShopperState], batch_size: int,
                  now: datetime) -> dict[int, tuple[list[tuple], tuple]]:
    """Each shopper's unscored events (oldest first, at most batch_size) and CONTEXT_SQL's columns, by visitor."""
    intents = list(intents)
    if not intents:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(BATCH_SQL, {
            "visitors": [i.visitor_id for i in intents], "rooftops": [i.rooftop_id for i in intents],
            "customers": [i.visitor.customer_id for i in intents],
            # VINs are letters and digits: joined by spaces, a flat array of one text per shopper.
            "vins": [" ".join(sorted(_first_seen(states[i.visitor_id], {}))) for i in intents],
            "limit": batch_size, "since": now - PRICE_DROP_LOOKBACK,
        })
        fetched = cursor.fetchall()
    batches: dict[int, tuple[list[tuple], tuple]] = {}
    for row in fetched:
        rows, _ = batches.setdefault(row[0], ([], row[8:]))
        # Django's PostgreSQL backend hands jsonb over as text (its JSONField decodes it): decode it as values_list did.
        rows.append((*row[1:7], json.loads(row[7]) if isinstance(row[7], str) else row[7]))
    return batches


def _best_equity_cents(owned: list) -> int | None:
    """max(trade value - payoff) over the customer's vehicles, as the SQL did before payoffs were encrypted;
    a payoff no key opens counts as unknown."""
    best: int | None = None
    for trade, token in owned or ():
        try:
            payoff = int(crypto.decrypt(token))
        except (crypto.InvalidToken, ValueError):
            continue
        best = trade - payoff if best is None else max(best, trade - payoff)
    return best


def _intents_for_update(visitor_ids: Sequence[int]) -> dict[int, ShopperIntent]:
    """The shoppers' intents, locked by one statement (in visitor order, as any two chunks would), with the
    rooftop's scoring settings riding along: one round trip for the lock, the shoppers and the rules.

    Ordered and filtered by visitor, never `.first()`: its ORDER BY id let the planner walk the primary key
    filtering on visitor_id (a scan growing with the number of shoppers, the largest cost of a batch in issue
    16's profile). Shoppers seen for the first time get their intents from one more statement that reads the
    visitors and inserts; two workers may meet a new shopper at once: one insert wins, both then wait on the
    same row lock.
    """
    locked = ShopperIntent.unscoped.select_for_update(of=("self",)).select_related(
        "visitor", "rooftop", "rooftop__scoring_settings").order_by("visitor_id")
    intents = {intent.visitor_id: intent for intent in locked.filter(visitor_id__in=list(visitor_ids))}
    missing = [v for v in visitor_ids if v not in intents]
    if missing:
        with connection.cursor() as cursor:
            cursor.execute(NEW_INTENTS_SQL, [missing])
        intents.update({intent.visitor_id: intent for intent in locked.filter(visitor_id__in=missing)})
    return intents


NEW_INTENTS_SQL = """
INSERT INTO alerts_shopperintent (rooftop_id, visitor_id, customer_id, state, score, trend, level, reasons,
                                  viewed_vins, event_count, updated_at)
SELECT rooftop_id, id, customer_id, '{}', 0, 'steady', 'cold', '[]', '{}', 0, now()
FROM tracking_visitor WHERE id = ANY(%s) ORDER BY id
ON CONFLICT (visitor_id) DO NOTHING
"""


def _config_of(intent: ShopperIntent) -> ScoringConfig:
    try:
        row = intent.rooftop.scoring_settings
    except ScoringSettings.DoesNotExist:
        row = None
    return scoring_config_from_row(row)


def _load_state(intent: ShopperIntent) -> ShopperState:
    try:
        return ShopperState.from_dict(intent.state)
    except ValueError:
        # A state this version cannot read must not block the shopper's scoring forever.
        logger.warning("shopper intent %s had an unreadable state; starting it afresh", intent.pk)
        return ShopperState.empty()


def _idle_check_at(state: ShopperState, rules: ScoringRules) -> datetime | None:
    due = [
        form.last_activity_at + timedelta(minutes=rules.form_abandon_minutes, seconds=1)
        for form in state.forms.values()
        if form.pending and form.alerted_for != form.last_activity_at
    ]
    return min(due) if due else None


# Scoring and the writers that re-point a shopper's events (tracking.services.visitors_link_customer, the customer
# merge's visitors_move_to_customer) lock the same event rows. Those writers run inside larger transactions that
# cannot be retried alone (the collector's group commit, the assistant's handoff, a price-drop sign-up) and may
# touch several shoppers in any order, while a drainer's chunk marks shopper after shopper in one transaction:
# if scoring waited for such a row while holding an earlier shopper's rows, the two would wait on each other and
# PostgreSQL would kill one. So scoring never waits: the batch's rows are locked with SKIP LOCKED and the state is
# saved, and the rows marked, only when every row of the batch was locked (`whole`); otherwise nothing is written,
# the shopper comes back `busy`, and the writer's commit hints them for scoring again (both writers queue scoring
# after commit; the sweep of unscored events covers a writer that rolled back). The writer may wait for scoring,
# which waits for nobody, so no cycle can form, whatever order the writer goes in.
# Weighed and not taken: the writers locking the shopper's intent as scoring does. In one group commit several
# links take intents in message order, not visitor order, so scoring would then also have to skip locked intents,
# and a new shopper's intent (INSERT ... ON CONFLICT) still waits on a linker's uncommitted insert of it: a cycle
# again. Locking the rows costs scoring one tuple lock per event, inside the statement it already runs; the
# linker, the collector and a known shopper's round trips are unchanged.
_BATCH_LOCKED = """
WITH batch AS (
    SELECT id, received_at FROM tracking_event
     WHERE visitor_id = %(visitor)s AND scored_at IS NULL
       AND (id, received_at) IN (SELECT * FROM unnest(%(ids)s::bigint[], %(received)s::timestamptz[]))
       FOR NO KEY UPDATE SKIP LOCKED
), whole AS (
    SELECT count(*) = cardinality(%(ids)s::bigint[]) AS whole FROM batch
), scored AS (
    UPDATE tracking_event e SET scored_at = %(now)s FROM batch, whole
     WHERE whole.whole AND e.id = batch.id AND e.received_at = batch.received_at
)"""

INTENT_SAVE_SQL = _BATCH_LOCKED + """
UPDATE alerts_shopperintent SET state = %(state)s, score = %(score)s, trend = %(trend)s, level = %(level)s,
       reasons = %(reasons)s, viewed_vins = %(viewed_vins)s, idle_check_at = %(idle_check_at)s,
       event_count = %(event_count)s, last_event_at = %(last_event_at)s, customer_id = %(customer)s,
       updated_at = %(now)s
  FROM whole
 WHERE id = %(intent)s AND whole.whole
"""

MARK_SCORED_SQL = _BATCH_LOCKED + """
SELECT whole FROM whole
"""


def _intent_save(intent: ShopperIntent, update: ScoreUpdate, *, customer_id: int | None, config: ScoringConfig,
                 now: datetime, scored: Sequence[tuple] = ()) -> bool:
    """Write the folded state; the `scored` event rows are marked in the same statement (one round trip).

    False, and nothing written, when another transaction holds one of those rows (INTENT_SAVE_SQL says why).
    """
    state = update.state
    local_now = now.astimezone(ZoneInfo(intent.rooftop.time_zone))
    fields = {
        "state": state.to_dict(), "score": update.score, "trend": update.trend, "level": update.level,
        "reasons": describe_reasons(state, now=local_now),
        "viewed_vins": sorted({t.vin.upper() for t in state.vehicles.values() if t.vin}),
        "idle_check_at": _idle_check_at(state, config.rules), "event_count": state.event_count,
        "last_event_at": state.last_event_at, "customer_id": customer_id, "updated_at": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(INTENT_SAVE_SQL, {
            **fields, "state": Jsonb(fields["state"]), "reasons": Jsonb(fields["reasons"]), "customer": customer_id,
            "now": now, "visitor": intent.visitor_id, "ids": [r[0] for r in scored],
            "received": [r[1] for r in scored], "intent": intent.pk,
        })
        if cursor.rowcount != 1:
            return False
    for name, value in fields.items():
        setattr(intent, name, value)
    return True


def _mark_scored(*, visitor_id: int, rows: Sequence[tuple], now: datetime) -> bool:
    """Mark a batch that changed nothing in the state; False when another transaction holds one of its rows."""
    with connection.cursor() as cursor:
        cursor.execute(MARK_SCORED_SQL, {"now": now, "visitor": visitor_id, "ids": [r[0] for r in rows],
                                         "received": [r[1] for r in rows]})
        return bool(cursor.fetchone()[0])


def _raises(intent: ShopperIntent, fired: list[Signal] | None, config: ScoringConfig | None) -> bool:
    """Whether these fired signals put alerts on the feed: a known customer, or a store alerting on anonymous ones."""
    return bool(fired) and (intent.visitor.customer_id is not None or config.alert_anonymous_shoppers)


def _raise_all(intent: ShopperIntent, fired: list[Signal], *, config: ScoringConfig, score: float,
               now: datetime) -> tuple[int, ...]:
    if not _raises(intent, fired, config):
        return ()
    customer_id = intent.visitor.customer_id
    ids = []
    for signal in fired:
        alert = alert_raise(
            rooftop=intent.rooftop, signal=signal, customer_id=customer_id, visitor_id=intent.visitor_id,
            score=score, config=config, now=now,
        )
        ids.append(alert.id)
    return tuple(ids)


# --- raising alerts ---------------------------------------------------------------------------------

def alert_raise(*, rooftop: Rooftop, signal: Signal, customer_id: int | None, visitor_id: int | None, score: float,
                config: ScoringConfig, now: datetime) -> Alert:
    """Put a fired signal on the feed: one open alert per shopper per rooftop (alerts.folding decides where).

    Returns the row written: a new root alert, or the follow-up kept for the history under the shopper's alert.
    """
    # No savepoint: the caller's transaction (if any) is the unit; a failure here fails the whole scoring batch.
    with transaction.atomic(savepoint=False):
        # One lock for every alert insert: ids commit in order (the feed's replay relies on it), and two workers
        # scoring the same shopper (or two browsers of one customer) decide one after the other. Taken by the
        # statement reading the alert's facts (one round trip less on every alert): those are no alert rows, so
        # that statement's snapshot from before the lock is enough; what follows reads after it.
        facts = _alert_facts_locked(rooftop_id=rooftop.id, customer_id=customer_id, signal=signal)
        shopper = _shopper_q(customer_id=customer_id, visitor_id=visitor_id)
        open_root = _open_root_for_update(rooftop=rooftop, shopper=shopper, now=now)
        cooldown = timedelta(minutes=float(config.rules.cooldown_minutes.get(signal.kind, 0)))
        last = (
            Alert.unscoped.filter(shopper, rooftop=rooftop, kind=signal.kind, created_at__gt=now - cooldown)
            .order_by("-id").values_list("id", "parent_id", "created_at").first()
            if open_root is None and cooldown else None
        )
        decision = place_signal(
            rank=signal.rank, score=score, now=now, cooldown=cooldown,
            open_alert=OpenAlert(id=open_root.id, priority=open_root.priority, score=open_root.score,
                                 snoozed=bool(open_root.snoozed_until and open_root.snoozed_until > now))
            if open_root is not None else None,
            last_of_kind=LastOfKind(root_id=last[1] or last[0], at=last[2]) if last else None,
        )
        if decision.placement == NEW:
            team = audience.choose_team(kind=signal.kind, form_type=signal.form_type, rooftop_has_bdc=facts.has_bdc)
            alert = Alert.unscoped.create(
                rooftop=rooftop, customer_id=customer_id, visitor_id=visitor_id, lead_id=facts.lead_id,
                kind=signal.kind, priority=signal.rank, reasons=[signal.reason], vehicle_id=facts.vehicle_id,
                suggested_next_step=signal.suggested_next_step[:300], score=score,
                for_user_id=facts.salesperson_id, for_team=team, created_at=now,
                last_signal_at=now, expires_at=now + timedelta(hours=config.alert_expiry_hours),
            )
            root = alert
            _alert_webhook(alert, now=now)
        else:
            root = open_root if decision.placement == FOLD else Alert.unscoped.select_for_update().get(pk=decision.root_id)
            alert = _follow_up_create(root, signal, decision=decision, customer_id=customer_id, facts=facts, now=now,
                                      lifetime=timedelta(hours=config.alert_expiry_hours))
        groups = audience.groups_for_alert(rooftop_id=rooftop.id, team=root.for_team, for_user_id=root.for_user_id)
        alert_id = alert.id
        transaction.on_commit(lambda: alert_push(alert_id=alert_id, groups=groups, message_type="alert.hint"))
    return alert


def alert_notify(*, rooftop: Rooftop, kind: str, reasons: list[str], suggested_next_step: str, now: datetime,
                 customer_id: int | None = None, lead_id: int | None = None, for_user_id: int | None = None,
                 for_team: str = Alert.Team.SALES, priority: int = Alert.Priority.HIGH,
                 expires_at: datetime | None = None) -> Alert:
    """An alert that is not a shopper's scored signal (a customer in the service lane): a new root on the feed,
    written under the same insert lock as `alert_raise` (the replay's id order), told to the store's webhooks and
    pushed to its person and team after commit."""
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ALERT_SEQUENCE_LOCK])
        alert = Alert.unscoped.create(
            rooftop=rooftop, customer_id=customer_id, lead_id=lead_id, kind=kind, priority=priority,
            reasons=reasons[:MAX_ROOT_REASONS], suggested_next_step=suggested_next_step[:300],
            for_user_id=for_user_id, for_team=for_team, created_at=now, last_signal_at=now, expires_at=expires_at,
        )
        _alert_webhook(alert, now=now)
        groups = audience.groups_for_alert(rooftop_id=rooftop.id, team=for_team, for_user_id=for_user_id)
        alert_id = alert.id
        transaction.on_commit(lambda: alert_push(alert_id=alert_id, groups=groups, message_type="alert.hint"))
    return alert


def _alert_webhook(alert: Alert, *, now: datetime) -> None:
    """`alert.raised` for the store's webhook endpoints: a new alert only (a folded signal is the same alert)."""
    from django.urls import reverse

    from rooftops.webhooks import site_link, webhooks_emit

    def data() -> dict:
        customer = alert.customer if alert.customer_id else None
        return {"alert": {
            "id": alert.pk, "kind": alert.kind, "priority": Alert.Priority(alert.priority).label.lower(),
            "score": round(alert.score, 2), "reasons": list(alert.reasons), "team": alert.for_team,
            "customer": {"id": customer.pk, "name": customer.full_name} if customer is not None else None,
            "lead_id": alert.lead_id, "vehicle_id": alert.vehicle_id, "created_at": alert.created_at.isoformat(),
            "url": site_link(reverse("alert-feed")),
        }}

    webhooks_emit(alert.rooftop_id, "alert.raised", data, object_key=f"alert:{alert.pk}", now=now)


def _shopper_q(*, customer_id: int | None, visitor_id: int | None) -> Q:
    """The shopper's alerts: the customer's, and their browser's from before it was identified."""
    anonymous = Q(visitor_id=visitor_id, customer__isnull=True) if visitor_id else Q(pk__in=[])
    return Q(customer_id=customer_id) | anonymous if customer_id else anonymous


def _open_root_for_update(*, rooftop: Rooftop, shopper: Q, now: datetime) -> Alert | None:
    """The shopper's open alert, locked; one past its expiry that the sweep has not reached yet is expired here."""
    candidates = list(
        Alert.unscoped.select_for_update().filter(shopper, rooftop=rooftop, parent__isnull=True, state__in=OPEN_STATES)
        .order_by("-last_signal_at", "-id")
    )
    for alert in candidates:
        if alert.state != Alert.State.CLAIMED and alert.expires_at is not None and alert.expires_at <= now:
            _expire(alert, now=now)
            continue
        return alert  # after a customer merge there may be two; the newest takes the signal
    return None


def _follow_up_create(root: Alert, signal: Signal, *, decision: FoldDecision, customer_id: int | None,
                      facts: _AlertFacts, now: datetime, lifetime: timedelta) -> Alert:
    """Keep the signal as a history row under `root`; fold it into `root` in place when the root is open."""
    follow_up = Alert.unscoped.create(
        parent=root, rooftop_id=root.rooftop_id, customer_id=customer_id or root.customer_id,
        visitor_id=root.visitor_id, lead_id=root.lead_id or facts.lead_id, kind=signal.kind, priority=signal.rank,
        reasons=[signal.reason], vehicle_id=facts.vehicle_id, suggested_next_step=signal.suggested_next_step[:300],
        score=decision.score if decision.score is not None else root.score, for_user_id=root.for_user_id,
        for_team=root.for_team, state=root.state, created_at=now, last_signal_at=now, expires_at=root.expires_at,
        priority_rose=decision.priority_rose,
    )
    root.follow_up_count = F("follow_up_count") + 1
    fields = ["follow_up_count", "updated_at"]
    if decision.placement == FOLD:
        root.reasons = ([signal.reason] + [r for r in root.reasons if r != signal.reason])[:MAX_ROOT_REASONS]
        root.last_signal_at = now
        root.score = decision.score
        root.priority = decision.priority
        fields += ["reasons", "last_signal_at", "score", "priority"]
        if decision.priority_rose:
            # The strongest signal says what to do next.
            root.suggested_next_step = signal.suggested_next_step[:300]
            fields.append("suggested_next_step")
        if decision.wake:
            root.snoozed_until = None
            fields.append("snoozed_until")
        if root.customer_id is None and customer_id:
            # The browser was identified in the middle of a burst: the alert now names the customer.
            root.customer_id = customer_id
            fields.append("customer")
        if root.lead_id is None and facts.lead_id:
            root.lead_id = facts.lead_id
            fields.append("lead")
        if root.vehicle_id is None and facts.vehicle_id:
            root.vehicle_id = facts.vehicle_id
            fields.append("vehicle")
        if root.expires_at is not None and root.expires_at < now + lifetime:
            # Fresh activity keeps the alert on the feed for its full lifetime again.
            root.expires_at = now + lifetime
            fields.append("expires_at")
    root.save(update_fields=fields)
    root.refresh_from_db(fields=["follow_up_count"])
    return follow_up


@dataclass(frozen=True)
class _AlertFacts:
    vehicle_id: int | None
    lead_id: int | None
    salesperson_id: int | None
    has_bdc: bool


ALERT_FACTS_SQL = """
SELECT
    pg_advisory_xact_lock(%(lock)s),
    (SELECT id FROM leads_inventoryvehicle
      WHERE rooftop_id = %(rooftop)s AND (vin = %(vin)s OR stock_number = %(stock)s)
      ORDER BY (vin = %(vin)s) DESC LIMIT 1),
    lead.id, lead.assigned_to_id,
    EXISTS (SELECT 1 FROM rooftops_staffrole sr JOIN auth_user u ON u.id = sr.user_id
             WHERE sr.rooftop_id = %(rooftop)s AND sr.role = %(bdc)s AND u.is_active)
FROM (SELECT 1) AS one
LEFT JOIN LATERAL (
    SELECT id, assigned_to_id FROM leads_lead
     WHERE customer_id = %(customer)s AND rooftop_id = %(rooftop)s AND status = ANY(%(open)s)
       AND assigned_to_id IS NOT NULL
     ORDER BY created_at DESC LIMIT 1
) AS lead ON true
"""


def _alert_facts_locked(*, rooftop_id: int, customer_id: int | None, signal: Signal) -> _AlertFacts:
    """The alert insert lock (ALERT_SEQUENCE_LOCK), taken by the statement that reads the vehicle the signal names,
    the customer's open lead and its salesperson, and whether a BDC exists."""
    with connection.cursor() as cursor:
        cursor.execute(ALERT_FACTS_SQL, {
            "rooftop": rooftop_id, "customer": customer_id, "vin": (signal.vehicle_vin or "").upper(),
            "stock": signal.vehicle_stock or "", "bdc": Role.BDC_AGENT, "open": list(Lead.OPEN_STATUSES),
            "lock": ALERT_SEQUENCE_LOCK,
        })
        _, vehicle_id, lead_id, salesperson_id, has_bdc = cursor.fetchone()
    return _AlertFacts(vehicle_id=vehicle_id, lead_id=lead_id, salesperson_id=salesperson_id, has_bdc=bool(has_bdc))


# --- pushing (after commit only) ----------------------------------------------------------------------

def alert_push(*, alert_id: int, groups: Sequence[str], message_type: str = "alert.hint") -> bool:
    """Hand a hint to the channel layer. Failure is logged, not raised: the replay and the sweep recover it."""
    try:
        group_send_many(list(groups), {"type": message_type, "id": alert_id})
    except Exception:  # noqa: BLE001 - Redis down: the browser's replay by id still delivers the row
        logger.warning("could not push alert %s; the sweep will push it again", alert_id, exc_info=True)
        return False
    if message_type == "alert.hint":
        Alert.unscoped.filter(pk=alert_id).update(last_pushed_at=timezone.now())
    return True


def _push_changed(alert: Alert) -> None:
    root_id = alert.parent_id or alert.id
    groups = audience.groups_for_alert(rooftop_id=alert.rooftop_id, team=alert.for_team, for_user_id=alert.for_user_id)
    transaction.on_commit(lambda: alert_push(alert_id=root_id, groups=groups, message_type="alert.changed"))


# --- staff actions ------------------------------------------------------------------------------------

OPEN_STATES = (Alert.State.NEW, Alert.State.SEEN, Alert.State.CLAIMED)


def _locked(alert: Alert) -> Alert:
    return (
        Alert.unscoped.select_for_update(of=("self",))
        .select_related("rooftop", "customer", "claimed_by__staff_profile").get(pk=alert.pk)
    )


def _display_name(user: User | None) -> str:
    if user is None:
        return "someone"
    profile = getattr(user, "staff_profile", None)
    return profile.display_name if profile else user.get_username()


def _log(alert: Alert, user: User | None, action: str, note: str = "", now: datetime | None = None) -> None:
    AlertAction.objects.create(alert=alert, actor=user, action=action, note=note[:500], at=now or timezone.now())


def alert_claim(*, alert: Alert, user: User, is_manager: bool = False, now: datetime | None = None) -> Alert:
    """Take the alert so colleagues see it is being worked; a manager may take it over."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _locked(alert)
        if alert.parent_id:
            raise AlertActionError("Claim the alert this follow-up belongs to.")
        if alert.state in (Alert.State.DISMISSED, Alert.State.EXPIRED):
            raise AlertConflict(f"This alert is already {alert.get_state_display().lower()}.")
        if alert.claimed_by_id == user.pk:
            return alert
        if alert.claimed_by_id and not is_manager:
            raise AlertConflict(f"{_display_name(alert.claimed_by)} already claimed this alert.")
        alert.claimed_by = user
        alert.claimed_at = now
        if alert.state in (Alert.State.NEW, Alert.State.SEEN):
            alert.state = Alert.State.CLAIMED
        alert.save(update_fields=["claimed_by", "claimed_at", "state", "updated_at"])
        _log(alert, user, AlertAction.Action.CLAIM, now=now)
        _push_changed(alert)
    return alert


def alert_act(*, alert: Alert, user: User, channel: str, note: str = "", department: str = TimelineEntry.Department.BDC,
              now: datetime | None = None) -> Alert:
    """A call, text or email to the shopper: logged on the customer's timeline and the alert marked acted on."""
    now = now or timezone.now()
    if channel not in ACT_CHANNELS:
        raise AlertActionError(f"channel must be one of {', '.join(ACT_CHANNELS)}.")
    note = (note or "").strip()
    if len(note) > 2000:
        raise AlertActionError("The note is longer than 2,000 characters.")
    with transaction.atomic():
        alert = _locked(alert)
        if alert.parent_id:
            raise AlertActionError("Act on the alert this follow-up belongs to.")
        if alert.customer_id is None:
            raise AlertActionError("This shopper is anonymous: there is no one to call, text or email yet.")
        if alert.state == Alert.State.DISMISSED:
            raise AlertConflict("This alert was dismissed.")
        verb = {"call": "Call", "text": "Text", "email": "Email"}[channel]
        TimelineEntry.objects.create(
            customer_id=alert.customer_id, rooftop_id=alert.rooftop_id, department=department,
            kind=ACT_CHANNELS[channel], direction="out", occurred_at=now, actor=user, lead_id=alert.lead_id,
            summary=f"{verb} by {_display_name(user)} after an alert: {alert.reasons[0] if alert.reasons else alert.kind}"[:500],
            body=note, detail={"alert_id": alert.id, "alert_kind": alert.kind},
        )
        if alert.lead_id:
            # Speed to lead counts the first human attempt; an alert-driven call is one.
            Lead.unscoped.filter(pk=alert.lead_id, first_attempt_at__isnull=True).update(first_attempt_at=now)
        alert.state = Alert.State.ACTED
        alert.acted_at = now
        if alert.claimed_by_id is None:
            alert.claimed_by, alert.claimed_at = user, now
        alert.snoozed_until = None
        alert.save(update_fields=["state", "acted_at", "claimed_by", "claimed_at", "snoozed_until", "updated_at"])
        _log(alert, user, channel, note, now=now)
        _push_changed(alert)
    return alert


def alert_snooze(*, alert: Alert, user: User, until: datetime, now: datetime | None = None) -> Alert:
    """Hide the alert from the feed until `until`; it comes back by itself."""
    now = now or timezone.now()
    if until is None or timezone.is_naive(until):
        raise AlertActionError("Say until when, with a time zone.")
    if until <= now:
        raise AlertActionError("Snooze until a time in the future.")
    if until - now > MAX_SNOOZE:
        raise AlertActionError("An alert can be snoozed for at most 7 days.")
    with transaction.atomic():
        alert = _locked(alert)
        if alert.parent_id:
            raise AlertActionError("Snooze the alert this follow-up belongs to.")
        if alert.state not in OPEN_STATES:
            raise AlertConflict(f"This alert is already {alert.get_state_display().lower()}.")
        alert.snoozed_until = until
        alert.save(update_fields=["snoozed_until", "updated_at"])
        _log(alert, user, AlertAction.Action.SNOOZE, f"until {until.isoformat()}", now=now)
        _push_changed(alert)
    return alert


def alert_dismiss(*, alert: Alert, user: User, reason: str, note: str = "", now: datetime | None = None) -> Alert:
    """Close the alert with a reason (kept for the rules' tuning); 'other' needs a few words."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    note = (note or "").strip()
    if reason not in DISMISS_REASONS:
        raise AlertActionError("Choose why you dismiss this alert: " + ", ".join(DISMISS_REASONS) + ".")
    if reason == "other" and not note:
        raise AlertActionError("Say in a few words why you dismiss this alert.")
    if len(note) > 150:
        raise AlertActionError("Keep the reason under 150 characters.")
    with transaction.atomic():
        alert = _locked(alert)
        if alert.parent_id:
            raise AlertActionError("Dismiss the alert this follow-up belongs to.")
        if alert.state not in OPEN_STATES:
            raise AlertConflict(f"This alert is already {alert.get_state_display().lower()}.")
        alert.state = Alert.State.DISMISSED
        label = DISMISS_REASONS[reason]
        alert.dismissed_reason = (note if reason == "other" else f"{label}: {note}" if note else label)[:200]
        alert.snoozed_until = None
        alert.save(update_fields=["state", "dismissed_reason", "snoozed_until", "updated_at"])
        _log(alert, user, AlertAction.Action.DISMISS, alert.dismissed_reason, now=now)
        _push_changed(alert)
    return alert


def alert_undismiss(*, alert: Alert, user: User, now: datetime | None = None) -> Alert:
    """Undo a dismissal: the alert is open again (claimed if someone had claimed it)."""
    now = now or timezone.now()
    with transaction.atomic():
        alert = _locked(alert)
        if alert.state != Alert.State.DISMISSED:
            raise AlertConflict("Only a dismissed alert can be restored.")
        alert.state = Alert.State.CLAIMED if alert.claimed_by_id else Alert.State.SEEN
        alert.dismissed_reason = ""
        alert.save(update_fields=["state", "dismissed_reason", "updated_at"])
        _log(alert, user, AlertAction.Action.SEEN, "restored after dismissal", now=now)
        _push_changed(alert)
    return alert


def alerts_mark_seen(*, alert_ids: Iterable[int], user: User, visible_ids: set[int]) -> int:
    """New → seen for alerts the staff member had on screen (only those they may see)."""
    ids = sorted({int(i) for i in alert_ids} & visible_ids)[:200]
    if not ids:
        return 0
    with transaction.atomic():
        changed = list(
            Alert.unscoped.filter(id__in=ids, state=Alert.State.NEW, parent__isnull=True).select_for_update()
        )
        for alert in changed:
            alert.state = Alert.State.SEEN
            alert.save(update_fields=["state", "updated_at"])
            _log(alert, user, AlertAction.Action.SEEN)
            _push_changed(alert)
    return len(changed)


# --- sweeps (Celery beat) -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepReport:
    visitors_scored: int = 0
    idle_checked: int = 0
    price_drop_checked: int = 0
    expired: int = 0
    woken: int = 0
    repushed: int = 0


def sweep_unscored(*, now: datetime | None = None, older_than: timedelta = timedelta(seconds=5),
                   max_visitors: int = 200) -> int:
    """Score visitors whose events were stored but never handed to a worker (e.g. Redis was down at ingest)."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT visitor_id FROM (
                SELECT visitor_id, received_at FROM tracking_event
                WHERE scored_at IS NULL AND received_at < %s ORDER BY received_at LIMIT %s
            ) AS waiting GROUP BY visitor_id ORDER BY min(received_at) LIMIT %s
            """,
            [now - older_than, max_visitors * 20, max_visitors],
        )
        visitor_ids = [row[0] for row in cursor.fetchall()]
    for visitor_id in visitor_ids:
        visitor_score_events(visitor_id=visitor_id, now=now)
    return len(visitor_ids)


def sweep_idle(*, now: datetime | None = None, max_shoppers: int = 500) -> int:
    """Check shoppers whose unfinished form has been idle long enough to count as abandoned."""
    now = now or timezone.now()
    ids = list(
        ShopperIntent.objects.across_rooftops().filter(idle_check_at__lte=now)
        .order_by("idle_check_at").values_list("id", flat=True)[:max_shoppers]
    )
    for intent_id in ids:
        intent_check_idle(intent_id=intent_id, now=now)
    return len(ids)


def sweep_price_drops(*, now: datetime | None = None, lookback: timedelta = timedelta(minutes=5),
                      max_shoppers: int = 500) -> int:
    """Shoppers who viewed a vehicle whose price just went down hear about it (each drop once per shopper)."""
    now = now or timezone.now()
    drops = (
        PriceChange.objects.filter(changed_at__gte=now - lookback, changed_at__lte=now,
                                   new_price_cents__lt=F("old_price_cents"))
        .values_list("vehicle__rooftop_id", "vehicle__vin", "new_price_cents")
    )
    checked = 0
    for rooftop_id, vin, new_price in drops:
        vin = vin.upper()
        candidates = (
            ShopperIntent.objects.for_rooftops([rooftop_id]).filter(viewed_vins__contains=[vin])
            # Already told about this price: the state remembers it, so skip without locking the row.
            .exclude(state__contains={"vehicles": [{"vin": vin, "price_alerted_cents": new_price}]})
            .values_list("id", flat=True)[: max_shoppers - checked]
        )
        for intent_id in list(candidates):
            intent_check_idle(intent_id=intent_id, now=now, only_vins=[vin])
            checked += 1
        if checked >= max_shoppers:
            break
    return checked


def alerts_expire(*, now: datetime | None = None) -> int:
    """Unclaimed alerts past their expiry leave the feed (they stay in the history)."""
    now = now or timezone.now()
    with transaction.atomic():
        stale = list(
            Alert.objects.across_rooftops().select_for_update(skip_locked=True)
            .filter(state__in=[Alert.State.NEW, Alert.State.SEEN], expires_at__lt=now, parent__isnull=True)[:500]
        )
        for alert in stale:
            _expire(alert, now=now)
    return len(stale)


def _expire(alert: Alert, *, now: datetime) -> None:
    alert.state = Alert.State.EXPIRED
    alert.save(update_fields=["state", "updated_at"])
    _log(alert, None, AlertAction.Action.EXPIRE, now=now)
    _push_changed(alert)


def snoozes_wake(*, now: datetime | None = None) -> int:
    """Snoozed alerts whose time has come reappear in open feeds."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            Alert.objects.across_rooftops().select_for_update(skip_locked=True)
            .filter(snoozed_until__lte=now)[:500]
        )
        for alert in due:
            alert.snoozed_until = None
            alert.save(update_fields=["snoozed_until", "updated_at"])
            _push_changed(alert)
    return len(due)


def alerts_repush(*, now: datetime | None = None, older_than: timedelta = timedelta(seconds=15)) -> int:
    """Push again what was committed while the channel layer was unreachable (a hint; replay is the guarantee)."""
    now = now or timezone.now()
    pending = list(
        Alert.objects.across_rooftops()
        .filter(last_pushed_at__isnull=True, created_at__lt=now - older_than, created_at__gt=now - timedelta(hours=1))
        .order_by("id")[:200]
    )
    for alert in pending:
        root = alert.parent if alert.parent_id else alert
        alert_push(alert_id=alert.id, groups=audience.groups_for_alert(
            rooftop_id=root.rooftop_id, team=root.for_team, for_user_id=root.for_user_id))
    return len(pending)


def alerts_sweep(*, now: datetime | None = None) -> SweepReport:
    """The beat job: everything that needs time to pass or a second chance."""
    now = now or timezone.now()
    return SweepReport(
        visitors_scored=sweep_unscored(now=now),
        idle_checked=sweep_idle(now=now),
        price_drop_checked=sweep_price_drops(now=now),
        expired=alerts_expire(now=now),
        woken=snoozes_wake(now=now),
        repushed=alerts_repush(now=now),
    )


# --- scoring settings -----------------------------------------------------------------------------------

def scoring_settings_save(*, rooftop: Rooftop, rules: ScoringRules, user: User | None,
                          alert_anonymous_shoppers: bool, alert_expiry_hours: int,
                          weights_source: str = "hand-set") -> ScoringSettings:
    """Store the rooftop's tuning; the next scored event uses it. The previous rules are kept for undo."""
    if not 1 <= alert_expiry_hours <= 24 * 14:
        raise ValueError("Alerts must expire after between 1 hour and 14 days.")
    with transaction.atomic():
        row, _ = ScoringSettings.unscoped.select_for_update().get_or_create(rooftop=rooftop)
        row.previous_rules = {
            "rules": row.rules, "alert_anonymous_shoppers": row.alert_anonymous_shoppers,
            "alert_expiry_hours": row.alert_expiry_hours, "weights_source": row.weights_source,
        }
        row.rules = rules.to_dict()
        row.alert_anonymous_shoppers = alert_anonymous_shoppers
        row.alert_expiry_hours = alert_expiry_hours
        row.weights_source = weights_source
        row.updated_by = user
        row.updated_at = timezone.now()
        row.save()
    return row


def scoring_settings_reset(*, rooftop: Rooftop, user: User | None) -> ScoringSettings:
    return scoring_settings_save(rooftop=rooftop, rules=ScoringRules(), user=user, alert_anonymous_shoppers=False,
                                 alert_expiry_hours=24)


def scoring_settings_undo(*, rooftop: Rooftop, user: User | None) -> ScoringSettings | None:
    """Put back the rules as they were before the last save or reset."""
    with transaction.atomic():
        row = ScoringSettings.unscoped.select_for_update().filter(rooftop=rooftop).first()
        if row is None or not row.previous_rules:
            return None
        previous = row.previous_rules
        row.previous_rules = {
            "rules": row.rules, "alert_anonymous_shoppers": row.alert_anonymous_shoppers,
            "alert_expiry_hours": row.alert_expiry_hours, "weights_source": row.weights_source,
        }
        row.weights_source = previous.get("weights_source", "hand-set")
        row.rules = previous.get("rules") or {}
        row.alert_anonymous_shoppers = bool(previous.get("alert_anonymous_shoppers", False))
        row.alert_expiry_hours = int(previous.get("alert_expiry_hours", 24))
        row.updated_by = user
        row.updated_at = timezone.now()
        row.save()
    return row


# --- fitting the weights to a store's sales (a Celery worker does the reading and the fitting) ---------

def scoring_fit_start(*, rooftop: Rooftop, user: User | None, now: datetime | None = None) -> RunStart:
    """Queue a fit of the store's event weights, or hand back the one already running there."""
    from alerts.tasks import scoring_fit

    with transaction.atomic():
        start = run_start(ScoringFit, rooftop=rooftop, now=now, created_by=user)
        if start.started:
            fit_id = start.run.id
            transaction.on_commit(lambda: scoring_fit.delay(fit_id))
    return start


def scoring_fit_execute(*, fit_id: int, chunk_size: int = OUTCOME_CHUNK) -> ScoringFit | None:
    """The worker's half of a fit: read every shopper chunk by chunk (reporting progress), fit, keep the result.

    The result also becomes the store's `ScoringSettings.fit_result`, which the page shows and "Use the fitted
    weights" adopts. A failure is recorded on the run for the page to show; it never changes the settings.
    """
    with run_claimed(ScoringFit, fit_id) as claimed:
        # Not claimed: a second delivery of a run another worker is still on.
        return _scoring_fit_execute(fit_id=fit_id, chunk_size=chunk_size) if claimed else None


def _scoring_fit_execute(*, fit_id: int, chunk_size: int) -> ScoringFit | None:
    fit = ScoringFit.unscoped.select_related("rooftop").filter(id=fit_id).first()
    if fit is None or not fit.active:
        return fit  # finished, failed or abandoned meanwhile: nothing to do
    rooftop = fit.rooftop
    now = timezone.now()
    # Only this run's own updates: a run abandoned as stale meanwhile must not overwrite the one that replaced it.
    mine = ScoringFit.unscoped.filter(id=fit_id, status__in=ScoringFit.ACTIVE)
    try:
        total = outcome_shopper_count(rooftop_id=rooftop.id, now=now)
        mine.update(status=ScoringFit.Status.RUNNING, started_at=now, heartbeat_at=now, done=0, total=total)
        rows: list = []
        done = 0
        for read, chunk_rows in outcome_row_chunks(rooftop_id=rooftop.id, now=now, chunk_size=chunk_size):
            rows.extend(chunk_rows)
            done += read
            if not mine.update(done=done, heartbeat_at=timezone.now()):
                return ScoringFit.unscoped.get(id=fit_id)
        config = scoring_config_from_row(ScoringSettings.unscoped.filter(rooftop=rooftop).first())
        result = scoring_fit_result(rows, rules=config.rules, now=now)
    except Exception as exc:
        logger.exception("scoring fit %s at rooftop %s failed", fit_id, rooftop.id)
        mine.update(status=ScoringFit.Status.FAILED, finished_at=timezone.now(),
                    error=f"Something went wrong while fitting ({type(exc).__name__}). Nothing was changed: "
                          "try again, and tell your administrator if it keeps happening.")
        return ScoringFit.unscoped.get(id=fit_id)
    with transaction.atomic():
        finished = mine.update(status=ScoringFit.Status.DONE, result=result, done=done, total=max(total, done),
                               finished_at=timezone.now(), heartbeat_at=timezone.now())
        if finished:
            row, _ = ScoringSettings.unscoped.select_for_update().get_or_create(rooftop=rooftop)
            row.fit_result = result
            row.save(update_fields=["fit_result"])
    return ScoringFit.unscoped.get(id=fit_id)


def scoring_fit_result(rows: Sequence, *, rules: ScoringRules, now: datetime) -> dict:
    """The comparison the manager judges, or why there is none yet (too few buyers, too few shoppers)."""
    from alerts.outcomes import NotEnoughOutcomes, fit_event_weights

    try:
        result = {"ok": True, **fit_event_weights(rows, rules=rules).to_dict()}
    except NotEnoughOutcomes as exc:
        result = {"ok": False, "reason": str(exc), "shoppers": len(rows)}
    result["fitted_at"] = now.isoformat()
    return result


def scoring_fit_adopt(*, rooftop: Rooftop, user: User | None) -> ScoringSettings:
    """Score with the fitted event weights from now on (undo puts the previous weights back)."""
    row = ScoringSettings.unscoped.filter(rooftop=rooftop).first()
    fit = row.fit_result if row else None
    if not fit or not fit.get("ok"):
        raise ValueError("There is no successful fit to use: fit the weights first.")
    config = scoring_config_from_row(row)
    rules = replace(config.rules, event_weights=fit["event_weights"])
    return scoring_settings_save(rooftop=rooftop, rules=rules, user=user,
                                 alert_anonymous_shoppers=config.alert_anonymous_shoppers,
                                 alert_expiry_hours=config.alert_expiry_hours, weights_source="fitted")
