"""Loading a vendor feed into a rooftop's inventory (leads.inventory_feed) against the real PostgreSQL."""

import http.server
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.services import sweep_price_drops, visitor_score_events
from factories import InventoryVehicleFactory, LeadFactory, make_customer
from leads.feed import FeedRefused, parse_feed
from leads.inventory_feed import feed_apply, feed_fetch, feed_run_execute, feed_run_start, feed_settings_save, \
    feed_today, feeds_run_scheduled
from leads.models import InventoryFeedRun, InventoryVehicle, PriceChange
from leads.vin import with_check_digit

sys.path.append(str(Path(__file__).resolve().parent.parent / "alerts"))
from shopper_events import Shopper, identify, send, views  # noqa: E402

pytestmark = pytest.mark.django_db

HEADER = "VIN,Stock,Type,Year,Make,Model,Trim,Miles,SellingPrice,MSRP,ImageList,DaysInStock"


def vin(n: int) -> str:
    return with_check_digit(f"2T3P1RFV0RC{n:06d}")


def row(n: int, *, price: int = 30_000, stock: str | None = None, model: str = "RAV4", days: str = "") -> str:
    return f"{vin(n)},{stock or f'F{n}'},New,2024,Toyota,{model},XLE,5,{price},35990,https://img.example/{n}.jpg,{days}"


def feed_csv(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def load(rooftop, *rows: str, allow_shrink: bool = False, gone_status: str = "unlisted"):
    parsed = parse_feed(feed_csv(*rows), today=feed_today(rooftop, timezone.now()))
    return feed_apply(rooftop=rooftop, parsed=parsed, gone_status=gone_status, now=timezone.now(),
                      allow_shrink=allow_shrink)


def stock_of(rooftop):
    return {v.vin: v for v in InventoryVehicle.objects.for_rooftops([rooftop.id])}


def test_a_feed_adds_its_vehicles_and_the_same_feed_again_changes_nothing(world):
    outcome = load(world.rooftop, row(1, days="12"), row(2))
    assert (outcome.counts["added"], outcome.errors) == (2, ())
    added = stock_of(world.rooftop)[vin(1)]
    assert (added.stock_number, added.make, added.model, added.price_cents, added.msrp_cents) == (
        "F1", "Toyota", "RAV4", 3_000_000, 3_599_000)
    assert added.photo_urls == ["https://img.example/1.jpg"] and added.photo_url == "https://img.example/1.jpg"
    assert added.days_in_stock() == 12 and added.status == "in_stock"
    again = load(world.rooftop, row(1, days="12"), row(2))
    assert (again.counts["unchanged"], again.counts["updated"], again.counts["added"]) == (2, 0, 0)
    assert not PriceChange.objects.exists()


def test_a_changed_row_updates_the_vehicle_and_its_new_price_is_kept_as_a_price_change(world):
    load(world.rooftop, row(1), row(2))
    outcome = load(world.rooftop, row(1, price=28_500, stock="F1-NEW", model="RAV4 Hybrid"), row(2))
    assert (outcome.counts["updated"], outcome.counts["unchanged"]) == (1, 1)
    vehicle = stock_of(world.rooftop)[vin(1)]
    assert (vehicle.stock_number, vehicle.model, vehicle.price_cents) == ("F1-NEW", "RAV4 Hybrid", 2_850_000)
    change = PriceChange.objects.get(vehicle=vehicle)
    assert (change.old_price_cents, change.new_price_cents) == (3_000_000, 2_850_000)


def test_a_price_drop_from_the_feed_alerts_the_shopper_who_viewed_the_car_as_a_managers_edit_does(world):
    load(world.rooftop, row(1), row(2))
    vehicle = stock_of(world.rooftop)[vin(1)]
    customer = make_customer(world.rooftop, first_name="Jordan")
    lead = LeadFactory(rooftop=world.rooftop, customer=customer, assigned_to=world.salesperson, vehicle=vehicle)
    visitor = identify(world.rooftop, "anon-feed", customer)
    send(world.rooftop, views(Shopper(customer, visitor, vehicle, lead, "anon-feed"), 2))
    visitor_score_events(visitor_id=visitor.id)
    assert sweep_price_drops() == 0  # nothing dropped yet

    load(world.rooftop, row(1, price=28_500), row(2))

    assert sweep_price_drops() == 1
    alert = Alert.unscoped.get(customer=customer, kind="price_drop_on_viewed_vehicle")
    assert "Price dropped $1,500 (from $30,000 to $28,500)" in alert.reasons[0] and alert.vehicle == vehicle


def test_a_vehicle_gone_from_the_feed_is_unlisted_not_deleted_and_comes_back_when_it_reappears(world):
    load(world.rooftop, row(1), row(2), row(3))
    gone = stock_of(world.rooftop)[vin(3)]
    lead = LeadFactory(rooftop=world.rooftop, customer=make_customer(world.rooftop), vehicle=gone)
    outcome = load(world.rooftop, row(1), row(2))
    assert outcome.counts["gone"] == 1 and outcome.unlist_refused == ""
    gone.refresh_from_db()
    assert gone.status == "unlisted" and gone.feed_unlisted_at is not None
    lead.refresh_from_db()
    assert lead.vehicle == gone
    back = load(world.rooftop, row(1), row(2), row(3, price=29_000))
    assert back.counts["returned"] == 1
    gone.refresh_from_db()
    assert (gone.status, gone.feed_unlisted_at, gone.price_cents) == ("in_stock", None, 2_900_000)


def test_the_store_may_choose_sold_for_a_vehicle_gone_from_the_feed(world):
    load(world.rooftop, row(1), row(2))
    load(world.rooftop, row(1), gone_status="sold")
    assert stock_of(world.rooftop)[vin(2)].status == "sold"
    assert load(world.rooftop, row(1), row(2)).counts["returned"] == 1  # the feed sold it, so it may unsell it


def test_a_feed_with_under_half_the_listed_vehicles_unlists_nothing_unless_said_complete(world):
    load(world.rooftop, *(row(n) for n in range(1, 11)))
    truncated = load(world.rooftop, row(1), row(2), row(3), row(4))
    assert truncated.counts["gone"] == 0
    assert "The feed has 4 vehicle rows but 10 vehicles are listed here: fewer than half" in truncated.unlist_refused
    assert all(v.status == "in_stock" for v in stock_of(world.rooftop).values())
    empty = load(world.rooftop)
    assert empty.counts["gone"] == 0 and "0 vehicle rows" in empty.unlist_refused
    complete = load(world.rooftop, row(1), row(2), row(3), row(4), allow_shrink=True)
    assert complete.counts["gone"] == 6


def test_a_vehicle_whose_row_was_refused_is_still_on_the_lot(world):
    load(world.rooftop, row(1), row(2))
    outcome = load(world.rooftop, row(1), row(2).replace("30000", "call us"))
    assert outcome.counts["gone"] == 0 and outcome.errors[0].line == 3
    assert stock_of(world.rooftop)[vin(2)].status == "in_stock"


def test_a_vehicle_staff_marked_sold_stays_sold_while_the_feed_still_lists_it(world):
    load(world.rooftop, row(1), row(2))
    sold = stock_of(world.rooftop)[vin(1)]
    InventoryVehicle.objects.for_rooftops([world.rooftop.id]).filter(pk=sold.pk).update(status="sold")
    outcome = load(world.rooftop, row(1, price=25_000), row(2))
    assert outcome.counts["kept_sold"] == 1
    sold.refresh_from_db()
    assert (sold.status, sold.price_cents) == ("sold", 3_000_000) and not PriceChange.objects.exists()


def test_vehicles_are_matched_by_vin_within_the_rooftop_only(world):
    other = InventoryVehicleFactory(rooftop=world.other_rooftop, vin=vin(1), stock_number="F1", price_cents=1_000_000)
    load(world.rooftop, row(1, price=20_000))
    other.refresh_from_db()
    assert other.price_cents == 1_000_000 and stock_of(world.rooftop)[vin(1)].price_cents == 2_000_000


def test_a_stock_number_freed_by_one_vehicle_may_go_to_a_new_one_and_a_held_one_is_a_row_error(world):
    load(world.rooftop, row(1, stock="S1"), row(2, stock="S2"))
    outcome = load(world.rooftop, row(3, stock="S1"), row(1, stock="S9"), row(2, stock="S2"))
    assert outcome.errors == () and stock_of(world.rooftop)[vin(3)].stock_number == "S1"
    InventoryVehicleFactory(rooftop=world.rooftop, vin=vin(7), stock_number="HELD", status="sold")
    held = load(world.rooftop, row(1, stock="S9"), row(2, stock="S2"), row(3, stock="S1"), row(8, stock="HELD"))
    (error,) = held.errors
    assert error.line == 5 and f"Stock number HELD belongs to another vehicle here (VIN {vin(7)}, sold)" in error.reason


# --- runs: upload, URL, refusal -------------------------------------------------------------------------

def test_an_upload_run_records_counts_and_the_refused_rows(world):
    load(world.rooftop, row(1), row(2))
    data = feed_csv(row(1, price=29_000), row(2), row(3), "2T3P1RFV0RC00000X,BAD,New,2024,Toyota,RAV4,,,1,,,").encode()
    start = feed_run_start(rooftop=world.rooftop, source="upload", user=world.manager, data=data,
                           source_name="homenet.csv", queue=False)
    run = feed_run_execute(run_id=start.run.id)
    assert (run.status, run.added, run.updated, run.unchanged, run.gone, run.failed) == ("done", 1, 1, 1, 0, 1)
    assert run.rows_total == 4 and run.upload is None and run.finished_at is not None
    assert run.row_errors[0]["line"] == 5 and "check digit" in run.row_errors[0]["reason"]


def test_a_binary_upload_is_refused_before_any_run_is_made(world):
    with pytest.raises(FeedRefused, match="NUL bytes"):
        feed_run_start(rooftop=world.rooftop, source="upload", data=b"\x89PNG\r\n\x1a\n\x00\x00", queue=False)
    assert not InventoryFeedRun.objects.for_rooftops([world.rooftop.id]).exists()


def test_one_load_at_a_time_per_store(world):
    first = feed_run_start(rooftop=world.rooftop, source="upload", data=feed_csv(row(1)).encode(), queue=False)
    second = feed_run_start(rooftop=world.rooftop, source="upload", data=feed_csv(row(2)).encode(), queue=False)
    assert first.started and not second.started and second.run.id == first.run.id
    InventoryFeedRun.unscoped.filter(pk=first.run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    third = feed_run_start(rooftop=world.rooftop, source="upload", data=feed_csv(row(2)).encode(), queue=False)
    assert third.started and InventoryFeedRun.unscoped.get(pk=first.run.pk).status == "failed"


def test_beat_starts_a_load_for_every_store_with_a_feed_url(world):
    feed_settings_save(rooftop=world.rooftop, url="https://feeds.example.com/lakeside.csv", column_map={},
                       gone_status="unlisted", user=world.manager)
    assert feeds_run_scheduled() == 1
    run = InventoryFeedRun.objects.for_rooftops([world.rooftop.id]).get()
    assert (run.source, run.source_name, run.status) == ("url", "https://feeds.example.com/lakeside.csv", "queued")
    assert feeds_run_scheduled() == 0  # still queued: not started twice


class _FeedServer:
    """A real HTTP server on loopback serving what a test puts in `routes` (path -> (status, body, delay))."""

    def __init__(self):
        routes = self.routes = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                status, body, delay, headers = routes.get(self.path, (404, b"not here", 0, {}))
                time.sleep(delay)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def feed_server(settings):
    settings.INVENTORY_FEED_ALLOW_PRIVATE_HOSTS = True
    server = _FeedServer()
    yield server
    server.close()


def test_a_feed_url_is_fetched_over_http_and_loaded(world, feed_server):
    feed_server.routes["/old.csv"] = (302, b"", 0, {"Location": "/lakeside.csv"})
    feed_server.routes["/lakeside.csv"] = (200, feed_csv(row(1), row(2)).encode(), 0, {"Content-Type": "text/csv"})
    feed_settings_save(rooftop=world.rooftop, url=f"{feed_server.url}/old.csv", column_map={}, gone_status="unlisted",
                       user=world.manager)
    start = feed_run_start(rooftop=world.rooftop, source="url", queue=False)
    run = feed_run_execute(run_id=start.run.id)
    assert (run.status, run.added, run.error) == ("done", 2, "")
    assert set(stock_of(world.rooftop)) == {vin(1), vin(2)}


@pytest.mark.parametrize("route, reason", [
    ((404, b"gone", 0, {}), "answered HTTP 404"),
    ((200, b"x" * 2048, 0, {}), "the limit is 1,024 bytes"),
    ((200, b"VIN,Stock\n", 2, {}), "did not answer within 0.5 seconds"),
    ((200, b"<html><body>Sign in</body></html>\n", 0, {}), "No column for"),
])
def test_a_feed_url_that_fails_fails_the_run_with_the_reason_and_changes_nothing(world, feed_server, settings, route,
                                                                                   reason):
    settings.INVENTORY_FEED_MAX_BYTES = 1024
    settings.INVENTORY_FEED_TIMEOUT_SECONDS = 0.5
    InventoryVehicleFactory(rooftop=world.rooftop)
    feed_server.routes["/feed.csv"] = route
    start = feed_run_start(rooftop=world.rooftop, source="url", url=f"{feed_server.url}/feed.csv", queue=False)
    run = feed_run_execute(run_id=start.run.id)
    assert run.status == "failed" and reason in run.error, run.error
    assert [v.status for v in stock_of(world.rooftop).values()] == ["in_stock"]


def test_a_feed_url_inside_the_deployment_is_refused_unless_the_operator_allows_it(settings):
    settings.INVENTORY_FEED_ALLOW_PRIVATE_HOSTS = False
    for url in ("http://127.0.0.1:5432/", "http://localhost/feed.csv", "http://169.254.169.254/latest/meta-data/"):
        with pytest.raises(FeedRefused, match="private or local address"):
            feed_fetch(url, timeout=1, max_bytes=100)
    with pytest.raises(FeedRefused, match="starts with https://"):
        feed_fetch("file:///etc/passwd", timeout=1, max_bytes=100)


def test_the_operator_command_loads_a_file_and_prints_what_it_did(world, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    path = tmp_path / "lakeside.csv"
    path.write_text(feed_csv(row(1), row(2), f"{vin(3)},F3,New,2024,Toyota,,,,1,,,"))
    out = StringIO()
    call_command("inventory_feed", "--rooftop", world.rooftop.slug, str(path), stdout=out)
    assert f"{world.rooftop.name}: 3 rows from {path}: 2 added, 0 updated" in out.getvalue()
    assert "line 4: No model." in out.getvalue()
    assert InventoryFeedRun.objects.for_rooftops([world.rooftop.id]).get().source == "command"
    path.write_bytes(b"\x00\x01binary")
    with pytest.raises(CommandError, match="Refused: The feed contains NUL bytes"):
        call_command("inventory_feed", "--rooftop", world.rooftop.slug, str(path))
    with pytest.raises(CommandError, match="No rooftop with the slug 'nowhere'"):
        call_command("inventory_feed", "--rooftop", "nowhere", str(path))
