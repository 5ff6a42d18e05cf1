"""Writes for the inventory feed: start a run, fetch the vendor's file, apply it to a rooftop's inventory.

`leads.feed` reads the file (pure); this module fetches and writes. Every vehicle change goes through
`leads.inventory` (`vehicle_create`, `vehicle_update`), so a feed's new price is a `PriceChange` exactly as a
manager's edit is, and the price-drop sweep (`alerts.services.sweep_price_drops`, every 10 s, reading price
changes of the last 5 minutes) alerts the shoppers who viewed the car. Each vehicle commits on its own, so a
price change is visible to that sweep within seconds, never held back until a long load ends.

Vehicles are never deleted (leads, alerts and events point at them): one gone from a complete feed becomes
unlisted (or sold, per the store's setting) and comes back if it reappears. A feed listing fewer than half the
vehicles listed here unlists nothing: a vendor's truncated file must not empty a store's lot.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import requests
from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from crm.hosts import HostNotFound, host_addresses, is_public
from leads.feed import (
    PHOTO_URL_FIELD_MAX, FeedRefused, ParsedFeed, RowError, VehicleRecord, decode_feed, parse_feed,
)
from leads.inventory import vehicle_create, vehicle_update
from leads.models import InventoryFeed, InventoryFeedRun, InventoryVehicle
from rooftops.runs import RunStart, run_claimed, run_start
from rooftops.models import Rooftop

logger = logging.getLogger(__name__)

# Fewer rows than this share of the listed vehicles: the feed is taken as truncated and unlists nothing.
MIN_SHARE_TO_UNLIST = 0.5
MAX_KEPT_ROW_ERRORS = 10_000
PROGRESS_EVERY = 50
MAX_REDIRECTS = 5


def feed_settings(*, rooftop: Rooftop) -> InventoryFeed:
    """The store's feed settings (unsaved defaults when it has none yet)."""
    return InventoryFeed.unscoped.filter(rooftop=rooftop).first() or InventoryFeed(rooftop=rooftop)


def feed_settings_save(*, rooftop: Rooftop, url: str, column_map: dict[str, str], gone_status: str,
                       user: User | None) -> InventoryFeed:
    if url:
        _check_url_shape(url)
    if gone_status not in InventoryFeed.GoneStatus.values:
        raise ValueError("Choose what happens to a vehicle gone from the feed: unlisted or sold.")
    feed, _ = InventoryFeed.unscoped.update_or_create(
        rooftop=rooftop, defaults={"url": url, "column_map": column_map, "gone_status": gone_status, "updated_by": user})
    return feed


def feed_today(rooftop: Rooftop, now: datetime) -> date:
    return now.astimezone(ZoneInfo(rooftop.time_zone)).date()


def feed_check(*, rooftop: Rooftop, data: bytes, now: datetime | None = None) -> ParsedFeed:
    """Read a file as the worker will, so an upload that is not a feed is refused at once (FeedRefused)."""
    text = decode_feed(data, max_bytes=settings.INVENTORY_FEED_MAX_BYTES)
    return parse_feed(text, today=feed_today(rooftop, now or timezone.now()),
                      column_map=feed_settings(rooftop=rooftop).column_map)


def feed_run_start(*, rooftop: Rooftop, source: str, user: User | None = None, data: bytes | None = None,
                   url: str = "", source_name: str = "", allow_shrink: bool = False, queue: bool = True,
                   now: datetime | None = None) -> RunStart:
    """Queue a load of the store's feed (an uploaded file, or its URL), or hand back the one already running.

    An upload is read first, so a file that is not CSV text is refused here (FeedRefused) and no run is made.
    """
    from leads.tasks import inventory_feed_run

    now = now or timezone.now()
    if data is not None:
        feed_check(rooftop=rooftop, data=data, now=now)
    else:
        url = url or feed_settings(rooftop=rooftop).url
        if not url:
            raise FeedRefused("This store has no feed URL: set one, or upload a file.")
        _check_url_shape(url)
        source_name = url
    with transaction.atomic():
        start = run_start(InventoryFeedRun, rooftop=rooftop, now=now, source=source, source_name=source_name[:1000],
                          upload=data, allow_shrink=allow_shrink, created_by=user)
        if start.started and queue:
            run_id = start.run.id
            transaction.on_commit(lambda: inventory_feed_run.delay(run_id))
    return start


def feeds_run_scheduled(*, now: datetime | None = None) -> int:
    """Beat: load every store's feed that has a URL (a store whose load is still running is skipped)."""
    now = now or timezone.now()
    started = 0
    for feed in InventoryFeed.objects.across_rooftops().exclude(url="").select_related("rooftop"):
        try:
            if feed_run_start(rooftop=feed.rooftop, source=InventoryFeedRun.Source.URL, now=now).started:
                started += 1
        except FeedRefused as exc:
            logger.warning("inventory feed of rooftop %s not started: %s", feed.rooftop_id, exc.reason)
    return started


def feed_run_execute(*, run_id: int) -> InventoryFeedRun | None:
    """The worker's half of a load: fetch or take the upload, read it, apply it, record what happened."""
    with run_claimed(InventoryFeedRun, run_id) as claimed:
        # Not claimed: a second delivery of a run another worker is still on.
        return _feed_run_execute(run_id=run_id) if claimed else None


def _feed_run_execute(*, run_id: int) -> InventoryFeedRun | None:
    run = InventoryFeedRun.unscoped.select_related("rooftop").filter(id=run_id).first()
    if run is None or not run.active:
        return run  # finished, failed or abandoned meanwhile
    rooftop = run.rooftop
    # Only this run's own updates: a run abandoned as stale must not overwrite the one that replaced it.
    mine = InventoryFeedRun.unscoped.filter(id=run_id, status__in=InventoryFeedRun.ACTIVE)
    now = timezone.now()
    mine.update(status=InventoryFeedRun.Status.RUNNING, started_at=now, heartbeat_at=now)
    try:
        data = bytes(run.upload) if run.upload is not None else feed_fetch(
            run.source_name, timeout=settings.INVENTORY_FEED_TIMEOUT_SECONDS,
            max_bytes=settings.INVENTORY_FEED_MAX_BYTES)
        feed = feed_settings(rooftop=rooftop)
        parsed = parse_feed(decode_feed(data, max_bytes=settings.INVENTORY_FEED_MAX_BYTES),
                            today=feed_today(rooftop, now), column_map=feed.column_map)
        mine.update(rows_total=parsed.rows, upload=None, heartbeat_at=timezone.now())
        outcome = feed_apply(rooftop=rooftop, parsed=parsed, gone_status=feed.gone_status,
                             allow_shrink=run.allow_shrink, now=now, progress=mine)
    except FeedRefused as exc:
        mine.update(status=InventoryFeedRun.Status.FAILED, error=exc.reason, upload=None, finished_at=timezone.now())
        return _finished(run_id)
    except Exception as exc:
        logger.exception("inventory feed run %s at rooftop %s failed", run_id, rooftop.id)
        mine.update(status=InventoryFeedRun.Status.FAILED, upload=None, finished_at=timezone.now(),
                    error=f"Something went wrong while loading the feed ({type(exc).__name__}). Vehicles already "
                          "loaded stay loaded; nothing was unlisted. Try again, and tell your administrator if it "
                          "keeps happening.")
        return _finished(run_id)
    counts = outcome.counts
    mine.update(
        status=InventoryFeedRun.Status.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now(),
        rows_done=parsed.rows, added=counts["added"], updated=counts["updated"], unchanged=counts["unchanged"],
        returned=counts["returned"], gone=counts["gone"], kept_sold=counts["kept_sold"],
        failed=len(outcome.errors), unlist_refused=outcome.unlist_refused,
        row_errors=[e.as_dict() for e in sorted(outcome.errors, key=lambda e: e.line)[:MAX_KEPT_ROW_ERRORS]],
    )
    return _finished(run_id)


def _finished(run_id: int) -> InventoryFeedRun:
    transaction.on_commit(lambda: inventory_feed_finished(run_id=run_id))
    return InventoryFeedRun.unscoped.get(id=run_id)


def inventory_feed_finished(*, run_id: int) -> None:
    """Runs after every run ends, done or failed, once its row is committed: `import.finished` to the store's
    webhook endpoints with the run's counts (the DMS import emits the same event with `kind: "dms"`)."""
    from django.urls import reverse

    from rooftops.webhooks import site_link, webhooks_emit

    logger.info("inventory feed run %s finished", run_id)
    run = InventoryFeedRun.unscoped.filter(id=run_id).first()
    if run is None:
        return
    webhooks_emit(run.rooftop_id, "import.finished", {"import": {
        "kind": "inventory_feed", "run_id": run.pk, "status": run.status, "source": run.source,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "counts": {"rows": run.rows_total, "added": run.added, "updated": run.updated, "unchanged": run.unchanged,
                   "returned": run.returned, "gone": run.gone, "refused": run.failed},
        "error": run.error[:300], "url": site_link(reverse("inventory-feed") + f"?rooftop={run.rooftop_id}"),
    }}, object_key=f"inventory_feed_run:{run.pk}")


# --- applying a feed -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FeedOutcome:
    counts: Counter
    errors: tuple[RowError, ...]
    unlist_refused: str = ""


# Vehicle fields a feed may leave out: left as they are unless the feed has the column.
_OPTIONAL = {"trim": "trim", "body_style": "body_style", "exterior_color": "exterior_color",
             "interior_color": "interior_color", "mileage": "mileage", "msrp_cents": "msrp", "year": "year",
             "make": "make"}


def feed_apply(*, rooftop: Rooftop, parsed: ParsedFeed, gone_status: str, now: datetime,
               allow_shrink: bool = False, progress=None) -> FeedOutcome:
    """Upsert the feed's vehicles by VIN within the rooftop; unlist the listed ones it no longer names."""
    zone = ZoneInfo(rooftop.time_zone)
    by_vin = {v.vin: v for v in InventoryVehicle.objects.for_rooftops([rooftop.id])}
    listed = [v for v in by_vin.values() if v.status in InventoryVehicle.LISTED_STATUSES]
    counts: Counter = Counter(added=0, updated=0, unchanged=0, returned=0, gone=0, kept_sold=0)
    errors = list(parsed.errors)
    # Vehicles already here first: one that changed stock number frees the old number for a new vehicle.
    ordered = sorted(parsed.records, key=lambda r: (r.vin not in by_vin, r.line))
    for done, record in enumerate(ordered, start=1):
        try:
            with transaction.atomic():
                outcome = _apply_record(rooftop, by_vin.get(record.vin), record, columns=parsed.columns,
                                        zone=zone, now=now)
        except IntegrityError:
            holder = (InventoryVehicle.objects.for_rooftops([rooftop.id])
                      .filter(stock_number=record.stock_number).exclude(vin=record.vin).first())
            errors.append(RowError(
                line=record.line, vin=record.vin, stock_number=record.stock_number,
                reason=f"Stock number {record.stock_number} belongs to another vehicle here"
                       f"{f' (VIN {holder.vin}, {holder.get_status_display().lower()})' if holder else ''}."))
            continue
        counts[outcome] += 1
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress.update(rows_done=done + len(parsed.errors), heartbeat_at=timezone.now())
    missing = [v for v in listed
               if v.vin not in parsed.seen_vins and v.stock_number not in parsed.seen_stock_numbers]
    refused = ""
    if missing and not allow_shrink and parsed.rows < MIN_SHARE_TO_UNLIST * len(listed):
        refused = (f"The feed has {parsed.rows} vehicle row{'s' if parsed.rows != 1 else ''} but {len(listed)} "
                   f"vehicles are listed here: fewer than half, so the {len(missing)} missing from it were left "
                   "listed (a vendor's partial file must not empty the lot). If the store really has this few, "
                   "load the file again saying the feed is complete.")
    else:
        for vehicle in missing:
            with transaction.atomic():
                vehicle_update(vehicle=vehicle, status=gone_status, feed_unlisted_at=now)
            counts["gone"] += 1
    return FeedOutcome(counts=counts, errors=tuple(errors), unlist_refused=refused)


def _apply_record(rooftop: Rooftop, vehicle: InventoryVehicle | None, record: VehicleRecord, *,
                  columns, zone: ZoneInfo, now: datetime) -> str:
    photos = list(record.photo_urls)
    first_photo = photos[0] if photos and len(photos[0]) <= PHOTO_URL_FIELD_MAX else ""
    received_at = (datetime.combine(record.in_stock_on, datetime.min.time(), tzinfo=zone)
                   if record.in_stock_on else None)
    if vehicle is None:
        vehicle_create(
            rooftop=rooftop, vin=record.vin, stock_number=record.stock_number, year=record.year, make=record.make,
            model=record.model, trim=record.trim, body_style=record.body_style,
            exterior_color=record.exterior_color, interior_color=record.interior_color,
            condition=record.condition, mileage=record.mileage, price_cents=record.price_cents,
            msrp_cents=record.msrp_cents, photo_urls=photos, photo_url=first_photo, received_at=received_at or now)
        return "added"
    if vehicle.status == InventoryVehicle.Status.SOLD and vehicle.feed_unlisted_at is None:
        # Sold here by staff while the vendor still lists it (feeds lag a sale by a day or two): it stays sold,
        # and no price change on a sold car reaches shoppers as a price drop.
        return "kept_sold"
    fields: dict = {"stock_number": record.stock_number, "model": record.model, "condition": record.condition}
    for attr, column in _OPTIONAL.items():
        if column in columns:
            fields[attr] = getattr(record, attr)
    if "photo_urls" in columns:
        fields.update(photo_urls=photos, photo_url=first_photo)
    if received_at and vehicle.received_at.astimezone(zone).date() != record.in_stock_on:
        fields["received_at"] = received_at
    returned = vehicle.feed_unlisted_at is not None and vehicle.status not in InventoryVehicle.LISTED_STATUSES
    if returned:
        fields.update(status=InventoryVehicle.Status.IN_STOCK, feed_unlisted_at=None)
    changed = {name: value for name, value in fields.items() if getattr(vehicle, name) != value}
    price = record.price_cents if record.price_cents != vehicle.price_cents else None
    if not changed and price is None:
        return "unchanged"
    vehicle_update(vehicle=vehicle, price_cents=price, **changed)
    return "returned" if returned else "updated"


# --- fetching a feed by URL ------------------------------------------------------------------------------

def display_url(url: str) -> str:
    """The URL without a user name or password (vendors put credentials in feed URLs)."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def _check_url_shape(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FeedRefused("A feed URL starts with https:// (or http://) and names a host.")


def _check_host(url: str) -> None:
    """Refuse addresses inside the deployment (the database, cloud metadata) unless the operator allows them."""
    _check_url_shape(url)
    if settings.INVENTORY_FEED_ALLOW_PRIVATE_HOSTS:
        return
    parts = urlsplit(url)
    try:
        addresses = host_addresses(parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
    except HostNotFound:
        raise FeedRefused(f"The feed host {parts.hostname} was not found.") from None
    if not all(is_public(a) for a in addresses):
        raise FeedRefused(f"The feed host {parts.hostname} is a private or local address; a vendor feed comes "
                          "from the internet.")


def feed_fetch(url: str, *, timeout: float, max_bytes: int) -> bytes:
    """The file at a feed URL: HTTP 200 within `timeout` seconds and at most `max_bytes`, else FeedRefused."""
    deadline = time.monotonic() + timeout
    for _ in range(MAX_REDIRECTS + 1):
        _check_host(url)
        try:
            response = requests.get(url, stream=True, timeout=timeout, allow_redirects=False,
                                    headers={"Accept": "text/csv, text/plain, */*", "User-Agent": "dealership-crm"})
        except requests.Timeout:
            raise FeedRefused(f"The feed address did not answer within {timeout:g} seconds.") from None
        except requests.RequestException as exc:
            raise FeedRefused(f"The feed address could not be reached ({type(exc).__name__}).") from None
        with response:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("Location", ""))
                continue
            if response.status_code != 200:
                raise FeedRefused(f"The feed address answered HTTP {response.status_code} instead of the file.")
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise FeedRefused(f"The feed is {int(length):,} bytes; the limit is {max_bytes:,} bytes.")
            chunks, size = [], 0
            try:
                for chunk in response.iter_content(64 * 1024):
                    size += len(chunk)
                    if size > max_bytes:
                        raise FeedRefused(f"The feed is larger than the limit of {max_bytes:,} bytes.")
                    if time.monotonic() > deadline:
                        raise FeedRefused(f"The feed took longer than {timeout:g} seconds to download.")
                    chunks.append(chunk)
            except requests.RequestException as exc:
                raise FeedRefused(f"The feed download broke off ({type(exc).__name__}).") from None
            return b"".join(chunks)
    raise FeedRefused(f"The feed address redirected more than {MAX_REDIRECTS} times.")
