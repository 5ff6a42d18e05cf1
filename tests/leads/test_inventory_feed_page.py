"""The manager's inventory feed page: upload, progress, result, refused rows as CSV; managers of the store only."""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from factories import make_staff
from leads.inventory_feed import feed_run_execute
from leads.models import InventoryFeed, InventoryFeedRun, InventoryVehicle
from leads.vin import with_check_digit
from rooftops.models import Role

pytestmark = pytest.mark.django_db

PAGE = "/inventory/feed/"


def feed_file(*extra_rows: str, name: str = "homenet.csv") -> SimpleUploadedFile:
    rows = ["VIN,Stock,Type,Year,Make,Model,SellingPrice",
            f"{with_check_digit('2T3P1RFV0RC000201')},P1,New,2024,Toyota,RAV4,34500",
            f"{with_check_digit('2T3P1RFV0RC000202')},P2,Used,,,Camry,21000", *extra_rows]
    return SimpleUploadedFile(name, ("\n".join(rows) + "\n").encode(), content_type="text/csv")


def test_a_manager_uploads_a_feed_and_sees_its_progress_then_its_result_and_refused_rows(world, client):
    client.force_login(world.manager)
    page = client.get(PAGE)
    assert page.status_code == 200 and "No load yet" in page.content.decode()
    response = client.post(PAGE, {"action": "upload", "rooftop": world.rooftop.id,
                                  "file": feed_file("BADVIN,P3,New,2024,Toyota,Prius,30000")})
    assert response.status_code == 302
    run = InventoryFeedRun.objects.for_rooftops([world.rooftop.id]).get()
    assert (run.source, run.source_name, run.status, run.created_by) == ("upload", "homenet.csv", "queued", world.manager)
    page = client.get(PAGE).content.decode()
    assert f'hx-get="{reverse("inventory-feed-run", args=[run.id])}" hx-trigger="every 2s"' in page
    assert "Waiting for a worker to start the load" in page

    feed_run_execute(run_id=run.id)  # what the worker does (tested through the real worker below)

    partial = client.get(reverse("inventory-feed-run", args=[run.id])).content.decode()
    assert "hx-trigger" not in partial  # finished: polling stops
    assert "Loaded 3 rows" in partial and "Download the 1 refused row" in partial
    camry = InventoryVehicle.objects.for_rooftops([world.rooftop.id]).get(stock_number="P2")
    assert (camry.year, camry.make) == (2024, "Toyota")  # decoded from the VIN
    csv = client.get(reverse("inventory-feed-run-errors", args=[run.id]))
    assert csv["Content-Type"].startswith("text/csv") and "attachment" in csv["Content-Disposition"]
    assert csv.content.decode().splitlines() == ["line,vin,stock_number,reason",
                                                 "4,BADVIN,P3,A VIN has 17 characters; 'BADVIN' has 6."]


@pytest.mark.parametrize("upload, status, message", [
    (SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 422, "photo.png was not loaded: The feed contains NUL bytes"),
    (SimpleUploadedFile("inventory.xlsx", b"PK\x03\x04" + b"x" * 50), 422, "spreadsheet file (Excel), not CSV text"),
    (SimpleUploadedFile("latin1.csv", "VIN,Stock\nCitro\xebn,1\n".encode("latin-1")), 422, "not UTF-8 text"),
    (SimpleUploadedFile("big.csv", b"VIN," + b"x" * 5000), 413, "the limit is 4,096 bytes"),
    (None, 422, "Choose the CSV file to upload."),
])
def test_a_file_that_is_not_a_feed_is_refused_with_the_reason_and_no_load(world, client, settings, upload, status,
                                                                           message):
    settings.INVENTORY_FEED_MAX_BYTES = 4096
    client.force_login(world.manager)
    data = {"action": "upload", "rooftop": world.rooftop.id, **({"file": upload} if upload else {})}
    response = client.post(PAGE, data)
    assert response.status_code == status and message in response.content.decode()
    assert not InventoryFeedRun.objects.for_rooftops([world.rooftop.id]).exists()


def test_a_manager_sets_the_feed_url_and_column_names_and_a_bad_line_is_explained(world, client):
    client.force_login(world.manager)
    bad = client.post(PAGE, {"action": "settings", "rooftop": world.rooftop.id, "url": "https://feeds.example/a.csv",
                             "column_map": "price Web_Price", "gone_status": "sold"})
    assert bad.status_code == 422 and "Line 1: write it as" in bad.content.decode()
    assert "price Web_Price" in bad.content.decode()  # what was typed is kept
    assert client.post(PAGE, {"action": "settings", "rooftop": world.rooftop.id, "url": "javascript:alert(1)",
                              "column_map": "", "gone_status": "sold"}).status_code == 422
    ok = client.post(PAGE, {"action": "settings", "rooftop": world.rooftop.id, "url": "https://feeds.example/a.csv",
                            "column_map": "price: Web_Price", "gone_status": "sold"})
    assert ok.status_code == 302
    feed = InventoryFeed.objects.for_rooftops([world.rooftop.id]).get()
    assert (feed.url, feed.column_map, feed.gone_status, feed.updated_by) == (
        "https://feeds.example/a.csv", {"price": "Web_Price"}, "sold", world.manager)
    assert client.post(PAGE, {"action": "run", "rooftop": world.rooftop.id}).status_code == 302
    assert InventoryFeedRun.objects.for_rooftops([world.rooftop.id]).get().source == "url"


def test_only_the_stores_managers_reach_the_page_and_its_loads(world, client):
    run = InventoryFeedRun.unscoped.create(rooftop=world.rooftop, source="upload", status="done", failed=1,
                                           row_errors=[{"line": 2, "vin": "", "stock_number": "X", "reason": "No VIN."}])
    urls = [PAGE, f"{PAGE}?rooftop={world.rooftop.id}", reverse("inventory-feed-run", args=[run.id]),
            reverse("inventory-feed-run-errors", args=[run.id])]
    for url in urls:
        assert client.get(url).status_code == 302  # anonymous: to the login page
    other_manager = make_staff(world.other_rooftop, Role.MANAGER, display_name="Other Manager")
    for person in (world.salesperson, world.bdc, world.outsider, other_manager):
        client.force_login(person)
        for url in urls[1:]:
            assert client.get(url).status_code == 404, (person, url)
        assert client.post(PAGE, {"action": "upload", "rooftop": world.rooftop.id,
                                  "file": feed_file()}).status_code == 404
    assert client.get("/inventory/feed/?rooftop=abc").status_code == 404
    assert InventoryFeedRun.objects.for_rooftops([world.rooftop.id]).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_upload_is_loaded_by_the_celery_worker(world, client, celery_worker):
    client.force_login(world.manager)
    assert client.post(PAGE, {"action": "upload", "rooftop": world.rooftop.id, "file": feed_file()}).status_code == 302
    run = InventoryFeedRun.objects.for_rooftops([world.rooftop.id]).get()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if not run.active:
            break
        time.sleep(0.2)
    assert (run.status, run.added, run.upload) == ("done", 2, None)
    assert "Loaded 2 rows" in client.get(reverse("inventory-feed-run", args=[run.id])).content.decode()
