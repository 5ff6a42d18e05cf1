"""What a manager sees: upload, a preview under the mapping, start, progress polled by htmx, the summary, refused
rows; the same import through the API and manage.py dms_import; managers of the store only."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from customers.models import VehicleSale
from dms import services
from dms.models import DmsImport, DmsMapping
from dms.presets import PRESETS

from dms_exports import SALE_1, SALE_2, SALE_3, SALES_HEADER, VIN_A, export, run_import

PAGE = "/dms/imports/"
CDK = PRESETS["CDK Drive"]["sales"]


def cdk_file(*rows: dict, name: str = "cdk-deals.csv") -> SimpleUploadedFile:
    fields = ["customer_number", "first_name", "last_name", "deal_number", "sold_on", "vin", "make", "model", "price"]
    lines = [",".join(CDK[f] for f in fields)] + [",".join(str(row.get(f, "")) for f in fields) for row in rows]
    return SimpleUploadedFile(name, ("\r\n".join(lines) + "\r\n").encode(), content_type="text/csv")


def deal(n: int, **extra) -> dict:
    return {"customer_number": f"K{n}", "first_name": "Pat", "last_name": f"Doe{n}", "deal_number": f"{9000 + n}",
            "sold_on": "03/15/2024", "vin": VIN_A, "make": "Toyota", "model": "Camry", "price": "25000", **extra}


@pytest.mark.django_db
def test_a_manager_uploads_previews_starts_watches_and_reads_the_summary(world, client):
    client.force_login(world.manager)
    empty = client.get(PAGE)
    assert empty.status_code == 200 and "No imports yet" in empty.content.decode()
    response = client.post(PAGE, {"rooftop": world.rooftop.id, "kind": "sales",
                                  "file": cdk_file(deal(1), deal(2, vin="NOTAVIN"))})
    assert response.status_code == 302
    dms_import = DmsImport.objects.for_rooftops([world.rooftop.id]).get()
    assert (dms_import.status, dms_import.preset) == ("draft", "CDK Drive")  # guessed from the header
    page = client.get(response["Location"]).content.decode()
    assert "Preview: the first rows as they will be imported" in page
    assert "Doe1" in page and "Refused:" in page and "NOTAVIN" in page  # row 3 as the import will refuse it
    assert VehicleSale.unscoped.count() == 0  # a preview writes nothing

    columns = {f"col_{field}": header for field, header in CDK.items()}
    started = client.post(response["Location"], {"action": "start", "preset": "CDK Drive", **columns})
    assert started.status_code == 302
    dms_import.refresh_from_db()
    assert dms_import.status == "queued"
    assert DmsMapping.unscoped.get(rooftop=world.rooftop, kind="sales").columns["deal_number"] == "DealNo"
    polled = client.get(f"/dms/imports/{dms_import.id}/progress/").content.decode()
    assert 'hx-trigger="every 2s"' in polled and "Waiting for a worker" in polled

    services.dms_import_execute(import_id=dms_import.id)  # the worker's part (a real worker: below)

    summary = client.get(f"/dms/imports/{dms_import.id}/progress/").content.decode()
    assert "hx-trigger" not in summary and "Imported 2 rows" in summary
    assert "Download the 1 refused row" in summary
    listing = client.get(PAGE).content.decode()
    assert "cdk-deals.csv" in listing and "Done" in listing


@pytest.mark.django_db
@pytest.mark.parametrize("upload, status, message", [
    (SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"), 422, "photo.png was not taken"),
    (SimpleUploadedFile("latin1.csv", "CustNo,LastName\n1,Citro\xebn\n".encode("latin-1")), 422, "UTF-8"),
    (SimpleUploadedFile("big.csv", b"CustNo," + b"x" * 5000), 413, "the limit is 4,096 bytes"),
    (None, 422, "Choose the file your DMS exported"),
])
def test_a_file_that_is_not_an_export_is_refused_with_the_reason_and_nothing_kept(world, client, settings, upload,
                                                                                  status, message):
    settings.DMS_IMPORT_MAX_BYTES = 4096
    client.force_login(world.manager)
    data = {"rooftop": world.rooftop.id, "kind": "sales"}
    if upload is not None:
        data["file"] = upload
    response = client.post(PAGE, data)
    assert response.status_code == status and message in response.content.decode()
    assert not DmsImport.objects.for_rooftops([world.rooftop.id]).exists()


@pytest.mark.django_db
def test_only_the_stores_managers_see_its_imports(world, client, tmp_path):
    done = run_import(world.rooftop, export(tmp_path, SALES_HEADER, SALE_1), "sales")
    for user in (world.salesperson, world.bdc, world.advisor, world.outsider):
        client.force_login(user)
        assert client.get(PAGE).status_code == 404
        for url in (f"/dms/imports/{done.id}/", f"/dms/imports/{done.id}/progress/",
                    f"/dms/imports/{done.id}/refused-rows.csv", f"/api/dms/imports/{done.id}/"):
            assert client.get(url).status_code == 404, (user, url)


@pytest.mark.django_db
def test_the_api_uploads_and_starts_an_import_once_per_idempotency_key(world, client):
    client.force_login(world.manager)
    body = {"rooftop": world.rooftop.id, "kind": "sales", "preset": "CDK Drive"}
    first = client.post("/api/dms/imports/", {**body, "file": cdk_file(deal(1))}, HTTP_IDEMPOTENCY_KEY="dms-1")
    assert first.status_code == 202, first.content
    again = client.post("/api/dms/imports/", {**body, "file": cdk_file(deal(1))}, HTTP_IDEMPOTENCY_KEY="dms-1")
    assert again.status_code == 202 and again.json()["id"] == first.json()["id"]
    assert DmsImport.objects.for_rooftops([world.rooftop.id]).count() == 1
    import_id = first.json()["id"]
    services.dms_import_execute(import_id=import_id)
    detail = client.get(f"/api/dms/imports/{import_id}/").json()
    assert (detail["status"], detail["added"], detail["percent"]) == ("done", 1, 100)
    assert client.get(f"/api/dms/imports/{import_id}/refused-rows/").json()["results"] == []


@pytest.mark.django_db
@pytest.mark.parametrize("body, field", [
    ({"kind": "sales"}, "file"),
    ({"kind": "boats", "file": "x"}, "kind"),
    ({"kind": "sales", "columns": "{not json"}, "columns"),
    ({"kind": "sales", "columns": '{"hull_number": "Hull"}'}, "columns"),
    ({"kind": "sales", "columns": '{"first_name": "FirstName"}'}, "columns"),  # no deal number: cannot start
])
def test_the_api_answers_a_bad_upload_with_a_field_error(world, client, body, field):
    client.force_login(world.manager)
    if body.get("file") != "x" and field != "file":
        body = {**body, "file": cdk_file(deal(1))}
    response = client.post("/api/dms/imports/", {"rooftop": world.rooftop.id, **body})
    assert response.status_code == 400 and field in response.json(), response.content
    assert not DmsImport.objects.for_rooftops([world.rooftop.id]).filter(status__in=["queued", "running"]).exists()


@pytest.mark.django_db
def test_manage_py_dms_import_loads_a_file_and_says_what_it_did(world, tmp_path, capsys):
    path = export(tmp_path, SALES_HEADER, SALE_1, SALE_2, SALE_3.replace("2024-01-05", "someday"))
    call_command("dms_import", "--rooftop", world.rooftop.slug, "--kind", "sales", str(path))
    out = capsys.readouterr()
    assert "3 rows: 2 added, 0 updated, 0 unchanged, 1 refused." in out.out
    assert "line 4:" in out.err
    with pytest.raises(CommandError, match="No rooftop"):
        call_command("dms_import", "--rooftop", "nowhere", "--kind", "sales", str(path))
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(CommandError, match="Refused"):
        call_command("dms_import", "--rooftop", world.rooftop.slug, "--kind", "sales", str(binary))


@pytest.mark.django_db(transaction=True)
def test_the_worker_imports_and_the_polled_progress_ends_with_the_summary(world, client, celery_worker):
    client.force_login(world.manager)
    rows = [deal(n) for n in range(1, 40)]
    response = client.post(PAGE, {"rooftop": world.rooftop.id, "kind": "sales", "file": cdk_file(*rows)})
    import_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    columns = {f"col_{field}": header for field, header in CDK.items()}
    client.post(response["Location"], {"action": "start", "preset": "CDK Drive", **columns})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        html = client.get(f"/dms/imports/{import_id}/progress/").content.decode()
        if 'hx-trigger="every 2s"' not in html:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("the import did not finish on the worker within 60 s")
    assert "Imported 39 rows" in html
    assert VehicleSale.unscoped.filter(rooftop=world.rooftop).count() == 39
